//! The upstream authorization server of a proxying reference ([`super::Options::proxy`]): the
//! third-party AS an MCP proxy sends its users to under one static client id. It knows that
//! one client and its callback, and has consented for the user already (a third party's
//! consent is not the proxy's to show), so it answers every authorization with a code.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State as Extract};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::State;
use super::flow_endpoints::upstream_code;

/// Where the upstream AS authorizes.
pub const AUTHORIZE: &str = "/authorize";

/// The proxy's one client id at the upstream AS (the "static client ID" of MCP's confused
/// deputy problem).
pub(super) const STATIC_CLIENT_ID: &str = "mcp-proxy";

pub(super) fn router(state: Arc<State>) -> Router {
    Router::new().route(AUTHORIZE, get(authorize)).with_state(state)
}

async fn authorize(Extract(s): Extract<Arc<State>>, Query(q): Query<HashMap<String, String>>) -> Response {
    // The proxy's callback under any of the reference's flow mounts.
    let callback = q
        .get("redirect_uri")
        .filter(|uri| uri.starts_with(&s.as_origin) || uri.starts_with(&s.rs_origin))
        .filter(|uri| uri.ends_with("/callback"))
        .and_then(|uri| url::Url::parse(uri).ok());
    let client = q.get("client_id").map(String::as_str) == Some(STATIC_CLIENT_ID);
    let (Some(mut location), true, Some("code")) = (callback, client, q.get("response_type").map(String::as_str))
    else {
        return (StatusCode::BAD_REQUEST, "unknown client or redirect_uri").into_response();
    };
    location.query_pairs_mut().append_pair("code", &upstream_code(&s));
    if let Some(state) = q.get("state") {
        location.query_pairs_mut().append_pair("state", state);
    }
    (StatusCode::FOUND, [(header::LOCATION, location.to_string())]).into_response()
}
