//! The token lifecycle steps: revocation (RFC 7009), where a chain of the case's own gets a
//! token, uses it (the control), revokes it and uses it again (observed; the revocation's
//! outcome and the use before are its variables), and a code's replay (OAuth 2.1 §4.1.3).
//! Each spends its own tokens.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::http::{Exchange, Response};
use crate::oauth::grants::{ChainEnd, Revocable};
use crate::observation::{Observation, Observed};
use crate::run::bearer;

use super::Context;

/// How long a revocation (or a replayed code's) is given to reach an AS's other servers
/// (RFC 7009 §2.1 allows a propagation delay) before the token is tried again; none on
/// loopback, where one process answers.
const SETTLE: Duration = Duration::from_secs(2);

/// A member of a successful token response.
fn issued(token: &Observation, member: &str) -> Option<String> {
    let response = token.response().filter(|r| r.status == 200)?;
    let doc = serde_json::from_slice::<serde_json::Value>(&response.body).ok()?;
    doc.get(member)?.as_str().map(str::to_owned)
}

/// Why a chain cannot go on: a skip or error of its own stands; a response that lacks
/// `member` is said, with its status.
fn stopped(token: Observation, label: &str, member: &str) -> Observation {
    let observed = match token.observed {
        Observed::Response(r) if r.status == 200 => Observed::Skipped(format!("{} gave no {member}", token.label)),
        Observed::Response(r) => Observed::Skipped(format!("{} was answered {}", token.label, r.status)),
        other => other,
    };
    Observation {
        label: label.to_owned(),
        observed,
        ..token
    }
}

impl Context {
    /// Step `revoke_refresh`: the chain refreshes once (the control; the refresh token in hand
    /// is then the newest), revokes that refresh token, then refreshes with it.
    pub(super) async fn revoked_refresh(&self, case: &str) -> Observation {
        let label = "refresh request with the revoked refresh token";
        let Revocable {
            flow,
            client,
            token,
            lease: _lease,
        } = match self.grants.revocable(ChainEnd::RefreshableToken, 1, true, case).await {
            Ok(chain) => chain,
            Err(obs) => return obs,
        };
        let Some(first) = issued(&token, "refresh_token") else {
            return stopped(token, label, "refresh token");
        };
        let no_changes = crate::case::Overrides::default();
        let mut control = flow.refresh_with("refresh request", &client, token, &no_changes).await;
        let control_status = control.response().map(|r| r.status);
        if control_status != Some(200) {
            return stopped(control, label, "token");
        }
        // An AS that does not rotate answers without one: the first is still the one in hand.
        let refresh = issued(&control, "refresh_token").unwrap_or(first);
        let revocation = match self
            .revoke(label, &flow, &client, &refresh, "refresh_token", &mut control.exchanges)
            .await
        {
            Ok(response) => response,
            Err(obs) => return obs,
        };
        let (exchange, answer) = match flow.refresh_once(&client, &refresh).await {
            Ok(sent) => sent,
            Err(why) => return Observation::skipped(label, why),
        };
        control.exchanges.push(exchange);
        Observation {
            label: label.to_owned(),
            exchanges: control.exchanges,
            observed: observed(answer),
            vars: revocation_vars(&revocation, control_status),
        }
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
        } = match self.grants.revocable(ChainEnd::Token, 1, true, case).await {
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
        let revocation = match self
            .revoke(label, &flow, &client, &access, "access_token", &mut exchanges)
            .await
        {
            Ok(response) => response,
            Err(obs) => return obs,
        };
        let (after, answer) = self.client.send(&request).await;
        exchanges.push(after);
        Observation {
            label: label.to_owned(),
            exchanges,
            observed: observed(answer.map_err(|e| e.to_string())),
            vars: revocation_vars(&revocation, before),
        }
    }

    /// Revokes `token` (its exchange joins `exchanges`), then, where the AS is not on this
    /// machine, gives the revocation [`SETTLE`] to spread. The revocation's answer, or the
    /// observation (labelled `label`) of why there is none.
    async fn revoke(
        &self,
        label: &str,
        flow: &crate::oauth::flow::Flow<'_>,
        client: &crate::oauth::requests::Client,
        token: &str,
        hint: &str,
        exchanges: &mut Vec<Exchange>,
    ) -> Result<Response, Observation> {
        let (exchange, answer) = flow
            .revoke(client, token, hint)
            .await
            .map_err(|why| Observation::skipped(label, why))?;
        exchanges.push(exchange);
        let response = answer.map_err(|e| Observation {
            label: label.to_owned(),
            exchanges: exchanges.clone(),
            observed: Observed::Error(format!("the revocation request: {e}")),
            vars: BTreeMap::new(),
        })?;
        if response.status == 200 && !on_loopback(flow.server.revocation_endpoint.as_deref()) {
            tokio::time::sleep(SETTLE).await;
        }
        Ok(response)
    }

    /// Step `replay_code`: a chain's code redeemed twice (`var:repeat.first_status`,
    /// `var:replay.issued`), then the first redemption's refresh token used (observed).
    pub(super) async fn replayed_code(&self, case: &str) -> Observation {
        let label = "refresh request with the first redemption's refresh token, after the code's replay";
        let Revocable {
            flow,
            client,
            token: replay,
            lease: _lease,
        } = match self.grants.revocable(ChainEnd::RefreshableToken, 2, false, case).await {
            Ok(chain) => chain,
            Err(obs) => return obs,
        };
        if let Observed::Error(_) = replay.observed {
            return Observation {
                label: label.to_owned(),
                ..replay
            };
        }
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
            let why = "the code's first redemption gave no refresh token";
            return Observation {
                observed: Observed::Skipped(why.to_owned()),
                label: label.to_owned(),
                ..replay
            };
        };
        let mut vars = replay.vars.clone();
        vars.insert("replay.issued".to_owned(), replay.issued_token().to_string());
        let error = replay
            .response()
            .and_then(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok())
            .and_then(|doc| doc.get("error")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        vars.insert("replay.error".to_owned(), error);
        let mut exchanges = replay.exchanges;
        // A revocation the replay set off may take a moment to reach a remote AS's other servers.
        if !on_loopback(flow.server.token_endpoint.as_deref()) {
            tokio::time::sleep(SETTLE).await;
        }
        let (exchange, answer) = match flow.refresh_once(&client, &refresh).await {
            Ok(sent) => sent,
            Err(why) => return Observation::skipped(label, why),
        };
        exchanges.push(exchange);
        Observation {
            label: label.to_owned(),
            exchanges,
            observed: observed(answer),
            vars,
        }
    }
}

/// Whether an endpoint is on this machine (one process answers: nothing to spread).
fn on_loopback(endpoint: Option<&str>) -> bool {
    endpoint
        .and_then(|u| url::Url::parse(u).ok())
        .is_some_and(|u| crate::http::hosts::is_loopback(&u))
}

fn observed(answer: Result<Response, String>) -> Observed {
    match answer {
        Ok(r) => Observed::Response(r),
        Err(e) => Observed::Error(e),
    }
}

/// `revocation.outcome` (`revoked`: 200; `unsupported`: unsupported_token_type, RFC 7009
/// §2.2.1; else `refused: <status> <error>`) and `revocation.before_status` (`none`: the use
/// before got no answer).
fn revocation_vars(revocation: &Response, before: Option<u16>) -> BTreeMap<String, String> {
    let error = serde_json::from_slice::<serde_json::Value>(&revocation.body)
        .ok()
        .and_then(|doc| doc.get("error")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    let outcome = match (revocation.status, error.as_str()) {
        (200, _) => "revoked".to_owned(),
        (_, "unsupported_token_type") => "unsupported".to_owned(),
        (status, error) => format!("refused: {status} {error}").trim_end().to_owned(),
    };
    BTreeMap::from([
        ("revocation.outcome".to_owned(), outcome),
        (
            "revocation.before_status".to_owned(),
            before.map_or_else(|| "none".to_owned(), |s| s.to_string()),
        ),
    ])
}
