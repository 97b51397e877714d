//! One expectation against one observed response.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::Value;

use super::www_authenticate::{self, Challenge};
use crate::case::{Expectation, Predicate, Property, Subject};
use crate::http::{Response, redact};

/// A broken expectation: what was expected (every acceptable form) and what was seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Broken {
    pub subject: String,
    pub expected: String,
    pub actual: String,
    /// Extra lines, e.g. a caret under a grammar error.
    pub detail: Option<String>,
}

impl Broken {
    fn new(subject: &Subject, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Broken {
            subject: crate::case::subject_display(subject),
            expected: expected.into(),
            actual: actual.into(),
            detail: None,
        }
    }
}

/// The value a subject resolves to in a response.
enum Found {
    Absent(String),
    Json(Value),
    Text(String),
    Challenges(Vec<Challenge>),
}

/// Judges `expectation` on `response`; `vars` fill placeholders such as `{target}`.
pub fn evaluate(expectation: &Expectation, response: &Response, vars: &BTreeMap<String, String>) -> Result<(), Broken> {
    judge_value(expectation, response, vars).map_err(|mut broken| {
        // Messages quote what was seen: never a credential (tokens, secrets, cookies).
        // Only a shown value (`<...>`) is redacted; "no member at ..." stays readable.
        if carries_secret(&expectation.subject) && broken.actual.starts_with('<') {
            broken.actual = format!("<{}>", redact::REDACTED);
            broken.detail = None;
        }
        broken
    })
}

fn carries_secret(subject: &Subject) -> bool {
    match subject {
        Subject::Header(name) => redact::is_secret_header(name),
        Subject::Json(pointer) => pointer.split('/').any(redact::is_secret_field),
        Subject::Var(name) => name.split('.').any(redact::is_secret_field),
        _ => false,
    }
}

fn judge_value(expectation: &Expectation, response: &Response, vars: &BTreeMap<String, String>) -> Result<(), Broken> {
    let subject = &expectation.subject;
    let found = match resolve(subject, response, vars) {
        Ok(found) => found,
        // A body that is not JSON (an error page) has no member: absent is what was asked.
        Err(_) if matches!(subject, Subject::Json(_)) && matches!(expectation.predicate, Predicate::Present(false)) => {
            return Ok(());
        }
        Err(broken) => return Err(*broken),
    };
    if let Found::Absent(why) = &found {
        return match &expectation.predicate {
            Predicate::Present(false) => Ok(()),
            _ if expectation.optional => Ok(()),
            Predicate::Present(true) => Err(Broken::new(subject, "present", why.clone())),
            other => Err(Broken::new(subject, describe(other, vars), why.clone())),
        };
    }
    let fail = |expected: String, actual: String| Err(Broken::new(subject, expected, actual));
    match &expectation.predicate {
        Predicate::Present(true) => Ok(()),
        Predicate::Present(false) => fail("absent".to_owned(), show(&found)),
        Predicate::Equals(v) => {
            let want = expand(v, vars);
            if equal(&found, &want) {
                Ok(())
            } else {
                fail(format!("<{}>", plain(&want)), show(&found))
            }
        }
        Predicate::OneOf(vs) => {
            let wants: Vec<Value> = vs.iter().map(|v| expand(v, vars)).collect();
            if wants.iter().any(|w| equal(&found, w)) {
                Ok(())
            } else {
                let list: Vec<String> = wants.iter().map(|w| format!("<{}>", plain(w))).collect();
                fail(format!("one of {}", list.join(", ")), show(&found))
            }
        }
        Predicate::NoneOf(vs) => {
            let wants: Vec<Value> = vs.iter().map(|v| expand(v, vars)).collect();
            if wants.iter().any(|w| equal(&found, w)) {
                let list: Vec<String> = wants.iter().map(|w| format!("<{}>", plain(w))).collect();
                fail(format!("none of {}", list.join(", ")), show(&found))
            } else {
                Ok(())
            }
        }
        Predicate::Contains(item) => match &found {
            Found::Json(Value::Array(items)) if items.iter().any(|i| i.as_str() == Some(item)) => Ok(()),
            Found::Json(Value::Array(_)) => fail(format!("an array containing <\"{item}\">"), show(&found)),
            _ => fail(format!("an array containing <\"{item}\">"), show(&found)),
        },
        Predicate::Excludes(item) => match &found {
            Found::Json(Value::Array(items)) if !items.iter().any(|i| i.as_str() == Some(item)) => Ok(()),
            _ => fail(format!("an array without <\"{item}\">"), show(&found)),
        },
        Predicate::EqualsIgnoringCase(want) => match &found {
            Found::Text(s) if s.eq_ignore_ascii_case(want) => Ok(()),
            Found::Json(Value::String(s)) if s.eq_ignore_ascii_case(want) => Ok(()),
            _ => fail(format!("<{want}> in any letter case"), show(&found)),
        },
        Predicate::ListContains(item) => match &found {
            Found::Text(s) if s.split(',').any(|e| e.trim().eq_ignore_ascii_case(item)) => Ok(()),
            _ => fail(format!("a list with <{item}>"), show(&found)),
        },
        Predicate::TokensExclude(token) => match &found {
            Found::Json(Value::String(s)) | Found::Text(s) if !s.split(' ').any(|t| t == token) => Ok(()),
            _ => fail(format!("a scope string without <{token}>"), show(&found)),
        },
        Predicate::TokensInclude(tokens) => {
            let wanted = crate::case::expand_placeholders(tokens, vars);
            match &found {
                Found::Json(Value::String(s)) | Found::Text(s)
                    if wanted.split_whitespace().all(|w| s.split(' ').any(|t| t == w)) =>
                {
                    Ok(())
                }
                // A list of scopes (`scopes_supported`) includes each token.
                Found::Json(Value::Array(items))
                    if wanted
                        .split_whitespace()
                        .all(|w| items.iter().any(|i| i.as_str() == Some(w))) =>
                {
                    Ok(())
                }
                _ => fail(format!("scopes including <{wanted}>"), show(&found)),
            }
        }
        Predicate::MediaType(media) => {
            let Found::Text(value) = &found else {
                return fail(format!("media type <{media}>"), show(&found));
            };
            let actual = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if &actual == media {
                Ok(())
            } else {
                fail(format!("media type <{media}>"), format!("<{value}>"))
            }
        }
        Predicate::Schema { name, validator } => {
            let json = match &found {
                Found::Json(v) => v,
                _ => return fail(format!("JSON valid against {name}"), show(&found)),
            };
            let errors: Vec<String> = validator
                .iter_errors(json)
                .take(5)
                .map(|e| {
                    let at = e.instance_path().to_string();
                    // Schema messages quote the offending value: not for credentials.
                    if at.split('/').any(redact::is_secret_field) {
                        return format!("{at}: {} violates the schema", redact::REDACTED);
                    }
                    format!("{}: {e}", if at.is_empty() { "/".to_owned() } else { at })
                })
                .collect();
            if errors.is_empty() {
                Ok(())
            } else {
                let mut b = Broken::new(
                    subject,
                    format!("JSON valid against {name}"),
                    format!("{} violation(s)", errors.len()),
                );
                b.detail = Some(errors.join("\n"));
                Err(b)
            }
        }
        Predicate::Is(property) => is(*property, subject, &found, response, vars),
        Predicate::AtMost(max) => match &found {
            Found::Json(Value::Number(n)) if n.as_f64().is_some_and(|n| n <= *max) => Ok(()),
            _ => fail(format!("a number at most {max}"), show(&found)),
        },
    }
}

fn resolve(subject: &Subject, response: &Response, vars: &BTreeMap<String, String>) -> Result<Found, Box<Broken>> {
    Ok(match subject {
        Subject::Var(name) => match vars.get(name) {
            Some(v) => Found::Text(v.clone()),
            None => Found::Absent(format!("no `{name}` was recorded")),
        },
        Subject::Status => Found::Json(Value::from(response.status)),
        Subject::Header(name) => {
            let values: Vec<&str> = response.header_values(name).collect();
            if values.is_empty() {
                Found::Absent(format!("no `{name}` header"))
            } else {
                Found::Text(values.join(", "))
            }
        }
        Subject::Body => match serde_json::from_slice::<Value>(&response.body) {
            Ok(v) => Found::Json(v),
            Err(_) => Found::Text(String::from_utf8_lossy(&response.body).into_owned()),
        },
        Subject::Json(pointer) => match serde_json::from_slice::<Value>(&response.body) {
            Ok(v) => match v.pointer(pointer) {
                Some(inner) => Found::Json(inner.clone()),
                None => Found::Absent(format!("no member at `{pointer}`")),
            },
            Err(e) => {
                let actual = format!("a body that is not JSON ({e})");
                return Err(Box::new(Broken::new(subject, "a JSON body", actual)));
            }
        },
        Subject::JwtClaim { token, claim } => {
            let body: Value = serde_json::from_slice(&response.body).map_err(|e| {
                let actual = format!("a body that is not JSON ({e})");
                Box::new(Broken::new(subject, "a JSON body", actual))
            })?;
            let Some(jwt) = body.pointer(token).and_then(Value::as_str) else {
                return Ok(Found::Absent(format!("no string member at `{token}`")));
            };
            match jwt_payload(jwt) {
                None => Found::Absent(format!("`{token}` is not a JWT (an opaque token)")),
                Some(payload) => match payload.pointer(claim) {
                    Some(v) => Found::Json(v.clone()),
                    None => Found::Absent(format!("no claim at `{claim}` in the JWT at `{token}`")),
                },
            }
        }
        Subject::WwwAuthenticate => {
            let lines: Vec<&str> = response.header_values("www-authenticate").collect();
            if lines.is_empty() {
                Found::Absent("no `WWW-Authenticate` header".to_owned())
            } else {
                Found::Text(lines.join("\n"))
            }
        }
        Subject::Challenge { scheme, param } => {
            let lines: Vec<&str> = response.header_values("www-authenticate").collect();
            if lines.is_empty() {
                return Ok(Found::Absent("no `WWW-Authenticate` header".to_owned()));
            }
            let challenges = www_authenticate::parse_lines(lines).map_err(|e| {
                let mut b = Broken::new(subject, "a parsable WWW-Authenticate", "a grammar error");
                b.detail = Some(e.to_string());
                Box::new(b)
            })?;
            let matching: Vec<Challenge> = challenges
                .into_iter()
                .filter(|c| scheme.as_deref().is_none_or(|s| c.is(s)))
                .collect();
            let scheme_name = scheme.as_deref().unwrap_or("any");
            match param {
                None if matching.is_empty() => Found::Absent(format!("no `{scheme_name}` challenge")),
                None => Found::Challenges(matching),
                Some(p) => match matching.iter().find_map(|c| c.param(p)) {
                    Some(v) => Found::Text(v.to_owned()),
                    None if matching.is_empty() => Found::Absent(format!("no `{scheme_name}` challenge")),
                    None => Found::Absent(format!("no `{p}` parameter in the `{scheme_name}` challenge")),
                },
            }
        }
    })
}

fn is(
    property: Property,
    subject: &Subject,
    found: &Found,
    response: &Response,
    vars: &BTreeMap<String, String>,
) -> Result<(), Broken> {
    let fail = |expected: &str| Err(Broken::new(subject, expected, show(found)));
    let text = match found {
        Found::Text(s) => Some(s.as_str()),
        Found::Json(Value::String(s)) => Some(s.as_str()),
        _ => None,
    };
    match property {
        Property::Parsable => {
            let lines: Vec<&str> = response.header_values("www-authenticate").collect();
            match www_authenticate::parse_lines(lines) {
                Ok(challenges) if challenges.is_empty() => fail("at least one challenge (RFC 9110 §15.5.2)"),
                Ok(_) => Ok(()),
                Err(e) => {
                    let mut b = Broken::new(
                        subject,
                        "a value of the RFC 9110 §11.6.1 challenge grammar",
                        format!("a grammar error: {}", e.message),
                    );
                    b.detail = Some(e.to_string());
                    Err(b)
                }
            }
        }
        Property::UniqueParams => {
            let lines: Vec<&str> = response.header_values("www-authenticate").collect();
            let Ok(challenges) = www_authenticate::parse_lines(lines) else {
                return fail("a parsable WWW-Authenticate");
            };
            match challenges.iter().find_map(|c| c.duplicate_param().map(|p| (c, p))) {
                Some((c, p)) => Err(Broken::new(
                    subject,
                    "each parameter at most once per challenge",
                    format!("`{p}` twice in the `{}` challenge", c.scheme),
                )),
                None => Ok(()),
            }
        }
        Property::WithParams => match found {
            Found::Challenges(cs) if cs.iter().any(|c| !c.params.is_empty()) => Ok(()),
            _ => fail("a challenge with at least one auth-param (RFC 6750 §3)"),
        },
        Property::JsonObject => match found {
            Found::Json(Value::Object(_)) => Ok(()),
            _ => fail("a JSON object"),
        },
        Property::String => match found {
            Found::Json(Value::String(_)) | Found::Text(_) => Ok(()),
            _ => fail("a string"),
        },
        Property::NonEmptyArray => match found {
            Found::Json(Value::Array(items)) if !items.is_empty() => Ok(()),
            _ => fail("a non-empty array"),
        },
        Property::ArrayOfUrls => {
            // A loopback URL in a public server's document is an internal one it leaked.
            let usable = |s: &str| absolute_url(s).is_ok_and(|u| !is_loopback(&u) || local(vars));
            let expected = match local(vars) {
                true => "an array of absolute http(s) URLs",
                false => "an array of absolute http(s) URLs, none on loopback (the server is public)",
            };
            match found {
                Found::Json(Value::Array(items)) => {
                    match items.iter().find(|i| i.as_str().is_none_or(|s| !usable(s))) {
                        Some(bad) => Err(Broken::new(subject, expected, format!("an element <{}>", plain(bad)))),
                        None => Ok(()),
                    }
                }
                _ => fail(expected),
            }
        }
        Property::AbsoluteUrl => match text.map(absolute_url) {
            Some(Ok(_)) => Ok(()),
            _ => fail("an absolute http(s) URL"),
        },
        Property::HttpsOrLoopbackUrl => match text.map(absolute_url) {
            Some(Ok(url)) if url.scheme() == "https" || (is_loopback(&url) && local(vars)) => Ok(()),
            _ if local(vars) => fail("an absolute https URL (http only on a loopback host)"),
            _ => fail(PUBLIC_HTTPS),
        },
        Property::IssuerUrl => match text.map(absolute_url) {
            Some(Ok(url))
                if (url.scheme() == "https" || (is_loopback(&url) && local(vars)))
                    && url.query().is_none()
                    && url.fragment().is_none() =>
            {
                Ok(())
            }
            _ if local(vars) => fail("an https URL without query or fragment (RFC 8414 §2; http only on loopback)"),
            _ => fail("an https URL without query or fragment (RFC 8414 §2; the server is public)"),
        },
        Property::ScopeTokens => match text {
            // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), space-separated.
            Some(s)
                if !s.is_empty()
                    && s.split(' ').all(|t| {
                        !t.is_empty()
                            && t.bytes()
                                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
                    }) =>
            {
                Ok(())
            }
            _ => fail("space-separated scope tokens (RFC 6749 §3.3)"),
        },
        Property::ErrorChars => match text {
            // RFC 6750 §3: %x20-21 / %x23-5B / %x5D-7E.
            Some(s) if s.bytes().all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e)) => Ok(()),
            _ => fail("printable ASCII without `\"` or `\\` (RFC 6750 §3)"),
        },
    }
}

fn absolute_url(s: &str) -> Result<url::Url, ()> {
    match url::Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(u),
        _ => Err(()),
    }
}

const PUBLIC_HTTPS: &str = "an absolute https URL (the server is public: an http loopback URL is one it \
                            leaked from behind its proxy)";

/// Whether the deployment is a local one, where plain http on loopback is development: the
/// MCP server (`{target}`) and the AS being judged (`{issuer}`, where there is one) are both
/// on loopback. Anywhere else `http://localhost:8080/token` is an internal address a reverse
/// proxy leaked, and a client would send its credentials to its own machine.
fn local(vars: &BTreeMap<String, String>) -> bool {
    ["target", "issuer"]
        .iter()
        .filter_map(|name| vars.get(*name))
        .all(|home| url::Url::parse(home).is_ok_and(|u| is_loopback(&u)))
}

/// Loopback hosts, where plain http is accepted as a development deployment.
pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Strings compare exactly (issuer, resource and redirect URIs are never normalised).
fn equal(found: &Found, want: &Value) -> bool {
    match found {
        Found::Json(v) => v == want,
        Found::Text(s) => want.as_str() == Some(s.as_str()),
        _ => false,
    }
}

fn expand(v: &Value, vars: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(crate::case::expand_placeholders(s, vars)),
        Value::Array(items) => Value::Array(items.iter().map(|i| expand(i, vars)).collect()),
        other => other.clone(),
    }
}

/// The payload of a JWS compact serialization (RFC 7515 §7.1): three base64url parts, the
/// middle one a JSON object. None for anything else (an opaque token).
fn jwt_payload(token: &str) -> Option<Value> {
    use base64::Engine;
    let [_, payload, _] = token.split('.').collect::<Vec<_>>()[..] else {
        return None;
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok().filter(Value::is_object)
}

/// An expectation for a message: "status: <401>".
pub fn describe_expectation(e: &Expectation) -> String {
    format!(
        "{}: {}",
        crate::case::subject_display(&e.subject),
        describe(&e.predicate, &BTreeMap::new())
    )
}

fn describe(predicate: &Predicate, vars: &BTreeMap<String, String>) -> String {
    match predicate {
        Predicate::Present(true) => "present".to_owned(),
        Predicate::Present(false) => "absent".to_owned(),
        Predicate::Equals(v) => format!("<{}>", plain(&expand(v, vars))),
        Predicate::OneOf(vs) => {
            let list: Vec<String> = vs.iter().map(|v| format!("<{}>", plain(&expand(v, vars)))).collect();
            format!("one of {}", list.join(", "))
        }
        Predicate::NoneOf(vs) => {
            let list: Vec<String> = vs.iter().map(|v| format!("<{}>", plain(&expand(v, vars)))).collect();
            format!("none of {}", list.join(", "))
        }
        Predicate::Contains(item) => format!("an array containing <\"{item}\">"),
        Predicate::Excludes(item) => format!("an array without <\"{item}\">"),
        Predicate::MediaType(m) => format!("media type <{m}>"),
        Predicate::AtMost(max) => format!("a number at most {max}"),
        Predicate::EqualsIgnoringCase(want) => format!("<{want}> in any letter case"),
        Predicate::ListContains(item) => format!("a list with <{item}>"),
        Predicate::TokensExclude(token) => format!("a scope string without <{token}>"),
        Predicate::TokensInclude(tokens) => {
            format!(
                "a scope string with <{}>",
                crate::case::expand_placeholders(tokens, vars)
            )
        }
        Predicate::Schema { name, .. } => format!("JSON valid against {name}"),
        Predicate::Is(p) => format!("`{}`", p.name()),
    }
}

/// A value between `<...>` so whitespace and quotes show; long values are cut.
fn show(found: &Found) -> String {
    let text = match found {
        Found::Absent(why) => return why.clone(),
        Found::Json(v) => {
            let mut v = v.clone();
            redact::redact_json(&mut v);
            plain(&v)
        }
        Found::Text(s) => s.clone(),
        Found::Challenges(cs) => {
            let names: Vec<&str> = cs.iter().map(|c| c.scheme.as_str()).collect();
            format!("challenge(s) {} without parameters", names.join(", "))
        }
    };
    format!("<{}>", cut(&text, 300))
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &s[..end], s.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Predicate;

    fn response(body: &str, headers: &[(&str, &str)]) -> Response {
        Response {
            status: 200,
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn expect(subject: Subject, predicate: Predicate) -> Expectation {
        Expectation {
            step: crate::case::Step::Prm,
            subject,
            predicate,
            optional: false,
        }
    }

    #[test]
    fn a_jwt_claim_is_read_from_the_token_and_an_opaque_token_has_none() {
        use base64::Engine;
        let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let payload = serde_json::json!({"aud": ["https://a.example/mcp", "https://as.example"]});
        let jwt = format!("{}.{}.c2ln", b64(serde_json::json!({"alg": "ES256"})), b64(payload));
        let vars = BTreeMap::from([("target".to_owned(), "https://a.example/mcp".to_owned())]);
        let aud = Subject::JwtClaim {
            token: "/access_token".into(),
            claim: "/aud".into(),
        };
        let limited = Predicate::OneOf(vec![serde_json::json!("{target}"), serde_json::json!(["{target}"])]);
        let body = serde_json::json!({ "access_token": jwt }).to_string();
        let broken = evaluate(&expect(aud.clone(), limited.clone()), &response(&body, &[]), &vars).unwrap_err();
        assert_eq!(broken.actual, r#"<["https://a.example/mcp","https://as.example"]>"#);
        let one = format!("x.{}.y", b64(serde_json::json!({"aud": "https://a.example/mcp"})));
        let body = serde_json::json!({ "access_token": one }).to_string();
        assert!(evaluate(&expect(aud.clone(), limited.clone()), &response(&body, &[]), &vars).is_ok());
        let body = r#"{"access_token": "an-opaque-token"}"#;
        let broken = evaluate(&expect(aud, limited), &response(body, &[]), &vars).unwrap_err();
        assert_eq!(broken.actual, "`/access_token` is not a JWT (an opaque token)");
    }

    /// http on loopback is development only where the deployment is local: in the metadata
    /// of a public server it is an internal address leaked from behind a proxy.
    #[test]
    fn loopback_http_urls_pass_only_for_a_local_deployment() {
        let endpoint = expect(
            Subject::Json("/token_endpoint".into()),
            Predicate::Is(Property::HttpsOrLoopbackUrl),
        );
        let issuer = expect(Subject::Json("/issuer".into()), Predicate::Is(Property::IssuerUrl));
        let leaked = response(
            r#"{"issuer": "http://localhost:8080", "token_endpoint": "http://localhost:8080/token"}"#,
            &[],
        );
        let vars = |target: &str, issuer: &str| {
            BTreeMap::from([
                ("target".to_owned(), target.to_owned()),
                ("issuer".to_owned(), issuer.to_owned()),
            ])
        };
        let local = vars("http://127.0.0.1:3000/mcp", "http://localhost:8080");
        assert!(evaluate(&endpoint, &leaked, &local).is_ok());
        assert!(evaluate(&issuer, &leaked, &local).is_ok());
        for public in [
            vars("https://mcp.example.com/mcp", "http://localhost:8080"),
            vars("http://127.0.0.1:3000/mcp", "https://auth.example.com"),
        ] {
            let broken = evaluate(&endpoint, &leaked, &public).unwrap_err();
            assert!(broken.expected.contains("the server is public"), "{}", broken.expected);
            assert!(evaluate(&issuer, &leaked, &public).is_err());
        }
        // The PRM's authorization servers alike.
        let servers = expect(
            Subject::Json("/authorization_servers".into()),
            Predicate::Is(Property::ArrayOfUrls),
        );
        let prm = response(r#"{"authorization_servers": ["http://localhost:9000"]}"#, &[]);
        let public_rs = BTreeMap::from([("target".to_owned(), "https://mcp.example.com/mcp".to_owned())]);
        assert!(evaluate(&servers, &prm, &public_rs).is_err());
        assert!(evaluate(&servers, &prm, &local).is_ok());
        let https = response(r#"{"token_endpoint": "https://auth.example.com/token"}"#, &[]);
        assert!(
            evaluate(
                &endpoint,
                &https,
                &vars("https://mcp.example.com/mcp", "https://auth.example.com")
            )
            .is_ok()
        );
    }

    /// A message quotes what it saw, but never a credential.
    #[test]
    fn messages_never_quote_credentials() {
        let r = response(
            r#"{"access_token":"tok-secret-1","token_type":5}"#,
            &[("Set-Cookie", "sid=cookie-secret")],
        );
        let vars = BTreeMap::new();
        let by_pointer = expect(
            Subject::Json("/access_token".into()),
            Predicate::Equals(Value::from("x")),
        );
        let by_header = expect(Subject::Header("set-cookie".into()), Predicate::Present(false));
        let whole_body = expect(Subject::Json(String::new()), Predicate::Is(Property::NonEmptyArray));
        for e in [by_pointer, by_header, whole_body] {
            let broken = evaluate(&e, &r, &vars).unwrap_err();
            let text = format!("{broken:?}");
            assert!(
                !text.contains("tok-secret-1") && !text.contains("cookie-secret"),
                "{text}"
            );
        }
        let shown = evaluate(
            &expect(Subject::Json(String::new()), Predicate::Is(Property::NonEmptyArray)),
            &r,
            &vars,
        );
        assert!(
            shown.unwrap_err().actual.contains(r#""token_type":5"#),
            "other members stay visible"
        );
    }

    #[test]
    fn placeholders_and_exact_strings() {
        let r = response(r#"{"issuer":"https://as.example/"}"#, &[]);
        let vars = BTreeMap::from([("issuer".to_owned(), "https://as.example".to_owned())]);
        let e = expect(
            Subject::Json("/issuer".into()),
            Predicate::Equals(Value::from("{issuer}")),
        );
        let broken = evaluate(&e, &r, &vars).unwrap_err();
        assert_eq!(broken.expected, r#"<"https://as.example">"#);
        assert_eq!(broken.actual, r#"<"https://as.example/">"#);
    }

    #[test]
    fn tokens_include_reads_scope_strings_and_scope_lists() {
        let r = response(r#"{"list":["a","b"],"string":"a b","other":["c"]}"#, &[]);
        let vars = BTreeMap::from([("wanted".to_owned(), "b a".to_owned())]);
        let includes = |pointer: &str| {
            let e = expect(
                Subject::Json(pointer.into()),
                Predicate::TokensInclude("{wanted}".into()),
            );
            evaluate(&e, &r, &vars)
        };
        assert!(includes("/list").is_ok() && includes("/string").is_ok());
        let broken = includes("/other").unwrap_err();
        assert_eq!(broken.expected, "scopes including <b a>");
    }

    #[test]
    fn none_of_refuses_exactly_the_listed_values() {
        let r = response("{}", &[]);
        let vars = BTreeMap::new();
        let not_auth = |codes: &[u16]| {
            let e = expect(
                Subject::Status,
                Predicate::NoneOf(codes.iter().map(|&c| Value::from(c)).collect()),
            );
            evaluate(&e, &r, &vars)
        };
        assert!(not_auth(&[401, 403]).is_ok());
        let broken = not_auth(&[200, 401]).unwrap_err();
        assert_eq!(broken.expected, "none of <200>, <401>");
        assert_eq!(broken.actual, "<200>");
    }

    #[test]
    fn error_chars_are_judged_after_unquoting() {
        let r = response(
            "{}",
            &[(
                "WWW-Authenticate",
                r#"Bearer error="invalid_token", error_description="bad \"x\"""#,
            )],
        );
        let vars = BTreeMap::new();
        let chars = |param: &str| {
            let subject = Subject::Challenge {
                scheme: Some("bearer".into()),
                param: Some(param.into()),
            };
            evaluate(&expect(subject, Predicate::Is(Property::ErrorChars)), &r, &vars)
        };
        assert!(chars("error").is_ok());
        assert!(chars("error_description").is_err(), "an escaped quote is still a quote");
    }
}
