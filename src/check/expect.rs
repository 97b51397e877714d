//! One expectation against one observed response: read the subject, then test the
//! predicate; a message never quotes a credential.

use std::collections::BTreeMap;

use super::predicate::Predicate;
use super::subject::{Found, Subject};
use crate::case::Expectation;
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
    pub(super) fn new(subject: &Subject, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Broken {
            subject: subject.to_string(),
            expected: expected.into(),
            actual: actual.into(),
            detail: None,
        }
    }
}

/// Judges `expectation` on `response`; `vars` fill placeholders such as `{target}`.
pub fn evaluate(expectation: &Expectation, response: &Response, vars: &BTreeMap<String, String>) -> Result<(), Broken> {
    judge_value(expectation, response, vars).map_err(|mut broken| {
        // Messages quote what was seen: never a credential (tokens, secrets, cookies).
        // Only a shown value (`<...>`) is redacted; "no member at ..." stays readable.
        if expectation.subject.carries_secret() && broken.actual.starts_with('<') {
            broken.actual = format!("<{}>", redact::REDACTED);
            broken.detail = None;
        }
        broken
    })
}

fn judge_value(expectation: &Expectation, response: &Response, vars: &BTreeMap<String, String>) -> Result<(), Broken> {
    let Expectation { subject, predicate, .. } = expectation;
    let found = match subject.resolve(response, vars) {
        Ok(found) => found,
        // A body that is not JSON (an error page, an empty refusal) has no member: absent is
        // what was asked, or what an optional member may be.
        Err(_)
            if matches!(subject, Subject::Json(_))
                && (matches!(predicate, Predicate::Present(false)) || expectation.optional) =>
        {
            return Ok(());
        }
        Err(broken) => return Err(*broken),
    };
    match (&found, predicate) {
        (Found::Absent(_), Predicate::Present(false)) => Ok(()),
        (Found::Absent(_), _) if expectation.optional => Ok(()),
        (Found::Absent(why), _) => Err(Broken::new(subject, predicate.describe(vars), why.clone())),
        _ => predicate.test(subject, &found, response, vars),
    }
}

/// An expectation for a message: "status: <401>".
pub fn describe_expectation(e: &Expectation, vars: &BTreeMap<String, String>) -> String {
    format!("{}: {}", e.subject, e.predicate.describe(vars))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Property;
    use serde_json::Value;

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
            unmet: None,
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

    /// An empty or HTML refusal has no JSON member: an optional one may be absent (django-oauth-
    /// toolkit refuses unauthenticated introspection with an empty 403); a required one may not.
    #[test]
    fn a_body_that_is_not_json_has_no_optional_member() {
        let active = |optional| Expectation {
            optional,
            ..expect(
                Subject::Json("/active".into()),
                Predicate::NoneOf(vec![serde_json::json!(true)]),
            )
        };
        let vars = BTreeMap::new();
        for body in ["", "<h1>403 Forbidden</h1>"] {
            assert!(evaluate(&active(true), &response(body, &[]), &vars).is_ok(), "{body:?}");
            assert!(
                evaluate(&active(false), &response(body, &[]), &vars).is_err(),
                "{body:?}"
            );
        }
        assert!(evaluate(&active(true), &response(r#"{"active": true}"#, &[]), &vars).is_err());
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

    /// RFC 9728 §2.2: signed or MACed; an Unsecured JWS (alg none, empty signature), a
    /// stripped signature or a non-JWS string is not.
    #[test]
    fn signed_jws_needs_an_alg_other_than_none_and_a_signature() {
        use base64::Engine;
        let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let payload = b64(r#"{"iss":"https://rs.example","resource":"https://rs.example/mcp"}"#);
        let jws = |header: &str, signature: &str| format!("{}.{payload}.{signature}", b64(header));
        let vars = BTreeMap::new();
        let judge = |token: String| {
            let body = serde_json::json!({ "signed_metadata": token }).to_string();
            let subject = Subject::Json("/signed_metadata".into());
            evaluate(
                &expect(subject, Predicate::Is(Property::SignedJws)),
                &response(&body, &[]),
                &vars,
            )
        };
        assert!(judge(jws(r#"{"alg":"ES256"}"#, "c2ln")).is_ok());
        assert!(judge(jws(r#"{"alg":"HS256"}"#, "bWFj")).is_ok(), "a MAC is allowed");
        assert!(judge(jws(r#"{"alg":"none"}"#, "")).is_err());
        assert!(judge(jws(r#"{"alg":"NONE"}"#, "c2ln")).is_err());
        assert!(judge(jws(r#"{"alg":"ES256"}"#, "")).is_err(), "signature stripped");
        assert!(judge(jws(r#"{"typ":"JWT"}"#, "c2ln")).is_err(), "no alg");
        assert!(judge(format!("{payload}.{payload}")).is_err(), "two parts");
        assert!(judge("not a jwt".to_owned()).is_err());
    }
}
