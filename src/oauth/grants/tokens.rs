//! Access tokens for the resource-server checks: the valid one, and the kinds a case asks
//! for (supplied, minted, or from a flow of their own).

use std::collections::BTreeMap;

use crate::case::{Overrides, TokenPlan};
use crate::config::DEFAULT_CODE_WAIT;
use crate::oauth::tokens;
use crate::observation::{Observation, Observed};
use crate::token_kind::TokenKind;

use super::*;

impl Grants {
    /// An access token from a flow whose requests name `resource` (authorization and token
    /// requests) or `scope` (authorization request), with the exchanges that got it; or why
    /// there is none, with the exchanges that show the refusal.
    pub(crate) async fn token_for(
        &self,
        resource: Option<String>,
        scope: Option<String>,
        purpose: &str,
    ) -> Result<(String, Vec<crate::http::Exchange>, Lease<'_>), (Observed, Vec<crate::http::Exchange>)> {
        let param = |name: &str, value: &Option<String>| {
            value
                .as_ref()
                .map(|v| (name.to_owned(), serde_json::Value::from(v.as_str())))
        };
        let token_set: Vec<_> = param("resource", &resource).into_iter().collect();
        let mut authorize_set = token_set.clone();
        authorize_set.extend(param("scope", &scope));
        let plan = TokenPlan {
            authorize: Overrides {
                set: authorize_set,
                ..Overrides::default()
            },
            token: Overrides {
                set: token_set,
                ..Overrides::default()
            },
            authorization: true,
            ..TokenPlan::default()
        };
        let asked = match (&resource, &scope) {
            (Some(r), _) => format!("resource <{r}>"),
            (None, s) => format!("scope <{}>", s.as_deref().unwrap_or_default()),
        };
        let (obs, lease) = self.private_chain(&plan, ChainEnd::Token, purpose).await;
        let access = obs.response().filter(|r| r.status == 200).and_then(|r| {
            let doc: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
            doc.get("access_token")?.as_str().map(str::to_owned)
        });
        // The AS's own word for a refusal: the authorization's `error`, else the token one's.
        let error = obs.vars.get("callback.error").cloned().or_else(|| {
            let doc: serde_json::Value = serde_json::from_slice(&obs.response()?.body).ok()?;
            doc.get("error")?.as_str().map(str::to_owned)
        });
        match (access, obs.observed) {
            (Some(token), _) => Ok((token, obs.exchanges, lease)),
            (None, Observed::Response(r)) => {
                let why = match error {
                    Some(error) => format!("the AS refused a token for {asked}: error={error}"),
                    None => format!("the AS issued no token for {asked} (its last answer: {})", r.status),
                };
                Err((Observed::Skipped(why), obs.exchanges))
            }
            // Skipped or an error (a throttled AS): that reason stands.
            (None, other) => Err((other, obs.exchanges)),
        }
    }

    /// The valid token, to try versions with (`--spec-version auto`); or why there is none.
    pub async fn probe_token(&self) -> Result<String, String> {
        self.valid_token().await.map_err(|obs| match obs.observed {
            Observed::Skipped(why) | Observed::Error(why) => why,
            Observed::Response(r) => format!("answered {}", r.status),
        })
    }

    /// The valid token: supplied, else the shared flow's; or why there is none.
    pub(crate) async fn valid_token(&self) -> Result<String, Observation> {
        if let Some(token) = self.config.tokens.get(&TokenKind::Valid) {
            return Ok(token.expose().to_owned());
        }
        let token = self.token().await;
        let access = token[0].response().filter(|r| r.status == 200).and_then(|r| {
            let doc: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
            doc.get("access_token")?.as_str().map(str::to_owned)
        });
        access.ok_or_else(|| {
            let label = "authenticated MCP request";
            match &token[0].observed {
                Observed::Response(_) => Observation::skipped(label, "the token request gave no access_token"),
                other => unanswered(label, other),
            }
        })
    }

    /// A token of `kind` with the exchanges that got it: supplied, else from a flow (low
    /// scope, foreign audience), a minting issuer (expired, foreign issuer) or by waiting
    /// (expired, slow); or why there is none.
    pub(crate) async fn token_of(
        &self,
        kind: TokenKind,
        vars: &BTreeMap<String, String>,
        purpose: &str,
    ) -> Result<(String, Vec<crate::http::Exchange>, Option<Lease<'_>>), Observation> {
        let label = format!("authenticated MCP request with a token of kind {kind}");
        if let Some(token) = self.config.tokens.get(&kind) {
            // A not-yet-valid token ages into a valid one: sent too late, it proves nothing; and
            // one that expires before it starts could never be accepted.
            if kind == TokenKind::NotYetValid
                && let Some((ahead, valid_for)) = not_before(token.expose())
            {
                let why = if ahead < LEEWAY_BOUND + MARGIN {
                    Some(format!(
                        "the supplied not_yet_valid token's nbf is {ahead:.0} s ahead: it must be over {} s ahead \
                         (a server may allow {LEEWAY_BOUND} s of clock leeway); supply a fresh one",
                        LEEWAY_BOUND + MARGIN
                    ))
                } else if valid_for.is_some_and(|v| v <= 0.0) {
                    Some(
                        "the supplied not_yet_valid token expires before its nbf: no server could accept it".to_owned(),
                    )
                } else {
                    None
                };
                if let Some(why) = why {
                    return Err(Observation::skipped(label, why));
                }
            }
            return Ok((token.expose().to_owned(), Vec::new(), None));
        }
        let var = |name: &str| vars.get(name).cloned();
        let from_flow = match kind {
            TokenKind::LowScope => Some(self.token_for(None, var("narrow_scope"), purpose).await),
            TokenKind::ForeignAudience => Some(self.token_for(var("second_resource"), None, purpose).await),
            _ => None,
        };
        if let Some(got) = from_flow {
            return match got {
                Ok((token, exchanges, lease)) => Ok((token, exchanges, Some(lease))),
                Err((observed, exchanges)) => Err(Observation {
                    exchanges,
                    ..unanswered(&label, &observed)
                }),
            };
        }
        // A refusal of a minted token means something only where the server trusts the minting
        // issuer: its valid token is served. (An other_user token has a control of its own:
        // it is served in a state of its own.) Untrusted, an expired token may still be waited
        // out (`--slow`).
        let untrusted = match (&self.config.mint_endpoint, kind) {
            (Some(endpoint), kind) if kind != TokenKind::OtherUser => self.minting_untrusted(endpoint).await.clone(),
            _ => None,
        };
        if let Some((why, exchanges)) = untrusted.as_ref().filter(|_| kind != TokenKind::Expired) {
            return Err(Observation {
                exchanges: exchanges.clone(),
                ..Observation::skipped(label, why.clone())
            });
        }
        if let Some(endpoint) = self.config.mint_endpoint.as_ref().filter(|_| untrusted.is_none()) {
            let scope = self.requested_scope().await;
            // Another user of the same client: only the user differs from the valid token.
            let client_id = match kind {
                TokenKind::OtherUser => self.valid_token().await.ok().and_then(|valid| {
                    let claims = crate::check::jwt_payload(&valid)?;
                    claims.get("client_id")?.as_str().map(str::to_owned)
                }),
                _ => None,
            };
            let minted = tokens::mint(
                &self.client,
                endpoint,
                kind,
                &self.discovered.target.mcp_url,
                scope.as_deref(),
                client_id.as_deref(),
            )
            .await;
            return match minted {
                Ok((token, exchange)) => Ok((token, vec![exchange], None)),
                Err((why, exchange)) => Err(Observation {
                    exchanges: exchange.into_iter().collect(),
                    ..Observation::skipped(label, why)
                }),
            };
        }
        match kind {
            TokenKind::Expired => self.expired_token(purpose).await.map(|(t, e)| (t, e, None)),
            _ => Err(Observation::skipped(
                label,
                format!(
                    "needs a token of kind {kind}: supply one (--token {kind}=ENV_VAR or config [tokens]) or have a \
                     test issuer your server trusts mint it (reference --issuer-only, --mint-endpoint)"
                ),
            )),
        }
    }

    /// Why the server does not trust the minting issuer at `endpoint` (its valid token, sent
    /// with the version's first request, is not served), with the exchanges; None: it does.
    /// Asked once per run.
    async fn minting_untrusted(&self, endpoint: &str) -> &Option<(String, Vec<crate::http::Exchange>)> {
        let init = || async {
            let target = &self.discovered.target;
            let scope = self.requested_scope().await;
            let minted = tokens::mint(
                &self.client,
                endpoint,
                TokenKind::Valid,
                &target.mcp_url,
                scope.as_deref(),
                None,
            );
            let (token, minting) = match minted.await {
                Ok(got) => got,
                Err((why, exchange)) => return Some((why, exchange.into_iter().collect())),
            };
            let request = crate::discovery::first_request(target).header("Authorization", &format!("Bearer {token}"));
            let (exchange, answer) = self.client.send(&request).await;
            let why = match answer {
                Ok(r) if crate::http::jsonrpc::accepted(&r) => return None,
                Ok(r) if crate::http::jsonrpc::refused(&r) => format!(
                    "the server refused a valid token the minting endpoint <{endpoint}> made (status {}): it does not \
                     trust that issuer, so a refusal of its other tokens would prove nothing",
                    r.status
                ),
                Ok(r) => format!(
                    "the server neither served nor refused a valid token the minting endpoint <{endpoint}> made (status \
                     {}): whether it trusts that issuer is unknown",
                    r.status
                ),
                Err(e) => format!("a valid token the minting endpoint <{endpoint}> made got no answer: {e}"),
            };
            Some((why, vec![minting, exchange]))
        };
        self.minting_trusted.get_or_init(init).await
    }

    /// A fresh token, once its `expires_in` has passed (slow: only with `--slow`, and only
    /// for lifetimes within the configured wait), with the exchanges that got it.
    pub(crate) async fn expired_token(
        &self,
        purpose: &str,
    ) -> Result<(String, Vec<crate::http::Exchange>), Observation> {
        let label = "authenticated MCP request with an expired token";
        if !self.config.slow {
            return Err(Observation::skipped(
                label,
                "a slow check (waits out a fresh token's expires_in); run with --slow",
            ));
        }
        let plan = TokenPlan {
            authorization: true,
            ..TokenPlan::default()
        };
        // Not held while the token ages: the wait is minutes long.
        let (token, _) = self.private_chain(&plan, ChainEnd::Token, purpose).await;
        let doc = token
            .response()
            .filter(|r| r.status == 200)
            .and_then(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok());
        let fields = doc.as_ref().and_then(|d| {
            let access = d.get("access_token")?.as_str()?.to_owned();
            Some((access, d.get("expires_in").and_then(serde_json::Value::as_u64)))
        });
        let (access, lifetime) = match fields {
            Some((access, Some(lifetime))) => (access, lifetime),
            Some((_, None)) => return Err(Observation::skipped(label, "the token response has no expires_in")),
            None => return Err(Observation::skipped(label, "no fresh token was issued")),
        };
        let limit = self.config.token_wait.unwrap_or(DEFAULT_CODE_WAIT);
        if lifetime > limit.as_secs() {
            let why = format!(
                "the token lives {lifetime} s, longer than this check waits ({} s, config token_wait_seconds)",
                limit.as_secs()
            );
            return Err(Observation::skipped(label, why));
        }
        tokio::time::sleep(std::time::Duration::from_secs(lifetime + 1)).await;
        Ok((access, token.exchanges))
    }
}

/// The largest clock leeway common JWT libraries allow by default (five minutes): a
/// not-before only this close may legally be waived.
const LEEWAY_BOUND: f64 = 300.0;

/// Time for the run to reach the check, and for clocks that disagree a little.
const MARGIN: f64 = 60.0;

/// How many seconds a JWT's `nbf` is ahead of now (negative: passed), and how long it is
/// valid from then (`exp - nbf`, where it has an `exp`); `None` for a token without `nbf`
/// (an opaque token is the user's word). NumericDates may have fractions (RFC 7519 §2).
fn not_before(token: &str) -> Option<(f64, Option<f64>)> {
    use base64::Engine;
    let claims = token.split('.').nth(1)?;
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).ok()?;
    let claims = serde_json::from_slice::<serde_json::Value>(&claims).ok()?;
    let nbf = claims.get("nbf")?.as_f64()?;
    let exp = claims.get("exp").and_then(serde_json::Value::as_f64);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    Some((nbf - now, exp.map(|e| e - nbf)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwts_not_before_is_read_and_an_opaque_token_has_none() {
        use base64::Engine;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = serde_json::json!({"nbf": now + 600, "exp": now + 500}).to_string();
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims);
        let (ahead, valid_for) = not_before(&format!("e30.{claims}.c2ln")).unwrap();
        assert!((598.0..=600.0).contains(&ahead), "{ahead}");
        assert_eq!(valid_for, Some(-100.0));
        assert_eq!(not_before("opaque-token"), None);
        assert_eq!(not_before("e30.e30.c2ln"), None);
    }
}
