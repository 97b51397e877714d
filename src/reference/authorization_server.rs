//! The reference authorization server's metadata (RFC 8414) and endpoints.

use std::sync::Arc;

use axum::Router;
use axum::extract::State as Extract;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{Fault, State, Variation};

pub(super) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/.well-known/oauth-authorization-server/as", get(rfc8414))
        .route("/as/.well-known/openid-configuration", get(oidc_appended))
        .route("/as/jwks", get(jwks))
        .route("/as/mint", post(mint))
        .route("/.well-known/oauth-authorization-server/as2", get(second_rfc8414))
        .with_state(state.clone())
        .nest(
            "/as",
            super::flow_endpoints::router(state.clone(), super::flow_endpoints::Base { issuer: state.issuer() }),
        )
        .nest(
            "/as2",
            super::flow_endpoints::router(
                state.clone(),
                super::flow_endpoints::Base {
                    issuer: state.second_issuer(),
                },
            ),
        )
}

/// The second authorization server's metadata (variation `several-authorization-servers`).
async fn second_rfc8414(Extract(s): Extract<Arc<State>>) -> Response {
    if !s.varies(Variation::SeveralAuthorizationServers) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let issuer = s.second_issuer();
    axum::Json(metadata(&s, &issuer, &issuer)).into_response()
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
        "revocation_endpoint": format!("{endpoint_base}/revoke"),
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "introspection_endpoint": format!("{endpoint_base}/introspect"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": s.listed_scopes(),
        "jwks_uri": format!("{}/as/jwks", s.as_origin),
    });
    let fields = doc.as_object_mut().expect("a JSON object literal");
    if s.has(Fault::IssuerTrailingSlash) {
        fields.insert("issuer".into(), json!(format!("{issuer}/")));
    }
    if s.has(Fault::PublicClientsOnly) {
        fields.insert("token_endpoint_auth_methods_supported".into(), json!(["none"]));
    }
    if s.has(Fault::NoResponseTypesSupported) {
        fields.remove("response_types_supported");
    }
    if s.has(Fault::PublicAuthUnadvertised) {
        let methods = json!(["client_secret_basic", "client_secret_post"]);
        fields.insert("token_endpoint_auth_methods_supported".into(), methods);
    }
    if s.serves_cimd() {
        let flag = match s.has(Fault::CimdFlagAsString) {
            true => json!("true"),
            false => json!(true),
        };
        fields.insert("client_id_metadata_document_supported".into(), flag);
    }
    if s.has(Fault::IssFlagMissing) {
        fields.remove("authorization_response_iss_parameter_supported");
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
    if s.has(Fault::NonS256TakenAsPlain) {
        fields.insert("code_challenge_methods_supported".into(), json!(["S256", "plain"]));
    }
    if s.has(Fault::PkceMethodsEmpty) {
        fields.insert("code_challenge_methods_supported".into(), json!([]));
    }
    if s.has(Fault::RevocationEndpointHttp) {
        // Built from the backend's own scheme and host behind the proxy.
        fields.insert(
            "revocation_endpoint".into(),
            json!("http://as-backend.invalid:8080/revoke"),
        );
    }
    if s.has(Fault::PlainPkceOnly) {
        fields.insert("code_challenge_methods_supported".into(), json!(["plain"]));
    }
    if s.has(Fault::HttpEndpoint) {
        // `.invalid` never resolves (RFC 6761): the suite must judge it, never call it.
        fields.insert("token_endpoint".into(), json!("http://as.invalid/token"));
    }
    if s.varies(Variation::ExtraMetadataMembers) {
        fields.insert(
            "x_reference_extension".into(),
            json!({"note": "a member no RFC defines"}),
        );
    }
    if s.varies(Variation::PasswordGrantForOtherClients) {
        fields.insert(
            "grant_types_supported".into(),
            json!(["authorization_code", "refresh_token", "client_credentials", "password"]),
        );
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

/// The public key of every access token (RFC 7517).
async fn jwks(Extract(s): Extract<Arc<State>>) -> Response {
    axum::Json(s.signer.jwks()).into_response()
}

/// What the suite asks the minting endpoint for.
#[derive(Debug, serde::Deserialize)]
struct MintRequest {
    kind: String,
    resource: Option<String>,
    scope: Option<String>,
    /// The token's client (default: `minted`).
    client_id: Option<String>,
}

/// How far in the future a `not_yet_valid` token's `nbf` is: ten minutes, twice the largest
/// default clock leeway of common JWT libraries (five minutes).
const NOT_YET_VALID_FOR: u64 = 600;

/// The subject of minted `other_user` tokens.
const OTHER_USER: &str = "conformance-other-user";

/// `POST /as/mint`: tokens no flow yields, for the suite (not in the metadata; a test
/// issuer's only). `valid`, `expired` (an hour ago), `foreign_issuer` (another `iss`, signed
/// with the trusted key) or `not_yet_valid` (`nbf` ten minutes ahead, valid for its lifetime
/// from then, so only a not-before check refuses it), each for `resource` with `scope`.
async fn mint(Extract(s): Extract<Arc<State>>, axum::Json(asked): axum::Json<MintRequest>) -> Response {
    let jti = s.store.lock().unwrap_or_else(|p| p.into_inner()).id("minted");
    let client_id = asked.client_id.as_deref().unwrap_or("minted");
    let mut claims = s.claims(jti, client_id, asked.scope, asked.resource, s.token_lifetime);
    match asked.kind.as_str() {
        "valid" => {}
        "expired" => {
            claims.iat -= 7200;
            claims.exp = claims.iat + 3600;
        }
        "foreign_issuer" => claims.iss = s.foreign_issuer(),
        // Someone other than the user who logs in to the flows.
        "other_user" => claims.sub = OTHER_USER.to_owned(),
        // Beyond any clock leeway a server may legally allow (RFC 7519 §4.1.5: "small").
        "not_yet_valid" => {
            let nbf = claims.iat + NOT_YET_VALID_FOR;
            claims.nbf = Some(nbf);
            claims.exp = nbf + s.token_lifetime.as_secs();
        }
        other => {
            let error = json!({"error": "invalid_request", "error_description": format!("unknown kind {other}")});
            return (StatusCode::BAD_REQUEST, axum::Json(error)).into_response();
        }
    }
    let token = s.signer.sign(&claims);
    super::flow_endpoints::remember_issued(&s, &token);
    let body = json!({"access_token": token, "token_type": "Bearer", "expires_in": s.token_lifetime.as_secs()});
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}
