//! The token lifecycle endpoints: revocation (RFC 7009), where a client revokes a refresh or
//! access token it was issued (any token, known or not, gets 200, §2.2), and introspection
//! (RFC 7662) for confidential clients.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::reference::signing::Checks;

pub(in crate::reference) async fn revoke(
    Extract(s): Extract<Arc<State>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    // §2.1: the client authenticates as it does at the token endpoint.
    let client_id = match authenticate(&s, &headers, &form) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let Some(token) = form.get("token") else {
        return token_error(&s, "invalid_request");
    };
    // §2.1: only a token issued to this client; the hint is only a hint, so both are tried.
    let access = s
        .signer
        .verify(token, &Checks::ANY_TIME)
        .ok()
        .or_else(|| store(&s).opaque(token))
        .filter(|claims| claims.client_id == client_id);
    let mut st = store(&s);
    if s.has(Fault::RefreshRevocationUnsupported) && st.refresh_tokens.contains_key(token) {
        drop(st);
        return token_error(&s, "unsupported_token_type");
    }
    match st.refresh_tokens.get(token) {
        Some(r) if r.client_id == client_id => {
            if !s.has(Fault::RefreshRevocationIgnored) {
                st.refresh_tokens.remove(token);
            }
        }
        _ => {
            if let Some(claims) = access
                && !s.has(Fault::AccessRevocationIgnored)
            {
                st.revoked.insert(claims.jti);
            }
        }
    }
    StatusCode::OK.into_response()
}

/// The introspection endpoint (RFC 7662): for confidential clients (a resource server's
/// credentials), never for anyone (§2.1: token scanning).
pub(in crate::reference) async fn introspect(
    Extract(s): Extract<Arc<State>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !s.has(Fault::IntrospectionUnauthenticated) {
        let confidential = authenticate(&s, &headers, &form)
            .ok()
            .is_some_and(|id| store(&s).clients.get(&id).is_some_and(|c| c.secret.is_some()));
        if !confidential && s.varies(Variation::IntrospectionRefusedEmpty) {
            return axum::http::StatusCode::FORBIDDEN.into_response();
        }
        if !confidential {
            return invalid_client(&s, headers.contains_key(axum::http::header::AUTHORIZATION));
        }
    }
    let token = form.get("token").map(String::as_str).unwrap_or_default();
    let claims = s
        .signer
        .verify(token, &Checks::ANY_TIME)
        .ok()
        .or_else(|| store(&s).opaque(token))
        .filter(|c| c.exp > crate::reference::signing::now() && !store(&s).revoked(&c.jti));
    // §2.2: an inactive token says nothing more.
    let body = match claims {
        Some(c) => serde_json::json!({
            "active": true, "scope": c.scope, "client_id": c.client_id, "sub": c.sub, "iss": c.iss, "exp": c.exp,
        }),
        None => serde_json::json!({"active": false}),
    };
    axum::Json(body).into_response()
}
