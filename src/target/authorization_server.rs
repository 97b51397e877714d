//! The reference authorization server's metadata (RFC 8414) and endpoints.

use std::sync::Arc;

use axum::Router;
use axum::extract::State as Extract;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::{Fault, State};

pub(super) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/.well-known/oauth-authorization-server/as", get(rfc8414))
        .route("/as/.well-known/openid-configuration", get(oidc_appended))
        .with_state(state.clone())
        .nest(
            "/as",
            super::flow_endpoints::router(state.clone(), super::flow_endpoints::Base { issuer: state.issuer() }),
        )
}

/// The metadata document for `issuer` with endpoints under `endpoint_base`.
pub(super) fn metadata(s: &State, issuer: &str, endpoint_base: &str) -> Value {
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{endpoint_base}/authorize"),
        "token_endpoint": format!("{endpoint_base}/token"),
        "registration_endpoint": format!("{endpoint_base}/register"),
        "authorization_response_iss_parameter_supported": true,
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "scopes_supported": ["mcp:tools"],
    });
    let fields = doc.as_object_mut().expect("a JSON object literal");
    if s.has(Fault::IssuerTrailingSlash) {
        fields.insert("issuer".into(), json!(format!("{issuer}/")));
    }
    if s.has(Fault::NoTokenEndpoint) {
        fields.remove("token_endpoint");
    }
    if s.has(Fault::NoCodeResponseType) {
        fields.insert("response_types_supported".into(), json!(["token"]));
    }
    if s.has(Fault::NoPkceMethods) {
        fields.remove("code_challenge_methods_supported");
    }
    if s.has(Fault::PlainPkceOnly) {
        fields.insert("code_challenge_methods_supported".into(), json!(["plain"]));
    }
    if s.has(Fault::HttpEndpoint) {
        // `.invalid` never resolves (RFC 6761): the suite must judge it, never call it.
        fields.insert("token_endpoint".into(), json!("http://as.invalid/token"));
    }
    if s.has(Fault::ImplicitGrant) {
        fields.insert(
            "grant_types_supported".into(),
            json!(["authorization_code", "implicit"]),
        );
    }
    doc
}

fn issuer_metadata(s: &State) -> Value {
    let issuer = s.issuer();
    metadata(s, &issuer, &format!("{}/as", s.as_origin))
}

async fn rfc8414(Extract(s): Extract<Arc<State>>) -> Response {
    if s.has(Fault::AsMetadataMissing) || s.has(Fault::AsMetadataOidcAppendOnly) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let content_type = if s.has(Fault::AsMetadataHtml) {
        "text/html"
    } else {
        "application/json"
    };
    ([(header::CONTENT_TYPE, content_type)], issuer_metadata(&s).to_string()).into_response()
}

async fn oidc_appended(Extract(s): Extract<Arc<State>>) -> Response {
    if !s.has(Fault::AsMetadataOidcAppendOnly) {
        return StatusCode::NOT_FOUND.into_response();
    }
    axum::Json(issuer_metadata(&s)).into_response()
}
