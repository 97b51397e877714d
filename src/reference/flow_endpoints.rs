//! The reference authorization server's flow endpoints: registration (RFC 7591), authorization
//! with a cookie-gated consent hop, and token (OAuth 2.1 §4.1, RFC 7636). Mounted under the
//! AS issuer's path and, for 2025-03-26, at the MCP server's origin.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Extension, Form, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{Fault, State, Variation};
use crate::oauth::pkce;

/// Where a set of flow endpoints lives and which issuer it speaks for.
#[derive(Debug, Clone)]
pub(super) struct Base {
    pub issuer: String,
}

/// Clients, pending consents and codes, shared by every mount.
#[derive(Debug)]
pub(super) struct Store {
    clients: HashMap<String, RegisteredClient>,
    consents: HashMap<String, Pending>,
    codes: HashMap<String, Grant>,
    /// Refresh token -> (client, scope, resource, already used).
    refresh_tokens: HashMap<String, Refresh>,

    /// MCP session ids the resource server handed out (Streamable HTTP, up to 2025-11-25).
    sessions: std::collections::HashSet<String>,
    /// Opaque access tokens and what they grant (variation `opaque-access-tokens`).
    opaque: HashMap<String, super::signing::Claims>,
    /// Access tokens (by `jti`) revoked before they expire (variation `revoke-on-refresh`).
    revoked: std::collections::HashSet<String>,
    /// What each client holds for each resource: access tokens (`jti`) and refresh tokens
    /// (variation `revoke-earlier-grants`).
    held: HashMap<ClientResource, Vec<HeldTokens>>,
    next: u64,
    /// Where ids and secrets come from (seeded under `run --seed`).
    rng: rand::rngs::StdRng,
    /// Every secret handed out (codes, tokens, client secrets, session cookies), so tests
    /// can prove no report ever shows one.
    issued: Vec<String>,
}

/// A client id and the resource its grant is for.
type ClientResource = (String, Option<String>);

/// An access token's `jti` and the refresh token issued with it.
type HeldTokens = (String, Option<String>);

#[derive(Debug, Clone)]
struct RegisteredClient {
    redirect_uris: Vec<String>,
    secret: Option<String>,
    /// Registered as (or defaulting to) a web application: no loopback port flexibility.
    web: bool,
    /// The scopes it registered for (RFC 7591 `scope`), if any.
    scopes: Option<String>,
}

/// An authorization request waiting for consent (bound to the browser session cookie).
#[derive(Debug, Clone)]
struct Pending {
    session: String,
    /// Anti-forgery token of the login form (reference `--login-form`).
    csrf: String,
    grant: Grant,
    redirect_uri: String,
    state: Option<String>,
    issuer: String,
}

#[derive(Debug, Clone)]
struct Refresh {
    client_id: String,
    scope: Option<String>,
    resource: Option<String>,
    used: bool,
    /// The access token issued with it (revoked on use under `revoke-on-refresh`).
    access_jti: String,
}

#[derive(Debug, Clone)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: Option<String>,
    method: String,
    scope: Option<String>,
    /// RFC 8707: the resource the authorization was for.
    resource: Option<String>,
    used: bool,
    /// When the code was issued (None while consent is pending).
    issued: Option<std::time::Instant>,
}

impl Store {
    pub(super) fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}-{}-{}", self.next, pkce::random(&mut self.rng, 12))
    }

    /// A new secret value, remembered in `issued`.
    fn secret(&mut self, prefix: &str) -> String {
        let value = self.id(prefix);
        self.issued.push(value.clone());
        value
    }
}

pub(super) fn router(state: Arc<State>, mut base: Base) -> Router {
    // The AS's own identifier, in its metadata and in `iss` alike.
    if state.has(Fault::IssuerTrailingSlash) {
        base.issuer.push('/');
    }
    Router::new()
        .route("/register", post(register))
        .route("/authorize", get(authorize))
        .route("/consent", get(consent).post(login))
        .route("/token", post(token).get(token_by_get))
        .layer(Extension(base))
        .with_state(state)
}

fn store(s: &State) -> std::sync::MutexGuard<'_, Store> {
    s.store.lock().unwrap_or_else(|p| p.into_inner())
}

// ---- registration (RFC 7591) ----

const KNOWN_METADATA: &[&str] = &[
    "redirect_uris",
    "token_endpoint_auth_method",
    "grant_types",
    "response_types",
    "client_name",
    "client_uri",
    "logo_uri",
    "scope",
    "contacts",
    "tos_uri",
    "policy_uri",
    "jwks_uri",
    "software_id",
    "software_version",
    "application_type",
];

async fn register(Extract(s): Extract<Arc<State>>, headers: HeaderMap, body: String) -> Response {
    if s.throttles("register") {
        return throttled();
    }
    let json_request = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    // A server that takes only form posts (the fault) or form posts too (the variation).
    let refuses_json = s.has(Fault::RegistrationRefusesJson);
    if json_request && refuses_json {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "form posts only").into_response();
    }
    let json_request = json_request || s.varies(Variation::RegistrationAcceptsForm) || refuses_json;
    let body = if json_request && !body.trim_start().starts_with('{') {
        // A lenient parser: form fields taken as metadata.
        let fields: serde_json::Map<String, Value> = url::form_urlencoded::parse(body.as_bytes())
            .map(|(k, v)| {
                let value = if k == "redirect_uris" { json!([v]) } else { json!(v) };
                (k.into_owned(), value)
            })
            .collect();
        Value::Object(fields).to_string()
    } else {
        body
    };
    let Some(doc) = serde_json::from_str::<Value>(&body)
        .ok()
        .filter(|d| d.is_object() && json_request)
    else {
        return registration_error("invalid_client_metadata", "the request must be a JSON object");
    };
    if let Err((code, why)) = validate_registration(&s, &doc) {
        return registration_error(code, &why);
    }
    let unlisted = (doc.get("scope").and_then(Value::as_str).unwrap_or_default().split(' '))
        .any(|t| !t.is_empty() && !s.listed_scopes().iter().any(|a| a == t));
    if unlisted && s.varies(Variation::RegistrationRefusesUnlistedScopes) {
        return registration_error("invalid_client_metadata", "scope names a scope this AS does not list");
    }

    let method = doc
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
        .unwrap_or("client_secret_basic");
    let redirect_uris: Vec<String> = doc["redirect_uris"]
        .as_array()
        .map(|a| a.iter().filter_map(|u| u.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let client_id = store(&s).id("client");
    let secret = (method != "none").then(|| store(&s).secret("secret"));
    // OIDC Registration §2: application_type defaults to `web` (a legal variation).
    let mut application_type = doc.get("application_type").cloned();
    if application_type.is_none() && s.varies(Variation::WebDefaultRegistration) {
        application_type = Some(json!("web"));
    }
    let web = application_type.as_ref().is_some_and(|t| t == "web");
    if !s.has(Fault::RegisteredClientUnknown) {
        let client = RegisteredClient {
            redirect_uris: redirect_uris.clone(),
            secret: secret.clone(),
            web,
            scopes: doc.get("scope").and_then(Value::as_str).map(str::to_owned),
        };
        store(&s).clients.insert(client_id.clone(), client);
    }
    let mut response = json!({
        "client_id": client_id,
        "client_id_issued_at": 1_800_000_000u64,
        "redirect_uris": redirect_uris,
        "token_endpoint_auth_method": method,
        "grant_types": doc.get("grant_types").cloned().unwrap_or(json!(["authorization_code"])),
        "response_types": doc.get("response_types").cloned().unwrap_or(json!(["code"])),
    });
    if let Some(kind) = application_type {
        response["application_type"] = kind;
    }
    for name in ["client_name", "scope"] {
        if let Some(v) = doc.get(name) {
            response[name] = v.clone();
        }
    }
    // The fault hands out a secret the AS will never ask for.
    let secret = secret.or_else(|| s.has(Fault::SecretForPublicClients).then(|| "unused-secret".to_owned()));
    if let Some(secret) = secret {
        response["client_secret"] = json!(secret);
        if s.has(Fault::SecretExpiryNull) {
            response["client_secret_expires_at"] = Value::Null;
        } else if s.has(Fault::SecretExpiryMillis) {
            // `Date.now() + 30 days`: milliseconds where RFC 7591 counts seconds.
            response["client_secret_expires_at"] = json!(1_802_592_000_000u64);
        } else if !s.has(Fault::SecretWithoutExpiry) {
            response["client_secret_expires_at"] = json!(0);
        }
    }
    if s.has(Fault::RegistrationEchoesOnlyClientId) {
        let kept = [
            "client_id",
            "client_id_issued_at",
            "client_secret",
            "client_secret_expires_at",
        ];
        response
            .as_object_mut()
            .expect("an object")
            .retain(|k, _| kept.contains(&k.as_str()));
    }
    let status = if s.varies(Variation::RegistrationAnswers200) {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    (status, Json(response)).into_response()
}

fn validate_registration(s: &State, doc: &Value) -> Result<(), (&'static str, String)> {
    let meta = |m: &str| ("invalid_client_metadata", m.to_owned());
    if s.has(Fault::RegistrationRejectsUnknownMetadata)
        && let Some(name) = doc
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
            .find(|k| !KNOWN_METADATA.contains(&k.as_str()))
    {
        return Err(meta(&format!("unknown metadata `{name}`")));
    }
    let uris = doc.get("redirect_uris").ok_or(meta("redirect_uris is required"))?;
    let uris = uris.as_array().ok_or(meta("redirect_uris must be an array"))?;
    if uris.is_empty() {
        return Err((
            "invalid_redirect_uri",
            "at least one redirect URI is required".to_owned(),
        ));
    }
    let native = doc.get("application_type").and_then(Value::as_str) == Some("native");
    // The fault validates the first URI only.
    let checked = match s.has(Fault::OnlyFirstRedirectUriChecked) {
        true => &uris[..1],
        false => &uris[..],
    };
    for uri in checked {
        let uri = uri.as_str().ok_or(meta("redirect_uris must hold strings"))?;
        if native && s.has(Fault::NativeLocalhostRejected) && uri.contains("://localhost") {
            return Err(("invalid_redirect_uri", format!("`{uri}`: localhost is not accepted")));
        }
        if !s.has(Fault::RegistrationAcceptsBadRedirectUri) {
            well_formed_redirect_uri(s, uri).map_err(|why| ("invalid_redirect_uri", why))?;
        }
        // A denylist of `javascript:` alone: every other scheme passes.
        let denylist = s.has(Fault::SchemeDenylistJavascriptOnly) && !uri.starts_with("http");
        if denylist && !uri.starts_with("javascript:") && url::Url::parse(uri).is_ok_and(|u| u.fragment().is_none()) {
            continue;
        }
        // The realistic form: OIDC Registration's rule (http for web clients) taken for MCP's.
        let web = doc.get("application_type").and_then(Value::as_str) == Some("web");
        let http_for_web = web && s.has(Fault::RegistrationAcceptsHttpForWebClients);
        // `startsWith("http://localhost")`: a prefix is not a host.
        let prefixed = ["http://localhost", "http://127.0.0.1"]
            .iter()
            .any(|p| uri.starts_with(p));
        let by_prefix = prefixed && s.has(Fault::RedirectLocalhostPrefix);
        let any_http = uri.starts_with("http:") && s.has(Fault::RegistrationAcceptsHttpRedirectUri);
        if !any_http && !http_for_web && !by_prefix {
            https_or_loopback(uri).map_err(|why| ("invalid_redirect_uri", why))?;
        }
    }
    let method = doc
        .get("token_endpoint_auth_method")
        .map(|m| m.as_str().unwrap_or("?"))
        .unwrap_or("client_secret_basic");
    if method != "none" && s.has(Fault::PublicClientsOnly) {
        return Err(meta(
            "only public clients (token_endpoint_auth_method none) are registered",
        ));
    }
    let strings = |name: &str, default: &[&str]| -> Result<Vec<String>, (&'static str, String)> {
        match doc.get(name) {
            None => Ok(default.iter().map(|s| s.to_string()).collect()),
            Some(v) => v
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .map(|i| i.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or(meta(&format!("{name} must be an array of strings"))),
        }
    };
    let grant_types = strings("grant_types", &["authorization_code"])?;
    let response_types = strings("response_types", &["code"])?;
    if s.has(Fault::RegistrationAcceptsInconsistentMetadata) {
        return Ok(());
    }
    if !["none", "client_secret_basic", "client_secret_post"].contains(&method) {
        return Err(meta(&format!("unsupported token_endpoint_auth_method `{method}`")));
    }
    if let Some(g) = grant_types
        .iter()
        .find(|g| !["authorization_code", "refresh_token", "client_credentials"].contains(&g.as_str()))
    {
        return Err(meta(&format!("unsupported grant type `{g}`")));
    }
    if response_types.iter().any(|r| r != "code") {
        return Err(meta("only the code response type is supported"));
    }
    // RFC 7591 §2.1: the code response type goes with the authorization_code grant.
    if response_types.iter().any(|r| r == "code") != grant_types.iter().any(|g| g == "authorization_code") {
        return Err(meta("response_types and grant_types are inconsistent"));
    }
    Ok(())
}

/// Absolute, without fragment (RFC 6749 §3.1.2), not a script scheme.
fn well_formed_redirect_uri(s: &State, uri: &str) -> Result<(), String> {
    let url = url::Url::parse(uri).map_err(|e| format!("`{uri}` is not an absolute URI: {e}"))?;
    // An empty fragment (`...#`) is one too; `if parsed.fragment:` misses it.
    let empty_missed = s.has(Fault::FragmentCheckMissesEmpty) && url.fragment() == Some("");
    if url.fragment().is_some() && !empty_missed {
        return Err(format!("`{uri}` has a fragment"));
    }
    match url.scheme() {
        "data" | "vbscript" if s.has(Fault::SchemeDenylistJavascriptOnly) => Ok(()),
        "javascript" | "data" | "vbscript" => Err(format!("`{uri}`: scheme {} is not allowed", url.scheme())),
        _ => Ok(()),
    }
}

/// https, or http on loopback (MCP Communication Security; OAuth 2.1 §8.4.2).
fn https_or_loopback(uri: &str) -> Result<(), String> {
    let url = url::Url::parse(uri).map_err(|e| format!("`{uri}` is not an absolute URI: {e}"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        other => Err(format!("`{uri}`: scheme {other} is neither https nor loopback http")),
    }
}

fn registration_error(code: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

// ---- authorization (OAuth 2.1 §4.1.1, §4.1.2.1) ----

/// Parameters the reference knows; the rest are ignored (OAuth 2.1 §4.1.1), unless faulty.
const KNOWN_AUTHORIZATION_PARAMETERS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
    "resource",
    "prompt",
    "nonce",
];

/// Exact match (OAuth 2.1 §2.3.1), except the port of a loopback IP literal for a native
/// client (§8.4.2).
fn redirect_matches(s: &State, registered: &str, requested: &str, native: bool) -> bool {
    if registered == requested {
        return true;
    }
    if s.has(Fault::RedirectUriPrefixMatch) && requested.starts_with(registered) {
        return true;
    }
    let (Ok(r), Ok(q)) = (url::Url::parse(registered), url::Url::parse(requested)) else {
        return false;
    };
    let loopback_ip = matches!(r.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(r.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    if !loopback_ip || !native || s.has(Fault::LoopbackPortExact) || r.scheme() != q.scheme() || r.host() != q.host() {
        return false;
    }
    if s.has(Fault::LoopbackPortVariantUnchecked) {
        return true;
    }
    // A parser resolves dot segments, drops userinfo, reads 127.1 as 127.0.0.1 and decodes
    // nothing consistently: the comparison deployed servers get wrong.
    if s.has(Fault::RedirectUriParsedComparison) {
        return (r.path(), r.query(), r.fragment()) == (q.path(), q.query(), q.fragment());
    }
    // RFC 8252 §7.3: only the port may differ; everything else is compared as text.
    around_port(registered) == around_port(requested)
}

/// The text of a URI before and after its port: `http://127.0.0.1:1234/cb?x` gives
/// (`http://127.0.0.1`, `/cb?x`). (The url crate normalises what must stay as sent.)
fn around_port(uri: &str) -> Option<(&str, &str)> {
    let start = uri.find("://")? + 3;
    let end = uri[start..].find(['/', '?', '#']).map_or(uri.len(), |i| start + i);
    let authority = &uri[start..end];
    let host_end = match authority.rfind(':') {
        // `[::1]` has colons of its own: a port follows the bracket.
        Some(i) if !authority[i..].contains(']') && authority[i + 1..].bytes().all(|b| b.is_ascii_digit()) => start + i,
        _ => end,
    };
    Some((&uri[..host_end], &uri[end..]))
}

async fn authorize(
    Extract(s): Extract<Arc<State>>,
    Extension(base): Extension<Base>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    // Without a known client and a registered redirect URI nothing may redirect.
    let Some(client) = q.get("client_id").and_then(|id| store(&s).clients.get(id).cloned()) else {
        // A generic validation error handler redirects a missing client_id like any error.
        let missing = q.get("client_id").is_none_or(|id| id.is_empty());
        let redirects =
            s.has(Fault::UnknownClientErrorRedirect) || (missing && s.has(Fault::MissingClientErrorRedirect));
        if redirects && let Some(uri) = q.get("redirect_uri") {
            return error_redirect(
                &s,
                &base,
                uri,
                q.get("state").map(String::as_str),
                "unauthorized_client",
            );
        }
        return error_page("unknown client");
    };
    let Some(redirect_uri) = q.get("redirect_uri").cloned() else {
        return error_page("redirect_uri is required");
    };
    let registered = client
        .redirect_uris
        .iter()
        .any(|r| redirect_matches(&s, r, &redirect_uri, !client.web));
    if !registered {
        return error_page("redirect_uri is not registered for this client");
    }
    let state = q.get("state").cloned();
    let fail = |code: &str| error_redirect(&s, &base, &redirect_uri, state.as_deref(), code);
    if q.get("response_type").map(String::as_str) != Some("code") {
        let missing = q.get("response_type").is_none_or(|t| t.is_empty());
        if s.has(Fault::ErrorPageInsteadOfRedirect) || (missing && s.has(Fault::MissingResponseTypeErrorPage)) {
            return error_page("unsupported response_type");
        }
        if s.has(Fault::UnsupportedResponseTypeServerError) {
            return fail("server_error");
        }
        return fail("unsupported_response_type");
    }
    if s.has(Fault::UnknownParameterRejected) && q.keys().any(|k| !KNOWN_AUTHORIZATION_PARAMETERS.contains(&k.as_str()))
    {
        return fail("invalid_request");
    }
    if s.has(Fault::ResourceParameterRejected) && q.contains_key("resource") {
        return fail("invalid_request");
    }
    // RFC 6749 §3.3: an unknown scope is refused here, unless the AS drops or grants it, or
    // refuses it on the consent page (legal variations).
    let mut scope = q.get("scope").cloned();
    let lenient = s.has(Fault::UnknownScopeGranted)
        || s.varies(Variation::UnknownScopeGranted)
        || s.varies(Variation::UnknownScopeRefusedOnPage);
    // RFC 7591 §2 `scope`: an AS may limit a client to the scopes it registered for (a client
    // that named none gets the basic one).
    let registered = client.scopes.as_deref().unwrap_or("mcp:tools");
    let beyond_registration = scope.as_deref().is_some_and(|asked| {
        asked
            .split(' ')
            .any(|t| !t.is_empty() && !registered.split(' ').any(|r| r == t))
    });
    if beyond_registration && s.varies(Variation::RegisteredScopesOnly) {
        return fail("invalid_scope");
    }
    if !scope.as_deref().is_none_or(|scope| known_scope(&s, scope)) && !lenient {
        if !s.varies(Variation::UnknownScopeDropped) {
            return fail("invalid_scope");
        }
        let known: Vec<&str> = (scope.as_deref().unwrap_or_default().split(' '))
            .filter(|t| known_scope(&s, t))
            .collect();
        scope = Some(known.join(" "));
    }
    // RFC 8707 §2: an absolute URI without fragment, and one this AS issues tokens for.
    if let Some(resource) = q.get("resource") {
        // MCP "Canonical Server URI": scheme and host compare case-insensitively (the url
        // crate lowercases both when it parses).
        let asked = url::Url::parse(resource).ok();
        let served = |r: String| match s.has(Fault::ResourceCaseSensitive) {
            true => *resource == r,
            false => asked
                .as_ref()
                .is_some_and(|a| url::Url::parse(&r).is_ok_and(|m| m == *a)),
        };
        let without_fragment = asked.as_ref().is_some_and(|u| u.fragment().is_none());
        // A test issuer serves any resource that can exist (RFC 6761: `.invalid` cannot).
        let any = s.any_resource
            && asked
                .as_ref()
                .is_some_and(|u| !u.host_str().unwrap_or("").ends_with(".invalid"));
        let usable = without_fragment && (any || served(s.mcp_url()) || served(s.second_resource()));
        if !usable && !s.has(Fault::AnyResourceAccepted) {
            return fail("invalid_target");
        }
    }
    // RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
    let challenge = q
        .get("code_challenge")
        .filter(|c| !c.is_empty() || s.has(Fault::EmptyChallengeAccepted))
        .cloned();
    if challenge.is_none() && !s.has(Fault::PkceOptional) {
        return fail("invalid_request");
    }
    // RFC 7636 §4.3: no method means plain.
    let default_method = if s.has(Fault::MissingMethodMeansS256) {
        "S256"
    } else {
        "plain"
    };
    let method = q
        .get("code_challenge_method")
        .cloned()
        .unwrap_or_else(|| default_method.to_owned());
    let method_ok = method == "S256" || s.has(Fault::AnyPkceMethodAccepted) || s.has(Fault::NonS256TakenAsPlain);
    if challenge.is_some() && !method_ok {
        return fail("invalid_request");
    }
    let grant = Grant {
        client_id: q["client_id"].clone(),
        redirect_uri: redirect_uri.clone(),
        challenge,
        method,
        scope,
        resource: q.get("resource").cloned(),
        used: false,
        issued: None,
    };
    let mut st = store(&s);
    let (txn, session) = (st.id("txn"), st.secret("session"));
    let issuer = base.issuer.clone();
    let csrf = st.id("csrf");
    st.consents.insert(
        txn.clone(),
        Pending {
            session: session.clone(),
            csrf,
            grant,
            redirect_uri,
            state,
            issuer,
        },
    );
    // The consent hop needs the session cookie: the consent driver must keep cookies.
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, format!("consent?txn={txn}")),
            (
                header::SET_COOKIE,
                format!("reference_session={session}; Path=/; HttpOnly"),
            ),
        ],
    )
        .into_response()
}

/// The user credentials of the reference's login form (`reference --login-form`).
pub const LOGIN_USER: &str = "conformance";
pub const LOGIN_PASSWORD: &str = "reference-password";

/// Every scope token is one this AS knows.
fn known_scope(s: &State, scope: &str) -> bool {
    scope
        .split(' ')
        .all(|t| t.is_empty() || s.scopes.iter().any(|k| k == t))
}

fn has_session(headers: &HeaderMap, pending: &Pending) -> bool {
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
    cookie
        .split(';')
        .any(|c| c.trim() == format!("reference_session={}", pending.session))
}

async fn consent(
    Extract(s): Extract<Arc<State>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let txn = q.get("txn").cloned().unwrap_or_default();
    let pending = if s.login_form {
        store(&s).consents.get(&txn).cloned()
    } else {
        store(&s).consents.remove(&txn)
    };
    let Some(pending) = pending else {
        return error_page("unknown or finished authorization transaction");
    };
    if !has_session(&headers, &pending) {
        return error_page("the browser session was lost (no session cookie)");
    }
    let unknown = !pending
        .grant
        .scope
        .as_deref()
        .is_none_or(|scope| known_scope(&s, scope));
    if unknown && s.varies(Variation::UnknownScopeRefusedOnPage) {
        return error_page("invalid_scope: the requested scope is unknown");
    }
    if s.login_form {
        // Deny comes first: a driver must press the button it was told to.
        let html = format!(
            "<!doctype html><html><head><title>Sign in to the reference AS</title></head><body>\
             <form method=\"post\" action=\"consent\">\
             <input type=\"hidden\" name=\"txn\" value=\"{txn}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <label>User <input name=\"username\"></label><label>Password <input name=\"password\" type=\"password\"></label>\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
             <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button></form></body></html>",
            pending.csrf
        );
        return ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    }
    complete(&s, pending)
}

/// The login form's submission: session, anti-forgery token, credentials, decision.
async fn login(
    Extract(s): Extract<Arc<State>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    let Some(pending) = store(&s).consents.remove(field("txn")) else {
        return error_page("unknown or finished authorization transaction");
    };
    if !has_session(&headers, &pending) || field("csrf") != pending.csrf {
        return error_page("the form was not submitted from this browser session");
    }
    if field("username") != LOGIN_USER || field("password") != LOGIN_PASSWORD {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/html")],
            "<title>Sign-in failed</title>",
        )
            .into_response();
    }
    if field("decision") != "approve" {
        let base = Base {
            issuer: pending.issuer.clone(),
        };
        return error_redirect(
            &s,
            &base,
            &pending.redirect_uri,
            pending.state.as_deref(),
            "access_denied",
        );
    }
    complete(&s, pending)
}

/// Issues the code and redirects to the client (consent given).
fn complete(s: &State, pending: Pending) -> Response {
    let code = {
        let mut st = store(s);
        if s.varies(Variation::RevokeEarlierGrants) {
            revoke_earlier_grants(&mut st, &pending.grant);
        }
        let code = st.secret("code");
        let grant = Grant {
            issued: Some(std::time::Instant::now()),
            ..pending.grant.clone()
        };
        st.codes.insert(code.clone(), grant);
        code
    };
    let mut params = vec![("code", code)];
    if let Some(state) = pending.state.filter(|_| !s.has(Fault::StateNotEchoed)) {
        params.push(("state", state));
    }
    if !s.has(Fault::IssMissing) {
        let iss = if s.has(Fault::IssMismatch) {
            format!("{}/", pending.issuer)
        } else {
            pending.issuer.clone()
        };
        params.push(("iss", iss));
    }
    redirect_to(s, &pending.redirect_uri, &params)
}

/// A new authorization replaces the client's earlier grants for the same resource: their
/// unredeemed codes, access tokens and refresh tokens stop working.
fn revoke_earlier_grants(st: &mut Store, grant: &Grant) {
    let same = |g: &Grant| g.client_id == grant.client_id && g.resource == grant.resource;
    st.codes.retain(|_, g| g.used || !same(g));
    let key = (grant.client_id.clone(), grant.resource.clone());
    for (jti, refresh) in st.held.remove(&key).unwrap_or_default() {
        st.revoked.insert(jti);
        if let Some(r) = refresh.and_then(|r| st.refresh_tokens.get_mut(&r)) {
            r.used = true;
        }
    }
}

fn error_redirect(s: &State, base: &Base, redirect_uri: &str, state: Option<&str>, code: &str) -> Response {
    let mut params = vec![("error", code.to_owned())];
    let dropped = s.has(Fault::StateNotEchoed) || s.has(Fault::StateDroppedOnErrors);
    if let Some(state) = state.filter(|_| !dropped) {
        params.push(("state", state.to_owned()));
    }
    if s.has(Fault::IssMismatchOnErrors) {
        params.push(("iss", format!("{}/", base.issuer)));
    } else if !s.has(Fault::IssMissing) && !s.has(Fault::IssMissingOnErrors) {
        params.push(("iss", base.issuer.clone()));
    }
    redirect_to(s, redirect_uri, &params)
}

fn redirect_to(s: &State, redirect_uri: &str, params: &[(&str, String)]) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return error_page("invalid redirect_uri"),
    };
    if s.has(Fault::StateUnencoded) {
        // String concatenation: `&`, `+` and `%` in the state break the query.
        let pairs: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let location = format!("{redirect_uri}?{}", pairs.join("&"));
        return (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
    }
    url.query_pairs_mut().extend_pairs(params);
    // Like Express (the ts-sdk peer), the body repeats the URL, code included: reports must
    // redact it there too.
    let body = format!("Found. Redirecting to {url}");
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())], body).into_response()
}

/// 429 with a short Retry-After (variation `short-rate-limit`).
fn throttled() -> Response {
    (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")]).into_response()
}

fn error_page(why: &str) -> Response {
    let html = format!("<!doctype html><title>Authorization error</title><p>{why}</p>");
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/html")], html).into_response()
}

// ---- token (OAuth 2.1 §4.1.3, §3.2.3, §3.2.4) ----

async fn token(
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
        Some(_) => token_error(&s, "unsupported_grant_type"),
    }
}

/// The client's id, authenticated by its registered method (`none`: the id alone). A
/// failed Basic authentication is 401 with a challenge (RFC 6749 §5.2).
#[expect(clippy::result_large_err, reason = "the Err is the response itself, built once")]
fn authenticate(s: &State, headers: &HeaderMap, form: &HashMap<String, String>) -> Result<String, Response> {
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

fn invalid_client(s: &State, used_basic: bool) -> Response {
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
fn client_credentials(s: &State, form: &HashMap<String, String>) -> Response {
    let id = form.get("client_id").cloned().unwrap_or_default();
    let confidential = store(s).clients.get(&id).is_some_and(|c| c.secret.is_some());
    if !confidential {
        return token_error(s, "unauthorized_client");
    }
    if s.has(Fault::ClientCredentialsRefused) {
        return token_error(s, "unsupported_grant_type");
    }
    issue_tokens(s, &id, form.get("scope").cloned(), None, None, false)
}

/// The token endpoint only takes POST (OAuth 2.1 §3.2): a GET is refused, unless faulty.
async fn token_by_get(Extract(s): Extract<Arc<State>>, Query(q): Query<HashMap<String, String>>) -> Response {
    if !s.has(Fault::TokenAcceptsGet) {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "POST")]).into_response();
    }
    match q.get("grant_type").map(String::as_str) {
        Some("authorization_code") => redeem(&s, &q),
        _ => issue_tokens(&s, "anonymous", None, None, None, false),
    }
}

fn redeem(s: &State, form: &HashMap<String, String>) -> Response {
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
        if grant.used && s.has(Fault::CodeReplayServerError) {
            let body = Json(json!({"error": "server_error"}));
            return (StatusCode::INTERNAL_SERVER_ERROR, body).into_response();
        }
        if grant.used && !s.has(Fault::CodeReusable) {
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
    issue_tokens(s, &grant.client_id, grant.scope, grant.resource, None, false)
}

/// The refresh grant (OAuth 2.1 §4.3): public clients get a new refresh token every time,
/// and the old one stops working (rotation, §4.3.1).
fn refresh(s: &State, form: &HashMap<String, String>) -> Response {
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
        if let Some(r) = st.refresh_tokens.get_mut(token) {
            r.used = !kept;
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
    issue_tokens(s, &previous.client_id, scope, previous.resource, keep, true)
}

/// A token response with a fresh access token and a refresh token (`keep`: reuse that one;
/// `refreshed`: for a refresh grant).
fn issue_tokens(
    s: &State,
    client_id: &str,
    scope: Option<String>,
    resource: Option<String>,
    keep: Option<String>,
    refreshed: bool,
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
        };
        st.refresh_tokens.insert(refresh.clone(), record);
        body["refresh_token"] = json!(refresh);
        refresh_token = Some(refresh);
    }
    st.held.entry(key).or_default().push((jti, refresh_token));
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    let cache = if s.has(Fault::TokenResponseCacheable) || (refreshed && s.has(Fault::RefreshWithoutNoStore)) {
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

fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn token_error(s: &State, code: &str) -> Response {
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

pub(super) fn new_store(rng: rand::rngs::StdRng) -> Mutex<Store> {
    Mutex::new(Store {
        clients: HashMap::new(),
        consents: HashMap::new(),
        codes: HashMap::new(),
        refresh_tokens: HashMap::new(),
        sessions: Default::default(),
        opaque: HashMap::new(),
        revoked: Default::default(),
        held: HashMap::new(),
        next: 0,
        rng,
        issued: Vec::new(),
    })
}

impl Store {
    pub(super) fn issued(&self) -> Vec<String> {
        self.issued.clone()
    }

    pub(super) fn new_session(&mut self) -> String {
        let id = self.id("session");
        self.sessions.insert(id.clone());
        id
    }

    pub(super) fn has_session(&self, id: &str) -> bool {
        self.sessions.contains(id)
    }

    /// What an opaque access token grants, if this AS issued it.
    pub(super) fn opaque(&self, token: &str) -> Option<super::signing::Claims> {
        self.opaque.get(token).cloned()
    }

    pub(super) fn revoked(&self, jti: &str) -> bool {
        self.revoked.contains(jti)
    }
}

/// Records a secret issued outside the flows (a minted token), for redaction audits.
pub(super) fn remember_issued(s: &State, secret: &str) {
    store(s).issued.push(secret.to_owned());
}
