//! Authenticated MCP requests: the shared valid one (the control), a case's variants, and
//! whether the server refused the run's version.

use std::sync::Arc;

use crate::case::{Overrides, expand_placeholders};
use crate::discovery;
use crate::http::redact::Secret;
use crate::observation::{Observation, Observed};
use crate::run::{bearer, forged};
use crate::token_kind::TokenKind;

use super::Context;
use crate::oauth::grants::unanswered;
use crate::observation::Observations;

impl Context {
    /// MCP requests with a valid token (supplied, else the shared flow's), or the case's kind
    /// of token, one per variant of `overrides`.
    pub(super) async fn authenticated(&self, overrides: &Overrides, purpose: &str) -> Vec<Observation> {
        // Requests that never send the valid token (a garbage one) need no flow.
        let access = match self.grants.valid_token().await {
            Ok(access) => Some(access),
            Err(obs) if bearer::sends_valid_token(overrides) => return vec![obs],
            Err(_) => None,
        };
        let mut vars = self.globals();
        let plan = self.grants.scope_plan().await;
        vars.extend(plan.clone());
        let mut opening = Vec::new();
        // Held until this case's requests are answered: the token is the chain's.
        let mut _lease = None;
        let access = match overrides.token {
            None | Some(TokenKind::Valid) => access,
            Some(kind) => match self.grants.token_of(kind, &vars, purpose).await {
                Ok((token, exchanges, lease)) => {
                    opening = exchanges;
                    _lease = lease;
                    Some(token)
                }
                Err(obs) => return vec![obs],
            },
        };
        if let Some(access) = access {
            let audience = &self.target.mcp_url;
            let forgeries = [
                ("access_token_tampered", forged::tampered(&access)),
                ("access_token_unsigned", forged::unsigned(&access, audience)),
                (
                    "access_token_no_signature",
                    forged::without_signature(&access, audience),
                ),
                ("access_token_foreign_key", forged::foreign_key(&access, audience)),
            ];
            for (name, forgery) in forgeries {
                // Each shows nearly all of the valid token.
                self.client.redactor().register(&Secret::new(forgery.as_str()));
                vars.insert(name.to_owned(), forgery);
            }
            vars.insert("access_token".to_owned(), access);
        }
        // `{resource_metadata}`: the 401 challenge's pointer, for the other challenges to match.
        if let Some(pointer) = discovery::resource_metadata_param(&self.discovered.unauthenticated().await[0]) {
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
            let mentions = |name: &str| {
                changes
                    .iter()
                    .any(|(_, v)| v.as_str().is_some_and(|s| s.contains(name)))
            };
            let wants_session = mentions("{session_id}");
            // `{state_handle_request}`: a use of a handle minted for this request alone.
            let wants_handle = mentions("{state_handle_request}");
            // A case needing configuration that is not there skips, naming it. (`{session_id}`
            // comes later, from the server.)
            let mut known = vars.clone();
            known.insert("session_id".to_owned(), String::new());
            known.insert("state_handle_request".to_owned(), String::new());
            if let Some(name) = crate::case::placeholders::unfilled(&changes, &known) {
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
            let mut granted = None;
            if let Some(asked) = scope.clone() {
                match self.grants.token_for(None, scope, purpose).await {
                    Ok((token, got, lease)) => {
                        granted = crate::oauth::flow::granted_scope(token_answer(&got).as_ref(), Some(&asked));
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
            // The same state used with the valid token after the observed request: it still
            // serves (nothing ended it meanwhile, and it was no single-use thing).
            let mut after = None;
            if wants_session {
                let token = vars.get("access_token").cloned().unwrap_or_default();
                let opened = self.open_state(&token).await;
                exchanges.extend(opened.exchanges);
                match opened.id {
                    Ok(session) => {
                        after = Some(self.in_state(&session, 9));
                        vars.insert("session_id".to_owned(), session);
                    }
                    Err(why) => {
                        out.push(Observation {
                            exchanges,
                            ..Observation::skipped(label, why)
                        });
                        continue;
                    }
                }
            }
            let mut answer_vars = Vec::new();
            if wants_handle {
                match self.handle_use(&mut exchanges).await {
                    Ok((request, with_token)) => {
                        after = Some(vec![("body".to_owned(), serde_json::Value::from(request.as_str()))]);
                        vars.insert("state_handle_request".to_owned(), request);
                        answer_vars.push(("state_handle.with_token".to_owned(), with_token));
                    }
                    Err(why) => {
                        out.push(Observation {
                            exchanges,
                            ..Observation::skipped(label, why)
                        });
                        continue;
                    }
                };
            }
            let request = bearer::request(&self.target, &changes, &overrides.omit, &vars);
            let (exchange, result) = self.client.send(&request).await;
            exchanges.push(exchange);
            answer_vars.push(("mcp.answer".to_owned(), super::state::outcome(&result)));
            if let Some(changes) = after {
                let token = self.grants.valid_token().await.unwrap_or_default();
                let answer = self.with_token(&token, &changes, &mut exchanges).await;
                answer_vars.push(("state.with_token_after".to_owned(), answer));
            }
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
                    .chain(granted.map(|g| ("token_scope.granted".to_owned(), g)))
                    .chain(answer_vars)
                    .collect(),
            });
        }
        out
    }

    /// The version's first request with the valid token (the control of the MCP checks).
    pub(super) async fn authenticated_shared(&self) -> Observations {
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
            let rpc_error = (200..300).contains(&status) && !crate::http::jsonrpc::accepted(response);
            if !refused && !rpc_error {
                return None;
            }
            let token = self.grants.valid_token().await.ok()?;
            crate::run::version::refused_by(self, &token, response).await
        };
        self.version_refusal.get_or_init(init).await.clone()
    }

    /// [`Context::version_refusal`], if the run came to ask (none asked: none).
    pub fn version_refusal_seen(&self) -> Option<String> {
        self.version_refusal.get().cloned().flatten()
    }
}

/// The last successful token response of `exchanges`, as JSON.
fn token_answer(exchanges: &[crate::http::Exchange]) -> Option<serde_json::Value> {
    let response = exchanges
        .iter()
        .rev()
        .filter_map(|e| e.response.as_ref())
        .find(|r| r.status == 200)?;
    serde_json::from_str(&response.body).ok()
}

impl Context {
    /// `{state_handle_request}`: the configured use of a handle minted with the valid token,
    /// and how that use fared with the valid token (the control of a use without it).
    async fn handle_use(&self, exchanges: &mut Vec<crate::http::Exchange>) -> Result<(String, String), String> {
        let (Some(config), true) = (&self.config.state_handle, self.uses_handles()) else {
            return Err(super::state::NO_STATE_HANDLE.to_owned());
        };
        // Unavailable only where the flow failed, whose verdict the case then shows instead.
        let token = (self.grants.valid_token().await).map_err(|_| "no valid token to mint a handle with".to_owned())?;
        let opened = self.open_state(&token).await;
        exchanges.extend(opened.exchanges);
        let request = super::state::handle_request(&config.request, &opened.id?);
        let changes = [("body".to_owned(), serde_json::Value::from(request.as_str()))];
        let answer = self.with_token(&token, &changes, exchanges).await;
        Ok((request, answer))
    }

    /// How the valid request with `changes`, sent with `token`, fared (see [`super::state::outcome`]).
    async fn with_token(
        &self,
        token: &str,
        changes: &[(String, serde_json::Value)],
        exchanges: &mut Vec<crate::http::Exchange>,
    ) -> String {
        let vars = std::collections::BTreeMap::from([("access_token".to_owned(), token.to_owned())]);
        let (exchange, answer) = self
            .client
            .send(&bearer::request(&self.target, changes, &[], &vars))
            .await;
        exchanges.push(exchange);
        super::state::outcome(&answer)
    }
}
