//! Dynamic client registration (RFC 7591).

use std::sync::Arc;

use axum::Json;
use axum::extract::State as Extract;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::*;

pub(in crate::reference) const KNOWN_METADATA: &[&str] = &[
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

pub(in crate::reference) async fn register(
    Extract(s): Extract<Arc<State>>,
    headers: HeaderMap,
    body: String,
) -> Response {
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

pub(in crate::reference) fn validate_registration(s: &State, doc: &Value) -> Result<(), (&'static str, String)> {
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
        if !native && uri.starts_with("http:") && s.varies(Variation::NativeLoopbackOnly) {
            return Err((
                "invalid_redirect_uri",
                format!("`{uri}`: http is for native clients only"),
            ));
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
pub(in crate::reference) fn well_formed_redirect_uri(s: &State, uri: &str) -> Result<(), String> {
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
pub(in crate::reference) fn https_or_loopback(uri: &str) -> Result<(), String> {
    let url = url::Url::parse(uri).map_err(|e| format!("`{uri}` is not an absolute URI: {e}"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        other => Err(format!("`{uri}`: scheme {other} is neither https nor loopback http")),
    }
}

pub(in crate::reference) fn registration_error(code: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}
