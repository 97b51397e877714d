//! The run's shared state and the dispatch of each step to what observes it (built-in
//! steps once per run; a case's own requests its own).

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::case::{RequestTemplate, Step, expand_placeholders};
use crate::config::TargetConfig;
use crate::discovery::{Discovered, Target};
use crate::http::{HostPolicy, HttpClient, Request};
use crate::oauth::consent::{BrowserSettings, ConsentDriver};
use crate::oauth::grants::{ChainEnd, Grants};
use crate::observation::{Observation, Observations, Observed};

pub struct Context {
    pub client: HttpClient,
    pub target: Target,
    pub(super) config: Arc<TargetConfig>,
    /// Each discovery document, fetched once.
    pub(super) discovered: Arc<Discovered>,
    /// The run's OAuth: the shared flows, the private chains, the token broker.
    pub(super) grants: Grants,
    pub(super) authenticated: OnceCell<Observations>,
    /// The target refuses the run's version but speaks an older one: why (see `version_refusal`).
    pub(super) version_refusal: OnceCell<Option<String>>,
}

impl Context {
    pub fn new(client: HttpClient, target: Target) -> Self {
        Self::with_config(client, target, TargetConfig::default())
    }

    pub fn with_config(client: HttpClient, target: Target, mut config: TargetConfig) -> Self {
        // The run contacts the target's hosts, the issuers discovery finds it advertising, and
        // the endpoints its configuration names; the client refuses any other.
        let client = client.restricted_to(HostPolicy::only(target.hosts()));
        if let Some(mint) = &config.mint_endpoint {
            client.hosts().allow_host_of(mint);
        }
        // A proxy's upstream AS: its authorization chain passes there; its pages are not
        // filled with the target's fields unless the configuration says so.
        if let Some(proxy) = &config.proxy {
            client.hosts().allow_host_of(&proxy.upstream_authorization_endpoint);
            let upstream = url::Url::parse(&proxy.upstream_authorization_endpoint).map(|u| u.origin());
            let form = match &mut config.consent {
                ConsentDriver::Form(form) | ConsentDriver::Browser(BrowserSettings { form, .. }) => Some(form),
                _ => None,
            };
            if let (Some(form), Ok(origin), false) = (form, upstream, proxy.fill_upstream_forms) {
                form.refused_origins.push(origin.ascii_serialization());
            }
        }
        // The configuration's secrets may be echoed before the suite sends them; every other
        // secret the redactor learns as it passes (see `http::redact`).
        for secret in config.secrets() {
            client.redactor().register(secret);
        }
        let config = Arc::new(config);
        let discovered = Arc::new(Discovered::new(client.clone(), target.clone()));
        Context {
            grants: Grants::new(client.clone(), discovered.clone(), config.clone()),
            discovered,
            config,
            authenticated: OnceCell::new(),
            version_refusal: OnceCell::new(),
            client,
            target,
        }
    }

    /// How the flows' client identified itself, once a flow has asked.
    pub fn client_mode(&self) -> Option<&crate::oauth::grants::ClientMode> {
        self.grants.chosen_mode()
    }

    /// `run --seed`, if given.
    pub fn seed(&self) -> Option<u64> {
        self.config.randomness.seed()
    }

    /// What `step` observes for the case of requirement `case` (which names its own attempts).
    pub async fn observe(&self, step: &Step, case: &str) -> Observations {
        // Boxed: a step's future holds the whole chain of flows it may wait for (discovery,
        // the client's registration or document, consent...); nested into every case's and
        // the run's, its type grows past the compiler's layout query depth.
        Box::pin(self.observe_step(step, case)).await
    }

    async fn observe_step(&self, step: &Step, case: &str) -> Observations {
        let one = |o: Observation| Arc::new(vec![o]);
        let (discovered, grants) = (&self.discovered, &self.grants);
        match step {
            Step::McpUnauthenticated => discovered.unauthenticated().await,
            Step::Prm => discovered.prm().await,
            Step::PrmFromHeader => discovered.prm_from_header().await,
            Step::PrmWellKnown => discovered.prm_well_known().await,
            Step::AsMetadata => discovered.as_metadata().await,
            Step::Http(template) => one(self.raw(template).await),
            Step::Mcp(_) | Step::Sessions | Step::SessionOwner if let Some(why) = self.version_refusal().await => {
                one(Observation::skipped("authenticated MCP request", why))
            }
            Step::Mcp(None) => self.authenticated_shared().await,
            Step::Mcp(Some(overrides)) => Arc::new(self.authenticated(overrides, case).await),
            Step::Register(None) => grants.registration().await,
            Step::Register(Some(overrides)) => Arc::new(grants.registrations(overrides).await),
            Step::Authorize(None) => grants.authorization().await.0.clone(),
            Step::Authorize(Some(overrides)) => Arc::new(grants.authorizations(overrides, case).await),
            Step::Token(None) => grants.token().await,
            Step::Refresh(None) => grants.refresh().await,
            Step::ConfidentialToken => grants.confidential_token().await,
            Step::RegisteredToken => grants.registered_token().await,
            Step::CimdAuthorize => grants.cimd_authorization().await.0.clone(),
            Step::RevokeRefresh => one(self.revoked_refresh(case).await),
            Step::RevokeAccess => one(self.revoked_access(case).await),
            Step::Sessions => one(self.sessions().await),
            Step::SessionOwner => one(self.session_owner(case).await),
            Step::ReplayCode => one(self.replayed_code(case).await),
            Step::ProxyConsent => one(self.proxy_consent().await),
            Step::ProxyCallback => one(self.proxy_callback().await),
            Step::Token(Some(plan)) => Arc::new(grants.private_chains(plan, ChainEnd::Token, case).await),
            Step::Refresh(Some(plan)) => Arc::new(grants.private_chains(plan, ChainEnd::Refresh, case).await),
        }
    }

    /// The target's own first exchange, to tell "unreachable" from "broke a rule".
    pub async fn reachability(&self) -> Result<(), String> {
        self.discovered.reachability().await
    }

    /// Placeholders every case can use: the target's, the flows' redirect URIs, the
    /// configured resources and requests.
    pub fn globals(&self) -> BTreeMap<String, String> {
        self.grants.globals()
    }

    /// A valid access token for the version probe (`--spec-version auto`).
    pub async fn probe_token(&self) -> Result<String, String> {
        // Boxed for the same reason as `observe`.
        Box::pin(self.grants.probe_token()).await
    }

    pub(super) async fn raw(&self, template: &RequestTemplate) -> Observation {
        let mut globals = self.globals();
        // AS endpoints, when the request names one: `{token_endpoint}`, `{authorization_endpoint}`.
        if template.url.contains("_endpoint}") {
            let label = format!("{} {}", template.method, template.url);
            let flow = match self.grants.flow().await {
                Ok(flow) => flow,
                Err(why) => return Observation::skipped(label, why),
            };
            let endpoints = [
                ("token_endpoint", flow.server.token_endpoint.as_ref()),
                ("authorization_endpoint", flow.server.authorization_endpoint.as_ref()),
                ("registration_endpoint", flow.server.registration_endpoint.as_ref()),
                ("introspection_endpoint", flow.server.introspection_endpoint.as_ref()),
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
        // The run's valid token, where the request names it (it is not spent: introspection).
        let names = |p: &str| {
            template.url.contains(p)
                || template.body.as_deref().is_some_and(|b| b.contains(p))
                || template.headers.iter().any(|(_, v)| v.contains(p))
        };
        if names("{access_token}") {
            match self.grants.valid_token().await {
                Ok(token) => globals.insert("access_token".to_owned(), token),
                Err(obs) => {
                    let label = format!("{} {}", template.method, template.url);
                    return Observation { label, ..obs };
                }
            };
        }
        let fill = |s: &str| expand_placeholders(s, &globals);
        // A host beyond the target's may be an advertised issuer's: the run knows its hosts
        // once the AS metadata has been looked for, whichever case runs first.
        if !self.target.hosts().allows(&fill(&template.url)) {
            self.discovered.as_metadata().await;
        }
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
