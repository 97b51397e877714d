//! The revocation steps (RFC 7009): a chain of the case's own gets a token, uses it (the
//! control), revokes it, and uses it again; the use after is observed, the revocation's
//! status and the use before are its variables. Each spends its own tokens.

use std::collections::BTreeMap;

use crate::http::Response;
use crate::oauth::grants::{ChainEnd, Revocable};
use crate::observation::{Observation, Observed};
use crate::run::bearer;

use super::Context;

/// A member of a successful token response.
fn issued(token: &Observation, member: &str) -> Option<String> {
    let response = token.response().filter(|r| r.status == 200)?;
    let doc = serde_json::from_slice::<serde_json::Value>(&response.body).ok()?;
    doc.get(member)?.as_str().map(str::to_owned)
}

/// Why a chain's token response cannot go on: its own skip or error, or a missing member.
fn stopped(token: Observation, label: &str, member: &str) -> Observation {
    match token.observed {
        Observed::Response(_) => Observation {
            observed: Observed::Skipped(format!("the token request gave no {member}")),
            label: label.to_owned(),
            ..token
        },
        _ => Observation {
            label: label.to_owned(),
            ..token
        },
    }
}

impl Context {
    /// Step `revoke_refresh`: the chain refreshes once (the control: refresh works, and the
    /// token in hand is the newest), revokes the refresh token it got, then refreshes with it.
    pub(super) async fn revoked_refresh(&self, case: &str) -> Observation {
        let label = "refresh request with the revoked refresh token";
        let Revocable {
            flow,
            client,
            token,
            lease: _lease,
        } = match self.grants.revocable(ChainEnd::RefreshableToken, 1, case).await {
            Ok(chain) => chain,
            Err(obs) => return obs,
        };
        if issued(&token, "refresh_token").is_none() {
            return stopped(token, label, "refresh token");
        }
        let no_changes = crate::case::Overrides::default();
        let mut control = flow.refresh_with("refresh request", &client, token, &no_changes).await;
        let control_status = control.response().map(|r| r.status);
        let Some(refresh) = issued(&control, "refresh_token") else {
            return stopped(control, label, "refresh token on refresh (the control)");
        };
        let answer = match flow.revoke(&client, &refresh, "refresh_token").await {
            Ok((exchange, answer)) => {
                control.exchanges.push(exchange);
                answer
            }
            Err(why) => return Observation::skipped(label, why),
        };
        let revocation = match answer {
            Ok(response) => response,
            Err(e) => return revocation_unanswered(label, control.exchanges, e),
        };
        let mut used = flow.refresh_with(label, &client, control, &no_changes).await;
        used.vars.extend(revocation_vars(&revocation, control_status));
        used
    }

    /// Step `revoke_access`: the chain's access token sent to the MCP server, revoked, then
    /// sent again (observed).
    pub(super) async fn revoked_access(&self, case: &str) -> Observation {
        let label = "authenticated MCP request with the revoked access token";
        let Revocable {
            flow,
            client,
            token,
            lease: _lease,
        } = match self.grants.revocable(ChainEnd::Token, 1, case).await {
            Ok(chain) => chain,
            Err(obs) => return obs,
        };
        let Some(access) = issued(&token, "access_token") else {
            return stopped(token, label, "access token");
        };
        let mut exchanges = token.exchanges;
        let vars = BTreeMap::from([("access_token".to_owned(), access.clone())]);
        let request = bearer::request(&self.target, &[], &[], &vars);
        let (before, answer) = self.client.send(&request).await;
        exchanges.push(before);
        let before = answer.ok().map(|r| r.status);
        let revocation = match flow.revoke(&client, &access, "access_token").await {
            Ok((exchange, answer)) => {
                exchanges.push(exchange);
                match answer {
                    Ok(response) => response,
                    Err(e) => return revocation_unanswered(label, exchanges, e),
                }
            }
            Err(why) => return Observation::skipped(label, why),
        };
        let (after, answer) = self.client.send(&request).await;
        exchanges.push(after);
        Observation {
            label: label.to_owned(),
            exchanges,
            observed: match answer {
                Ok(r) => Observed::Response(r),
                Err(e) => Observed::Error(e.to_string()),
            },
            vars: revocation_vars(&revocation, before),
        }
    }
}

impl Context {
    /// Step `replay_code`: a chain's code redeemed twice (`var:repeat.first_status`,
    /// `var:replay.issued`), then the first redemption's refresh token used (observed).
    pub(super) async fn replayed_code(&self, case: &str) -> Observation {
        let label = "refresh request with the first redemption's refresh token, after the code's replay";
        let Revocable {
            flow,
            client,
            token: replay,
            lease: _lease,
        } = match self.grants.revocable(ChainEnd::RefreshableToken, 2, case).await {
            Ok(chain) => chain,
            Err(obs) => return obs,
        };
        // The first redemption's answer is the exchange before the replay's.
        let refresh = replay
            .exchanges
            .iter()
            .rev()
            .nth(1)
            .and_then(|e| e.response.as_ref())
            .filter(|r| r.status == 200)
            .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.body).ok())
            .and_then(|doc| doc.get("refresh_token")?.as_str().map(str::to_owned));
        let Some(refresh) = refresh else {
            return stopped(replay, label, "refresh token on its first redemption");
        };
        let mut vars = replay.vars.clone();
        vars.insert("replay.issued".to_owned(), replay.issued_token().to_string());
        let mut exchanges = replay.exchanges;
        let (exchange, answer) = match flow.refresh_once(&client, &refresh).await {
            Ok(sent) => sent,
            Err(why) => return Observation::skipped(label, why),
        };
        exchanges.push(exchange);
        Observation {
            label: label.to_owned(),
            exchanges,
            observed: match answer {
                Ok(r) => Observed::Response(r),
                Err(e) => Observed::Error(e),
            },
            vars,
        }
    }
}

/// `revocation.status`, `revocation.error` (its `error` code, empty without one) and
/// `revocation.before_status` (`none`: the use before got no answer).
fn revocation_vars(revocation: &Response, before: Option<u16>) -> BTreeMap<String, String> {
    let error = serde_json::from_slice::<serde_json::Value>(&revocation.body)
        .ok()
        .and_then(|doc| doc.get("error")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    BTreeMap::from([
        ("revocation.status".to_owned(), revocation.status.to_string()),
        ("revocation.error".to_owned(), error),
        (
            "revocation.before_status".to_owned(),
            before.map_or_else(|| "none".to_owned(), |s| s.to_string()),
        ),
    ])
}

/// The revocation request got no answer: the step could not be observed.
fn revocation_unanswered(label: &str, exchanges: Vec<crate::http::Exchange>, why: String) -> Observation {
    Observation {
        label: label.to_owned(),
        exchanges,
        observed: Observed::Error(format!("the revocation request: {why}")),
        vars: BTreeMap::new(),
    }
}
