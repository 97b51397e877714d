//! The run's OAuth state: what each flow made once and shares, and the leases that keep the
//! private chains of one client apart.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::config::TargetConfig;
use crate::discovery::Discovered;
use crate::http::HttpClient;
use crate::oauth::cimd::ca::LoopbackCa;
use crate::oauth::cimd::{DocumentHost, Hosting};
use crate::oauth::flow::Attempt;
use crate::oauth::requests::{AuthServer, Client};
use crate::observation::Observations;

use super::*;

/// What the shared registration's accepted request said beyond the client's metadata.
#[derive(Debug, Clone, Default)]
pub(super) struct RegisteredAs {
    pub(super) scope: Option<String>,
    pub(super) native: bool,
}

pub struct Grants {
    pub(super) client: HttpClient,
    pub(super) discovered: Arc<Discovered>,
    pub(super) config: Arc<TargetConfig>,
    /// The loopback redirect URI of every flow; its port is held so no one else takes it.
    pub(super) redirect_uri: String,
    pub(super) redirect_port: Option<std::net::TcpListener>,
    pub(super) auth_server: OnceCell<Result<AuthServer, String>>,
    pub(super) registration: OnceCell<Observations>,
    /// The `scope` the shared registration named, and whether it had to say
    /// `application_type: native` (every other registration does the same).
    pub(super) registered_as: std::sync::OnceLock<RegisteredAs>,
    pub(super) authorization: OnceCell<(Observations, Attempt)>,
    pub(super) token: OnceCell<Observations>,
    pub(super) refresh: OnceCell<Observations>,
    pub(super) second_client: OnceCell<Result<String, Unavailable>>,
    /// The client every private chain authorizes with (never the shared one), and the leases
    /// that run one chain at a time on it and on the confidential client: an AS may revoke a
    /// client's earlier grants when it authorizes again, so a chain's code and token live
    /// only until the next chain on that client starts.
    pub(super) chain_client: OnceCell<Result<Client, Unavailable>>,
    pub(super) chain_lease: tokio::sync::Mutex<()>,
    pub(super) confidential_lease: tokio::sync::Mutex<()>,
    pub(super) confidential_client: OnceCell<Result<Client, Unavailable>>,
    pub(super) confidential_token: OnceCell<Observations>,
    pub(super) scope_plan: OnceCell<BTreeMap<String, String>>,
    /// The run's client ID metadata documents, served once the flows need them.
    pub(super) cimd_host: OnceCell<Result<DocumentHost, String>>,
    pub(super) cimd_authorization: OnceCell<(Observations, Attempt)>,
    /// How the flows' client identifies itself, decided once.
    pub(super) mode: OnceCell<ClientMode>,
    /// The valid flow of the shared registration's client, where the flows run on another.
    pub(super) registered_token: OnceCell<Observations>,
    /// Whether the server serves a valid token the minting issuer makes (the control of every
    /// minted kind): None if it does, else why not and the exchanges that showed it.
    pub(super) minting_trusted: OnceCell<Option<(String, Vec<crate::http::Exchange>)>>,
}

impl Grants {
    pub fn new(client: HttpClient, discovered: Arc<Discovered>, config: Arc<TargetConfig>) -> Self {
        let (redirect_uri, redirect_port) = redirect_uri(&config);
        Grants {
            client,
            discovered,
            config,
            redirect_uri,
            redirect_port,
            auth_server: OnceCell::new(),
            registration: OnceCell::new(),
            registered_as: std::sync::OnceLock::new(),
            authorization: OnceCell::new(),
            token: OnceCell::new(),
            refresh: OnceCell::new(),
            second_client: OnceCell::new(),
            chain_client: OnceCell::new(),
            chain_lease: tokio::sync::Mutex::new(()),
            confidential_lease: tokio::sync::Mutex::new(()),
            confidential_client: OnceCell::new(),
            confidential_token: OnceCell::new(),
            scope_plan: OnceCell::new(),
            cimd_host: OnceCell::new(),
            cimd_authorization: OnceCell::new(),
            mode: OnceCell::new(),
            registered_token: OnceCell::new(),
            minting_trusted: OnceCell::new(),
        }
    }

    /// The host of the run's client ID metadata documents, or why there is none.
    pub(crate) async fn cimd_host(&self) -> Result<&DocumentHost, &str> {
        let init = || async {
            let settings = &self.config.cimd;
            let tls = match &settings.https_ca {
                Some(dir) => Some(LoopbackCa::in_dir(dir).and_then(|(ca, _)| ca.server_config())?),
                None => None,
            };
            let hosting = Hosting {
                port: (settings.port).unwrap_or_else(|| self.config.randomness.port("client id metadata documents")),
                tls,
                base_url: settings.base_url.clone(),
                name: settings.name.clone(),
                randomness: self.config.randomness,
            };
            // A document names every scope the run asks for, as a registration does: an AS
            // may grant a client only those (RFC 7591 `scope`).
            let (all, _) = self.wanted_scopes().await;
            let scope = (!all.is_empty()).then(|| all.join(" "));
            let host = DocumentHost::start(&self.redirect_uri, scope.as_deref(), hosting)
                .await
                .map_err(|e| format!("the run could not serve its client ID metadata documents: {e}"))?;
            if settings.base_url.is_some() {
                self.reaches_itself(&host).await?;
            }
            Ok(host)
        };
        self.cimd_host.get_or_init(init).await.as_ref().map_err(String::as_str)
    }

    /// Whether the run fetches its own valid document through the public base URL (a proxy
    /// or tunnel to the host): before any check relies on an AS doing so.
    async fn reaches_itself(&self, host: &DocumentHost) -> Result<(), String> {
        let url = host.urls().find(|(name, _)| name == "cimd_client").map(|(_, url)| url);
        let url = url.unwrap_or_default();
        let path = host.path_of(&url).unwrap_or_default();
        let before = host.fetches(&path);
        // The user named this host: the run may contact it; with https on the host itself
        // (no proxy of its own), trusting the run's CA.
        self.client.hosts().allow_host_of(&url);
        let client = match &self.config.cimd.https_ca {
            Some(dir) => {
                let root = LoopbackCa::in_dir(dir).and_then(|(ca, _)| ca.root())?;
                let (timeout, redactor) = (self.client.timeout(), self.client.redactor().clone());
                // The run's own names and hosts still hold for it.
                let trusting = crate::http::HttpClient::trusting(timeout, redactor, vec![root])
                    .and_then(|c| c.resolving(self.client.resolves()))
                    .map(|c| c.restricted_to(self.client.hosts().clone()));
                trusting.map_err(|e| e.to_string())?
            }
            None => self.client.clone(),
        };
        let (_, answer) = client.send(&crate::http::Request::get(&url)).await;
        let fails = |why: String| {
            Err(format!(
                "the run cannot fetch its own client ID metadata document through <{url}>: {why}"
            ))
        };
        let response = match answer {
            Ok(response) => response,
            Err(e) => return fails(e.to_string()),
        };
        let doc: Option<serde_json::Value> = serde_json::from_slice(&response.body).ok();
        let names_itself = doc.is_some_and(|d| d["client_id"] == url.as_str());
        match (response.status, names_itself, host.fetches(&path) > before) {
            (200, true, true) => Ok(()),
            (200, _, false) => fails("it answered 200, but not from this run's document host".to_owned()),
            (status, _, _) => fails(format!("it answered {status}")),
        }
    }

    /// Fresh values for an attempt (seeded: fixed by `purpose`).
    pub(crate) fn attempt(&self, purpose: &str) -> Attempt {
        Attempt::new(self.config.randomness, purpose, self.client.redactor())
    }
}

/// The flows' redirect URI, with its loopback port held where it is free.
fn redirect_uri(config: &TargetConfig) -> (String, Option<std::net::TcpListener>) {
    match config.flow_client() {
        // A pre-registered client brings its redirect URI; its loopback port is held when
        // free (the manual driver listens there).
        Some(c) => {
            let port = url::Url::parse(&c.redirect_uri)
                .ok()
                .filter(|u| u.host_str() == Some("127.0.0.1"))
                .and_then(|u| u.port());
            (
                c.redirect_uri.clone(),
                port.and_then(|p| std::net::TcpListener::bind(("127.0.0.1", p)).ok()),
            )
        }
        None => {
            // Seeded, the port follows from the seed, held if free.
            let wanted = config.randomness.port("redirect uri");
            let listener = std::net::TcpListener::bind(("127.0.0.1", wanted)).ok();
            // Without a free port the URI is still a valid loopback one; only its
            // uniqueness is lost.
            let bound = listener.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.port());
            let port = if wanted != 0 { wanted } else { bound.unwrap_or(33418) };
            (format!("http://127.0.0.1:{port}/callback"), listener)
        }
    }
}
