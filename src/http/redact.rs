//! Secrets never reach a report or log. Redaction is by name (headers, query and form
//! parameters, JSON members that carry credentials) and by value, so a secret echoed in an
//! unexpected place is caught too.
//!
//! Secrets register themselves. Whatever a response carries under a credential's name (a
//! token, a registration's client secret, a code in a redirect or a form_post page, a
//! cookie) the redactor knows by value from then on, wherever it appears: the client shows
//! it every response as it arrives. The secrets the suite brings or makes (the
//! configuration's, each attempt's PKCE verifier, tokens derived from a valid one) are
//! registered where they are made. A transcript is redacted once, when its verdict is made,
//! with everything the run knows by then.

use std::fmt;
use std::sync::{Arc, RwLock};

pub const REDACTED: &str = "[redacted]";

/// Header fields whose whole value is a credential (a session id is one to a server that
/// lets it stand in for the token, or does not bind it to its user).
const SECRET_HEADERS: &[&str] = &["cookie", "set-cookie", "proxy-authorization", "mcp-session-id"];

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
    /// Learned values shorter than this are not scrubbed by value: too likely to hit innocent
    /// text. A registered secret is scrubbed whatever its length.
    const MIN_LEARNED_LEN: usize = 8;

    /// Knows `secret` by value from now on: a secret the suite brings or makes (the
    /// configuration's, a PKCE verifier, a token derived from a valid one).
    pub fn register(&self, secret: &Secret) {
        self.know(secret.expose());
    }

    fn know(&self, value: &str) {
        if value.is_empty() || value == REDACTED {
            return;
        }
        // Also as a form or a query sends it: a token with `/`, `+`, `=` or `!` (opaque ones
        // in standard base64, Google's `1//...`) reads otherwise in a request body or URL.
        let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        let percent = form.replace('+', "%20");
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        for shown in [value.to_owned(), form, percent] {
            if !known.contains(&shown) {
                known.push(shown);
            }
        }
        // Longest first: a known value inside a longer one must not leave the rest showing.
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }

    /// Hides `value` from now on where it is long enough to be no common word or number: a
    /// credential the server chose (a session id, a state handle).
    pub fn learn_secret(&self, value: &str) {
        self.learn(value);
    }

    fn learn(&self, value: &str) {
        if value.len() >= Self::MIN_LEARNED_LEN {
            self.know(value);
        }
    }

    /// `name=[redacted]` and the cookie's flags (Secure, HttpOnly, SameSite, a plain Path), or
    /// None for a line that is not one cookie.
    fn cookie_flags(&self, line: &str) -> Option<String> {
        let plain = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~/".contains(&b));
        let cookie = cookie::Cookie::parse(line).ok()?;
        let name = cookie.name();
        if !plain(name) || line.matches('=').count() > 4 {
            return None;
        }
        let mut out = format!("{}={REDACTED}", self.text(name));
        if let Some(path) = cookie.path().filter(|p| plain(p)) {
            out.push_str(&format!("; Path={path}"));
        }
        if cookie.secure() == Some(true) {
            out.push_str("; Secure");
        }
        if cookie.http_only() == Some(true) {
            out.push_str("; HttpOnly");
        }
        if let Some(same_site) = cookie.same_site() {
            out.push_str(&format!("; SameSite={same_site}"));
        }
        Some(out)
    }

    /// Learns the credentials a response carries by name: a redirect's code or tokens, a
    /// cookie, a token response's or a registration's secrets, a form_post page's code.
    /// (What the suite sends is its own: the case literals stay readable.)
    pub fn learn_response(&self, headers: &[(String, String)], body: &[u8]) {
        let mut content_type = String::new();
        for (name, value) in headers {
            match name.to_ascii_lowercase().as_str() {
                "location" => self.learn_url(value),
                "set-cookie" => {
                    let pair = value.split(';').next().unwrap_or_default();
                    self.learn(pair.split_once('=').map_or(pair, |(_, v)| v).trim());
                }
                "content-type" => content_type = value.to_ascii_lowercase(),
                "mcp-session-id" => self.learn(value.trim()),
                _ => {}
            }
        }
        let text = String::from_utf8_lossy(body);
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) {
            self.learn_json(&json);
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            self.learn_form(&text);
        } else if content_type.starts_with("text/html") {
            self.learn_html(&text);
        }
    }

    /// Learns the credential parameters of a URL's query and fragment (raw and decoded): a
    /// callback a user agent reported counts as a response.
    pub fn learn_url(&self, raw: &str) {
        let (rest, fragment) = raw.split_once('#').unwrap_or((raw, ""));
        let query = rest.split_once('?').map(|(_, q)| q).unwrap_or("");
        self.learn_form(query);
        self.learn_form(fragment);
    }

    fn learn_json(&self, value: &serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (name, member) in map {
                    match member.as_str() {
                        // An authorization code travels in URLs and forms; a JSON `code` is
                        // as often an error code (`"invalid_token"`), which must stay readable.
                        Some(secret) if is_secret_field(name) && name != "code" => self.learn(secret),
                        _ => self.learn_json(member),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| self.learn_json(i)),
            _ => {}
        }
    }

    fn learn_form(&self, pairs: &str) {
        for pair in pairs.split('&') {
            if let Some((name, raw)) = pair.split_once('=')
                && is_secret_field(name)
            {
                self.learn(raw);
                for (_, decoded) in url::form_urlencoded::parse(pair.as_bytes()) {
                    self.learn(&decoded);
                }
            }
        }
    }

    /// A page that posts credentials on (`response_mode=form_post`): its inputs named like a
    /// credential.
    fn learn_html(&self, html: &str) {
        let doc = scraper::Html::parse_document(html);
        let Ok(inputs) = scraper::Selector::parse("input[name]") else {
            return;
        };
        for input in doc.select(&inputs) {
            let name = input.value().attr("name").unwrap_or_default();
            if is_secret_field(name) {
                self.learn(input.value().attr("value").unwrap_or_default());
            }
        }
    }

    /// A header field's value: a credential header keeps only its scheme, a redirect its
    /// non-credential parameters.
    pub fn header(&self, name: &str, value: &str) -> String {
        let lower = name.to_ascii_lowercase();
        // A cookie's value is the secret; its name and flags are what consent-cookie checks
        // judge. Only what parses as one cookie is shown, rebuilt from the flags alone (never
        // the raw text: a folded second cookie or a quoted value would ride along).
        if lower == "set-cookie" {
            return self.cookie_flags(value).unwrap_or_else(|| REDACTED.to_owned());
        }
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

    #[test]
    fn a_secret_is_hidden_in_its_form_encoded_shapes_too() {
        let redactor = Redactor::default();
        redactor.register(&Secret::new("1//0g+ab/c=!x"));
        let body = "token=1%2F%2F0g%2Bab%2Fc%3D%21x&token_type_hint=refresh_token";
        assert!(!redactor.text(body).contains("0g"), "{}", redactor.text(body));
        assert!(!redactor.text("t=1//0g+ab/c=!x").contains("0g"));
    }

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
    fn headers_keep_scheme_and_cookie_attributes_only() {
        let r = Redactor::default();
        assert_eq!(r.header("Authorization", "Bearer abc.def"), "Bearer [redacted]");
        // A cookie keeps its name and attributes (what consent-cookie checks judge).
        assert_eq!(r.header("Set-Cookie", "sid=1; HttpOnly"), "sid=[redacted]; HttpOnly");
        assert_eq!(
            r.header("Set-Cookie", "__Host-c=v=x; Path=/; Secure; SameSite=Lax"),
            "__Host-c=[redacted]; Path=/; Secure; SameSite=Lax"
        );
        assert_eq!(r.header("Set-Cookie", "no-pair"), "[redacted]");
        // Never the raw text: a folded second cookie, a quoted value with `;`, odd attributes.
        for line in [
            "a=s1; Path=/, b=SECRET2; HttpOnly",
            "a=\"x;SECRET3\"; Path=/",
            "a=v; Domain=SECRET4.example; X-Odd=SECRET5",
        ] {
            let shown = r.header("Set-Cookie", line);
            assert!(!shown.contains("SECRET"), "{line} -> {shown}");
        }
        assert_eq!(r.header("Content-Type", "application/json"), "application/json");
    }

    /// A session id stands in for a user where the server does not bind it: hidden in its
    /// header, and wherever else a response showed it.
    #[test]
    fn a_session_id_is_hidden() {
        let r = Redactor::default();
        assert_eq!(r.header("Mcp-Session-Id", "session-7-zEiMHt-7LrX0"), "[redacted]");
        r.learn_response(
            &[("mcp-session-id".to_owned(), "session-7-zEiMHt-7LrX0".to_owned())],
            b"",
        );
        assert_eq!(r.text("resumed session-7-zEiMHt-7LrX0"), "resumed [redacted]");
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

    /// A secret a response carries under a credential's name registers itself; an error code
    /// in a JSON `code` member and what the suite sends do not (they must stay readable).
    #[test]
    fn secrets_a_response_carries_are_known_by_value() {
        let r = Redactor::default();
        let json = [("content-type".to_owned(), "application/json".to_owned())];
        r.learn_response(
            &json,
            br#"{"access_token":"tok-from-json-1","refresh_token":null,"code":"invalid_token"}"#,
        );
        let redirect = [
            (
                "Location".to_owned(),
                "http://127.0.0.1:9/cb?state=s&code=code-from-redirect".to_owned(),
            ),
            ("Set-Cookie".to_owned(), "sid=cookie-value-1; HttpOnly".to_owned()),
        ];
        r.learn_response(&redirect, b"");
        let html = [("content-type".to_owned(), "text/html".to_owned())];
        let form_post = r#"<form method="post"><input type="hidden" name="code" value="code-in-a-page"></form>"#;
        r.learn_response(&html, form_post.as_bytes());
        let echoed = "tok-from-json-1 code-from-redirect cookie-value-1 code-in-a-page invalid_token";
        assert_eq!(
            r.text(echoed),
            "[redacted] [redacted] [redacted] [redacted] invalid_token"
        );
        // A registered secret is known whatever its length; a known value inside a longer
        // one leaves nothing of the longer one showing.
        r.register(&Secret::new("pin1"));
        r.register(&Secret::new("tok-from-json-1-and-more"));
        assert_eq!(r.text("pin1 tok-from-json-1-and-more"), "[redacted] [redacted]");
    }
}
