//! MCP requests that carry the flow's access token (RFC 6750 §2.1), and the changes a case
//! makes to them: other `Authorization` values, repeated headers, a query string.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::case::{Overrides, expand_placeholders};
use crate::discovery::{self, Target};
use crate::http::Request;

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
            let body = value.as_str().unwrap_or_default();
            request.body = Some(expand_placeholders(body, vars).into_bytes());
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
    headers.retain(|(n, _)| !omit.iter().any(|o| o.eq_ignore_ascii_case(n)));
    request
        .headers
        .retain(|(n, _)| !headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(n)));
    request
        .headers
        .extend(headers.into_iter().map(|(n, v)| (n, expand_placeholders(&v, vars))));
    request
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
                text.contains("{access_token") || text.contains("{session_id}")
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
