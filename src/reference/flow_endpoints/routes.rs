//! Where the flow endpoints are mounted, and the answers they share.

use std::sync::Arc;

use axum::Router;
use axum::extract::Extension;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::*;

pub(in crate::reference) fn router(state: Arc<State>, mut base: Base) -> Router {
    // The AS's own identifier, in its metadata and in `iss` alike.
    if state.has(Fault::IssuerTrailingSlash) {
        base.issuer.push('/');
    }
    Router::new()
        .route("/register", post(register))
        .route("/authorize", get(authorize))
        .route("/consent", get(consent).post(login))
        .route("/callback", get(callback))
        .route("/token", post(token).get(token_by_get))
        .route("/revoke", post(revoke))
        .route("/introspect", post(introspect))
        .layer(Extension(base))
        .with_state(state)
}

/// 429 with a short Retry-After (variation `short-rate-limit`).
pub(in crate::reference) fn throttled() -> Response {
    (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")]).into_response()
}

pub(in crate::reference) fn error_page(why: &str) -> Response {
    let html = format!("<!doctype html><title>Authorization error</title><p>{why}</p>");
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/html")], html).into_response()
}
