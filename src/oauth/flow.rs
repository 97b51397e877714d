//! The flows as observations: registration, authorization through consent, token redemption.
//! Every secret the target hands over (client secret, code, tokens) the client's redactor
//! learns as it arrives; an attempt's verifier is registered when the attempt is made.

use std::collections::BTreeMap;

use serde_json::Value;

use super::cimd::DocumentHost;
use super::consent;
use super::requests::{self, AuthServer, Client};
use crate::case::Overrides;
use crate::http::redact::{Redactor, Secret};
use crate::http::{Exchange, HttpClient, Request};
use crate::observation::{Observation, Observed};
use crate::seed::Randomness;

/// Everything a flow step needs besides its overrides.
pub struct Flow<'a> {
    pub http: &'a HttpClient,
    pub server: &'a AuthServer,
    pub scope: Option<String>,
    pub resource: Option<String>,
    /// Placeholders for override values: `{target}`, `{origin}`, `{redirect_uri}`...
    pub vars: BTreeMap<String, String>,
    pub driver: consent::ConsentDriver,
    /// The held loopback redirect port (the manual driver listens on it).
    pub listener: Option<&'a std::net::TcpListener>,
    pub randomness: Randomness,
    /// Whose attempts these are (a case's requirement id, or `shared`): with a seed, their
    /// values follow from it.
    pub purpose: String,
    /// The run's client ID metadata documents, to tell whether the AS fetched one.
    pub cimd: Option<&'a DocumentHost>,
}

/// A verifier below RFC 7636 §4.1's 43 characters, with its S256 challenge as the placeholder
/// `{short_verifier_challenge}` (format checks).
pub const SHORT_VERIFIER: &str = "too-short-verifier";

/// One authorization attempt's secrets.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub state: String,
    pub verifier: Secret,
    /// A verifier of no one's (`{other_verifier}`: a code redeemed with the wrong one).
    pub other_verifier: Secret,
}

impl Attempt {
    /// Fresh values for the attempt `purpose` names (seeded: the same for the same purpose);
    /// its verifier is a secret of the run from the start.
    pub fn new(randomness: Randomness, purpose: &str, redactor: &Redactor) -> Attempt {
        let value = |what: &str, bytes| randomness.value(&format!("{purpose}: {what}"), bytes);
        let verifier = Secret::new(value("verifier", 32));
        redactor.register(&verifier);
        Attempt {
            state: value("state", 16),
            verifier,
            other_verifier: Secret::new(value("other verifier", 32)),
        }
    }
}

impl Flow<'_> {
    /// `endpoint` if its host is one the run may contact, else why not.
    pub fn reachable<'e>(&self, name: &str, endpoint: Option<&'e String>) -> Result<&'e String, String> {
        let endpoint = endpoint.ok_or_else(|| format!("the AS metadata has no {name}"))?;
        match self.http.hosts().allows(endpoint) {
            true => Ok(endpoint),
            false => Err(format!(
                "the {name} <{endpoint}> is outside the hosts of this run; it was not contacted"
            )),
        }
    }

    /// POSTs a registration body (RFC 7591 §3.1).
    pub async fn register(&self, label: &str, body: &Value) -> Observation {
        if self.server.registration_endpoint.is_none() {
            return Observation::skipped(label, "the AS advertises no registration_endpoint");
        }
        let endpoint = match self.reachable("registration_endpoint", self.server.registration_endpoint.as_ref()) {
            Ok(e) => e,
            Err(why) => return Observation::skipped(label, why),
        };
        let request =
            Request::post(endpoint, "application/json", body.to_string()).header("Accept", "application/json");
        let (exchange, result) = self.http.send(&request).await;
        let observed = match result {
            Ok(r) => Observed::Response(r),
            Err(e) => Observed::Error(e.to_string()),
        };
        Observation {
            label: label.to_owned(),
            exchanges: vec![exchange],
            observed,
            vars: BTreeMap::new(),
        }
    }

    /// Registration variants: the valid body with each variant's changes.
    pub async fn register_variants(&self, valid: &Value, overrides: &Overrides) -> Vec<Observation> {
        let mut out = Vec::new();
        for (i, changes) in overrides.requests().iter().enumerate() {
            let mut body = valid.clone();
            requests::change_json(&mut body, changes, &overrides.omit, &self.vars);
            let label = format!(
                "registration variant {} {}",
                i + 1,
                describe(changes, &overrides.omit, &self.vars)
            );
            out.push(self.register(&label, &body).await);
        }
        out
    }

    /// An authorization request (the valid one with `changes`), driven to the callback.
    pub async fn authorize(
        &self,
        label: &str,
        client: &Client,
        attempt: &Attempt,
        changes: &[(String, Value)],
        omit: &[String],
    ) -> Observation {
        let endpoint = match self.reachable("authorization_endpoint", self.server.authorization_endpoint.as_ref()) {
            Ok(e) => e,
            Err(why) => return Observation::skipped(label, why),
        };
        let challenge = super::pkce::s256(attempt.verifier.expose());
        let mut params = requests::authorization_params(
            client,
            &attempt.state,
            &challenge,
            self.scope.as_deref(),
            self.resource.as_deref(),
        );
        let mut vars = self.vars.clone();
        vars.insert("state".to_owned(), attempt.state.clone());
        vars.insert("challenge".to_owned(), challenge);
        vars.insert("client_id".to_owned(), client.client_id.clone());
        vars.insert("scope".to_owned(), self.scope.clone().unwrap_or_default());
        vars.insert("short_verifier_challenge".to_owned(), super::pkce::s256(SHORT_VERIFIER));
        // A value this run does not have (a document the AS must not be sent): not sent.
        if let Some(name) = crate::case::placeholders::unfilled(changes, &vars) {
            return Observation::skipped(label, format!("`{{{name}}}` has no value in this run"));
        }
        requests::change_params(&mut params, changes, omit, &vars);
        let url = match requests::with_query(endpoint, &params) {
            Ok(url) => url,
            Err(e) => return Observation::skipped(label, e),
        };
        // The callback is recognised by the origin of the redirect URI actually requested.
        let redirect_uri = params
            .iter()
            .find(|(n, _)| n == "redirect_uri")
            .map(|(_, v)| v.as_str());
        let redirect_uri = redirect_uri.unwrap_or(&client.redirect_uri);
        // A client_id naming one of the run's documents: was it fetched while this ran? The
        // fetches join the evidence.
        let client_id = params.iter().find(|(n, _)| n == "client_id").map(|(_, v)| v.as_str());
        let document = self
            .cimd
            .zip(client_id)
            .and_then(|(host, id)| Some((host, host.path_of(id)?)))
            .map(|(host, path)| (host, host.mark(), path));
        let mut obs = consent::drive(&self.driver, self.http, label, &url, redirect_uri, self.listener).await;
        if let Some((host, mark, path)) = document {
            let fetches = host.fetched_since(mark, &path);
            let earlier = host.fetches(&path) - fetches.len();
            obs.vars.insert("cimd.fetched_before".to_owned(), earlier.to_string());
            obs.vars
                .insert("cimd.fetched".to_owned(), (!fetches.is_empty()).to_string());
            obs.exchanges.extend(fetches);
            let observable = host.loopback_observable(&self.server.issuer);
            obs.vars
                .insert("cimd.loopback_observable".to_owned(), observable.to_string());
            host.used(&path);
        }
        obs.vars.insert("state".to_owned(), attempt.state.clone());
        // RFC 9207 §2.4: `iss` is compared with the issuer the metadata states.
        let issuer = self.server.metadata_issuer.as_ref().unwrap_or(&self.server.issuer);
        obs.vars.insert("issuer".to_owned(), issuer.clone());
        obs.vars.insert("client_id".to_owned(), client.client_id.clone());
        // OAuth 2.1 §8.4.2's port rule is for loopback IP literals, not `localhost`.
        let loopback_ip = url::Url::parse(&client.redirect_uri).is_ok_and(|u| crate::http::hosts::is_loopback_ip(&u));
        obs.vars
            .insert("redirect_uri.loopback_ip".to_owned(), loopback_ip.to_string());
        if let Some(kind) = &client.application_type {
            obs.vars.insert("client.application_type".to_owned(), kind.clone());
        }
        obs.vars
            .insert("client.registered".to_owned(), client.registered.to_string());
        if let Some((_, scope)) = params.iter().find(|(n, _)| n == "scope") {
            obs.vars.insert("authorization.scope".to_owned(), scope.clone());
        }
        obs
    }

    /// Authorization variants: one fresh attempt each.
    pub async fn authorize_variants(&self, client: &Client, overrides: &Overrides) -> Vec<Observation> {
        let mut out = Vec::new();
        for changes in overrides.requests() {
            let label = format!(
                "authorization request {}",
                describe(&changes, &overrides.omit, &self.vars)
            );
            let attempt = Attempt::new(
                self.randomness,
                &format!("{} {label}", self.purpose),
                self.http.redactor(),
            );
            out.push(
                self.authorize(&label, client, &attempt, &changes, &overrides.omit)
                    .await,
            );
        }
        out
    }

    /// Redeems the code of `authorization` (`changes` to the valid token request, sent
    /// `repeat` times). Without a code the authorization's own answer stands, `stage` says so.
    pub async fn redeem(
        &self,
        label: &str,
        client: &Client,
        attempt: &Attempt,
        authorization: Observation,
        overrides: &Overrides,
    ) -> Observation {
        let mut vars = authorization.vars.clone();
        let Some(code) = vars.get("callback.code").cloned() else {
            vars.insert("stage".to_owned(), "authorize".to_owned());
            return Observation {
                label: format!("{label}: no code from the authorization request"),
                vars,
                ..authorization
            };
        };
        let endpoint = match self.reachable("token_endpoint", self.server.token_endpoint.as_ref()) {
            Ok(e) => e,
            Err(why) => return Observation::skipped(label, why),
        };
        let mut fill = self.vars.clone();
        fill.insert("client_id".to_owned(), client.client_id.clone());
        fill.insert("code".to_owned(), code.clone());
        fill.insert("verifier".to_owned(), attempt.verifier.expose().to_owned());
        fill.insert("other_verifier".to_owned(), attempt.other_verifier.expose().to_owned());
        // The S256 challenge the authorization request sent (public), as a verifier.
        fill.insert("challenge".to_owned(), super::pkce::s256(attempt.verifier.expose()));
        fill.insert("short_verifier".to_owned(), SHORT_VERIFIER.to_owned());
        let mut params = requests::token_params(client, &code, attempt.verifier.expose(), self.resource.as_deref());
        let changes = overrides.requests().into_iter().next().unwrap_or_default();
        requests::change_params(&mut params, &changes, &overrides.omit, &fill);
        let mut request = requests::token_request(endpoint, client, params);
        if overrides.query {
            request = requests::as_get(request);
        }
        let mut exchanges = authorization.exchanges;
        let sent_before = exchanges.len();
        let observed = self
            .send_token_request(&request, overrides.repeat, &mut exchanges)
            .await;
        // A replay proves something only after a redemption that worked: say how that went.
        if overrides.repeat > 1
            && let Some(first) = exchanges.get(sent_before).and_then(|e| e.response.as_ref())
        {
            vars.insert("repeat.first_status".to_owned(), first.status.to_string());
        }
        vars.insert("stage".to_owned(), "token".to_owned());
        vars.insert("client.auth_method".to_owned(), client.auth_method.clone());
        Observation {
            label: label.to_owned(),
            exchanges,
            observed,
            vars,
        }
    }

    /// A token request without an authorization: the valid one is a client_credentials
    /// request (OAuth 2.1 §4.2) with `overrides` applied.
    pub async fn client_credentials(&self, label: &str, client: &Client, overrides: &Overrides) -> Observation {
        let endpoint = match self.reachable("token_endpoint", self.server.token_endpoint.as_ref()) {
            Ok(e) => e,
            Err(why) => return Observation::skipped(label, why),
        };
        let mut params = vec![
            ("grant_type".to_owned(), "client_credentials".to_owned()),
            ("client_id".to_owned(), client.client_id.clone()),
        ];
        if let Some(scope) = &self.scope {
            params.push(("scope".to_owned(), scope.clone()));
        }
        let changes = overrides.requests().into_iter().next().unwrap_or_default();
        requests::change_params(&mut params, &changes, &overrides.omit, &self.vars);
        let request = requests::token_request(endpoint, client, params);
        let mut exchanges = Vec::new();
        let observed = self
            .send_token_request(&request, overrides.repeat, &mut exchanges)
            .await;
        let vars = BTreeMap::from([("stage".to_owned(), "token".to_owned())]);
        Observation {
            label: label.to_owned(),
            exchanges,
            observed,
            vars,
        }
    }

    /// Refreshes with `refresh_token` (OAuth 2.1 §4.3), then, where that gave a new refresh
    /// token, refreshes with the new one, then replays the first. The replay is observed
    /// (`stage` = `reuse`) unless a refresh before it failed (`refresh`, `successor`). The new
    /// token is used first because an AS may keep the old one valid until its successor is
    /// used, so that a client whose refresh response was lost can retry (FAPI 2.0 asks for
    /// exactly that; Cloudflare's workers-oauth-provider does it).
    pub async fn refresh(&self, client: &Client, refresh_token: &str) -> Observation {
        let label = "refresh token replay";
        let endpoint = match self.reachable("token_endpoint", self.server.token_endpoint.as_ref()) {
            Ok(e) => e,
            Err(why) => return Observation::skipped(label, why),
        };
        let request = |token: &str| requests::token_request(endpoint, client, refresh_params(client, token));
        let mut vars = BTreeMap::from([("client.auth_method".to_owned(), client.auth_method.clone())]);
        let mut exchanges = Vec::new();
        let mut successor: Option<String> = None;
        for attempt in ["refresh", "successor", "reuse"] {
            let token = match attempt {
                "successor" => match &successor {
                    Some(token) => token.clone(),
                    None => continue,
                },
                _ => refresh_token.to_owned(),
            };
            let (exchange, result) = self.http.send(&request(&token)).await;
            exchanges.push(exchange);
            vars.insert("stage".to_owned(), attempt.to_owned());
            let observed = match result {
                Ok(r) => r,
                Err(e) => {
                    return Observation {
                        label: label.to_owned(),
                        exchanges,
                        observed: Observed::Error(e.to_string()),
                        vars,
                    };
                }
            };
            if attempt == "refresh" {
                successor = serde_json::from_slice::<Value>(&observed.body)
                    .ok()
                    .and_then(|d| d.get("refresh_token")?.as_str().map(str::to_owned))
                    .filter(|new| new != refresh_token);
                vars.insert("refresh.rotated".to_owned(), successor.is_some().to_string());
            }
            if attempt == "reuse" || observed.status != 200 {
                return Observation {
                    label: label.to_owned(),
                    exchanges,
                    observed: Observed::Response(observed),
                    vars,
                };
            }
        }
        Observation::skipped(label, "unreachable")
    }

    /// Refreshes with the refresh token `token` (a token request's observation) obtained, with
    /// `overrides` applied. Without a refresh token the token request's answer stands.
    /// `refresh.widened` says whether the new grant holds a scope the first one did not.
    pub async fn refresh_with(
        &self,
        label: &str,
        client: &Client,
        token: Observation,
        overrides: &Overrides,
    ) -> Observation {
        let first = token
            .response()
            .filter(|r| r.status == 200)
            .and_then(|r| serde_json::from_slice::<Value>(&r.body).ok());
        let refresh_token = first
            .as_ref()
            .and_then(|d| d.get("refresh_token")?.as_str().map(str::to_owned));
        let Some(refresh_token) = refresh_token else {
            return Observation {
                label: format!("{label}: the token request gave no refresh token"),
                ..token
            };
        };
        let endpoint = match self.reachable("token_endpoint", self.server.token_endpoint.as_ref()) {
            Ok(e) => e,
            Err(why) => return Observation::skipped(label, why),
        };
        let mut params = refresh_params(client, &refresh_token);
        let changes = overrides.requests().into_iter().next().unwrap_or_default();
        requests::change_params(&mut params, &changes, &overrides.omit, &self.vars);
        let request = requests::token_request(endpoint, client, params.clone());
        let mut exchanges = token.exchanges;
        let observed = self
            .send_token_request(&request, overrides.repeat, &mut exchanges)
            .await;
        let granted = granted_scope(first.as_ref(), token.vars.get("authorization.scope")).unwrap_or_default();
        let asked = params.iter().find(|(n, _)| n == "scope").map(|(_, v)| v);
        let widened = match &observed {
            Observed::Response(r) if r.status == 200 => {
                let answer = serde_json::from_slice::<Value>(&r.body).ok();
                let now = granted_scope(answer.as_ref(), asked).unwrap_or_else(|| granted.clone());
                now.split_whitespace()
                    .any(|s| !granted.split_whitespace().any(|g| g == s))
            }
            _ => false,
        };
        let mut vars = token.vars;
        vars.insert("stage".to_owned(), "refresh".to_owned());
        vars.insert("refresh.widened".to_owned(), widened.to_string());
        Observation {
            label: label.to_owned(),
            exchanges,
            observed,
            vars,
        }
    }

    /// Revokes `token` (RFC 7009 §2.1), its type hinted, with the client's authentication as
    /// at the token endpoint; the exchange and the answer, or why it was not sent.
    pub async fn revoke(
        &self,
        client: &Client,
        token: &str,
        hint: &str,
    ) -> Result<(Exchange, Result<crate::http::Response, String>), String> {
        let endpoint = self.reachable("revocation_endpoint", self.server.revocation_endpoint.as_ref())?;
        let params = vec![
            ("token".to_owned(), token.to_owned()),
            ("token_type_hint".to_owned(), hint.to_owned()),
            ("client_id".to_owned(), client.client_id.clone()),
        ];
        let (exchange, result) = self.http.send(&requests::token_request(endpoint, client, params)).await;
        Ok((exchange, result.map_err(|e| e.to_string())))
    }

    /// One refresh request with `refresh_token` (OAuth 2.1 §4.3): the exchange and the answer,
    /// or why it was not sent.
    pub async fn refresh_once(
        &self,
        client: &Client,
        refresh_token: &str,
    ) -> Result<(Exchange, Result<crate::http::Response, String>), String> {
        let endpoint = self.reachable("token_endpoint", self.server.token_endpoint.as_ref())?;
        let request = requests::token_request(endpoint, client, refresh_params(client, refresh_token));
        let (exchange, result) = self.http.send(&request).await;
        Ok((exchange, result.map_err(|e| e.to_string())))
    }

    /// Sends a token request `repeat` times (at least once); the last answer is observed.
    async fn send_token_request(&self, request: &Request, repeat: u32, exchanges: &mut Vec<Exchange>) -> Observed {
        let mut observed = Observed::Skipped("no token request was sent".to_owned());
        for _ in 0..repeat.max(1) {
            let (exchange, result) = self.http.send(request).await;
            exchanges.push(exchange);
            observed = match result {
                Ok(r) => Observed::Response(r),
                Err(e) => Observed::Error(e.to_string()),
            };
        }
        observed
    }
}

/// The scope a successful token response grants: its `scope`, else the one asked for (OAuth
/// 2.1 §3.2.3 and RFC 6749 §5.1: `scope` may be left out only when it is the one requested).
pub(crate) fn granted_scope(answer: Option<&Value>, asked: Option<&String>) -> Option<String> {
    answer
        .and_then(|d| d.get("scope")?.as_str().map(str::to_owned))
        .or_else(|| asked.cloned())
}

fn refresh_params(client: &Client, refresh_token: &str) -> Vec<(String, String)> {
    vec![
        ("grant_type".to_owned(), "refresh_token".to_owned()),
        ("refresh_token".to_owned(), refresh_token.to_owned()),
        ("client_id".to_owned(), client.client_id.clone()),
    ]
}

/// `(redirect_uri="http://127.0.0.1:1/cb/", without code_challenge)`, for labels: the values
/// as sent, placeholders filled.
fn describe(changes: &[(String, Value)], omit: &[String], vars: &BTreeMap<String, String>) -> String {
    let mut parts: Vec<String> = changes
        .iter()
        .map(|(n, v)| match v {
            Value::Null => format!("without {n}"),
            Value::String(s) => format!("{n}={:?}", crate::case::expand_placeholders(s, vars)),
            other => format!("{n}={}", crate::case::expand_placeholders(&other.to_string(), vars)),
        })
        .collect();
    parts.extend(omit.iter().map(|n| format!("without {n}")));
    if parts.is_empty() {
        "(valid)".to_owned()
    } else {
        format!("({})", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_response_grants_its_scope_else_the_one_asked_for() {
        let asked = "a b".to_owned();
        let answer = serde_json::json!({"access_token": "t", "scope": "a"});
        assert_eq!(granted_scope(Some(&answer), Some(&asked)).as_deref(), Some("a"));
        let silent = serde_json::json!({"access_token": "t"});
        assert_eq!(granted_scope(Some(&silent), Some(&asked)).as_deref(), Some("a b"));
        assert_eq!(granted_scope(Some(&silent), None), None);
    }
}
