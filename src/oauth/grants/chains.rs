//! Each case's private OAuth chains (registration, authorization, token, refresh), one at a
//! time per client.

use std::collections::BTreeMap;

use crate::case::{ClientKind, Overrides, TokenPlan};
use crate::config::DEFAULT_CODE_WAIT;
use crate::http::redact::Secret;
use crate::oauth::requests::Client;
use crate::observation::{Observation, Observed};

use super::*;

/// A chain's hold on its client: no other chain on it starts until it is dropped.
pub(crate) type Lease<'a> = tokio::sync::MutexGuard<'a, ()>;

/// Where a private chain stops: at the token, at a token meant to be refreshed (its grant asks
/// for offline_access where offered), or after the refresh request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChainEnd {
    Token,
    RefreshableToken,
    Refresh,
}

/// A step that could not run because an earlier one got no answer: that step's reason (a
/// skip or an error) stands.
pub(crate) fn unanswered(label: &str, earlier: &Observed) -> Observation {
    Observation {
        label: label.to_owned(),
        exchanges: Vec::new(),
        observed: earlier.clone(),
        vars: BTreeMap::new(),
    }
}

impl Grants {
    /// A case's own registration requests, one per variant of `overrides`.
    pub(crate) async fn registrations(&self, overrides: &Overrides) -> Vec<Observation> {
        match self.flow().await {
            Ok(flow) => flow.register_variants(&self.registration_body().await, overrides).await,
            Err(why) => vec![Observation::skipped("registration", why)],
        }
    }

    /// A case's own authorization requests on the chain client, one per variant of
    /// `overrides`, holding the client's lease. Requests that each name a client id of their
    /// own (the run's client ID metadata documents) need no registered client.
    pub(crate) async fn authorizations(&self, overrides: &Overrides, case: &str) -> Vec<Observation> {
        let own_client_id = overrides
            .requests()
            .iter()
            .all(|changes| changes.iter().any(|(name, _)| name == "client_id"));
        if own_client_id {
            return match self.document_client("cimd_client").await {
                Ok((mut flow, client)) => {
                    flow.purpose = case.to_owned();
                    flow.authorize_variants(&client, overrides).await
                }
                Err(why) => vec![Observation::skipped("authorization request", why)],
            };
        }
        match self.chain_flow_and_client().await {
            Ok((mut flow, client)) => {
                flow.purpose = case.to_owned();
                let _lease = self.chain_lease.lock().await;
                flow.authorize_variants(&client, overrides).await
            }
            Err(why) => vec![why.observation("authorization request")],
        }
    }

    /// A case's own chains, one per variant of its requests, each labelled with its changes.
    pub(crate) async fn private_chains(&self, plan: &TokenPlan, end: ChainEnd, case: &str) -> Vec<Observation> {
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
        if self.config.randomness.seed().is_some() {
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
    pub(crate) async fn private_chain(
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
}
