//! What a Rust MCP server's `tests/auth_conformance.rs` looks like (`harness = false`): it
//! starts its server in-process and gets one `cargo test` line per requirement of MCP
//! authorization, with its known failures in a baseline. Run it alone with
//! `cargo test --test auth_conformance`, or some of it: `cargo test --test auth_conformance --
//! rs.token`.
//!
//! The server here is a small axum MCP resource server that validates JWT access tokens from
//! an issuer it is configured to trust. In the test that issuer is the suite's own test issuer
//! (`reference --issuer-only`, in-process), so the suite gets every token it needs without a
//! login page.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use mcp_auth_conformance::config::TargetConfig;
use mcp_auth_conformance::reference::{Options, Reference};
use mcp_auth_conformance::spec::SpecVersion;
use mcp_auth_conformance::{Conformance, harness};

/// The one scope this server asks for.
const SCOPE: &str = "mcp";

fn main() -> ExitCode {
    // reqwest is built without a TLS provider of its own here: the process picks one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (issuer, url) = runtime.block_on(async {
        let options = Options {
            any_resource: true,
            scopes: Some(SCOPE.to_owned()),
            ..Options::default()
        };
        let issuer = Reference::start_with(&[], options)
            .await
            .expect("the test issuer starts");
        let keys: JwkSet = reqwest::get(&issuer.jwks_uri).await.unwrap().json().await.unwrap();
        let url = serve(&issuer.issuer, keys).await;
        (issuer, url)
    });
    // What the suite cannot discover: where the test issuer mints the tokens no flow gives,
    // and another resource it issues tokens for (this server must refuse those).
    let config = TargetConfig {
        mint_endpoint: Some(issuer.mint_endpoint.clone()),
        second_resource: Some("http://127.0.0.1:9/another-mcp-server".to_owned()),
        ..TargetConfig::default()
    };
    let baseline = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/examples/auth_conformance_baseline.toml"
    );
    let conformance = Conformance::new(url)
        .spec_version(SpecVersion::V2025_11_25)
        .config(config)
        .expected_failures(baseline)
        .expect("the baseline loads");
    harness::main(&runtime, conformance)
}

/// The MCP server: its protected resource metadata and its MCP endpoint, on 127.0.0.1.
struct Server {
    resource: String,
    metadata_url: String,
    issuer: String,
    keys: JwkSet,
}

async fn serve(issuer: &str, keys: JwkSet) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr: SocketAddr = listener.local_addr().expect("its address");
    let server = Arc::new(Server {
        resource: format!("http://{addr}/mcp"),
        metadata_url: format!("http://{addr}/.well-known/oauth-protected-resource/mcp"),
        issuer: issuer.to_owned(),
        keys,
    });
    let url = server.resource.clone();
    let app = Router::new()
        .route("/.well-known/oauth-protected-resource/mcp", get(metadata))
        .route("/mcp", post(mcp))
        .with_state(server);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// RFC 9728: where tokens come from and what they need.
async fn metadata(State(server): State<Arc<Server>>) -> Response {
    axum::Json(json!({
        "resource": server.resource,
        "authorization_servers": [server.issuer],
        "scopes_supported": [SCOPE],
        "bearer_methods_supported": ["header"],
    }))
    .into_response()
}

async fn mcp(State(server): State<Arc<Server>>, headers: HeaderMap, body: String) -> Response {
    if let Some(refusal) = server.refusal(&headers) {
        return refusal;
    }
    let request: Value = serde_json::from_str(&body).unwrap_or_default();
    let result = match request["method"].as_str() {
        Some("initialize") => json!({
            "protocolVersion": request["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "axum-example", "version": "0.0.0"},
        }),
        Some("tools/list") => json!({"tools": []}),
        Some(_) if request.get("id").is_none() => return StatusCode::ACCEPTED.into_response(),
        _ => {
            let error = json!({"code": -32601, "message": "method not found"});
            return axum::Json(json!({"jsonrpc": "2.0", "id": request["id"], "error": error})).into_response();
        }
    };
    axum::Json(json!({"jsonrpc": "2.0", "id": request["id"], "result": result})).into_response()
}

impl Server {
    /// The answer to a request its token does not allow (none: allowed). RFC 6750 with MCP's
    /// challenge: no token is 401 naming the metadata and the scope; a bad one 401
    /// `invalid_token`; one without the scope 403 `insufficient_scope`.
    fn refusal(&self, headers: &HeaderMap) -> Option<Response> {
        let challenge = |status: StatusCode, error: Option<&str>| {
            let error = error.map(|e| format!("error=\"{e}\", ")).unwrap_or_default();
            let value = format!(
                "Bearer {error}scope=\"{SCOPE}\", resource_metadata=\"{}\"",
                self.metadata_url
            );
            (status, [(header::WWW_AUTHENTICATE, value)]).into_response()
        };
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            let twice = headers.get_all(header::AUTHORIZATION).iter().count() > 1;
            return Some(match twice {
                true => challenge(StatusCode::BAD_REQUEST, Some("invalid_request")),
                false => challenge(StatusCode::UNAUTHORIZED, None),
            });
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        let Some(claims) = token.and_then(|t| self.verify(t)) else {
            return Some(challenge(StatusCode::UNAUTHORIZED, Some("invalid_token")));
        };
        let scopes = claims["scope"].as_str().unwrap_or_default();
        let allowed = scopes.split(' ').any(|s| s == SCOPE);
        (!allowed).then(|| challenge(StatusCode::FORBIDDEN, Some("insufficient_scope")))
    }

    /// The token's claims, if the issuer signed it for this resource and it is in date.
    fn verify(&self, token: &str) -> Option<Value> {
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        let key = DecodingKey::from_jwk(self.keys.find(&kid)?).ok()?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.resource]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = 0;
        validation.validate_nbf = true;
        Some(jsonwebtoken::decode::<Value>(token, &key, &validation).ok()?.claims)
    }
}
