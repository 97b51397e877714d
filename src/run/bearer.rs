//! MCP requests that carry the flow's access token (RFC 6750 §2.1), and the changes a case
//! makes to them: other `Authorization` values, repeated headers, a query string.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::case::{Overrides, expand_placeholders};
use crate::discovery::{self, Target};
use crate::http::Request;
use crate::spec::SpecVersion;

/// The change that asks for a token of its own, from a flow with this scope.
pub const TOKEN_SCOPE: &str = "token_scope";

/// The valid request's credentials, before placeholders are filled.
const VALID_AUTHORIZATION: &str = "Bearer {access_token}";

/// The version's first MCP request, authenticated, with `changes`: each key a header name
/// (a string replaces it, an array sends one line per value, null removes it), `query` or
/// `body` (`token_scope` chose the token and is not part of it).
pub fn request(
    target: &Target,
    changes: &[(String, Value)],
    omit: &[String],
    vars: &BTreeMap<String, String>,
) -> Request {
    let mut request = discovery::first_request(target);
    let mut headers = vec![("Authorization".to_owned(), VALID_AUTHORIZATION.to_owned())];
    for (name, value) in changes {
        if name == "query" {
            let query = value.as_str().unwrap_or_default();
            request.url = format!("{}?{}", request.url, expand_placeholders(query, vars));
            continue;
        }
        if name == TOKEN_SCOPE {
            continue;
        }
        // `method = "GET"`: the stream request (no body).
        if name == "method" {
            request.method = value.as_str().unwrap_or("POST").to_owned();
            if request.method == "GET" {
                request.body = None;
            }
            continue;
        }
        if name == "body" {
            let mut body = expand_placeholders(value.as_str().unwrap_or_default(), vars);
            // 2026-07-28: the request names its method (and tool, prompt or resource) in headers
            // too, and carries the version in `_meta`; a server rejects a mismatch with 400.
            if target.version >= SpecVersion::V2026_07_28 {
                let (stateless, derived) = stateless(&body, target.version.protocol_version());
                body = stateless;
                let explicit = |h: &str| changes.iter().any(|(n, _)| n.eq_ignore_ascii_case(h));
                for (header, value) in derived.into_iter().filter(|(h, _)| !explicit(h)) {
                    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&header));
                    headers.push((header, value));
                }
            }
            request.body = Some(body.into_bytes());
            continue;
        }
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        let values = match value {
            Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            Value::String(s) => vec![s.clone()],
            _ => Vec::new(),
        };
        headers.extend(values.into_iter().map(|v| (name.clone(), v)));
    }
    // 2025-06-18 and 2025-11-25: a request inside a session carries the negotiated version
    // (the client MUST send it on every request after initialization).
    let in_session = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("mcp-session-id"));
    let versioned = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("mcp-protocol-version"));
    if in_session && !versioned && (SpecVersion::V2025_06_18..SpecVersion::V2026_07_28).contains(&target.version) {
        let version = target.version.protocol_version().to_owned();
        headers.push(("MCP-Protocol-Version".to_owned(), version));
    }
    headers.retain(|(n, _)| !omit.iter().any(|o| o.eq_ignore_ascii_case(n)));
    request
        .headers
        .retain(|(n, _)| !headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(n)));
    request
        .headers
        .extend(headers.into_iter().map(|(n, v)| (n, expand_placeholders(&v, vars))));
    request
}

/// A 2026-07-28 request `body` as a client sends it: `_meta` carries the protocol version
/// (added where missing), and the headers `Mcp-Method` and, for `tools/call`,
/// `resources/read` and `prompts/get`, `Mcp-Name` repeat the body's method and name
/// (transports/streamable-http.mdx, "Standard Headers"). A body that is no JSON-RPC request
/// is sent as written.
fn stateless(body: &str, version: &str) -> (String, Vec<(String, String)>) {
    let Ok(Value::Object(mut request)) = serde_json::from_str::<Value>(body) else {
        return (body.to_owned(), Vec::new());
    };
    let Some(method) = request.get("method").and_then(Value::as_str).map(str::to_owned) else {
        return (body.to_owned(), Vec::new());
    };
    let mut headers = vec![("Mcp-Method".to_owned(), method.clone())];
    let params = request
        .entry("params")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Value::Object(params) = params {
        let named = matches!(method.as_str(), "tools/call" | "prompts/get" | "resources/read");
        let name = params.get("name").or_else(|| params.get("uri")).and_then(Value::as_str);
        if let (true, Some(name)) = (named, name) {
            headers.push(("Mcp-Name".to_owned(), header_safe(name)));
        }
        let meta = params
            .entry("_meta")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(meta) = meta {
            meta.entry("io.modelcontextprotocol/protocolVersion")
                .or_insert_with(|| Value::from(version));
        }
    }
    (Value::Object(request).to_string(), headers)
}

/// A header value as 2026-07-28 clients write one: as it is when plain visible ASCII (spaces
/// inside), else (and when it looks encoded) `=?base64?...?=` of its UTF-8.
fn header_safe(value: &str) -> String {
    use base64::Engine;
    let plain = value.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && value.trim() == value
        && !(value.starts_with("=?base64?") && value.ends_with("?="));
    match plain {
        true => value.to_owned(),
        false => format!("=?base64?{}?=", base64::engine::general_purpose::STANDARD.encode(value)),
    }
}

/// Whether the requests `overrides` describes send the valid token: another kind of token,
/// the default `Authorization` header, or a placeholder that needs it (a session is opened
/// with it).
pub fn sends_valid_token(overrides: &Overrides) -> bool {
    let omitted = overrides.omit.iter().any(|o| o.eq_ignore_ascii_case("authorization"));
    overrides.token.is_some()
        || overrides.requests().iter().any(|changes| {
            let replaced = changes.iter().any(|(n, _)| n.eq_ignore_ascii_case("authorization"));
            let named = changes.iter().any(|(_, v)| {
                let text = v.to_string();
                text.contains("{access_token")
                    || text.contains("{session_id}")
                    || text.contains("{state_handle_request}")
            });
            (!replaced && !omitted) || named
        })
}

/// `(Authorization="bearer {access_token}")`, for labels: the templates, so no token shows.
pub fn describe(changes: &[(String, Value)], omit: &[String]) -> String {
    let mut parts: Vec<String> = changes.iter().map(|(n, v)| format!("{n}={v}")).collect();
    parts.extend(omit.iter().map(|n| format!("without {n}")));
    if parts.is_empty() {
        "(valid)".to_owned()
    } else {
        format!("({})", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::SpecVersion;

    fn vars() -> BTreeMap<String, String> {
        BTreeMap::from([("access_token".to_owned(), "tok".to_owned())])
    }

    fn authorization(request: &Request) -> Vec<&str> {
        request
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    #[test]
    fn a_2026_07_28_body_brings_its_method_name_and_version() {
        let target = Target::new("http://127.0.0.1:1/mcp", SpecVersion::V2026_07_28).unwrap();
        let body = [(
            "body".to_owned(),
            serde_json::json!(
                r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"admin","arguments":{}}}"#
            ),
        )];
        let request = request(&target, &body, &[], &vars());
        let header = |name: &str| {
            let values: Vec<&str> = request
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect();
            values
        };
        assert_eq!(header("mcp-method"), ["tools/call"]);
        assert_eq!(header("mcp-name"), ["admin"]);
        let sent: Value = serde_json::from_slice(request.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            sent["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
            "2026-07-28"
        );
        assert_eq!(header_safe("Hello, 世界"), "=?base64?SGVsbG8sIOS4lueVjA==?=");
        assert_eq!(header_safe(" padded "), "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(header_safe("=?base64?literal?="), "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=");
        // Up to 2025-11-25 the body goes as written.
        let older = Target::new("http://127.0.0.1:1/mcp", SpecVersion::V2025_11_25).unwrap();
        let request = super::request(&older, &body, &[], &vars());
        assert!(!request.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("mcp-name")));
    }

    #[test]
    fn the_valid_request_carries_the_token_and_changes_replace_repeat_or_remove_it() {
        let target = Target::new("http://127.0.0.1:1/mcp", SpecVersion::LATEST).unwrap();
        let valid = request(&target, &[], &[], &vars());
        assert_eq!(authorization(&valid), ["Bearer tok"]);
        let twice = [(
            "Authorization".to_owned(),
            serde_json::json!(["Bearer {access_token}", "Bearer x"]),
        )];
        assert_eq!(
            authorization(&request(&target, &twice, &[], &vars())),
            ["Bearer tok", "Bearer x"]
        );
        let in_query = [("query".to_owned(), serde_json::json!("access_token={access_token}"))];
        let moved = request(&target, &in_query, &["Authorization".to_owned()], &vars());
        assert!(authorization(&moved).is_empty());
        assert_eq!(moved.url, "http://127.0.0.1:1/mcp?access_token=tok");
    }
}
