//! The OAuth flows a run drives: the shared client and registrations, the shared valid
//! authorization and token, and each case's private chains, one at a time per client.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::case::{ClientKind, Overrides, TokenPlan};
use crate::check::{Observation, Observed};
use crate::config::DEFAULT_CODE_WAIT;
use crate::http::hosts::{Hosts, LOOPBACK};
use crate::http::redact::Secret;
use crate::oauth::flow::{Attempt, Flow};
use crate::oauth::requests::{self, AuthServer, Client};
use crate::spec::SpecVersion;

use super::*;

/// A chain's hold on its client: no other chain on it starts until it is dropped.
pub(super) type Lease<'a> = tokio::sync::MutexGuard<'a, ()>;

/// Where a private chain stops: at the token, at a token meant to be refreshed (its grant asks
/// for offline_access where offered), or after the refresh request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ChainEnd {
    Token,
    RefreshableToken,
    Refresh,
}

/// A step that could not run because an earlier one got no answer: that step's reason (a
/// skip or an error) stands.
pub(super) fn unanswered(label: &str, earlier: &Observed) -> Observation {
    Observation {
        label: label.to_owned(),
        exchanges: Vec::new(),
        observed: earlier.clone(),
        vars: BTreeMap::new(),
    }
}

/// Why a flow prerequisite (a client, a registration) is missing: not applicable (`skip`) or
/// could not tell (`error`, e.g. the target throttled the registration).
#[derive(Debug, Clone)]
pub(super) struct Unavailable {
    reason: String,
    error: bool,
}

impl Unavailable {
    pub(super) fn skip(reason: impl Into<String>) -> Self {
        Unavailable {
            reason: reason.into(),
            error: false,
        }
    }

    pub(super) fn from_observed(what: &str, observed: &Observed) -> Self {
        match observed {
            Observed::Error(why) => Unavailable {
                reason: format!("{what}: {why}"),
                error: true,
            },
            Observed::Skipped(why) => Unavailable::skip(format!("{what}: {why}")),
            Observed::Response(r) => Unavailable::skip(format!("{what}: answered {}", r.status)),
        }
    }

    pub(super) fn observation(&self, label: &str) -> Observation {
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

impl Context {
    /// A case's own chains, one per variant of its requests, each labelled with its changes.
    pub(super) async fn private_chains(&self, plan: &TokenPlan, end: ChainEnd, case: &str) -> Vec<Observation> {
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
    pub(super) async fn private_chain(
        &self,
        plan: &TokenPlan,
        end: ChainEnd,
        purpose: &str,
    ) -> (Observation, Lease<'_>) {
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
    pub(super) async fn chain_flow_and_client(&self) -> Result<(Flow<'_>, Client), Unavailable> {
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
    pub(super) fn registered_client(&self, obs: &Observation, what: &str) -> Result<Client, Unavailable> {
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
    pub(super) async fn other_client_id(&self, client: &Client) -> Result<String, Unavailable> {
        let shared = self.oauth_client().await?;
        if shared.client_id != client.client_id {
            return Ok(shared.client_id);
        }
        self.second_client().await
    }

    /// A DCR request: the client's metadata, with the `scope` the shared registration named.
    pub(super) async fn registration_body(&self) -> serde_json::Value {
        self.registration().await;
        self.body_naming(self.registered_scope.get().cloned().flatten().as_deref())
    }

    /// The client's metadata, asking for `scope` (RFC 7591) where there is one.
    pub(super) fn body_naming(&self, scope: Option<&str>) -> serde_json::Value {
        let mut body = requests::registration_body(&self.redirect_uri, self.target.version);
        if let Some(scope) = scope {
            body["scope"] = serde_json::json!(scope);
        }
        body
    }

    /// Every scope the run will request (RFC 7591 `scope`: an AS may grant a client only the
    /// scopes it registered for), and of those, the ones the AS lists (all, if it lists none).
    pub(super) async fn wanted_scopes(&self) -> (Vec<String>, Vec<String>) {
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
    pub(super) async fn auth_server(&self) -> &Result<AuthServer, String> {
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

    pub(super) async fn flow(&self) -> Result<Flow<'_>, String> {
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

    pub(super) async fn flow_and_client(&self) -> Result<(Flow<'_>, Client), Unavailable> {
        let flow = self.flow().await?;
        let client = self.oauth_client().await?;
        Ok((flow, client))
    }

    /// The hosts the flows may contact: the target's, its advertised issuer's, and loopback.
    /// An endpoint elsewhere is judged from the metadata, never called.
    pub(super) fn allowed_hosts(&self, server: &AuthServer) -> Hosts {
        let own = [&self.target.mcp_url, &server.issuer].map(|url| Hosts::host_of(url));
        let loopback = LOOPBACK.map(String::from);
        Hosts::new(
            loopback
                .into_iter()
                .chain(self.target.extra_hosts.iter().cloned())
                .chain(own),
        )
    }

    /// The shared registration (the control of the DCR checks). It asks for every scope the
    /// run requests; an AS that refuses to register scopes it does not list (oidc-provider
    /// does) gets a second request naming only those it lists.
    pub(super) async fn registration(&self) -> Observations {
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
    pub(super) async fn oauth_client(&self) -> Result<Client, Unavailable> {
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

    pub(super) async fn authorization(&self) -> &(Observations, Attempt) {
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
    pub(super) async fn confidential_client(&self) -> Result<Client, Unavailable> {
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

    pub(super) async fn confidential_token(&self) -> Observations {
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
    pub(super) async fn second_client(&self) -> Result<String, Unavailable> {
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
    pub(super) async fn refresh(&self) -> Observations {
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

    pub(super) async fn token(&self) -> Observations {
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
}
