//! The token endpoint (OAuth 2.1 §4.1.3, §3.2.3, §3.2.4): codes, refresh, client credentials.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Form, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::*;
use crate::oauth::pkce;

pub(in crate::reference) async fn token(
    Extract(s): Extract<Arc<State>>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    if s.throttles("token") {
        return throttled();
    }
    // RFC 6749 §3.2: no parameter twice (a map would keep one of them silently).
    let mut form = HashMap::new();
    for (name, value) in pairs {
        if form.insert(name, value).is_some() && !s.has(Fault::RepeatedParameterLastWins) {
            return token_error(&s, "invalid_request");
        }
    }
    // RFC 6749 §2.3.1: authenticate the client first; the grant is judged for that client.
    match authenticate(&s, &headers, &form) {
        Ok(client_id) => {
            form.insert("client_id".to_owned(), client_id);
        }
        Err(response) => return response,
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => redeem(&s, &form),
        Some("client_credentials") => client_credentials(&s, &form),
        Some("refresh_token") => refresh(&s, &form),
        None if s.has(Fault::MissingGrantTypeAnsweredUnsupported) => token_error(&s, "unsupported_grant_type"),
        None => token_error(&s, "invalid_request"),
        Some("password") if s.has(Fault::UnsupportedGrantAnsweredInvalidRequest) => token_error(&s, "invalid_request"),
        // No user has those credentials (the only password grant the suite sends).
        Some("password") if s.varies(Variation::PasswordGrantForOtherClients) => token_error(&s, "invalid_grant"),
        Some(_) => token_error(&s, "unsupported_grant_type"),
    }
}

/// The client's id, authenticated by its registered method (`none`: the id alone). A
/// failed Basic authentication is 401 with a challenge (RFC 6749 §5.2).
#[expect(clippy::result_large_err, reason = "the Err is the response itself, built once")]
pub(in crate::reference) fn authenticate(
    s: &State,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<String, Response> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        .and_then(|b| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let dec = |v: &str| {
                url::form_urlencoded::parse(format!("x={v}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((dec(id)?, dec(secret)?))
        });
    if basic.is_some() && form.contains_key("client_id") && s.varies(Variation::OneClientAuthentication) {
        return Err(token_error(s, "invalid_request"));
    }
    let id = basic
        .as_ref()
        .map(|(id, _)| id.clone())
        .or_else(|| form.get("client_id").cloned());
    let Some(id) = id else {
        return Err(token_error(s, "invalid_request"));
    };
    let Some(client) = store(s).clients.get(&id).cloned() else {
        return Err(invalid_client(s, basic.is_some()));
    };
    let presented = basic
        .as_ref()
        .map(|(_, secret)| secret.as_str())
        .or_else(|| form.get("client_secret").map(String::as_str));
    // The fault checks a Basic secret only: one in the body is taken as it comes.
    let unchecked = basic.is_none() && form.contains_key("client_secret") && s.has(Fault::PostSecretUnchecked);
    match (&client.secret, presented) {
        (None, _) => Ok(id),
        (Some(_), Some(_)) if unchecked => Ok(id),
        (Some(expected), Some(given)) if expected == given && !s.has(Fault::ConfidentialAuthenticationBroken) => Ok(id),
        _ => Err(invalid_client(s, basic.is_some())),
    }
}

pub(in crate::reference) fn invalid_client(s: &State, used_basic: bool) -> Response {
    let body = Json(json!({"error": "invalid_client"}));
    let basic_401 = used_basic && !s.has(Fault::InvalidClientAnswered400);
    if basic_401 || (!used_basic && s.varies(Variation::InvalidClientAlways401)) {
        // A challenge copied from the resource server names the wrong scheme.
        let challenge = match s.has(Fault::InvalidClientBearerChallenge) {
            true => "Bearer realm=\"reference\"",
            false => "Basic realm=\"reference\"",
        };
        let headers = [
            (header::WWW_AUTHENTICATE, challenge),
            (header::CACHE_CONTROL, "no-store"),
        ];
        return (StatusCode::UNAUTHORIZED, headers, body).into_response();
    }
    (StatusCode::BAD_REQUEST, [(header::CACHE_CONTROL, "no-store")], body).into_response()
}

/// OAuth 2.1 §4.2: confidential clients only.
pub(in crate::reference) fn client_credentials(s: &State, form: &HashMap<String, String>) -> Response {
    let id = form.get("client_id").cloned().unwrap_or_default();
    let confidential = store(s).clients.get(&id).is_some_and(|c| c.secret.is_some());
    if !confidential {
        return token_error(s, "unauthorized_client");
    }
    if s.has(Fault::ClientCredentialsRefused) {
        return token_error(s, "unsupported_grant_type");
    }
    issue_tokens(s, &id, form.get("scope").cloned(), None, None, None)
}

/// The token endpoint only takes POST (OAuth 2.1 §3.2): a GET is refused, unless faulty.
pub(in crate::reference) async fn token_by_get(
    Extract(s): Extract<Arc<State>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !s.has(Fault::TokenAcceptsGet) {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST")]).into_response();
    }
    match q.get("grant_type").map(String::as_str) {
        Some("authorization_code") => redeem(&s, &q),
        _ => issue_tokens(&s, "anonymous", None, None, None, None),
    }
}

pub(in crate::reference) fn redeem(s: &State, form: &HashMap<String, String>) -> Response {
    let Some(code) = form.get("code") else {
        return token_error(s, "invalid_request");
    };
    let grant = {
        let mut st = store(s);
        let Some(grant) = st.codes.get_mut(code) else {
            let error = if s.has(Fault::TokenErrorUnregisteredCode) {
                "code_not_found"
            } else {
                "invalid_grant"
            };
            return token_error(s, error);
        };
        if grant.used && !s.has(Fault::CodeReusable) {
            // OAuth 2.1 §4.1.3: the tokens of its first redemption are revoked too.
            if !s.has(Fault::ReplayKeepsTokens) {
                revoke_code_tokens(&mut st, code);
            }
            if s.has(Fault::CodeReplayServerError) {
                let body = Json(json!({"error": "server_error"}));
                return (StatusCode::INTERNAL_SERVER_ERROR, body).into_response();
            }
            return token_error(s, "invalid_grant");
        }
        // OAuth 2.1 §4.1.2: codes are short-lived.
        let expired = grant.issued.is_some_and(|t| t.elapsed() > s.code_lifetime);
        if expired && !s.has(Fault::CodeNeverExpires) {
            return token_error(s, "invalid_grant");
        }
        grant.used = true;
        grant.clone()
    };
    if form.get("client_id") != Some(&grant.client_id) && !s.has(Fault::CodeNotBoundToClient) {
        return token_error(s, "invalid_grant");
    }
    // RFC 6749 §4.1.3: required and identical when the authorization request had it; OAuth
    // 2.1 §10.2 lets an AS accept its absence (a variation).
    let sent = form.get("redirect_uri");
    let checked = sent.is_some() || !s.varies(Variation::RedirectUriOptionalAtToken);
    let same = match s.has(Fault::TokenRedirectUriPortIgnored) {
        true => sent.is_some_and(|u| around_port(u) == around_port(&grant.redirect_uri)),
        false => sent == Some(&grant.redirect_uri),
    };
    if checked && !same && !s.has(Fault::TokenIgnoresRedirectUri) {
        return token_error(s, "invalid_grant");
    }
    // The fault compares with the registered URIs, port included.
    let registered = store(s)
        .clients
        .get(&grant.client_id)
        .is_some_and(|c| sent.is_some_and(|u| c.redirect_uris.contains(u)));
    if s.has(Fault::LoopbackPortTokenExact) && !registered {
        return token_error(s, "invalid_grant");
    }
    // RFC 8707 §2.2: the token is for a resource the authorization covered.
    let same =
        |a: &String, b: &String| a == b || url::Url::parse(a).is_ok_and(|a| url::Url::parse(b).is_ok_and(|b| a == b));
    let foreign =
        matches!((form.get("resource"), &grant.resource), (Some(asked), Some(granted)) if !same(asked, granted));
    if foreign && !s.has(Fault::TokenIgnoresResource) {
        return token_error(s, "invalid_target");
    }
    if let Some(challenge) = &grant.challenge {
        // JavaScript's `if (code_verifier) verify()`: an empty verifier skips the check.
        let empty_skips = s.has(Fault::EmptyVerifierSkipsPkce);
        match form.get("code_verifier").filter(|v| !v.is_empty() || !empty_skips) {
            None if empty_skips && form.contains_key("code_verifier") => {}
            None if !s.has(Fault::VerifierOptional) => return token_error(s, "invalid_grant"),
            // RFC 7636 §4.1: 43 to 128 unreserved characters.
            Some(verifier) if !valid_verifier(verifier) && !s.has(Fault::VerifierFormatUnchecked) => {
                return token_error(s, "invalid_grant");
            }
            Some(verifier) if !s.has(Fault::VerifierNotCompared) => {
                let derived = if grant.method == "S256" {
                    pkce::s256(verifier)
                } else {
                    verifier.clone()
                };
                let plain_fallback = s.has(Fault::PkcePlainFallback) && verifier == challenge;
                if &derived != challenge && !plain_fallback {
                    let error = match s.has(Fault::WrongVerifierInvalidRequest) {
                        true => "invalid_request",
                        false => "invalid_grant",
                    };
                    return token_error(s, error);
                }
            }
            _ => {}
        }
    }
    let key = (grant.client_id.clone(), grant.resource.clone());
    let response = issue_tokens(s, &grant.client_id, grant.scope, grant.resource, None, None);
    // What this code issued, to revoke should it come back.
    let mut st = store(s);
    if let Some(issued) = st.held.get(&key).and_then(|held| held.last()).cloned() {
        st.code_tokens.insert(code.clone(), issued);
    }
    response
}

/// Revokes the access and refresh token a code's redemption issued.
fn revoke_code_tokens(st: &mut Store, code: &str) {
    if let Some((jti, refresh)) = st.code_tokens.remove(code) {
        st.revoked.insert(jti);
        if let Some(r) = refresh.and_then(|r| st.refresh_tokens.get_mut(&r)) {
            r.used = true;
        }
    }
}

/// The refresh grant (OAuth 2.1 §4.3): public clients get a new refresh token every time,
/// and the old one stops working (rotation, §4.3.1).
pub(in crate::reference) fn refresh(s: &State, form: &HashMap<String, String>) -> Response {
    let Some(token) = form.get("refresh_token") else {
        return token_error(s, "invalid_request");
    };
    let (previous, confidential) = {
        let mut st = store(s);
        let Some(r) = st.refresh_tokens.get_mut(token) else {
            return token_error(s, "invalid_grant");
        };
        if r.used {
            if s.has(Fault::RefreshReplayServerError) {
                let body = Json(json!({"error": "server_error"}));
                return (StatusCode::INTERNAL_SERVER_ERROR, body).into_response();
            }
            return token_error(s, "invalid_grant");
        }
        if form.get("client_id") != Some(&r.client_id) && !s.has(Fault::RefreshNotBoundToClient) {
            return token_error(s, "invalid_grant");
        }
        let previous = r.clone();
        // Rotation is for public clients (OAuth 2.1 §4.3.1); a confidential one may keep its.
        let confidential = st.clients.get(&previous.client_id).is_some_and(|c| c.secret.is_some());
        let kept =
            s.has(Fault::RefreshNotRotated) || (confidential && s.varies(Variation::ConfidentialRefreshNotRotated));
        // Under the grace a replaced token lives until its successor is first used (a client
        // whose refresh response was lost can retry); the fault never retires it.
        let grace = s.varies(Variation::RefreshGraceUntilSuccessorUsed);
        if let Some(r) = st.refresh_tokens.get_mut(token) {
            r.used = !kept && !grace && !s.has(Fault::RefreshOldTokenKept);
        }
        let predecessor = previous.predecessor.as_ref().filter(|_| grace);
        if let Some(r) = predecessor.and_then(|p| st.refresh_tokens.get_mut(p)) {
            r.used = true;
        }
        if s.varies(Variation::RevokeOnRefresh) {
            st.revoked.insert(previous.access_jti.clone());
        }
        (previous, confidential)
    };
    // OAuth 2.1 §4.3: the scope asked for may narrow the grant, never widen it.
    let granted = previous.scope.clone().unwrap_or_default();
    let scope = match form.get("scope") {
        None => previous.scope,
        Some(_) if s.has(Fault::RefreshScopeUnchecked) => form.get("scope").cloned(),
        Some(asked)
            if asked
                .split_whitespace()
                .all(|a| granted.split_whitespace().any(|g| g == a)) =>
        {
            Some(asked.clone())
        }
        Some(_) if s.varies(Variation::UnknownScopeDropped) => previous.scope,
        Some(_) => return token_error(s, "invalid_scope"),
    };
    let unrotated =
        s.has(Fault::RefreshNotRotated) || (confidential && s.varies(Variation::ConfidentialRefreshNotRotated));
    let keep = unrotated.then(|| token.clone());
    issue_tokens(s, &previous.client_id, scope, previous.resource, keep, Some(token))
}

/// A token response with a fresh access token and a refresh token (`keep`: reuse that one;
/// `refreshed`: the refresh token a refresh grant presented).
pub(in crate::reference) fn issue_tokens(
    s: &State,
    client_id: &str,
    scope: Option<String>,
    resource: Option<String>,
    keep: Option<String>,
    refreshed: Option<&str>,
) -> Response {
    let token_type = if s.has(Fault::TokenTypeNotBearer) {
        "JWT"
    } else {
        "Bearer"
    };
    let token_field = if s.has(Fault::TokenResponseWithoutAccessToken) {
        "token"
    } else {
        "access_token"
    };
    let mut st = store(s);
    let lifetime = match s.has(Fault::LongLivedTokens) {
        true => std::time::Duration::from_secs(30 * 24 * 3600),
        false => s.token_lifetime,
    };
    let mut body = json!({ "token_type": token_type, "expires_in": lifetime.as_secs() });
    // Fault: the privileged scope is never granted, so step-up cannot succeed.
    let scope = match scope {
        Some(scope) if s.has(Fault::PrivilegedScopeNeverGranted) => Some(
            scope
                .split(' ')
                .filter(|t| *t != "mcp:admin")
                .collect::<Vec<_>>()
                .join(" "),
        ),
        other => other,
    };
    let jti = st.id("access");
    let claims = s.claims(jti.clone(), client_id, scope.clone(), resource.clone(), lifetime);
    let access = if s.varies(Variation::OpaqueAccessTokens) {
        let token = st.id("opaque");
        st.opaque.insert(token.clone(), claims);
        token
    } else {
        s.signer.sign(&claims)
    };
    st.issued.push(access.clone());
    body[token_field] = json!(access);
    let offline = scope
        .as_deref()
        .is_some_and(|s| s.split(' ').any(|t| t == "offline_access"));
    let refreshable =
        !s.varies(Variation::NoRefreshTokens) && (offline || !s.varies(Variation::RefreshOnlyForOfflineAccess));
    let key = (client_id.to_owned(), resource.clone());
    let mut refresh_token = None;
    if refreshable {
        let refresh = keep.unwrap_or_else(|| st.secret("refresh"));
        let record = Refresh {
            client_id: client_id.to_owned(),
            scope: scope.clone(),
            resource,
            used: false,
            access_jti: jti.clone(),
            predecessor: refreshed.filter(|r| *r != refresh).map(str::to_owned),
        };
        st.refresh_tokens.insert(refresh.clone(), record);
        body["refresh_token"] = json!(refresh);
        refresh_token = Some(refresh);
    }
    st.held.entry(key).or_default().push((jti, refresh_token));
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    let cache = if s.has(Fault::TokenResponseCacheable) || (refreshed.is_some() && s.has(Fault::RefreshWithoutNoStore))
    {
        "max-age=300"
    } else if s.has(Fault::TokenResponseNoCache) {
        // The Pragma-era habit: no-cache lets a cache keep it (and revalidate).
        "no-cache"
    } else {
        "no-store"
    };
    if s.has(Fault::TokenResponseTextHtml) {
        // Express's `res.send(JSON.stringify(body))`.
        let headers = [
            (header::CACHE_CONTROL, cache),
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        ];
        return (StatusCode::OK, headers, body.to_string()).into_response();
    }
    (StatusCode::OK, [(header::CACHE_CONTROL, cache)], Json(body)).into_response()
}

pub(in crate::reference) fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

pub(in crate::reference) fn token_error(s: &State, code: &str) -> Response {
    let status = match code == "invalid_grant" && s.has(Fault::InvalidGrantAnswered401) {
        true => StatusCode::UNAUTHORIZED,
        false => StatusCode::BAD_REQUEST,
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({"error": code})),
    )
        .into_response()
}
