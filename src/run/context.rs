//! What a run shares: the client, the target, and each built-in step's observations, made
//! once (on first use, by whichever case needs them first) and shared by every case.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::OnceCell;

use super::bearer;
use crate::case::{ClientKind, Overrides, RequestTemplate, Step, TokenPlan, expand_placeholders};
use crate::check::{Observation, Observed, www_authenticate};
use crate::config::{DEFAULT_CODE_WAIT, TargetConfig};
use crate::discovery::{self, Target};
use crate::http::redact::Secret;
use crate::http::{HttpClient, Request};
use crate::oauth::flow::{Attempt, Flow};
use crate::oauth::requests::{self, AuthServer, Client};
use crate::oauth::tokens::{self, TokenKind};
use crate::spec::SpecVersion;

pub type Observations = Arc<Vec<Observation>>;

pub struct Context {
    pub client: HttpClient,
    pub target: Target,
    config: TargetConfig,
    unauthenticated: OnceCell<Observations>,
    prm: OnceCell<Observations>,
    prm_from_header: OnceCell<Observations>,
    prm_well_known: OnceCell<Observations>,
    as_metadata: OnceCell<Observations>,
    /// The loopback redirect URI of every flow; its port is held so no one else takes it.
    redirect_uri: String,
    redirect_port: Option<std::net::TcpListener>,
    auth_server: OnceCell<Result<AuthServer, String>>,
    registration: OnceCell<Observations>,
    /// The `scope` the shared registration named (every other registration names it too).
    registered_scope: std::sync::OnceLock<Option<String>>,
    authorization: OnceCell<(Observations, Attempt)>,
    token: OnceCell<Observations>,
    refresh: OnceCell<Observations>,
    second_client: OnceCell<Result<String, Unavailable>>,
    /// The client every private chain authorizes with (never the shared one), and the leases
    /// that run one chain at a time on it and on the confidential client: an AS may revoke a
    /// client's earlier grants when it authorizes again, so a chain's code and token live
    /// only until the next chain on that client starts.
    chain_client: OnceCell<Result<Client, Unavailable>>,
    chain_lease: tokio::sync::Mutex<()>,
    confidential_lease: tokio::sync::Mutex<()>,
    confidential_client: OnceCell<Result<Client, Unavailable>>,
    confidential_token: OnceCell<Observations>,
    authenticated: OnceCell<Observations>,
    scope_plan: OnceCell<BTreeMap<String, String>>,
    /// The target refuses the run's version but speaks an older one: why (see `version_refusal`).
    version_refusal: OnceCell<Option<String>>,
}

impl Context {
    pub fn new(client: HttpClient, target: Target) -> Self {
        Self::with_config(client, target, TargetConfig::default())
    }

    pub fn with_config(client: HttpClient, target: Target, config: TargetConfig) -> Self {
        for token in config.tokens.values() {
            client.redactor().register(token);
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

    /// `run --strict`: a broken SHOULD fails.
    pub fn strict(&self) -> bool {
        self.config.strict
    }

    /// `run --seed`, if given.
    pub fn seed(&self) -> Option<u64> {
        self.config.randomness.seed()
    }

    /// Fresh values for an attempt (seeded: fixed by `purpose`).
    fn attempt(&self, purpose: &str) -> Attempt {
        Attempt::new(self.config.randomness, purpose)
    }

    /// `run --expected-failures`: the failures the run accepts.
    pub fn baseline(&self) -> &crate::baseline::Baseline {
        &self.config.baseline
    }

    /// Placeholders every case can use: `{target}`, `{origin}`, and the flow's redirect URI
    /// with its near-miss variants (`{redirect_origin}`, `{redirect_uri_case_changed}`).
    pub fn globals(&self) -> BTreeMap<String, String> {
        let mut vars = self.target.globals();
        vars.extend(redirect_variants(&self.redirect_uri));
        // RFC 8707 tests need resources that are not this server: `{second_resource}`, another
        // one the same AS serves (configured; else the unknown one), and `{unknown_resource}`,
        // one that cannot exist (`.invalid`, RFC 6761).
        let second = self.config.second_resource.clone();
        vars.insert(
            "second_resource".to_owned(),
            second.unwrap_or_else(|| UNKNOWN_RESOURCE.to_owned()),
        );
        vars.insert("unknown_resource".to_owned(), UNKNOWN_RESOURCE.to_owned());
        let privileged = [
            ("privileged_request", &self.config.privileged_request),
            ("privileged_scope", &self.config.privileged_scope),
        ];
        for (name, value) in privileged {
            if let Some(value) = value {
                vars.insert(name.to_owned(), value.clone());
            }
        }
        vars
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

    /// A case's own chains, one per variant of its requests, each labelled with its changes.
    async fn private_chains(&self, plan: &TokenPlan, end: ChainEnd, case: &str) -> Vec<Observation> {
        if !plan.has_variants() {
            return vec![self.private_chain(plan, end, case).await.0];
        }
        let chains = plan
            .each_variant()
            .into_iter()
            .enumerate()
            .map(|(i, variant)| async move {
                let (mut obs, _) = self.private_chain(&variant, end, &format!("{case} #{i}")).await;
                let changes: Vec<String> = [&variant.authorize.set, &variant.token.set, &variant.refresh.set]
                    .into_iter()
                    .flatten()
                    .map(|(name, value)| format!("{name}={}", value.as_str().map_or(value.to_string(), str::to_owned)))
                    .collect();
                obs.label = format!("{} ({})", obs.label, changes.join(", "));
                obs
            });
        if self.seed().is_some() {
            let mut out = Vec::new();
            for chain in chains {
                out.push(chain.await);
            }
            return out;
        }
        futures::future::join_all(chains).await
    }

    /// A case's own authorization, token request and (to [`ChainEnd::Refresh`]) refresh
    /// request, each with the plan's changes, on the chain (or confidential) client; with the
    /// lease on that client, to hold for as long as the chain's token is in use.
    async fn private_chain(&self, plan: &TokenPlan, end: ChainEnd, purpose: &str) -> (Observation, Lease<'_>) {
        let label = if end == ChainEnd::Refresh {
            "refresh request"
        } else {
            "token request"
        };
        let (lease, chosen) = match plan.client {
            ClientKind::Default => (&self.chain_lease, self.chain_flow_and_client().await),
            ClientKind::Confidential
            | ClientKind::ConfidentialWrongSecret
            | ClientKind::ConfidentialPostWrongSecret => {
                let both = match (self.flow().await, self.confidential_client().await) {
                    (Ok(flow), Ok(client)) => Ok((flow, client)),
                    (Err(why), _) => Err(Unavailable::from(why)),
                    (_, Err(why)) => Err(why),
                };
                (&self.confidential_lease, both)
            }
        };
        let lease = lease.lock().await;
        let (mut flow, client) = match chosen {
            Ok(both) => both,
            Err(why) => return (why.observation(label), lease),
        };
        let client = match plan.client {
            ClientKind::ConfidentialWrongSecret => Client {
                secret: Some(Secret::new(format!("wrong-{}", self.attempt(purpose).state))),
                ..client
            },
            ClientKind::ConfidentialPostWrongSecret => Client {
                secret: Some(Secret::new(format!("wrong-{}", self.attempt(purpose).state))),
                auth_method: "client_secret_post".to_owned(),
                ..client
            },
            _ => client,
        };
        // Another client only when the case asks for one (`{other_client_id}`).
        let wants_other = plan
            .token
            .set
            .iter()
            .chain(&plan.refresh.set)
            .any(|(_, v)| v.as_str().is_some_and(|s| s.contains("{other_client_id}")));
        if wants_other {
            match self.other_client_id(&client).await {
                Ok(id) => {
                    flow.vars.insert("other_client_id".to_owned(), id);
                }
                Err(why) => return (why.observation(label), lease),
            }
        }
        if !plan.authorization {
            return (
                flow.client_credentials("token request", &client, &plan.token).await,
                lease,
            );
        }
        let wait = self.config.code_wait.unwrap_or(DEFAULT_CODE_WAIT);
        if plan.expire_code && !self.config.slow {
            let why = format!("a slow check (holds a code for {} s); run with --slow", wait.as_secs());
            return (Observation::skipped(label, why), lease);
        }
        let attempt = self.attempt(&format!("{purpose} {label}"));
        let mut first = plan.authorize.requests().into_iter().next().unwrap_or_default();
        // A grant to refresh asks for offline_access where the AS offers it: many issue refresh
        // tokens for nothing else (OpenID Connect Core §11).
        let refreshable = end != ChainEnd::Token;
        if refreshable && flow.server.scopes_supported.iter().any(|s| s == "offline_access") {
            let with_offline = |scope: &str| format!("{scope} offline_access").trim_start().to_owned();
            flow.scope = Some(with_offline(flow.scope.as_deref().unwrap_or_default()));
            for (name, value) in &mut first {
                if let (true, Some(scope)) = (name == "scope", value.as_str()) {
                    *value = serde_json::Value::from(with_offline(scope));
                }
            }
        }
        let authorization = flow
            .authorize(
                "authorization request for a token request",
                &client,
                &attempt,
                &first,
                &plan.authorize.omit,
            )
            .await;
        if plan.expire_code {
            tokio::time::sleep(wait).await;
        }
        let token = flow
            .redeem("token request", &client, &attempt, authorization, &plan.token)
            .await;
        if end != ChainEnd::Refresh {
            return (token, lease);
        }
        (flow.refresh_with(label, &client, token, &plan.refresh).await, lease)
    }

    /// The flow with the chain client: registered once, on demand, as the shared client was
    /// but always as a native application (an MCP client on a loopback redirect URI is one, and
    /// the loopback port rule is for native clients); the configured client where there is no
    /// registration.
    async fn chain_flow_and_client(&self) -> Result<(Flow<'_>, Client), Unavailable> {
        let flow = self.flow().await?;
        if self.config.client.is_some() {
            return Ok((flow, self.oauth_client().await?));
        }
        let init = || async {
            let flow = self.flow().await?;
            let mut body = self.registration_body().await;
            body["application_type"] = serde_json::json!("native");
            let obs = flow.register("chain registration", &body).await;
            self.registered_client(&obs, "no client for the case's own flow")
        };
        let client = self.chain_client.get_or_init(init).await.clone()?;
        Ok((flow, client))
    }

    /// The client a registration created, or why there is none (`what`: "no ... client").
    fn registered_client(&self, obs: &Observation, what: &str) -> Result<Client, Unavailable> {
        let response = match &obs.observed {
            Observed::Response(r) if matches!(r.status, 200 | 201) => r,
            Observed::Response(r) => {
                return Err(Unavailable::skip(format!(
                    "{what}: its registration was answered {}",
                    r.status
                )));
            }
            other => return Err(Unavailable::from_observed(what, other)),
        };
        serde_json::from_slice::<serde_json::Value>(&response.body)
            .ok()
            .and_then(|doc| Client::from_registration(&doc, &self.redirect_uri))
            .ok_or_else(|| Unavailable::skip(format!("{what}: no client_id")))
    }

    /// A client other than `client` (code and refresh binding checks): the shared client
    /// where it differs, else a second one, registered once, on demand.
    async fn other_client_id(&self, client: &Client) -> Result<String, Unavailable> {
        let shared = self.oauth_client().await?;
        if shared.client_id != client.client_id {
            return Ok(shared.client_id);
        }
        self.second_client().await
    }

    /// A DCR request: the client's metadata, with the `scope` the shared registration named.
    async fn registration_body(&self) -> serde_json::Value {
        self.registration().await;
        self.body_naming(self.registered_scope.get().cloned().flatten().as_deref())
    }

    /// The client's metadata, asking for `scope` (RFC 7591) where there is one.
    fn body_naming(&self, scope: Option<&str>) -> serde_json::Value {
        let mut body = requests::registration_body(&self.redirect_uri, self.target.version);
        if let Some(scope) = scope {
            body["scope"] = serde_json::json!(scope);
        }
        body
    }

    /// Every scope the run will request (RFC 7591 `scope`: an AS may grant a client only the
    /// scopes it registered for), and of those, the ones the AS lists (all, if it lists none).
    async fn wanted_scopes(&self) -> (Vec<String>, Vec<String>) {
        let mut scopes: Vec<String> = Vec::new();
        let plan = self.scope_plan().await;
        let offered = match self.auth_server().await {
            Ok(server) => server.scopes_supported.clone(),
            Err(_) => Vec::new(),
        };
        let wanted = [
            self.requested_scope().await,
            plan.get("narrow_scope").cloned(),
            plan.get("privileged_scope").cloned(),
            self.config.privileged_scope.clone(),
            offered
                .contains(&"offline_access".to_owned())
                .then(|| "offline_access".to_owned()),
        ];
        for scope in wanted.iter().flatten().flat_map(|s| s.split_whitespace()) {
            if !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_owned());
            }
        }
        let listed = scopes
            .iter()
            .filter(|s| offered.is_empty() || offered.contains(s))
            .cloned()
            .collect();
        (scopes, listed)
    }

    /// The first authorization server with a metadata document.
    async fn auth_server(&self) -> &Result<AuthServer, String> {
        let init = || async {
            let metadata = self.as_metadata().await;
            for obs in metadata.iter() {
                let Some(response) = obs.response().filter(|r| r.status == 200) else {
                    continue;
                };
                if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&response.body) {
                    let issuer = obs.vars.get("issuer").cloned().unwrap_or_default();
                    return Ok(AuthServer::from_metadata(&issuer, &doc));
                }
            }
            Err("no authorization server metadata was found".to_owned())
        };
        self.auth_server.get_or_init(init).await
    }

    async fn flow(&self) -> Result<Flow<'_>, String> {
        let server = self.auth_server().await.as_ref().map_err(Clone::clone)?;
        let mut vars = self.globals();
        vars.insert("issuer".to_owned(), server.issuer.clone());
        let scope = self.requested_scope().await;
        vars.extend(self.scope_plan().await.clone());
        Ok(Flow {
            http: &self.client,
            server,
            allowed_hosts: self.allowed_hosts(server),
            scope,
            driver: self.config.consent.clone(),
            listener: self.redirect_port.as_ref(),
            randomness: self.config.randomness,
            purpose: "shared".to_owned(),
            // RFC 8707 resource indicators arrive with 2025-06-18.
            resource: (self.target.version >= SpecVersion::V2025_06_18).then(|| self.target.mcp_url.clone()),
            vars,
        })
    }

    async fn flow_and_client(&self) -> Result<(Flow<'_>, Client), Unavailable> {
        let flow = self.flow().await?;
        let client = self.oauth_client().await?;
        Ok((flow, client))
    }

    /// The hosts the flows may contact: the target's, its advertised issuer's, and loopback.
    /// An endpoint elsewhere is judged from the metadata, never called.
    fn allowed_hosts(&self, server: &AuthServer) -> Vec<String> {
        let mut hosts: Vec<String> = ["127.0.0.1", "localhost", "[::1]"].map(String::from).to_vec();
        hosts.extend(self.target.extra_hosts.iter().cloned());
        for url in [&self.target.mcp_url, &server.issuer] {
            if let Some(host) = url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)) {
                hosts.push(host);
            }
        }
        hosts
    }

    /// The scope the flows ask for: configured, else discovered.
    async fn requested_scope(&self) -> Option<String> {
        match &self.config.scope {
            Some(scope) => Some(scope.clone()),
            None => self.scope().await,
        }
    }

    /// The scope to ask for: the 401 challenge's `scope`, else the PRM's `scopes_supported`
    /// (the order MCP 2025-11-25+ clients follow), else none.
    async fn scope(&self) -> Option<String> {
        let unauth = self.unauthenticated().await;
        let from_challenge = unauth[0].response().and_then(|r| {
            let challenges = www_authenticate::parse_lines(r.header_values("www-authenticate")).ok()?;
            challenges
                .iter()
                .find(|c| c.is("bearer"))?
                .param("scope")
                .map(str::to_owned)
        });
        if from_challenge.is_some() {
            return from_challenge;
        }
        let scopes = self.prm_scopes().await;
        (!scopes.is_empty()).then(|| scopes.join(" "))
    }

    /// The PRM's `scopes_supported` (fetching the PRM if no case has yet, so the answer never
    /// depends on which case ran first).
    async fn prm_scopes(&self) -> Vec<String> {
        let prm = self.prm().await;
        let doc = prm[0]
            .response()
            .and_then(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok());
        let scopes = doc
            .as_ref()
            .and_then(|d| d.get("scopes_supported")?.as_array().cloned());
        scopes
            .unwrap_or_default()
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    }

    /// The scope placeholders: `{scope}`, `{narrow_scope}`, `{scope_beyond_narrow}`, and
    /// where the suite chose the narrow scope itself, `{privileged_request}` and
    /// `{privileged_scope}` with `{narrow_scope_chosen}`.
    async fn scope_plan(&self) -> &BTreeMap<String, String> {
        let init = || async {
            let scope = self.requested_scope().await;
            let mut vars = BTreeMap::new();
            let mut narrow = self.config.narrow_scope.clone();
            if self.config.privileged_request.is_none() {
                if narrow.is_none()
                    && let Some(chosen) = self.unasked_scope(scope.as_deref()).await
                {
                    vars.insert("narrow_scope_chosen".to_owned(), chosen.clone());
                    narrow = Some(chosen);
                }
                // A narrow token without some scope the server asks for lacks what every
                // request needs: the version's first request is then the privileged one.
                let granted: Vec<&str> = narrow.as_deref().unwrap_or_default().split_whitespace().collect();
                let missing: Vec<&str> = (scope.as_deref().unwrap_or_default().split_whitespace())
                    .filter(|s| narrow.is_some() && !granted.contains(s))
                    .collect();
                if !missing.is_empty() {
                    let first = discovery::first_request(&self.target).body.unwrap_or_default();
                    let first = String::from_utf8_lossy(&first).into_owned();
                    vars.insert("privileged_request".to_owned(), first);
                    vars.insert("privileged_scope".to_owned(), missing.join(" "));
                }
            }
            vars.extend(scope_placeholders(scope.as_deref(), narrow.as_deref()));
            vars
        };
        self.scope_plan.get_or_init(init).await
    }

    /// A scope the AS advertises that the server does not ask for (neither in its challenge
    /// nor in its PRM), other than offline_access (which asks for refresh tokens, not access).
    /// None where the server asks for nothing: then any scope might be the one it needs.
    async fn unasked_scope(&self, scope: Option<&str>) -> Option<String> {
        let server = self.auth_server().await.as_ref().ok()?;
        let mut asked = self.prm_scopes().await;
        asked.extend(scope.unwrap_or_default().split_whitespace().map(str::to_owned));
        if asked.is_empty() {
            return None;
        }
        server
            .scopes_supported
            .iter()
            .find(|s| *s != "offline_access" && !asked.contains(s))
            .cloned()
    }

    /// The shared registration (the control of the DCR checks). It asks for every scope the
    /// run requests; an AS that refuses to register scopes it does not list (oidc-provider
    /// does) gets a second request naming only those it lists.
    async fn registration(&self) -> Observations {
        let init = || async {
            let flow = match self.flow().await {
                Ok(flow) => flow,
                Err(why) => return Arc::new(vec![Observation::skipped("registration", why)]),
            };
            let (all, listed) = self.wanted_scopes().await;
            let body = |scopes: &[String]| self.body_naming((!scopes.is_empty()).then(|| scopes.join(" ")).as_deref());
            let mut obs = flow.register("registration", &body(&all)).await;
            let mut named = all.clone();
            if obs.response().is_some_and(|r| r.status == 400) && listed != all {
                let mut again = flow.register("registration", &body(&listed)).await;
                again.exchanges.splice(0..0, obs.exchanges);
                obs = again;
                named = listed;
            }
            let _ = self.registered_scope.set((!named.is_empty()).then(|| named.join(" ")));
            Arc::new(vec![obs])
        };
        self.registration.get_or_init(init).await.clone()
    }

    /// The client every flow uses: the configured one, else the one the shared registration
    /// created.
    async fn oauth_client(&self) -> Result<Client, Unavailable> {
        if let Some(c) = &self.config.client {
            if let Some(secret) = &c.secret {
                self.client.redactor().register(secret);
            }
            return Ok(Client {
                client_id: c.client_id.clone(),
                secret: c.secret.clone(),
                auth_method: c.auth_method.clone(),
                redirect_uri: c.redirect_uri.clone(),
                application_type: None,
                registered: false,
            });
        }
        let registration = self.registration().await;
        let obs = &registration[0];
        let response = match &obs.observed {
            Observed::Response(r) => r,
            other => return Err(Unavailable::from_observed("no client", other)),
        };
        serde_json::from_slice::<serde_json::Value>(&response.body)
            .ok()
            .filter(|_| matches!(response.status, 200 | 201))
            .and_then(|doc| Client::from_registration(&doc, &self.redirect_uri))
            .ok_or_else(|| {
                Unavailable::skip(format!(
                    "no client: the registration was answered {} without a client_id",
                    response.status
                ))
            })
    }

    async fn authorization(&self) -> &(Observations, Attempt) {
        let init = || async {
            let attempt = self.attempt("shared authorization");
            let obs = match self.flow_and_client().await {
                Ok((flow, client)) => {
                    flow.authorize("authorization request", &client, &attempt, &[], &[])
                        .await
                }
                Err(why) => why.observation("authorization request"),
            };
            (Arc::new(vec![obs]), attempt)
        };
        self.authorization.get_or_init(init).await
    }

    /// A confidential client (client_secret_basic), registered once, on demand; it also asks
    /// for client_credentials when the AS advertises that grant.
    async fn confidential_client(&self) -> Result<Client, Unavailable> {
        let init = || async {
            let flow = self.flow().await?;
            let method = flow
                .server
                .secret_method()
                .ok_or("no confidential client: the AS advertises no client_secret_basic or client_secret_post")?;
            let mut body = self.registration_body().await;
            body["token_endpoint_auth_method"] = serde_json::json!(method);
            if flow
                .server
                .grant_types_supported
                .iter()
                .any(|g| g == "client_credentials")
            {
                body["grant_types"] = serde_json::json!(["authorization_code", "refresh_token", "client_credentials"]);
            }
            let obs = flow.register("confidential registration", &body).await;
            let client = self.registered_client(&obs, "no confidential client")?;
            if client.secret.is_none() {
                return Err(Unavailable::skip(
                    "no confidential client: the registration issued no client_secret",
                ));
            }
            Ok(client)
        };
        self.confidential_client.get_or_init(init).await.clone()
    }

    async fn confidential_token(&self) -> Observations {
        let init = || async {
            let obs = match (self.flow().await, self.confidential_client().await) {
                (Ok(flow), Ok(client)) => {
                    let _lease = self.confidential_lease.lock().await;
                    let label = "authorization request of the confidential client";
                    let attempt = self.attempt(label);
                    let authorization = flow.authorize(label, &client, &attempt, &[], &[]).await;
                    flow.redeem(
                        "confidential token request",
                        &client,
                        &attempt,
                        authorization,
                        &Overrides::default(),
                    )
                    .await
                }
                (Err(why), _) => Observation::skipped("confidential token request", why),
                (_, Err(why)) => why.observation("confidential token request"),
            };
            Arc::new(vec![obs])
        };
        self.confidential_token.get_or_init(init).await.clone()
    }

    /// A second registered client (for code-binding checks), registered once, on demand.
    async fn second_client(&self) -> Result<String, Unavailable> {
        let init = || async {
            let flow = self.flow().await?;
            let obs = flow
                .register("second registration", &self.registration_body().await)
                .await;
            self.registered_client(&obs, "no second client").map(|c| c.client_id)
        };
        self.second_client.get_or_init(init).await.clone()
    }

    /// The refresh control (and rotation check): a refresh and its replay, on a grant of its
    /// own. Never on the shared token's grant: an AS may revoke a grant's access tokens when
    /// its refresh token is used (OAuth 2.1 §4.3), and other cases use the shared token.
    async fn refresh(&self) -> Observations {
        let init = || async {
            let plan = TokenPlan {
                authorization: true,
                ..TokenPlan::default()
            };
            let (token, _lease) = self
                .private_chain(&plan, ChainEnd::RefreshableToken, "shared refresh")
                .await;
            let refresh_token = token.response().filter(|r| r.status == 200).and_then(|r| {
                let doc: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
                doc.get("refresh_token")?.as_str().map(str::to_owned)
            });
            let obs = match (refresh_token, self.chain_flow_and_client().await) {
                (Some(rt), Ok((flow, client))) => {
                    let mut refreshed = flow.refresh(&client, &rt).await;
                    let mut exchanges = token.exchanges;
                    exchanges.append(&mut refreshed.exchanges);
                    Observation { exchanges, ..refreshed }
                }
                (None, _) if !matches!(token.observed, Observed::Response(_)) => {
                    unanswered("refresh token replay", &token.observed)
                }
                (None, _) => Observation::skipped("refresh token replay", "the token response has no refresh_token"),
                (_, Err(why)) => why.observation("refresh token replay"),
            };
            Arc::new(vec![obs])
        };
        self.refresh.get_or_init(init).await.clone()
    }

    async fn token(&self) -> Observations {
        let init = || async {
            let (authorization, attempt) = self.authorization().await;
            let obs = match self.flow_and_client().await {
                Ok((flow, client)) => {
                    let overrides = Overrides::default();
                    flow.redeem("token request", &client, attempt, authorization[0].clone(), &overrides)
                        .await
                }
                Err(why) => why.observation("token request"),
            };
            Arc::new(vec![obs])
        };
        self.token.get_or_init(init).await.clone()
    }

    /// MCP requests with a valid token (supplied, else the shared flow's), or the case's kind
    /// of token, one per variant of `overrides`.
    async fn authenticated(&self, overrides: &Overrides, purpose: &str) -> Vec<Observation> {
        // Requests that never send the valid token (a garbage one) need no flow.
        let access = match self.valid_token().await {
            Ok(access) => Some(access),
            Err(obs) if bearer::sends_valid_token(overrides) => return vec![obs],
            Err(_) => None,
        };
        let mut vars = self.globals();
        let plan = self.scope_plan().await;
        vars.extend(plan.clone());
        let mut opening = Vec::new();
        // Held until this case's requests are answered: the token is the chain's.
        let mut _lease = None;
        let access = match overrides.token {
            None | Some(TokenKind::Valid) => access,
            Some(kind) => match self.token_of(kind, &vars, purpose).await {
                Ok((token, exchanges, lease)) => {
                    opening = exchanges;
                    _lease = lease;
                    Some(token)
                }
                Err(obs) => return vec![obs],
            },
        };
        if let Some(access) = access {
            let tampered = bearer::tampered(&access);
            let unsigned = bearer::unsigned(&access, &self.target.mcp_url);
            for derived in [&tampered, &unsigned] {
                self.client.redactor().register(&Secret::new(derived.as_str()));
            }
            vars.insert("access_token".to_owned(), access);
            vars.insert("access_token_tampered".to_owned(), tampered);
            vars.insert("access_token_unsigned".to_owned(), unsigned);
        }
        // `{resource_metadata}`: the 401 challenge's pointer, for the other challenges to match.
        if let Some(pointer) = discovery::resource_metadata_param(&self.unauthenticated().await[0]) {
            vars.insert("resource_metadata".to_owned(), pointer);
        }
        let vars = vars;
        let mut out = Vec::new();
        for changes in overrides.requests() {
            let mut label = format!(
                "authenticated MCP request {}",
                bearer::describe(&changes, &overrides.omit)
            );
            // Which narrow scope the suite chose, where it did.
            if overrides.token == Some(TokenKind::LowScope)
                && let Some(chosen) = plan.get("narrow_scope_chosen")
            {
                label.push_str(&format!(
                    " with a low-scope token (scope `{chosen}`: the AS advertises it, the server does not ask for it)"
                ));
            }
            let mut exchanges = opening.clone();
            // Each variant's own values (its token, its session) stay its own.
            let mut vars = vars.clone();
            // `{session_id}`: the session a valid first request opens, for this request alone.
            let wants_session = changes
                .iter()
                .any(|(_, v)| v.as_str().is_some_and(|s| s.contains("{session_id}")));
            // A case needing configuration that is not there skips, naming it. (`{session_id}`
            // comes later, from the server.)
            let mut known = vars.clone();
            known.insert("session_id".to_owned(), String::new());
            if let Some(name) = bearer::unfilled(&changes, &known) {
                let mut why = format!("needs `{name}` in the target configuration (--config)");
                if name.starts_with("privileged_") {
                    why.push_str(", or a scope the AS advertises that the server does not ask for");
                }
                out.push(Observation::skipped(label, why));
                continue;
            }
            // `token_scope`: a token of its own, from a flow asking for that scope.
            let scope = changes
                .iter()
                .find(|(n, _)| n == bearer::TOKEN_SCOPE)
                .and_then(|(_, v)| v.as_str())
                .map(|v| expand_placeholders(v, &vars));
            let mut _lease = None;
            if scope.is_some() {
                match self.token_for(None, scope, purpose).await {
                    Ok((token, got, lease)) => {
                        exchanges.extend(got);
                        vars.insert("access_token".to_owned(), token);
                        _lease = Some(lease);
                    }
                    Err((observed, got)) => {
                        exchanges.extend(got);
                        out.push(Observation {
                            exchanges,
                            ..unanswered(&label, &observed)
                        });
                        continue;
                    }
                }
            }
            if wants_session {
                let opening = bearer::request(&self.target, &[], &[], &vars);
                let (exchange, result) = self.client.send(&opening).await;
                exchanges.push(exchange);
                let session = result
                    .ok()
                    .and_then(|r| r.header_values("mcp-session-id").next().map(str::to_owned));
                let Some(session) = session else {
                    let why = "the valid request opened no session (no Mcp-Session-Id)";
                    out.push(Observation {
                        exchanges,
                        ..Observation::skipped(label, why)
                    });
                    continue;
                };
                vars.insert("session_id".to_owned(), session);
            }
            let request = bearer::request(&self.target, &changes, &overrides.omit, &vars);
            let (exchange, result) = self.client.send(&request).await;
            exchanges.push(exchange);
            out.push(Observation {
                label,
                exchanges,
                observed: match result {
                    Ok(r) => Observed::Response(r),
                    Err(e) => Observed::Error(e.to_string()),
                },
                // Expectations name the scopes the suite chose (`{privileged_scope}`) and the
                // 401's pointer.
                vars: plan
                    .iter()
                    .chain(vars.get_key_value("resource_metadata"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            });
        }
        out
    }

    /// An access token from a flow whose requests name `resource` (authorization and token
    /// requests) or `scope` (authorization request), with the exchanges that got it; or why
    /// there is none, with the exchanges that show the refusal.
    async fn token_for(
        &self,
        resource: Option<String>,
        scope: Option<String>,
        purpose: &str,
    ) -> Result<(String, Vec<crate::http::Exchange>, Lease<'_>), (Observed, Vec<crate::http::Exchange>)> {
        let param = |name: &str, value: &Option<String>| {
            value
                .as_ref()
                .map(|v| (name.to_owned(), serde_json::Value::from(v.as_str())))
        };
        let token_set: Vec<_> = param("resource", &resource).into_iter().collect();
        let mut authorize_set = token_set.clone();
        authorize_set.extend(param("scope", &scope));
        let plan = TokenPlan {
            authorize: Overrides {
                set: authorize_set,
                ..Overrides::default()
            },
            token: Overrides {
                set: token_set,
                ..Overrides::default()
            },
            authorization: true,
            ..TokenPlan::default()
        };
        let asked = match (&resource, &scope) {
            (Some(r), _) => format!("resource <{r}>"),
            (None, s) => format!("scope <{}>", s.as_deref().unwrap_or_default()),
        };
        let (obs, lease) = self.private_chain(&plan, ChainEnd::Token, purpose).await;
        let access = obs.response().filter(|r| r.status == 200).and_then(|r| {
            let doc: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
            doc.get("access_token")?.as_str().map(str::to_owned)
        });
        // The AS's own word for a refusal: the authorization's `error`, else the token one's.
        let error = obs.vars.get("callback.error").cloned().or_else(|| {
            let doc: serde_json::Value = serde_json::from_slice(&obs.response()?.body).ok()?;
            doc.get("error")?.as_str().map(str::to_owned)
        });
        match (access, obs.observed) {
            (Some(token), _) => Ok((token, obs.exchanges, lease)),
            (None, Observed::Response(r)) => {
                let why = match error {
                    Some(error) => format!("the AS refused a token for {asked}: error={error}"),
                    None => format!("the AS issued no token for {asked} (its last answer: {})", r.status),
                };
                Err((Observed::Skipped(why), obs.exchanges))
            }
            // Skipped or an error (a throttled AS): that reason stands.
            (None, other) => Err((other, obs.exchanges)),
        }
    }

    /// The version's first request with the valid token (the control of the MCP checks).
    async fn authenticated_shared(&self) -> Observations {
        let init = || async { Arc::new(self.authenticated(&Overrides::default(), "shared").await) };
        self.authenticated.get_or_init(init).await.clone()
    }

    /// Why the MCP requests of the run's version cannot be judged: the target refused the
    /// valid one (a 4xx other than 401/403, or a JSON-RPC error) and accepts an older
    /// version's. Those checks then skip with this reason instead of failing on it.
    pub async fn version_refusal(&self) -> Option<String> {
        let init = || async {
            let shared = self.authenticated_shared().await;
            let response = shared.first()?.response()?;
            let status = response.status;
            let refused = (400..500).contains(&status) && !matches!(status, 401 | 403);
            let rpc_error = (200..300).contains(&status) && !super::version::accepted(response);
            if !refused && !rpc_error {
                return None;
            }
            let token = self.valid_token().await.ok()?;
            super::version::refused_by(self, &token, response).await
        };
        self.version_refusal.get_or_init(init).await.clone()
    }

    /// [`Context::version_refusal`], if the run came to ask (none asked: none).
    pub fn version_refusal_seen(&self) -> Option<String> {
        self.version_refusal.get().cloned().flatten()
    }

    /// The valid token, to try versions with (`--spec-version auto`); or why there is none.
    pub async fn probe_token(&self) -> Result<String, String> {
        self.valid_token().await.map_err(|obs| match obs.observed {
            Observed::Skipped(why) | Observed::Error(why) => why,
            Observed::Response(r) => format!("answered {}", r.status),
        })
    }

    /// The valid token: supplied, else the shared flow's; or why there is none.
    async fn valid_token(&self) -> Result<String, Observation> {
        if let Some(token) = self.config.tokens.get(&TokenKind::Valid) {
            return Ok(token.expose().to_owned());
        }
        let token = self.token().await;
        let access = token[0].response().filter(|r| r.status == 200).and_then(|r| {
            let doc: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
            doc.get("access_token")?.as_str().map(str::to_owned)
        });
        access.ok_or_else(|| {
            let label = "authenticated MCP request";
            match &token[0].observed {
                Observed::Response(_) => Observation::skipped(label, "the token request gave no access_token"),
                other => unanswered(label, other),
            }
        })
    }

    /// A token of `kind` with the exchanges that got it: supplied, else from a flow (low
    /// scope, foreign audience), a minting issuer (expired, foreign issuer) or by waiting
    /// (expired, slow); or why there is none.
    async fn token_of(
        &self,
        kind: TokenKind,
        vars: &BTreeMap<String, String>,
        purpose: &str,
    ) -> Result<(String, Vec<crate::http::Exchange>, Option<Lease<'_>>), Observation> {
        if let Some(token) = self.config.tokens.get(&kind) {
            return Ok((token.expose().to_owned(), Vec::new(), None));
        }
        let label = format!("authenticated MCP request with a {kind} token");
        let var = |name: &str| vars.get(name).cloned();
        let from_flow = match kind {
            TokenKind::LowScope => Some(self.token_for(None, var("narrow_scope"), purpose).await),
            TokenKind::ForeignAudience => Some(self.token_for(var("second_resource"), None, purpose).await),
            _ => None,
        };
        if let Some(got) = from_flow {
            return match got {
                Ok((token, exchanges, lease)) => Ok((token, exchanges, Some(lease))),
                Err((observed, exchanges)) => Err(Observation {
                    exchanges,
                    ..unanswered(&label, &observed)
                }),
            };
        }
        if let Some(endpoint) = &self.config.mint_endpoint {
            let scope = self.requested_scope().await;
            let minted = tokens::mint(&self.client, endpoint, kind, &self.target.mcp_url, scope.as_deref()).await;
            return match minted {
                Ok((token, exchange)) => Ok((token, vec![exchange], None)),
                Err((why, exchange)) => Err(Observation {
                    exchanges: exchange.into_iter().collect(),
                    ..Observation::skipped(label, why)
                }),
            };
        }
        match kind {
            TokenKind::Expired => self.expired_token(purpose).await.map(|(t, e)| (t, e, None)),
            _ => Err(Observation::skipped(
                label,
                format!(
                    "needs a {kind} token: supply one (--token {kind}=ENV_VAR or config [tokens]) or have a \
                     test issuer your server trusts mint it (reference --issuer-only, --mint-endpoint)"
                ),
            )),
        }
    }

    /// A fresh token, once its `expires_in` has passed (slow: only with `--slow`, and only
    /// for lifetimes within the configured wait), with the exchanges that got it.
    async fn expired_token(&self, purpose: &str) -> Result<(String, Vec<crate::http::Exchange>), Observation> {
        let label = "authenticated MCP request with an expired token";
        if !self.config.slow {
            return Err(Observation::skipped(
                label,
                "a slow check (waits out a fresh token's expires_in); run with --slow",
            ));
        }
        let plan = TokenPlan {
            authorization: true,
            ..TokenPlan::default()
        };
        // Not held while the token ages: the wait is minutes long.
        let (token, _) = self.private_chain(&plan, ChainEnd::Token, purpose).await;
        let doc = token
            .response()
            .filter(|r| r.status == 200)
            .and_then(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok());
        let fields = doc.as_ref().and_then(|d| {
            let access = d.get("access_token")?.as_str()?.to_owned();
            Some((access, d.get("expires_in").and_then(serde_json::Value::as_u64)))
        });
        let (access, lifetime) = match fields {
            Some((access, Some(lifetime))) => (access, lifetime),
            Some((_, None)) => return Err(Observation::skipped(label, "the token response has no expires_in")),
            None => return Err(Observation::skipped(label, "no fresh token was issued")),
        };
        let limit = self.config.token_wait.unwrap_or(DEFAULT_CODE_WAIT);
        if lifetime > limit.as_secs() {
            let why = format!(
                "the token lives {lifetime} s, longer than this check waits ({} s, config token_wait_seconds)",
                limit.as_secs()
            );
            return Err(Observation::skipped(label, why));
        }
        tokio::time::sleep(std::time::Duration::from_secs(lifetime + 1)).await;
        Ok((access, token.exchanges))
    }

    async fn as_metadata(&self) -> Observations {
        let prm = self.prm().await;
        let init = || async { Arc::new(discovery::as_metadata(&self.client, &self.target, &prm[0]).await) };
        self.as_metadata.get_or_init(init).await.clone()
    }

    async fn prm(&self) -> Observations {
        let unauth = self.unauthenticated().await;
        let init = || async { Arc::new(vec![discovery::prm(&self.client, &self.target, &unauth[0]).await]) };
        self.prm.get_or_init(init).await.clone()
    }

    async fn unauthenticated(&self) -> Observations {
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

    async fn raw(&self, template: &RequestTemplate) -> Observation {
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
            label: format!("{} {}", request.method, exchange.request.url),
            exchanges: vec![exchange],
            observed: match result {
                Ok(r) => Observed::Response(r),
                Err(e) => Observed::Error(e.to_string()),
            },
            vars: BTreeMap::new(),
        }
    }
}

/// A chain's hold on its client: no other chain on it starts until it is dropped.
type Lease<'a> = tokio::sync::MutexGuard<'a, ()>;

/// Where a private chain stops: at the token, at a token meant to be refreshed (its grant asks
/// for offline_access where offered), or after the refresh request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChainEnd {
    Token,
    RefreshableToken,
    Refresh,
}

/// A step that could not run because an earlier one got no answer: that step's reason (a
/// skip or an error) stands.
fn unanswered(label: &str, earlier: &Observed) -> Observation {
    Observation {
        label: label.to_owned(),
        exchanges: Vec::new(),
        observed: earlier.clone(),
        vars: BTreeMap::new(),
    }
}

/// `{redirect_uri}` and its near misses: `{redirect_origin}`, `{redirect_uri_case_changed}`
/// (the path upper-cased) and `{redirect_uri_other_port}` (OAuth 2.1 §8.4.2: the same
/// loopback URI on another port).
pub(crate) fn redirect_variants(redirect_uri: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::from([("redirect_uri".to_owned(), redirect_uri.to_owned())]);
    if let Ok(url) = url::Url::parse(redirect_uri) {
        vars.insert("redirect_origin".to_owned(), url.origin().ascii_serialization());
        let changed = format!("{}{}", url.origin().ascii_serialization(), url.path().to_uppercase());
        vars.insert("redirect_uri_case_changed".to_owned(), changed);
        let mut other = url.clone();
        let port = if url.port() == Some(49152) { 49153 } else { 49152 };
        if other.set_port(Some(port)).is_ok() {
            vars.insert("redirect_uri_other_port".to_owned(), other.to_string());
        }
        vars.extend(near_misses(redirect_uri, &url));
    }
    vars
}

/// Redirect URIs a URL parser takes for `uri` and exact string matching does not (OAuth 2.1
/// §2.3.1): with a dot segment, with userinfo, under another name for its host, with one
/// path character percent-encoded. Built on the text, so each differs from `uri` only there.
fn near_misses(uri: &str, url: &url::Url) -> Vec<(String, String)> {
    let origin_end = uri.find("://").map_or(0, |i| i + 3);
    let path_start = uri[origin_end..].find('/').map_or(uri.len(), |i| origin_end + i);
    let (origin, rest) = uri.split_at(path_start);
    let rest = if rest.is_empty() { "/" } else { rest };
    let (scheme, authority) = origin.split_at(origin_end);
    let alias = match url.host() {
        Some(url::Host::Ipv4(_)) | Some(url::Host::Ipv6(_)) => "localhost".to_owned(),
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => "127.0.0.1".to_owned(),
        // A fully qualified name: the same host to DNS, another string to compare.
        Some(url::Host::Domain(d)) => format!("{d}."),
        None => String::new(),
    };
    let aliased = match url.port() {
        Some(port) => format!("{alias}:{port}"),
        None => alias,
    };
    // The first letter of the path as %XX (`/callback` → `/%63allback`).
    let encoded = match rest.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, c)) => format!("{}%{:02X}{}", &rest[..i], c as u32, &rest[i + 1..]),
        None => format!("{rest}%2E"),
    };
    [
        ("redirect_uri_dot_segment", format!("{origin}/mcp-conformance/..{rest}")),
        (
            "redirect_uri_userinfo",
            format!("{scheme}mcp-conformance@{authority}{rest}"),
        ),
        ("redirect_uri_host_alias", format!("{scheme}{aliased}{rest}")),
        ("redirect_uri_encoded", format!("{origin}{encoded}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// `{scope}`, `{narrow_scope}` (the configured narrower set, else the scope itself) and
/// `{scope_beyond_narrow}`: a request beyond the narrow grant, the full scope when it is wider,
/// else the scope plus one the AS cannot know.
fn scope_placeholders(scope: Option<&str>, narrow: Option<&str>) -> [(String, String); 3] {
    let scope = scope.unwrap_or_default();
    let narrow = narrow.unwrap_or(scope);
    let wider = scope
        .split_whitespace()
        .any(|s| !narrow.split_whitespace().any(|n| n == s));
    let beyond = if wider {
        scope.to_owned()
    } else {
        format!("{scope} {UNKNOWN_SCOPE}").trim_start().to_owned()
    };
    [
        ("scope".to_owned(), scope.to_owned()),
        ("narrow_scope".to_owned(), narrow.to_owned()),
        ("scope_beyond_narrow".to_owned(), beyond),
    ]
}

/// A resource no AS serves (RFC 6761 reserves `.invalid`).
const UNKNOWN_RESOURCE: &str = "https://other-resource.invalid/mcp";

/// A scope no AS defines (for "unknown scope" checks).
const UNKNOWN_SCOPE: &str = "mcp-conformance-unknown-scope";

/// Why a flow prerequisite (a client, a registration) is missing: not applicable (`skip`) or
/// could not tell (`error`, e.g. the target throttled the registration).
#[derive(Debug, Clone)]
pub(crate) struct Unavailable {
    reason: String,
    error: bool,
}

impl Unavailable {
    fn skip(reason: impl Into<String>) -> Self {
        Unavailable {
            reason: reason.into(),
            error: false,
        }
    }

    fn from_observed(what: &str, observed: &Observed) -> Self {
        match observed {
            Observed::Error(why) => Unavailable {
                reason: format!("{what}: {why}"),
                error: true,
            },
            Observed::Skipped(why) => Unavailable::skip(format!("{what}: {why}")),
            Observed::Response(r) => Unavailable::skip(format!("{what}: answered {}", r.status)),
        }
    }

    fn observation(&self, label: &str) -> Observation {
        let observed = if self.error {
            Observed::Error(self.reason.clone())
        } else {
            Observed::Skipped(self.reason.clone())
        };
        Observation {
            label: label.to_owned(),
            exchanges: Vec::new(),
            observed,
            vars: BTreeMap::new(),
        }
    }
}

impl From<String> for Unavailable {
    fn from(reason: String) -> Self {
        Unavailable::skip(reason)
    }
}

impl From<&str> for Unavailable {
    fn from(reason: &str) -> Self {
        Unavailable::skip(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::{redirect_variants, scope_placeholders};

    /// Each near miss differs from the registered URI as text, where a URL parser sees none.
    #[test]
    fn redirect_uri_near_misses() {
        let cases = [
            (
                "http://127.0.0.1:33418/callback",
                [
                    "http://127.0.0.1:33418/mcp-conformance/../callback",
                    "http://mcp-conformance@127.0.0.1:33418/callback",
                    "http://localhost:33418/callback",
                    "http://127.0.0.1:33418/%63allback",
                ],
            ),
            (
                "http://[::1]:8080/cb?x=1",
                [
                    "http://[::1]:8080/mcp-conformance/../cb?x=1",
                    "http://mcp-conformance@[::1]:8080/cb?x=1",
                    "http://localhost:8080/cb?x=1",
                    "http://[::1]:8080/%63b?x=1",
                ],
            ),
            (
                "https://Client.example/cb",
                [
                    "https://Client.example/mcp-conformance/../cb",
                    "https://mcp-conformance@Client.example/cb",
                    "https://client.example./cb",
                    "https://Client.example/%63b",
                ],
            ),
        ];
        let names = ["dot_segment", "userinfo", "host_alias", "encoded"];
        for (uri, want) in cases {
            let vars = redirect_variants(uri);
            for (name, want) in names.iter().zip(want) {
                assert_eq!(vars[&format!("redirect_uri_{name}")], want, "{uri}: {name}");
            }
        }
    }

    fn beyond(scope: Option<&str>, narrow: Option<&str>) -> String {
        scope_placeholders(scope, narrow)[2].1.clone()
    }

    #[test]
    fn beyond_the_narrow_scope_is_the_full_scope_when_wider_else_an_unknown_one() {
        assert_eq!(beyond(Some("read write"), Some("read")), "read write");
        assert_eq!(beyond(Some("read"), None), "read mcp-conformance-unknown-scope");
        assert_eq!(beyond(Some("read"), Some("read")), "read mcp-conformance-unknown-scope");
        assert_eq!(beyond(None, None), "mcp-conformance-unknown-scope");
    }
}
