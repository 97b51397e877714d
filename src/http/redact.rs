//! Secrets never reach a report or log: every exchange is redacted once, when it is recorded.
//!
//! Redaction is by name (headers, query and form parameters, JSON members that carry
//! credentials) and by value (secrets the suite knows, e.g. tokens it obtained), so a secret
//! echoed in an unexpected place is caught too.

use std::fmt;
use std::sync::{Arc, RwLock};

pub const REDACTED: &str = "[redacted]";

/// Header fields whose whole value is a credential.
const SECRET_HEADERS: &[&str] = &["cookie", "set-cookie", "proxy-authorization"];

/// Parameter and JSON member names that carry credentials (RFC 6749, 7591, 7636, OIDC).
const SECRET_FIELDS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "code",
    "code_verifier",
    "password",
    "registration_access_token",
    "assertion",
    "client_assertion",
    "subject_token",
];

/// A secret value: prints as `[redacted]`, so it cannot leak through `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Redacts by name and by the secret values registered with it. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    known: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    /// Values shorter than this are not scrubbed by value: too likely to hit innocent text.
    const MIN_KNOWN_LEN: usize = 8;

    pub fn register(&self, secret: &Secret) {
        if secret.0.len() >= Self::MIN_KNOWN_LEN {
            let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
            if !known.contains(&secret.0) {
                known.push(secret.0.clone());
            }
        }
    }

    pub fn header(&self, name: &str, value: &str) -> String {
        let lower = name.to_ascii_lowercase();
        if SECRET_HEADERS.contains(&lower.as_str()) {
            return REDACTED.to_owned();
        }
        if lower == "location" {
            // A callback URL carries the code (and sometimes tokens) in its query or fragment.
            return self.url(value);
        }
        if lower == "authorization" {
            // Keep the scheme: "Bearer [redacted]" still shows which scheme was sent.
            return match value.split_once(' ') {
                Some((scheme, _)) => format!("{scheme} {REDACTED}"),
                None => REDACTED.to_owned(),
            };
        }
        self.text(value)
    }

    /// A URL, absolute or relative: credential parameters in the query and the fragment.
    pub fn url(&self, raw: &str) -> String {
        let (rest, fragment) = match raw.split_once('#') {
            Some((r, f)) => (r, Some(f)),
            None => (raw, None),
        };
        let mut out = match rest.split_once('?') {
            Some((path, query)) => format!("{path}?{}", self.form(query)),
            None => rest.to_owned(),
        };
        if let Some(fragment) = fragment {
            out.push('#');
            out.push_str(&self.form(fragment));
        }
        self.text(&out)
    }

    /// A body: JSON members and form parameters by name, then known values anywhere.
    pub fn body(&self, text: &str, content_type: Option<&str>) -> String {
        let media = content_type.unwrap_or("").to_ascii_lowercase();
        let by_name = if let Ok(mut json) = serde_json::from_str::<serde_json::Value>(text) {
            redact_json(&mut json);
            serde_json::to_string(&json).unwrap_or_else(|_| text.to_owned())
        } else if media.starts_with("application/x-www-form-urlencoded") {
            self.form(text)
        } else {
            text.to_owned()
        };
        self.text(&by_name)
    }

    /// Any text: replace every registered secret value.
    pub fn text(&self, text: &str) -> String {
        let known = self.known.read().unwrap_or_else(|p| p.into_inner());
        let mut out = text.to_owned();
        for secret in known.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// `a=1&code=xyz` -> `a=1&code=[redacted]`, keeping the original encoding of other pairs.
    fn form(&self, pairs: &str) -> String {
        pairs
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if is_secret_field(name) => format!("{name}={REDACTED}"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// A header field whose value is a credential (Authorization keeps its scheme elsewhere).
pub fn is_secret_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "authorization" || SECRET_HEADERS.contains(&lower.as_str())
}

/// A parameter or JSON member name that carries a credential.
pub fn is_secret_field(name: &str) -> bool {
    SECRET_FIELDS.contains(&name.to_ascii_lowercase().as_str())
}

/// Replaces the values of credential-carrying members, at any depth.
pub fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (name, member) in map.iter_mut() {
                // A JSON-RPC error's numeric `code` is no authorization code: it stays.
                let jsonrpc_code = name == "code" && member.is_number();
                if is_secret_field(name) && !member.is_null() && !jsonrpc_code {
                    *member = serde_json::Value::String(REDACTED.to_owned());
                } else {
                    redact_json(member);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numeric_json_rpc_error_code_is_kept_and_an_authorization_code_is_not() {
        let mut doc = serde_json::json!({"error": {"code": -32000}, "code": "abc", "password": 1234});
        redact_json(&mut doc);
        assert_eq!(
            doc,
            serde_json::json!({"error": {"code": -32000}, "code": REDACTED, "password": REDACTED})
        );
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("tok-123456789");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
    }

    #[test]
    fn headers_keep_scheme_only() {
        let r = Redactor::default();
        assert_eq!(r.header("Authorization", "Bearer abc.def"), "Bearer [redacted]");
        assert_eq!(r.header("Set-Cookie", "sid=1; HttpOnly"), "[redacted]");
        assert_eq!(r.header("Content-Type", "application/json"), "application/json");
    }

    #[test]
    fn urls_bodies_and_known_values() {
        let r = Redactor::default();
        r.register(&Secret::new("s3cr3t-value-xyz"));
        assert_eq!(
            r.url("http://127.0.0.1:1/cb?code=abc&state=xyz"),
            "http://127.0.0.1:1/cb?code=[redacted]&state=xyz"
        );
        assert_eq!(
            r.body(r#"{"access_token":"a","n":{"client_secret":"b"},"x":1}"#, None),
            r#"{"access_token":"[redacted]","n":{"client_secret":"[redacted]"},"x":1}"#
        );
        assert_eq!(
            r.body(
                "grant_type=authorization_code&code_verifier=v",
                Some("application/x-www-form-urlencoded")
            ),
            "grant_type=authorization_code&code_verifier=[redacted]"
        );
        assert_eq!(r.text("echo s3cr3t-value-xyz here"), "echo [redacted] here");
        assert_eq!(
            r.header("Location", "/cb?code=abc#access_token=t&x=1"),
            "/cb?code=[redacted]#access_token=[redacted]&x=1"
        );
        assert_eq!(r.header("X-Debug", "saw s3cr3t-value-xyz"), "saw [redacted]");
    }
}
