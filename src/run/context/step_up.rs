//! Step `step_up`: the privileged request with a low-scope token (refused with 403 and a
//! challenge), then with a token of exactly the challenged scope (observed): whether one
//! challenge named everything the operation needs (MCP 2026-07-28 "Runtime Insufficient Scope
//! Errors").

use std::collections::BTreeMap;

use serde_json::Value;

use crate::case::expand_placeholders;
use crate::check::www_authenticate;
use crate::oauth::grants::unanswered;
use crate::observation::{Observation, Observed};
use crate::run::bearer;
use crate::token_kind::TokenKind;

use super::Context;

impl Context {
    pub(super) async fn step_up(&self, case: &str) -> Observation {
        let label = "privileged request with a token of exactly the 403's scope";
        let mut vars = self.globals();
        vars.extend(self.grants.scope_plan().await.clone());
        let Some(privileged) = vars.get("privileged_request").cloned() else {
            let why = "needs `privileged_request` in the target configuration (--config), or a scope the AS \
                       advertises that the server does not ask for";
            return Observation::skipped(label, why);
        };
        let body = [("body".to_owned(), Value::from(expand_placeholders(&privileged, &vars)))];
        // The refusal, on a low-scope token (its chain's lease is given back before the next
        // chain takes it).
        let (refusal, mut exchanges) = {
            let (low, got, _lease) = match self.grants.token_of(TokenKind::LowScope, &vars, case).await {
                Ok(token) => token,
                Err(obs) => {
                    return Observation {
                        label: label.to_owned(),
                        ..obs
                    };
                }
            };
            let mut with_token = vars.clone();
            with_token.insert("access_token".to_owned(), low);
            let (exchange, answer) = self
                .client
                .send(&bearer::request(&self.target, &body, &[], &with_token))
                .await;
            let mut exchanges = got;
            exchanges.push(exchange);
            match answer {
                Ok(response) => (response, exchanges),
                Err(e) => {
                    return Observation {
                        label: label.to_owned(),
                        exchanges,
                        observed: Observed::Error(e.to_string()),
                        vars: BTreeMap::new(),
                    };
                }
            }
        };
        let scope = www_authenticate::parse_lines(refusal.header_values("www-authenticate"))
            .ok()
            .and_then(|challenges| {
                let bearer = challenges.iter().find(|c| c.is("bearer"))?;
                bearer.param("scope").map(str::to_owned)
            });
        let scope = match (refusal.status, scope) {
            (403, Some(scope)) if !scope.trim().is_empty() => scope,
            (status, _) => {
                let why = format!(
                    "the privileged request with a low-scope token was answered {status}, not 403 with a scope"
                );
                return Observation {
                    exchanges,
                    ..Observation::skipped(label, why)
                };
            }
        };
        let (token, got, _lease) = match self.grants.token_for(None, Some(scope.clone()), case).await {
            Ok(token) => token,
            Err((observed, got)) => {
                exchanges.extend(got);
                return Observation {
                    exchanges,
                    ..unanswered(label, &observed)
                };
            }
        };
        // RFC 6749 §5.1: a token response without `scope` granted what was asked.
        let granted = got
            .iter()
            .rev()
            .filter_map(|e| e.response.as_ref())
            .find(|r| r.status == 200)
            .and_then(|r| serde_json::from_str::<Value>(&r.body).ok())
            .and_then(|doc| doc.get("scope")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| scope.clone());
        let granted_all = scope
            .split_whitespace()
            .all(|s| granted.split_whitespace().any(|g| g == s));
        exchanges.extend(got);
        let mut with_token = vars.clone();
        with_token.insert("access_token".to_owned(), token);
        let (exchange, answer) = self
            .client
            .send(&bearer::request(&self.target, &body, &[], &with_token))
            .await;
        exchanges.push(exchange);
        Observation {
            label: label.to_owned(),
            exchanges,
            observed: match answer {
                Ok(r) => Observed::Response(r),
                Err(e) => Observed::Error(e.to_string()),
            },
            vars: BTreeMap::from([
                ("step_up.challenge_scope".to_owned(), scope),
                ("step_up.granted_all".to_owned(), granted_all.to_string()),
            ]),
        }
    }
}
