//! The run's shared state and the dispatch of each step to what observes it (built-in
//! steps once per run; a case's own requests its own).

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::case::{RequestTemplate, Step, expand_placeholders};
use crate::config::TargetConfig;
use crate::discovery::{self, Target};
use crate::http::{HostPolicy, HttpClient, Request};
use crate::oauth::flow::Attempt;
use crate::oauth::requests::{AuthServer, Client};
use crate::observation::{Observation, Observed};

use super::*;

pub type Observations = Arc<Vec<Observation>>;

pub struct Context {
    pub client: HttpClient,
    pub target: Target,
    pub(super) config: TargetConfig,
    pub(super) unauthenticated: OnceCell<Observations>,
    pub(super) prm: OnceCell<Observations>,
    pub(super) prm_from_header: OnceCell<Observations>,
    pub(super) prm_well_known: OnceCell<Observations>,
    pub(super) as_metadata: OnceCell<Observations>,
    /// The loopback redirect URI of every flow; its port is held so no one else takes it.
    pub(super) redirect_uri: String,
    pub(super) redirect_port: Option<std::net::TcpListener>,
    pub(super) auth_server: OnceCell<Result<AuthServer, String>>,
    pub(super) registration: OnceCell<Observations>,
    /// The `scope` the shared registration named (every other registration names it too).
    pub(super) registered_scope: std::sync::OnceLock<Option<String>>,
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
    pub(super) authenticated: OnceCell<Observations>,
    pub(super) scope_plan: OnceCell<BTreeMap<String, String>>,
    /// The target refuses the run's version but speaks an older one: why (see `version_refusal`).
    pub(super) version_refusal: OnceCell<Option<String>>,
}

impl Context {
    pub fn new(client: HttpClient, target: Target) -> Self {
        Self::with_config(client, target, TargetConfig::default())
    }

    pub fn with_config(client: HttpClient, target: Target, config: TargetConfig) -> Self {
        // The run contacts the target's hosts, the issuers discovery finds it advertising, and
        // the endpoints its configuration names; the client refuses any other.
        let client = client.restricted_to(HostPolicy::only(target.hosts()));
        if let Some(mint) = &config.mint_endpoint {
            client.hosts().allow_host_of(mint);
        }
        // The configuration's secrets may be echoed before the suite sends them; every other
        // secret the redactor learns as it passes (see `http::redact`).
        for secret in config.secrets() {
            client.redactor().register(secret);
        }
        let (redirect_uri, listener) = match &config.client {
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
        };
        Context {
            config,
            redirect_uri,
            redirect_port: listener,
            auth_server: OnceCell::new(),
            registration: OnceCell::new(),
            registered_scope: std::sync::OnceLock::new(),
            authorization: OnceCell::new(),
            token: OnceCell::new(),
            refresh: OnceCell::new(),
            second_client: OnceCell::new(),
            chain_client: OnceCell::new(),
            chain_lease: tokio::sync::Mutex::new(()),
            confidential_lease: tokio::sync::Mutex::new(()),
            confidential_client: OnceCell::new(),
            confidential_token: OnceCell::new(),
            authenticated: OnceCell::new(),
            scope_plan: OnceCell::new(),
            version_refusal: OnceCell::new(),
            client,
            target,
            unauthenticated: OnceCell::new(),
            prm: OnceCell::new(),
            prm_from_header: OnceCell::new(),
            prm_well_known: OnceCell::new(),
            as_metadata: OnceCell::new(),
        }
    }

    /// `run --seed`, if given.
    pub fn seed(&self) -> Option<u64> {
        self.config.randomness.seed()
    }

    /// Fresh values for an attempt (seeded: fixed by `purpose`).
    pub(super) fn attempt(&self, purpose: &str) -> Attempt {
        Attempt::new(self.config.randomness, purpose)
    }

    /// What `step` observes for the case of requirement `case` (which names its own attempts).
    pub async fn observe(&self, step: &Step, case: &str) -> Observations {
        let (c, t) = (&self.client, &self.target);
        let one = |o: Observation| Arc::new(vec![o]);
        match step {
            Step::McpUnauthenticated => self.unauthenticated().await,
            Step::Prm => self.prm().await,
            Step::PrmFromHeader => {
                let unauth = self.unauthenticated().await;
                let init = || async { one(discovery::prm_from_header(c, &self.target, &unauth[0]).await) };
                self.prm_from_header.get_or_init(init).await.clone()
            }
            Step::PrmWellKnown => {
                let init = || async { one(discovery::prm_well_known(c, t).await) };
                self.prm_well_known.get_or_init(init).await.clone()
            }
            Step::AsMetadata => self.as_metadata().await,
            Step::Http(template) => one(self.raw(template).await),
            Step::Mcp(_) if let Some(why) = self.version_refusal().await => {
                one(Observation::skipped("authenticated MCP request", why))
            }
            Step::Mcp(None) => self.authenticated_shared().await,
            Step::Mcp(Some(overrides)) => Arc::new(self.authenticated(overrides, case).await),
            Step::Register(None) => self.registration().await,
            Step::Register(Some(overrides)) => match self.flow().await {
                Ok(flow) => Arc::new(flow.register_variants(&self.registration_body().await, overrides).await),
                Err(why) => one(Observation::skipped("registration", why)),
            },
            Step::Authorize(None) => self.authorization().await.0.clone(),
            Step::Authorize(Some(overrides)) => match self.chain_flow_and_client().await {
                Ok((mut flow, client)) => {
                    flow.purpose = case.to_owned();
                    let _lease = self.chain_lease.lock().await;
                    Arc::new(flow.authorize_variants(&client, overrides).await)
                }
                Err(why) => one(why.observation("authorization request")),
            },
            Step::Token(None) => self.token().await,
            Step::Refresh(None) => self.refresh().await,
            Step::ConfidentialToken => self.confidential_token().await,
            Step::Token(Some(plan)) => Arc::new(self.private_chains(plan, ChainEnd::Token, case).await),
            Step::Refresh(Some(plan)) => Arc::new(self.private_chains(plan, ChainEnd::Refresh, case).await),
        }
    }

    pub(super) async fn as_metadata(&self) -> Observations {
        let prm = self.prm().await;
        let init = || async { Arc::new(discovery::as_metadata(&self.client, &self.target, &prm[0]).await) };
        self.as_metadata.get_or_init(init).await.clone()
    }

    pub(super) async fn prm(&self) -> Observations {
        let unauth = self.unauthenticated().await;
        let init = || async { Arc::new(vec![discovery::prm(&self.client, &self.target, &unauth[0]).await]) };
        self.prm.get_or_init(init).await.clone()
    }

    pub(super) async fn unauthenticated(&self) -> Observations {
        let init = || async { Arc::new(vec![discovery::mcp_unauthenticated(&self.client, &self.target).await]) };
        self.unauthenticated.get_or_init(init).await.clone()
    }

    /// The target's own first exchange, to tell "unreachable" from "broke a rule".
    pub async fn reachability(&self) -> Result<(), String> {
        match &self.unauthenticated().await[0].observed {
            Observed::Error(e) => Err(e.clone()),
            _ => Ok(()),
        }
    }

    pub(super) async fn raw(&self, template: &RequestTemplate) -> Observation {
        let mut globals = self.globals();
        // AS endpoints, when the request names one: `{token_endpoint}`, `{authorization_endpoint}`.
        if template.url.contains("_endpoint}") {
            let label = format!("{} {}", template.method, template.url);
            let flow = match self.flow().await {
                Ok(flow) => flow,
                Err(why) => return Observation::skipped(label, why),
            };
            let endpoints = [
                ("token_endpoint", flow.server.token_endpoint.as_ref()),
                ("authorization_endpoint", flow.server.authorization_endpoint.as_ref()),
                ("registration_endpoint", flow.server.registration_endpoint.as_ref()),
            ];
            for (name, url) in endpoints {
                if template.url.contains(&format!("{{{name}}}")) {
                    match flow.reachable(name, url) {
                        Ok(url) => globals.insert(name.to_owned(), url.clone()),
                        Err(why) => return Observation::skipped(label, why),
                    };
                }
            }
        }
        let fill = |s: &str| expand_placeholders(s, &globals);
        let request = Request {
            method: template.method.clone(),
            url: fill(&template.url),
            headers: template.headers.iter().map(|(n, v)| (n.clone(), fill(v))).collect(),
            body: template.body.as_deref().map(|b| fill(b).into_bytes()),
        };
        let (exchange, result) = self.client.send(&request).await;
        Observation {
            // A label is shown as written: its URL's credentials redacted now.
            label: format!("{} {}", request.method, self.client.redactor().url(&request.url)),
            exchanges: vec![exchange],
            observed: match result {
                Ok(r) => Observed::Response(r),
                Err(e) => Observed::Error(e.to_string()),
            },
            vars: BTreeMap::new(),
        }
    }
}
