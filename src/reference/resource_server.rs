//! The reference MCP server as an OAuth protected resource (RFC 9728, RFC 6750).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State as Extract};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::json;

use super::signing::{self, Checks, Claims};

use super::{Fault, State, Variation, state_handles};

pub(super) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/mcp", any(mcp))
        .route("/.well-known/oauth-protected-resource/mcp", get(prm))
        .route("/.well-known/oauth-protected-resource", get(root_prm))
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

/// The MCP endpoint: a valid token for this server gets a JSON-RPC answer; anything else a
/// Bearer challenge (RFC 6750 §3): none without credentials, `invalid_token` for a bad token,
/// `invalid_request` (400) for a token sent two ways.
async fn mcp(
    Extract(s): Extract<Arc<State>>,
    method: axum::http::Method,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if s.varies(Variation::ValidatesMcpHeaders)
        && method == axum::http::Method::POST
        && let Some(mismatch) = header_mismatch(&headers, &body)
    {
        let error = json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32020, "message": mismatch}});
        return (StatusCode::BAD_REQUEST, axum::Json(error)).into_response();
    }
    let stream = method == axum::http::Method::GET;
    let authorizations: Vec<&str> = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let query_token = query.get("access_token");
    // RFC 6750 §2 / OAuth 2.1 §5.1: exactly one method per request.
    let two_methods = authorizations.len() > 1 || (!authorizations.is_empty() && query_token.is_some());
    if two_methods && !s.has(Fault::TwoTokenMethodsAccepted) {
        return challenged(&s, StatusCode::BAD_REQUEST, Some("invalid_request"));
    }
    // MCP: tokens never travel in the query string (the fault takes one on the GET stream,
    // where a browser's EventSource cannot send headers).
    let query_token =
        query_token.filter(|_| s.has(Fault::QueryTokenAccepted) || (stream && s.has(Fault::SseQueryTokenAccepted)));
    let presented = match (authorizations.first(), query_token) {
        (Some(authorization), _) => Some(bearer_token(&s, authorization)),
        (None, Some(token)) => Some(Some(token.as_str())),
        (None, None) => None,
    };
    let session = headers.get("mcp-session-id").and_then(|v| v.to_str().ok());
    let known_session = session.is_some_and(|id| store(&s).has_session(id));
    match presented {
        None if s.has(Fault::UnauthenticatedAccepted) => answer(&s, &body, None),
        // MCP: authorization on every request; a session is no credential.
        None if known_session && s.has(Fault::SessionAuthenticates) => answer(&s, &body, None),
        // 2026-07-28: nor is a state handle.
        None if s.has(Fault::StateHandleAuthenticates) && state_handles::names_known_handle(&s, &body) => {
            answer(&s, &body, None)
        }
        // A web framework's session guard: off to its login page.
        None if s.has(Fault::NoTokenRedirectsToLogin) => {
            (StatusCode::FOUND, [(header::LOCATION, "/login?next=/mcp")]).into_response()
        }
        None => challenged(&s, StatusCode::UNAUTHORIZED, None),
        Some(Some(token))
            if s.has(Fault::LowercaseBearerServerError)
                && authorizations.first().is_some_and(|a| a.starts_with("bearer "))
                && valid_token(&s, token).is_some() =>
        {
            server_error()
        }
        // No stream to offer (MCP Streamable HTTP lets a server answer its GET with 405).
        Some(Some(token)) if stream && valid_token(&s, token).is_some() => match s.has(Fault::SseQueryTokenAccepted) {
            true => ([(header::CONTENT_TYPE, "text/event-stream")], ": stream open\n\n").into_response(),
            false => (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST")]).into_response(),
        },
        Some(Some(token)) if let Some(access) = valid_token(&s, token) => {
            if let Some(id) = session
                && let Some(refusal) = session_refusal(&s, id, &access, &body)
            {
                return refusal;
            }
            answer(&s, &body, Some(&access))
        }
        Some(_) if s.has(Fault::BadTokenServerError) => server_error(),
        Some(_) => {
            let error = (!s.has(Fault::BadTokenWithoutErrorCode)).then_some("invalid_token");
            challenged(&s, StatusCode::UNAUTHORIZED, error)
        }
    }
}

/// 2026-07-28 Streamable HTTP "Server Validation", for a request that carries `Mcp-Method`
/// (earlier clients send none): what in its headers disagrees with its body, if anything.
fn header_mismatch(headers: &HeaderMap, body: &str) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let sent_method = header("mcp-method")?;
    let request: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let method = request.get("method").and_then(|m| m.as_str()).unwrap_or_default();
    if sent_method != method {
        return Some(format!(
            "Mcp-Method header value '{sent_method}' does not match body value '{method}'"
        ));
    }
    let params = request.get("params");
    let version = params.and_then(|p| p.pointer("/_meta/io.modelcontextprotocol~1protocolVersion"));
    if let Some(version) = version.and_then(|v| v.as_str())
        && header("mcp-protocol-version") != Some(version)
    {
        return Some(format!(
            "MCP-Protocol-Version header does not match body value '{version}'"
        ));
    }
    let named = matches!(method, "tools/call" | "prompts/get" | "resources/read");
    let name = params
        .and_then(|p| p.get("name").or_else(|| p.get("uri")))
        .and_then(|n| n.as_str());
    let sent_name = header("mcp-name").map(decode_sentinel);
    match (named, name) {
        (true, Some(name)) if sent_name.as_deref() != Some(name) => {
            Some(format!("Mcp-Name header does not match body value '{name}'"))
        }
        _ => None,
    }
}

/// A header value in the Base64 sentinel form `=?base64?...?=` decoded; any other as it is.
fn decode_sentinel(value: &str) -> String {
    use base64::Engine;
    let encoded = value.strip_prefix("=?base64?").and_then(|v| v.strip_suffix("?="));
    let decoded = encoded.and_then(|e| base64::engine::general_purpose::STANDARD.decode(e).ok());
    match decoded.and_then(|d| String::from_utf8(d).ok()) {
        Some(text) => text,
        None => value.to_owned(),
    }
}

/// The refusal of a request with a valid token in session `id`, if it may not use it: no such
/// session (Streamable HTTP: 404), one opened for another user (Security Best Practices,
/// Session Hijacking: "MCP servers SHOULD bind session IDs to user-specific information"), or
/// (variation requires-initialized) one whose client has not sent `notifications/initialized`.
fn session_refusal(s: &State, id: &str, access: &Claims, body: &str) -> Option<Response> {
    let request: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let method = request
        .get("method")
        .and_then(|m| m.as_str())
        .unwrap_or_default()
        .to_owned();
    let request_id = request.get("id").cloned().unwrap_or(serde_json::Value::Null);
    let mut store = store(s);
    let user = store.session_user(id).map(str::to_owned);
    let in_band = |message: &str| {
        let error = json!({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32600, "message": message}});
        Some(axum::Json(error).into_response())
    };
    match user {
        None => Some(StatusCode::NOT_FOUND.into_response()),
        Some(user) if user != access.sub && !s.has(Fault::SessionNotBoundToUser) => {
            match s.varies(Variation::SessionRefusalInBand) {
                true => in_band("this session belongs to someone else"),
                false => Some(StatusCode::NOT_FOUND.into_response()),
            }
        }
        Some(_) if method == "notifications/initialized" => {
            store.initialized.insert(id.to_owned());
            None
        }
        Some(_) if s.varies(Variation::RequiresInitialized) && !store.initialized.contains(id) => {
            in_band("request before initialization was complete")
        }
        Some(_) => None,
    }
}

fn server_error() -> Response {
    let body = json!({"error": "server_error", "error_description": "Internal Server Error"});
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

/// The token of a Bearer `Authorization` value; the scheme is case-insensitive (RFC 9110
/// §11.1). None: another scheme.
fn bearer_token<'a>(s: &State, authorization: &'a str) -> Option<&'a str> {
    let (scheme, token) = authorization.split_once(' ')?;
    let bearer = match s.has(Fault::SchemeCaseSensitive) {
        true => scheme == "Bearer",
        false => scheme.eq_ignore_ascii_case("bearer") || s.has(Fault::AnySchemeAccepted),
    };
    bearer.then(|| token.trim())
}

/// Issued by this target's AS, for this server (RFC 8707 audience), unless faulty: what it
/// grants.
fn valid_token(s: &State, token: &str) -> Option<Claims> {
    if s.has(Fault::ValidTokenRefused) {
        return None;
    }
    let issuer = s.issuer();
    let checks = Checks {
        issuer: (!s.has(Fault::ForeignIssuerAccepted)).then_some(issuer.as_str()),
        expiry: !s.has(Fault::ExpiredTokenAccepted),
        not_before: !s.has(Fault::NotBeforeIgnored),
        signature: !s.has(Fault::BadSignatureAccepted),
    };
    let claims = match s.varies(Variation::OpaqueAccessTokens) {
        // An opaque token is what the store says it is; its expiry is checked here.
        true => store(s)
            .opaque(token)
            .filter(|c| !checks.expiry || c.exp > super::signing::now()),
        false => (s.signer.verify(token, &checks).ok())
            .or_else(|| unsecured(s, token))
            .or_else(|| {
                s.has(Fault::EmptySignatureAccepted)
                    .then(|| s.signer.verify_unsigned(token, &checks))
                    .flatten()
            })
            .or_else(|| {
                s.has(Fault::EmbeddedJwkTrusted)
                    .then(|| signing::verify_embedded(token, &checks))
                    .flatten()
            }),
    };
    let claims = claims.filter(|c| !store(s).revoked(&c.jti));
    if s.has(Fault::AnyTokenAccepted) {
        return Some(claims.unwrap_or_else(|| s.claims(String::new(), "", None, None, Default::default())));
    }
    // RFC 8707 / MCP "Token Audience Binding": only tokens issued for this server (its AS
    // always names the audience).
    let ours = |c: &Claims| {
        c.aud.as_ref().is_some_and(|a| a.names(|r| same_uri(r, &s.mcp_url()))) || s.has(Fault::AnyAudienceAccepted)
    };
    claims.filter(ours)
}

/// Fault alg-none-accepted: an `alg: none` JWT's claims taken as they are (a JWT library
/// that trusts the token's header to pick the algorithm).
fn unsecured(s: &State, token: &str) -> Option<Claims> {
    use base64::Engine;
    if !s.has(Fault::AlgNoneAccepted) {
        return None;
    }
    let decode = |part: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok();
    let [header, payload, ""] = token.split('.').collect::<Vec<_>>()[..] else {
        return None;
    };
    let header: serde_json::Value = serde_json::from_slice(&decode(header)?).ok()?;
    if header["alg"] != "none" {
        return None;
    }
    serde_json::from_slice(&decode(payload)?).ok()
}

/// Scheme and host compare case-insensitively (MCP "Canonical Server URI").
fn same_uri(a: &str, b: &str) -> bool {
    a == b || url::Url::parse(a).is_ok_and(|a| url::Url::parse(b).is_ok_and(|b| a == b))
}

fn store(s: &State) -> std::sync::MutexGuard<'_, super::flow_endpoints::Store> {
    s.store.lock().unwrap_or_else(|p| p.into_inner())
}

/// The tool that needs more than the challenge's scope (the step-up checks' privileged call).
pub const PRIVILEGED_TOOL: &str = "admin";
pub const PRIVILEGED_SCOPE: &str = "mcp:admin";
/// Fault scopes-one-at-a-time's second scope for the privileged tool.
const AUDIT_SCOPE: &str = "mcp:audit";
/// What every other request needs, of a token that has a scope at all (one without was
/// granted the client's default).
const BASIC_SCOPE: &str = "mcp:tools";

/// A JSON-RPC result; `initialize` also opens a session (Streamable HTTP, up to 2025-11-25).
/// Calling the privileged tool needs its scope.
fn answer(s: &State, body: &str, access: Option<&Claims>) -> Response {
    let request: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    // A notification is accepted without an answer (Streamable HTTP).
    if request.get("method").is_some() && request.get("id").is_none() {
        return StatusCode::ACCEPTED.into_response();
    }
    let id = request.get("id").cloned().unwrap_or(json!(1));
    let privileged = request.get("method").and_then(|m| m.as_str()) == Some("tools/call")
        && request.pointer("/params/name").and_then(|n| n.as_str()) == Some(PRIVILEGED_TOOL);
    let scope = access.and_then(|a| a.scope.as_deref());
    // MCP 2026-07-28: "Servers MUST account for scope hierarchies": the privileged scope
    // implies the basic one (unless faulty).
    let hierarchy = !s.has(Fault::ScopeHierarchyIgnored);
    let implies =
        |held: &str, needed: &str| held == needed || (hierarchy && held == PRIVILEGED_SCOPE && needed == BASIC_SCOPE);
    let granted = |needed: &str| scope.is_some_and(|scope| scope.split(' ').any(|g| implies(g, needed)));
    // Fault scopes-one-at-a-time: the privileged tool needs a second scope too, named only
    // once the token holds the first.
    let one_at_a_time = s.has(Fault::ScopesOneAtATime);
    let needed = match privileged {
        true if !granted(PRIVILEGED_SCOPE) => Some(PRIVILEGED_SCOPE),
        true if one_at_a_time && !granted(AUDIT_SCOPE) => Some(AUDIT_SCOPE),
        false if scope.is_some() && !granted(BASIC_SCOPE) => Some(BASIC_SCOPE),
        _ => None,
    };
    if let Some(needed) = needed
        && !s.has(Fault::PrivilegeNotEnforced)
    {
        return insufficient_scope(s, needed);
    }
    if access.is_some() && s.has(Fault::ValidTokenServerError) {
        return server_error();
    }
    let result = match request.get("method").and_then(|m| m.as_str()) {
        Some("tools/list") => json!({"tools": []}),
        Some("tools/call") if let Some(result) = state_handles::call(s, &request, access) => result,
        _ => {
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "serverInfo": {"name": "reference", "version": "1"}})
        }
    };
    let message = json!({"jsonrpc": "2.0", "id": id, "result": result});
    let mut response = match s.varies(Variation::SseStaysOpen) {
        true => sse_left_open(&message),
        false => axum::Json(message).into_response(),
    };
    if request.get("method").and_then(|m| m.as_str()) == Some("initialize")
        && !s.varies(Variation::NoSessions)
        && let Some(access) = access
        && let Ok(value) = HeaderValue::from_str(&store(s).new_session(s.has(Fault::SequentialSessionIds), &access.sub))
    {
        response.headers_mut().insert("mcp-session-id", value);
    }
    response
}

/// The JSON-RPC response as the one event of an SSE stream that is never closed (MCP
/// Streamable HTTP only says the server SHOULD close it).
fn sse_left_open(message: &serde_json::Value) -> Response {
    let event = format!("event: message\ndata: {message}\n\n");
    let first = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(event) });
    let body = axum::body::Body::from_stream(futures::StreamExt::chain(first, futures::stream::pending()));
    ([(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
}

/// RFC 6750 §3.1 and MCP "Runtime Insufficient Scope Errors": 403 with a challenge naming
/// the scope needed and where the metadata is.
fn insufficient_scope(s: &State, needed: &str) -> Response {
    if s.has(Fault::InsufficientScopeAnswered401) {
        return challenged(s, StatusCode::UNAUTHORIZED, Some("invalid_token"));
    }
    let mut params = Vec::new();
    if !s.has(Fault::InsufficientScopeWithoutErrorCode) {
        params.push(r#"error="insufficient_scope""#.to_owned());
    }
    if s.has(Fault::InsufficientScopeOffersOfflineAccess) {
        params.push(format!(r#"scope="{needed} offline_access""#));
    } else if !s.has(Fault::InsufficientScopeWithoutScope) {
        params.push(format!(r#"scope="{needed}""#));
    }
    if s.has(Fault::RelativeResourceMetadata) {
        params.push(format!(r#"resource_metadata="{RELATIVE_PRM}""#));
    } else if s.has(Fault::InsufficientScopeRootResourceMetadata) {
        params.push(format!(
            r#"resource_metadata="{}/.well-known/oauth-protected-resource""#,
            s.rs_origin
        ));
    } else if !s.has(Fault::InsufficientScopeWithoutResourceMetadata) {
        params.push(format!(r#"resource_metadata="{}""#, prm_url(s)));
    }
    let challenge = format!("Bearer {}", params.join(", "));
    let body = axum::Json(json!({"error": "insufficient_scope"}));
    (StatusCode::FORBIDDEN, [(header::WWW_AUTHENTICATE, challenge)], body).into_response()
}

/// Fault relative-resource-metadata's pointer.
const RELATIVE_PRM: &str = "/.well-known/oauth-protected-resource/mcp";

fn challenged(s: &State, status: StatusCode, error: Option<&str>) -> Response {
    let mut response = (status, axum::Json(json!({"error": "unauthorized"}))).into_response();
    if let Some(value) = challenge(s, error).and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn challenge(s: &State, error: Option<&str>) -> Option<String> {
    if s.has(Fault::NoWwwAuthenticate) || (error.is_some() && s.has(Fault::BadToken401Bare)) {
        return None;
    }
    if error == Some("invalid_token") && s.has(Fault::BadTokenBareBearer) {
        return Some("Bearer".to_owned());
    }
    let prm_url = prm_url(s);
    let mut params: Vec<String> = Vec::new();
    match error {
        Some(error) if s.has(Fault::ErrorDescriptionWithQuote) => {
            params.push(format!(r#"error="{error}", error_description="the \"token\" is bad""#));
        }
        Some(error) => params.push(format!(r#"error="{error}""#)),
        None if s.has(Fault::ErrorWithoutCredentials) => params.push(r#"error="invalid_token""#.to_owned()),
        None => {}
    }
    if s.has(Fault::OfflineAccessInChallenge) {
        params.push(r#"scope="mcp:tools offline_access""#.to_owned());
    } else if !s.has(Fault::NoScopeOn401) {
        params.push(r#"scope="mcp:tools""#.to_owned());
    }
    if s.has(Fault::DuplicateChallengeParam) {
        params.push(r#"scope="mcp:tools""#.to_owned());
    }
    if let Some(error) = error.filter(|_| s.has(Fault::BadTokenChallengeRepeatsError)) {
        params.push(format!(r#"error="{error}""#));
    }
    let pointer_dropped = s.has(Fault::NoResourceMetadata)
        || s.has(Fault::NoResourceMetadata0618)
        || s.has(Fault::PublicPlainHttp)
        || s.has(Fault::NoPrm)
        || (error.is_some() && s.has(Fault::BadTokenWithoutResourceMetadata));
    if s.has(Fault::RelativeResourceMetadata) {
        params.push(format!(r#"resource_metadata="{RELATIVE_PRM}""#));
    } else if !pointer_dropped {
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

/// Where the PRM lives: path-inserted (RFC 9728 §3.1), or at the root (a variation).
fn prm_url(s: &State) -> String {
    match s.varies(Variation::PrmAtRoot) {
        true => format!("{}/.well-known/oauth-protected-resource", s.rs_origin),
        false => format!("{}/.well-known/oauth-protected-resource/mcp", s.rs_origin),
    }
}

async fn root_prm(Extract(s): Extract<Arc<State>>) -> Response {
    if !s.varies(Variation::PrmAtRoot) {
        return StatusCode::NOT_FOUND.into_response();
    }
    prm_document(&s)
}

async fn prm(Extract(s): Extract<Arc<State>>) -> Response {
    if s.varies(Variation::PrmAtRoot) {
        return StatusCode::NOT_FOUND.into_response();
    }
    prm_document(&s)
}

fn prm_document(s: &State) -> Response {
    if s.has(Fault::NoPrm) {
        return StatusCode::NOT_FOUND.into_response();
    }
    if s.has(Fault::PrmRequiresToken) {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")]).into_response();
    }
    let mut doc = json!({
        "resource": s.mcp_url(),
        "authorization_servers": s.authorization_servers(),
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
    if s.has(Fault::PrmOffersOfflineAccess) {
        fields.insert("scopes_supported".into(), json!(["mcp:tools", "offline_access"]));
    }
    if s.has(Fault::PrmScopesString) {
        // OAuth's space-separated scope string where RFC 9728 has a JSON array.
        fields.insert("scopes_supported".into(), json!("mcp:tools"));
    }
    if s.has(Fault::PrmScopesMissChallenge) {
        fields.insert("scopes_supported".into(), json!(["mcp:read"]));
    }
    if !s.varies(Variation::NoSignedMetadata) {
        fields.insert("signed_metadata".into(), json!(signed_metadata(s)));
    }
    if s.varies(Variation::ExtraMetadataMembers) {
        fields.insert(
            "x_reference_extension".into(),
            json!({"note": "a member no RFC defines"}),
        );
    }
    let content_type = if s.has(Fault::PrmWrongContentType) {
        "text/plain"
    } else {
        "application/json"
    };
    ([(header::CONTENT_TYPE, content_type)], doc.to_string()).into_response()
}

/// RFC 9728 §2.2: the PRM's own values as a JWT the resource server attests (`iss`). It
/// keeps the true resource where a fault breaks the plain one: one wrong value, one verdict.
fn signed_metadata(s: &State) -> String {
    use base64::Engine;
    let mut claims = json!({
        "iss": s.rs_origin,
        "resource": s.mcp_url(),
        "authorization_servers": s.authorization_servers(),
        "iat": signing::now(),
    });
    if s.has(Fault::SignedMetadataResourceDiffers) {
        // Minted for the origin, as a root PRM would describe it.
        claims["resource"] = json!(s.rs_origin);
    }
    if s.has(Fault::SignedMetadataWithoutIss) {
        claims.as_object_mut().expect("a JSON object literal").remove("iss");
    }
    if s.has(Fault::SignedMetadataUnsigned) {
        // An Unsecured JWS (RFC 7515 Appendix A.5): alg none, empty signature.
        let b64 = |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        return format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&claims));
    }
    s.signer.sign_metadata(&claims)
}

async fn origin_as_metadata(Extract(s): Extract<Arc<State>>, headers: HeaderMap) -> Response {
    if s.has(Fault::ProtocolVersionHeaderRejected) && headers.contains_key("mcp-protocol-version") {
        return (StatusCode::BAD_REQUEST, "unexpected header").into_response();
    }
    let routed_away = s.has(Fault::ProtocolVersionHeaderNotFound) && headers.contains_key("mcp-protocol-version");
    if s.has(Fault::RootMetadataMissing0326) || routed_away {
        return StatusCode::NOT_FOUND.into_response();
    }
    let base = &s.rs_origin;
    let doc = super::authorization_server::metadata(&s, base, base);
    axum::Json(doc).into_response()
}
