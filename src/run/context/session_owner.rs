//! Step `session_owner`: a session opened with the valid token, then presented with another
//! user's token (MCP Security Best Practices, Session Hijacking: "MCP servers SHOULD bind
//! session IDs to user-specific information"). Its controls say whether a refusal means
//! anything: the session serves its own user, an id never issued is refused (the server checks
//! ids at all), and the other user's token is accepted on its own.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::http::{Exchange, HttpError, Response};
use crate::observation::{Observation, Observed};
use crate::run::bearer;
use crate::token_kind::TokenKind;

use super::Context;

/// A request inside a session (anything but the first request).
const IN_SESSION: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;

impl Context {
    pub(super) async fn session_owner(&self, case: &str) -> Observation {
        let label = "the valid token's session presented with another user's token";
        let owner = match self.grants.valid_token().await {
            Ok(access) => access,
            Err(obs) => return obs,
        };
        let mut vars = self.globals();
        vars.extend(self.grants.scope_plan().await.clone());
        let (other, mut exchanges, _lease) = match self.grants.token_of(TokenKind::OtherUser, &vars, case).await {
            Ok(token) => token,
            Err(obs) => {
                return Observation {
                    label: label.to_owned(),
                    ..obs
                };
            }
        };
        let mut send = async |token: &str, session: Option<&str>| {
            let vars = BTreeMap::from([("access_token".to_owned(), token.to_owned())]);
            let changes: Vec<(String, Value)> = match session {
                Some(id) => vec![
                    ("Mcp-Session-Id".to_owned(), Value::from(id)),
                    ("body".to_owned(), Value::from(IN_SESSION)),
                ],
                None => Vec::new(),
            };
            let (exchange, result) = self
                .client
                .send(&bearer::request(&self.target, &changes, &[], &vars))
                .await;
            exchanges.push(exchange);
            result
        };
        let opened = send(&owner, None).await;
        let session = opened
            .as_ref()
            .ok()
            .and_then(|r| r.header_values("mcp-session-id").next().map(str::to_owned));
        let Some(session) = session else {
            let why = "the valid request opened no session (no Mcp-Session-Id)";
            return Observation {
                exchanges,
                ..Observation::skipped(label, why)
            };
        };
        let status =
            |r: Result<Response, HttpError>| r.map_or_else(|e| format!("no answer: {e}"), |r| r.status.to_string());
        let owner_status = status(send(&owner, Some(&session)).await);
        // An id of the same length the server never issued.
        let unknown = format!("{:0<width$}", "unknown", width = session.len().max(7));
        let unknown_status = status(send(&owner, Some(&unknown)).await);
        let other_alone_status = status(send(&other, None).await);
        let observed = send(&other, Some(&session)).await;
        observation(
            label,
            exchanges,
            observed,
            [
                ("session_owner.owner_status", owner_status),
                ("session_owner.unknown_status", unknown_status),
                ("session_owner.other_alone_status", other_alone_status),
            ],
        )
    }
}

fn observation(
    label: &str,
    exchanges: Vec<Exchange>,
    observed: Result<Response, HttpError>,
    vars: [(&str, String); 3],
) -> Observation {
    Observation {
        label: label.to_owned(),
        exchanges,
        observed: match observed {
            Ok(r) => Observed::Response(r),
            Err(e) => Observed::Error(e.to_string()),
        },
        vars: vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    }
}
