//! What a flow runs on: the authorization server discovery found, and the clients (the
//! shared one, the chain client, a second one), with why one is unavailable.

use std::collections::BTreeMap;

use crate::config::Registration;
use crate::oauth::flow::Flow;
use crate::oauth::requests::{self, AuthServer, Client};
use crate::observation::{Observation, Observed};
use crate::spec::SpecVersion;

use super::*;

/// Why a flow prerequisite (a client, a registration) is missing: not applicable (`skip`) or
/// could not tell (`error`, e.g. the target throttled the registration).
#[derive(Debug, Clone)]
pub(crate) struct Unavailable {
    reason: String,
    error: bool,
}

impl Unavailable {
    pub(crate) fn skip(reason: impl Into<String>) -> Self {
        Unavailable {
            reason: reason.into(),
            error: false,
        }
    }

    pub(crate) fn from_observed(what: &str, observed: &Observed) -> Self {
        match observed {
            Observed::Error(why) => Unavailable {
                reason: format!("{what}: {why}"),
                error: true,
            },
            Observed::Skipped(why) => Unavailable::skip(format!("{what}: {why}")),
            Observed::Response(r) => Unavailable::skip(format!("{what}: answered {}", r.status)),
        }
    }

    pub(crate) fn observation(&self, label: &str) -> Observation {
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

impl Grants {
    /// The flow with the chain client: the configured client, a document client of its own
    /// (`{cimd_chain_client}`), or registered once, on demand, as the shared client was but
    /// always as a native application (an MCP client on a loopback redirect URI is one, and
    /// the loopback port rule is for native clients).
    pub(crate) async fn chain_flow_and_client(&self) -> Result<(Flow<'_>, Client), Unavailable> {
        let flow = self.flow().await?;
        match self.client_mode().await.registration {
            Registration::Preregistered => return Ok((flow, self.configured_client()?)),
            Registration::Cimd => return Ok(self.document_client("cimd_chain_client").await?),
            Registration::Auto | Registration::Dcr => {}
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
    pub(crate) fn registered_client(&self, obs: &Observation, what: &str) -> Result<Client, Unavailable> {
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
    pub(crate) async fn other_client_id(&self, client: &Client) -> Result<String, Unavailable> {
        let shared = self.oauth_client().await?;
        if shared.client_id != client.client_id {
            return Ok(shared.client_id);
        }
        self.second_client().await
    }

    /// A DCR request: the client's metadata, as the shared registration's accepted one said it.
    pub(crate) async fn registration_body(&self) -> serde_json::Value {
        self.registration().await;
        self.body_as(&self.registered_as.get().cloned().unwrap_or_default())
    }

    /// The client's metadata, asking for `scope` (RFC 7591) where there is one, and saying
    /// `application_type: native` where asked to.
    pub(super) fn body_as(&self, how: &RegisteredAs) -> serde_json::Value {
        let mut body = requests::registration_body(&self.redirect_uri, self.discovered.target.version);
        if let Some(scope) = &how.scope {
            body["scope"] = serde_json::json!(scope);
        }
        if how.native {
            body["application_type"] = serde_json::json!("native");
        }
        body
    }

    /// Every scope the run will request (RFC 7591 `scope`: an AS may grant a client only the
    /// scopes it registered for), and of those, the ones the AS lists (all, if it lists none).
    pub(crate) async fn wanted_scopes(&self) -> (Vec<String>, Vec<String>) {
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
    pub(crate) async fn auth_server(&self) -> &Result<AuthServer, String> {
        let init = || async {
            let metadata = self.discovered.as_metadata().await;
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

    pub(crate) async fn flow(&self) -> Result<Flow<'_>, String> {
        let server = self.auth_server().await.as_ref().map_err(Clone::clone)?;
        let mut vars = self.globals();
        vars.insert("issuer".to_owned(), server.issuer.clone());
        let scope = self.requested_scope().await;
        vars.extend(self.scope_plan().await.clone());
        let cimd = self.cimd_host().await.ok();
        vars.extend(cimd.iter().flat_map(|host| host.urls()));
        // The host's loopback name is offered only where its fetch would be seen.
        if !cimd.is_some_and(|host| host.loopback_observable(&server.issuer)) {
            vars.remove("cimd_client_loopback");
        }
        Ok(Flow {
            cimd,
            http: &self.client,
            server,
            scope,
            driver: self.config.consent.clone(),
            listener: self.redirect_port.as_ref(),
            randomness: self.config.randomness,
            purpose: "shared".to_owned(),
            // RFC 8707 resource indicators arrive with 2025-06-18.
            resource: (self.discovered.target.version >= SpecVersion::V2025_06_18)
                .then(|| self.discovered.target.mcp_url.clone()),
            vars,
        })
    }

    pub(crate) async fn flow_and_client(&self) -> Result<(Flow<'_>, Client), Unavailable> {
        let flow = self.flow().await?;
        let client = self.oauth_client().await?;
        Ok((flow, client))
    }
}
