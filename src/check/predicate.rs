//! What an expectation demands of its subject. Each predicate's case-file key, the subjects
//! it applies to, its test and its wording live here, so adding one is one change in this
//! file; a failure's "expected" is the same text as the predicate's description.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::expect::Broken;
use super::property::Property;
use super::schema::Schemas;
use super::subject::{Found, Subject, plain};
use crate::http::{Response, redact};

#[derive(Debug, Clone)]
pub enum Predicate {
    Present(bool),
    /// Exact equality; strings may hold placeholders such as `{target}` or `{issuer}`.
    Equals(Value),
    OneOf(Vec<Value>),
    /// None of these (e.g. a status that is not an authentication refusal).
    NoneOf(Vec<Value>),
    /// A JSON array has this string as an element.
    Contains(String),
    /// A JSON array does not have this string as an element.
    Excludes(String),
    /// A string equal to this one ignoring ASCII case (e.g. `token_type`, RFC 6749 §5.1).
    EqualsIgnoringCase(String),
    /// A comma-separated header list has this element, ignoring case (e.g. `no-store`).
    ListContains(String),
    /// A space-separated string (a `scope`) does not have this token (RFC 6749 §3.3).
    TokensExclude(String),
    /// A space-separated string, or a list of scopes, has every one of these tokens
    /// (placeholders allowed).
    TokensInclude(String),
    Is(Property),
    /// A JSON number no greater than this (e.g. `expires_in`).
    AtMost(f64),
    /// The media type of a header value (parameters such as charset ignored).
    MediaType(String),
    Schema {
        name: String,
        validator: Arc<jsonschema::Validator>,
    },
}

/// Why a case file's predicate cannot be built, with a hint where there is one.
#[derive(Debug, PartialEq)]
pub struct Invalid {
    pub message: String,
    pub help: Option<String>,
}

impl Invalid {
    fn new(message: impl Into<String>) -> Self {
        Invalid {
            message: message.into(),
            help: None,
        }
    }
}

impl Predicate {
    /// The keys of an expectation that name a predicate.
    pub const KEYS: [&'static str; 14] = [
        "present",
        "equals",
        "one_of",
        "none_of",
        "equals_ignoring_case",
        "contains",
        "excludes",
        "list_contains",
        "tokens_exclude",
        "tokens_include",
        "at_most",
        "is",
        "media_type",
        "schema",
    ];

    /// Builds the predicate a case file writes as `key = value`; `None` if `key` names none.
    pub fn parse(key: &str, value: &Value, schemas: &Schemas) -> Option<Result<Predicate, Invalid>> {
        let string = |build: fn(String) -> Predicate| match value {
            Value::String(s) => Ok(build(s.clone())),
            _ => Err(Invalid::new(format!("`{key}` takes a string"))),
        };
        let list = |build: fn(Vec<Value>) -> Predicate| match value {
            // An empty list could never pass (`one_of`) or never fail (`none_of`).
            Value::Array(items) if items.is_empty() => Err(Invalid::new(format!("`{key}` needs at least one value"))),
            Value::Array(items) => Ok(build(items.clone())),
            _ => Err(Invalid::new(format!("`{key}` takes an array of values"))),
        };
        Some(match key {
            "present" => match value {
                Value::Bool(b) => Ok(Predicate::Present(*b)),
                _ => Err(Invalid::new("`present` takes true or false")),
            },
            "equals" => Ok(Predicate::Equals(value.clone())),
            "one_of" => list(Predicate::OneOf),
            "none_of" => list(Predicate::NoneOf),
            "equals_ignoring_case" => string(Predicate::EqualsIgnoringCase),
            "contains" => string(Predicate::Contains),
            "excludes" => string(Predicate::Excludes),
            "list_contains" => string(Predicate::ListContains),
            "tokens_exclude" => string(Predicate::TokensExclude),
            "tokens_include" => string(Predicate::TokensInclude),
            "at_most" => match value.as_f64() {
                Some(n) => Ok(Predicate::AtMost(n)),
                None => Err(Invalid::new("`at_most` takes a number")),
            },
            "is" => match value {
                Value::String(name) => Property::parse(name).map(Predicate::Is),
                _ => Err(Invalid::new("`is` takes the name of a property")),
            },
            "media_type" => string(|m| Predicate::MediaType(m.to_ascii_lowercase())),
            "schema" => match value {
                Value::String(name) => schemas
                    .get(name)
                    .map(|validator| Predicate::Schema {
                        name: name.clone(),
                        validator,
                    })
                    .map_err(Invalid::new),
                _ => Err(Invalid::new("`schema` takes a file name in fixtures/schemas")),
            },
            _ => return None,
        })
    }

    /// Whether the predicate can be judged on `subject` at all: a case that pairs them
    /// otherwise could never fail, so loading refuses it.
    pub fn applies_to(&self, subject: &Subject) -> bool {
        match self {
            Predicate::Present(_) => !matches!(subject, Subject::Status | Subject::Body),
            Predicate::Equals(_) | Predicate::OneOf(_) | Predicate::NoneOf(_) => match subject {
                Subject::WwwAuthenticate | Subject::Body => false,
                Subject::Challenge { param, .. } => param.is_some(),
                _ => true,
            },
            Predicate::Contains(_) | Predicate::Excludes(_) => subject.is_json(),
            Predicate::MediaType(_) | Predicate::ListContains(_) => matches!(subject, Subject::Header(_)),
            Predicate::TokensExclude(_) | Predicate::TokensInclude(_) => {
                subject.is_json() || (subject.is_text() && !matches!(subject, Subject::Header(_)))
            }
            Predicate::EqualsIgnoringCase(_) => subject.is_json() || subject.is_text(),
            Predicate::Schema { .. } => matches!(subject, Subject::Body),
            Predicate::AtMost(_) => subject.is_json() || matches!(subject, Subject::Status),
            Predicate::Is(p) => p.applies_to(subject),
        }
    }

    /// What it expects, in words; also a failure's "expected".
    pub fn describe(&self, vars: &BTreeMap<String, String>) -> String {
        let listed = |vs: &[Value]| {
            let list: Vec<String> = vs.iter().map(|v| format!("<{}>", plain(&expand(v, vars)))).collect();
            list.join(", ")
        };
        let fill = |s: &str| crate::case::expand_placeholders(s, vars);
        match self {
            Predicate::Present(true) => "present".to_owned(),
            Predicate::Present(false) => "absent".to_owned(),
            Predicate::Equals(v) => format!("<{}>", plain(&expand(v, vars))),
            Predicate::OneOf(vs) => format!("one of {}", listed(vs)),
            Predicate::NoneOf(vs) => format!("none of {}", listed(vs)),
            Predicate::Contains(item) => format!("an array containing <\"{}\">", fill(item)),
            Predicate::Excludes(item) => format!("an array without <\"{}\">", fill(item)),
            Predicate::EqualsIgnoringCase(want) => format!("<{}> in any letter case", fill(want)),
            Predicate::ListContains(item) => format!("a list with <{}>", fill(item)),
            Predicate::TokensExclude(token) => format!("a scope string without <{}>", fill(token)),
            Predicate::TokensInclude(tokens) => format!("scopes including <{}>", fill(tokens)),
            Predicate::AtMost(max) => format!("a number at most {max}"),
            Predicate::MediaType(m) => format!("media type <{m}>"),
            Predicate::Schema { name, .. } => format!("JSON valid against {name}"),
            Predicate::Is(p) => p.describe(vars),
        }
    }

    /// Judges a present value.
    pub(super) fn test(
        &self,
        subject: &Subject,
        found: &Found,
        response: &Response,
        vars: &BTreeMap<String, String>,
    ) -> Result<(), Broken> {
        let scope_tokens = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        // Every string a predicate compares with may hold placeholders (`{scope}`).
        let fill = |s: &str| crate::case::expand_placeholders(s, vars);
        let holds = match self {
            Predicate::Is(property) => return property.test(subject, found, response, vars),
            Predicate::Schema { validator, .. } => return self.test_schema(validator, subject, found, vars),
            Predicate::Present(present) => *present,
            Predicate::Equals(v) => equal(found, &expand(v, vars)),
            Predicate::OneOf(vs) => vs.iter().any(|v| equal(found, &expand(v, vars))),
            Predicate::NoneOf(vs) => !vs.iter().any(|v| equal(found, &expand(v, vars))),
            Predicate::Contains(item) => {
                let item = fill(item);
                matches!(found, Found::Json(Value::Array(items)) if items.iter().any(|i| i.as_str() == Some(&item)))
            }
            Predicate::Excludes(item) => {
                let item = fill(item);
                matches!(found, Found::Json(Value::Array(items)) if !items.iter().any(|i| i.as_str() == Some(&item)))
            }
            Predicate::EqualsIgnoringCase(want) => found.text().is_some_and(|s| s.eq_ignore_ascii_case(&fill(want))),
            Predicate::ListContains(item) => {
                let item = fill(item);
                matches!(found, Found::Text(s) if s.split(',').any(|e| e.trim().eq_ignore_ascii_case(&item)))
            }
            Predicate::TokensExclude(token) => found.text().is_some_and(|s| !scope_tokens(s).contains(&fill(token))),
            Predicate::TokensInclude(tokens) => {
                let wanted = fill(tokens);
                let have: Option<Vec<String>> = match found {
                    Found::Json(Value::String(s)) | Found::Text(s) => Some(scope_tokens(s)),
                    // A list of scopes (`scopes_supported`) includes each token.
                    Found::Json(Value::Array(items)) => {
                        Some(items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    }
                    _ => None,
                };
                have.is_some_and(|have| wanted.split_whitespace().all(|w| have.iter().any(|h| h == w)))
            }
            Predicate::AtMost(max) => {
                matches!(found, Found::Json(Value::Number(n)) if n.as_f64().is_some_and(|n| n <= *max))
            }
            Predicate::MediaType(media) => {
                matches!(found, Found::Text(v) if v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(media))
            }
        };
        if holds {
            Ok(())
        } else {
            Err(Broken::new(subject, self.describe(vars), found.show()))
        }
    }

    /// A schema's failure lists its first violations, never quoting a credential.
    fn test_schema(
        &self,
        validator: &jsonschema::Validator,
        subject: &Subject,
        found: &Found,
        vars: &BTreeMap<String, String>,
    ) -> Result<(), Broken> {
        let Found::Json(json) = found else {
            return Err(Broken::new(subject, self.describe(vars), found.show()));
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
            return Ok(());
        }
        let mut b = Broken::new(subject, self.describe(vars), format!("{} violation(s)", errors.len()));
        b.detail = Some(errors.join("\n"));
        Err(b)
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

/// Fills placeholders such as `{issuer}` in the strings of a value.
fn expand(v: &Value, vars: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(crate::case::expand_placeholders(s, vars)),
        Value::Array(items) => Value::Array(items.iter().map(|i| expand(i, vars)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which subjects each predicate can be judged on: a pairing outside these could never
    /// fail, so the loader refuses it.
    #[test]
    fn predicates_apply_only_where_they_can_fail() {
        let subject = |s: &str| Subject::parse(s).unwrap();
        let table = [
            (Predicate::Present(true), "status", false),
            (Predicate::Present(true), "header:x", true),
            (Predicate::Equals(Value::from(1)), "www-authenticate", false),
            (Predicate::Equals(Value::from(1)), "challenge:bearer", false),
            (Predicate::Equals(Value::from(1)), "challenge:bearer:scope", true),
            (Predicate::Contains("a".into()), "jwt:/t#/aud", true),
            (Predicate::Contains("a".into()), "header:x", false),
            (Predicate::ListContains("a".into()), "header:cache-control", true),
            (Predicate::TokensInclude("a".into()), "header:x", false),
            (Predicate::TokensInclude("a".into()), "var:authorization.scope", true),
            (Predicate::AtMost(1.0), "status", true),
            (Predicate::AtMost(1.0), "body", false),
            (Predicate::Is(Property::Parsable), "www-authenticate", true),
            (Predicate::Is(Property::WithParams), "challenge:*", true),
            (Predicate::Is(Property::WithParams), "challenge:*:scope", false),
            (Predicate::Is(Property::IssuerUrl), "var:issuer", true),
        ];
        for (predicate, s, applies) in table {
            assert_eq!(predicate.applies_to(&subject(s)), applies, "{predicate:?} on {s}");
        }
    }

    #[test]
    fn values_of_the_wrong_kind_are_refused_with_the_key() {
        let schemas = Schemas::embedded();
        let refused = |key: &str, value: Value| match Predicate::parse(key, &value, &schemas) {
            Some(Err(invalid)) => invalid.message,
            other => panic!("{key} = {value}: {other:?}"),
        };
        assert_eq!(refused("present", Value::from("yes")), "`present` takes true or false");
        assert_eq!(refused("at_most", Value::from("3")), "`at_most` takes a number");
        assert_eq!(refused("one_of", Value::from(1)), "`one_of` takes an array of values");
        assert_eq!(
            refused("none_of", serde_json::json!([])),
            "`none_of` needs at least one value"
        );
        assert!(refused("is", Value::from("a-string")).starts_with("unknown property"));
        assert!(Predicate::parse("equal", &Value::from(1), &schemas).is_none());
    }
}
