//! What an expectation looks at: each subject's syntax in a case file, its name in messages
//! and how it is read from a response, in one place.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use super::expect::Broken;
use super::www_authenticate::{self, Challenge};
use crate::http::{Response, redact};

/// What an expectation looks at in an observed response.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    Status,
    /// All values of a header field (case-insensitive name).
    Header(String),
    Body,
    /// A JSON pointer into the body (RFC 6901).
    Json(String),
    /// A value the step recorded, e.g. `callback.code` (absent when not recorded).
    Var(String),
    /// All `WWW-Authenticate` lines as one challenge list.
    WwwAuthenticate,
    /// A challenge by scheme (`None`: any challenge), or one of its parameters.
    Challenge {
        scheme: Option<String>,
        param: Option<String>,
    },
    /// A claim of a JWT in the JSON body (`jwt:/access_token#/aud`): `token` points at the
    /// token, `claim` into its payload (empty: the whole payload). The signature is not
    /// checked: the claims are what the issuer says, which is what such checks judge.
    JwtClaim {
        token: String,
        claim: String,
    },
}

/// The value a subject resolves to in a response.
pub(super) enum Found {
    Absent(String),
    Json(Value),
    Text(String),
    Challenges(Vec<Challenge>),
}

impl Subject {
    /// The subjects a case file may name, for a diagnostic's help.
    pub const HELP: &'static str = "subjects: status, body, header:<name>, json:<pointer>, var:<name>, \
        www-authenticate, challenge:<scheme|*>, challenge:<scheme|*>:<param>, jwt:<pointer>#<pointer>";

    /// Parses a case file's `subject`. Whether a `var:` name is ever recorded is the case
    /// loader's business (it knows the declared variables).
    pub fn parse(s: &str) -> Result<Subject, String> {
        let unknown = || format!("unknown subject `{s}`");
        Ok(match s {
            "status" => Subject::Status,
            "body" => Subject::Body,
            "www-authenticate" => Subject::WwwAuthenticate,
            _ => match s.split_once(':') {
                Some(("header", name)) if !name.is_empty() => Subject::Header(name.to_owned()),
                Some(("var", name)) if !name.is_empty() => Subject::Var(name.to_owned()),
                Some(("json", pointer)) if pointer.is_empty() || pointer.starts_with('/') => {
                    Subject::Json(pointer.to_owned())
                }
                Some(("json", _)) => return Err(format!("`{s}`: a JSON pointer starts with `/` (RFC 6901)")),
                Some(("jwt", rest)) => match rest.split_once('#') {
                    Some((token, claim)) if token.starts_with('/') && (claim.is_empty() || claim.starts_with('/')) => {
                        Subject::JwtClaim {
                            token: token.to_owned(),
                            claim: claim.to_owned(),
                        }
                    }
                    _ => {
                        return Err(format!(
                            "`{s}`: a JWT claim is `jwt:<pointer to the token>#<pointer into its claims>`, \
                             e.g. `jwt:/access_token#/aud`"
                        ));
                    }
                },
                Some(("challenge", rest)) => {
                    let (scheme, param) = match rest.split_once(':') {
                        Some((scheme, param)) => (scheme, Some(param.to_owned())),
                        None => (rest, None),
                    };
                    if scheme.is_empty() || param.as_deref() == Some("") {
                        return Err(unknown());
                    }
                    let scheme = (scheme != "*").then(|| scheme.to_owned());
                    Subject::Challenge { scheme, param }
                }
                _ => return Err(unknown()),
            },
        })
    }

    /// A single text value: a header, a variable, a challenge parameter.
    pub(super) fn is_text(&self) -> bool {
        matches!(
            self,
            Subject::Header(_) | Subject::Var(_) | Subject::Challenge { param: Some(_), .. }
        )
    }

    /// A JSON value: a member of the body or a JWT claim.
    pub(super) fn is_json(&self) -> bool {
        matches!(self, Subject::Json(_) | Subject::JwtClaim { .. })
    }

    /// Whether what it reads may be a credential (a token, a secret, a cookie). A JWT's
    /// claims are not: they are what the issuer says, shown so a wrong `aud` can be read.
    pub(super) fn carries_secret(&self) -> bool {
        match self {
            Subject::Header(name) => redact::is_secret_header(name),
            Subject::Json(pointer) => pointer.split('/').any(redact::is_secret_field),
            Subject::Var(name) => name.split('.').any(redact::is_secret_field),
            _ => false,
        }
    }

    /// Reads the subject from `response` (or, for `var:`, from the step's recorded values).
    pub(super) fn resolve(&self, response: &Response, vars: &BTreeMap<String, String>) -> Result<Found, Box<Broken>> {
        let not_json = |e: serde_json::Error| {
            let actual = format!("a body that is not JSON ({e})");
            Box::new(Broken::new(self, "a JSON body", actual))
        };
        Ok(match self {
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
            Subject::Json(pointer) => {
                let body: Value = serde_json::from_slice(&response.body).map_err(not_json)?;
                match body.pointer(pointer) {
                    Some(inner) => Found::Json(inner.clone()),
                    None => Found::Absent(format!("no member at `{pointer}`")),
                }
            }
            Subject::JwtClaim { token, claim } => {
                let body: Value = serde_json::from_slice(&response.body).map_err(not_json)?;
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
                    let mut b = Broken::new(self, "a parsable WWW-Authenticate", "a grammar error");
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
}

/// The case-file spelling, e.g. `challenge:bearer:scope`.
impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Status => f.write_str("status"),
            Subject::Body => f.write_str("body"),
            Subject::WwwAuthenticate => f.write_str("www-authenticate"),
            Subject::Header(n) => write!(f, "header:{n}"),
            Subject::Var(n) => write!(f, "var:{n}"),
            Subject::Json(p) => write!(f, "json:{p}"),
            Subject::JwtClaim { token, claim } => write!(f, "jwt:{token}#{claim}"),
            Subject::Challenge { scheme, param } => {
                let scheme = scheme.as_deref().unwrap_or("*");
                match param {
                    Some(p) => write!(f, "challenge:{scheme}:{p}"),
                    None => write!(f, "challenge:{scheme}"),
                }
            }
        }
    }
}

impl Found {
    /// The text of a string value, whether a header's or a JSON string.
    pub(super) fn text(&self) -> Option<&str> {
        match self {
            Found::Text(s) | Found::Json(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// The value between `<...>` so whitespace and quotes show; long values are cut.
    pub(super) fn show(&self) -> String {
        let text = match self {
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
}

/// A JSON value as a message shows it: strings quoted.
pub(super) fn plain(v: &Value) -> String {
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

/// The payload of a JWS compact serialization (RFC 7515 §7.1): three base64url parts, the
/// middle one a JSON object. None for anything else (an opaque token).
pub(crate) fn jwt_payload(token: &str) -> Option<Value> {
    use base64::Engine;
    let [_, payload, _] = token.split('.').collect::<Vec<_>>()[..] else {
        return None;
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok().filter(Value::is_object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_parse_and_print_as_written() {
        for text in [
            "status",
            "body",
            "www-authenticate",
            "header:cache-control",
            "json:/issuer",
            "json:",
            "var:callback.code",
            "challenge:*:resource_metadata",
            "challenge:bearer",
            "jwt:/access_token#/aud",
            "jwt:/access_token#",
        ] {
            assert_eq!(Subject::parse(text).map(|s| s.to_string()).as_deref(), Ok(text));
        }
        assert_eq!(
            Subject::parse("challenge:*:resource_metadata"),
            Ok(Subject::Challenge {
                scheme: None,
                param: Some("resource_metadata".into())
            })
        );
        for bad in [
            "json:issuer",
            "jwt:/access_token",
            "jwt:access_token#/aud",
            "challenge::x",
            "challenge:bearer:",
            "headers",
            "header:",
            "var:",
        ] {
            assert!(Subject::parse(bad).is_err(), "{bad}");
        }
    }
}
