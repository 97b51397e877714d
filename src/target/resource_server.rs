//! The reference MCP server as an OAuth protected resource (RFC 9728, RFC 6750).

use std::sync::Arc;

use axum::Router;
use axum::extract::State as Extract;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::json;

use super::{Fault, State};

pub(super) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/mcp", any(mcp))
        .route("/.well-known/oauth-protected-resource/mcp", get(prm))
        // 2025-03-26: the MCP server's origin is the authorization base URL.
        .route("/.well-known/oauth-authorization-server", get(origin_as_metadata))
        .with_state(state.clone())
        // 2025-03-26: the authorization endpoints live at the MCP server's origin too.
        .merge(super::flow_endpoints::router(
            state.clone(),
            super::flow_endpoints::Base {
                issuer: state.rs_origin.clone(),
            },
        ))
}

async fn mcp(Extract(s): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    let has_credentials = headers.contains_key(header::AUTHORIZATION);
    if !has_credentials && s.has(Fault::UnauthenticatedAccepted) {
        let body = json!({"jsonrpc": "2.0", "id": 1, "result": {"serverInfo": {"name": "reference"}}});
        return axum::Json(body).into_response();
    }
    // No token is valid yet: the token-enforcement checks add issued tokens.
    let challenge = challenge(&s, has_credentials);
    let mut response = (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "unauthorized"}))).into_response();
    if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn challenge(s: &State, has_credentials: bool) -> Option<String> {
    if s.has(Fault::NoWwwAuthenticate) {
        return None;
    }
    let prm_url = format!("{}/.well-known/oauth-protected-resource/mcp", s.rs_origin);
    let mut params: Vec<String> = Vec::new();
    if has_credentials || s.has(Fault::ErrorWithoutCredentials) {
        params.push(r#"error="invalid_token""#.to_owned());
    }
    if s.has(Fault::OfflineAccessInChallenge) {
        params.push(r#"scope="mcp:tools offline_access""#.to_owned());
    } else if !s.has(Fault::NoScopeOn401) {
        params.push(r#"scope="mcp:tools""#.to_owned());
    }
    if s.has(Fault::DuplicateChallengeParam) {
        params.push(r#"scope="mcp:tools""#.to_owned());
    }
    if s.has(Fault::RelativeResourceMetadata) {
        params.push(r#"resource_metadata="/.well-known/oauth-protected-resource/mcp""#.to_owned());
    } else if !(s.has(Fault::NoResourceMetadata) || s.has(Fault::NoResourceMetadata0618) || s.has(Fault::NoPrm)) {
        params.push(format!(r#"resource_metadata="{prm_url}""#));
    }
    let separator = if s.has(Fault::MalformedWwwAuthenticate) {
        " "
    } else {
        ", "
    };
    let scheme = if s.has(Fault::BasicChallengeOnly) {
        r#"Basic realm="mcp","#
    } else {
        "Bearer"
    };
    Some(format!("{scheme} {}", params.join(separator)))
}

async fn prm(Extract(s): Extract<Arc<State>>) -> Response {
    if s.has(Fault::NoPrm) {
        return StatusCode::NOT_FOUND.into_response();
    }
    if s.has(Fault::PrmRequiresToken) {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")]).into_response();
    }
    let mut doc = json!({
        "resource": s.mcp_url(),
        "authorization_servers": [s.issuer()],
        "scopes_supported": ["mcp:tools"],
        "bearer_methods_supported": ["header"],
        "resource_name": "mcp-auth-conformance reference server",
    });
    let fields = doc.as_object_mut().expect("a JSON object literal");
    if s.has(Fault::PrmMissingResource) {
        fields.remove("resource");
    }
    if s.has(Fault::PrmResourceTrailingSlash) {
        fields.insert("resource".into(), json!(format!("{}/", s.mcp_url())));
    }
    if s.has(Fault::PrmNoAuthorizationServers) {
        fields.insert("authorization_servers".into(), json!([]));
    }
    if s.has(Fault::PrmFieldWrongType) {
        fields.insert("resource_name".into(), json!(42));
    }
    if s.has(Fault::PrmBearerQuery) {
        fields.insert("bearer_methods_supported".into(), json!(["header", "query"]));
    }
    if s.has(Fault::PrmNoScopesSupported) {
        fields.remove("scopes_supported");
    }
    let content_type = if s.has(Fault::PrmWrongContentType) {
        "text/plain"
    } else {
        "application/json"
    };
    ([(header::CONTENT_TYPE, content_type)], doc.to_string()).into_response()
}

async fn origin_as_metadata(Extract(s): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    if s.has(Fault::ProtocolVersionHeaderRejected) && headers.contains_key("mcp-protocol-version") {
        return (StatusCode::BAD_REQUEST, "unexpected header").into_response();
    }
    if s.has(Fault::RootMetadataMissing0326) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let base = &s.rs_origin;
    let doc = super::authorization_server::metadata(&s, base, base);
    axum::Json(doc).into_response()
}
