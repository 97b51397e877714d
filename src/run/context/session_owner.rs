//! Step `session_owner`: a session (from 2026-07-28, a state handle) opened with the valid
//! token, then presented with another user's token (MCP Security Best Practices, Session
//! Hijacking: "MCP servers SHOULD bind session IDs to user-specific information"; State Handle
//! Hijacking: "reject a handle presented by any other principal"). Its controls say whether a
//! refusal means anything: the state serves its own user before and after, an id of its shape
//! never issued is refused (the server checks ids at all), the state without a token is not
//! served, and the other user's token is served in a state of its own.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::http::{Exchange, HttpError, Response};
use crate::observation::{Observation, Observed};
use crate::run::bearer;
use crate::token_kind::TokenKind;

use super::Context;
use super::state::{outcome, unknown_like};

impl Context {
    pub(super) async fn session_owner(&self, case: &str) -> Observation {
        let label = match self.uses_handles() {
            true => "the valid token's state handle used with another user's token",
            false => "the valid token's session presented with another user's token",
        };
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
        if let Some(why) = same_user(&owner, &other) {
            return Observation {
                exchanges,
                ..Observation::skipped(label, why)
            };
        }
        let opened = self.open_state(&owner).await;
        exchanges.extend(opened.exchanges);
        let id = match opened.id {
            Ok(id) => id,
            Err(why) => {
                return Observation {
                    exchanges,
                    ..Observation::skipped(label, why)
                };
            }
        };
        // Requests in a state; `None` as the token: without Authorization.
        let send = async |exchanges: &mut Vec<Exchange>, token: Option<&str>, changes: Vec<(String, Value)>| {
            let vars: BTreeMap<String, String> = token
                .map(|t| ("access_token".to_owned(), t.to_owned()))
                .into_iter()
                .collect();
            let omit = match token {
                Some(_) => Vec::new(),
                None => vec!["Authorization".to_owned()],
            };
            let request = bearer::request(&self.target, &changes, &omit, &vars);
            let (exchange, result) = self.client.send(&request).await;
            exchanges.push(exchange);
            result
        };
        let owner_answer = outcome(&send(&mut exchanges, Some(&owner), self.in_state(&id, 2)).await);
        let observed = send(&mut exchanges, Some(&other), self.in_state(&id, 3)).await;
        // Controls, after the other user's request: the state still serves its owner (nothing
        // evicted it meanwhile), an id of its shape never issued is refused, and the state
        // without a token is refused (else the state stands in for the token:
        // rs.token.every-request's verdict).
        let owner_after = outcome(&send(&mut exchanges, Some(&owner), self.in_state(&id, 4)).await);
        let unknown = unknown_like(&id);
        // It shows most of the real id.
        self.client.redactor().learn_secret(&unknown);
        let unknown_answer = outcome(&send(&mut exchanges, Some(&owner), self.in_state(&unknown, 2)).await);
        let no_token = outcome(&send(&mut exchanges, None, self.in_state(&id, 5)).await);
        // The other user's own state, for the same request: their token is served there.
        let theirs = self.open_state(&other).await;
        exchanges.extend(theirs.exchanges);
        let other_alone = match theirs.id {
            Ok(their_id) => outcome(&send(&mut exchanges, Some(&other), self.in_state(&their_id, 2)).await),
            Err(why) => why,
        };
        let other_answer = outcome(&observed);
        observation(
            label,
            exchanges,
            observed,
            [
                ("session_owner.owner", owner_answer),
                ("session_owner.other", other_answer),
                ("session_owner.owner_after", owner_after),
                ("session_owner.unknown", unknown_answer),
                ("session_owner.no_token", no_token),
                ("session_owner.other_alone", other_alone),
            ],
        )
    }
}

/// Why `other` cannot stand for another user: the very token, or (both JWTs) the same `sub`.
fn same_user(owner: &str, other: &str) -> Option<String> {
    if owner == other {
        return Some("the other_user token is the valid token".to_owned());
    }
    let sub = |token: &str| {
        crate::check::jwt_payload(token)?
            .get("sub")?
            .as_str()
            .map(str::to_owned)
    };
    match (sub(owner), sub(other)) {
        (Some(a), Some(b)) if a == b => {
            Some("the other_user token has the valid token's `sub`: the same user".to_owned())
        }
        _ => None,
    }
}

fn observation(
    label: &str,
    exchanges: Vec<Exchange>,
    observed: Result<Response, HttpError>,
    vars: [(&str, String); 6],
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
