//! `is = "<property>"`: named properties, each a small rule from an RFC, with its name, the
//! subjects it applies to, its test and its wording in one place.

use std::collections::BTreeMap;

use serde_json::Value;

use super::expect::Broken;
use super::predicate::Invalid;
use super::subject::{Found, Subject, plain};
use super::www_authenticate;
use crate::http::Response;
use crate::http::hosts::is_loopback;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    /// An absolute `http`/`https` URL.
    AbsoluteUrl,
    /// `https`, or `http` on a loopback host (development deployments).
    HttpsOrLoopbackUrl,
    /// An issuer identifier (RFC 8414 §2): https (or loopback http), no query, no fragment.
    IssuerUrl,
    NonEmptyArray,
    /// An array whose every element is an absolute http(s) URL.
    ArrayOfUrls,
    JsonObject,
    String,
    /// `WWW-Authenticate` parses under the RFC 9110 grammar.
    Parsable,
    /// The challenge has at least one auth-param (RFC 6750 §3).
    WithParams,
    /// No challenge repeats a parameter name (RFC 9110 §11.2).
    UniqueParams,
    /// A space-separated list of RFC 6749 §3.3 scope tokens.
    ScopeTokens,
    /// RFC 6750 §3's characters for `error` and `error_description`: printable ASCII without
    /// `"` and `\` (after unquoting).
    ErrorChars,
    /// A JWS compact serialization that is signed or MACed: a JSON header whose `alg` is not
    /// `none`, a JSON object payload and a signature (RFC 7515 §7.1). Whether it verifies
    /// is not judged: that needs the key.
    SignedJws,
    /// An MCP answer that refuses: a 4xx, a JSON-RPC error, or a tool result flagged
    /// `isError` (a 5xx is the server failing, not refusing).
    Refusal,
    /// A page no other site may frame: `X-Frame-Options: DENY`, or a CSP `frame-ancestors`
    /// directive (a header: CSP 3 ignores it in `<meta>`) that lets no site in at large.
    FrameProtected,
}

impl Property {
    pub const ALL: [(&'static str, Property); 15] = [
        ("absolute-url", Property::AbsoluteUrl),
        ("https-or-loopback-url", Property::HttpsOrLoopbackUrl),
        ("issuer-url", Property::IssuerUrl),
        ("non-empty-array", Property::NonEmptyArray),
        ("array-of-urls", Property::ArrayOfUrls),
        ("json-object", Property::JsonObject),
        ("string", Property::String),
        ("parsable", Property::Parsable),
        ("with-params", Property::WithParams),
        ("unique-params", Property::UniqueParams),
        ("scope-tokens", Property::ScopeTokens),
        ("error-chars", Property::ErrorChars),
        ("signed-jws", Property::SignedJws),
        ("refusal", Property::Refusal),
        ("frame-protected", Property::FrameProtected),
    ];

    pub fn name(self) -> &'static str {
        Property::ALL
            .iter()
            .find(|(_, p)| *p == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    /// Parses `is = "<name>"`.
    pub(super) fn parse(name: &str) -> Result<Property, Invalid> {
        match Property::ALL.iter().find(|(n, _)| *n == name) {
            Some((_, p)) => Ok(*p),
            None => {
                let known: Vec<&str> = Property::ALL.iter().map(|(n, _)| *n).collect();
                Err(Invalid {
                    message: format!("unknown property `{name}`"),
                    help: Some(format!("known properties: {}", known.join(", "))),
                })
            }
        }
    }

    /// Whether the property can be judged on `subject` at all.
    pub(super) fn applies_to(self, subject: &Subject) -> bool {
        use Property as P;
        match self {
            P::Parsable | P::UniqueParams => matches!(subject, Subject::WwwAuthenticate),
            P::WithParams => matches!(subject, Subject::Challenge { param: None, .. }),
            P::JsonObject => subject.is_json() || matches!(subject, Subject::Body),
            P::Refusal | P::FrameProtected => matches!(subject, Subject::Body),
            P::NonEmptyArray | P::ArrayOfUrls => subject.is_json(),
            P::AbsoluteUrl
            | P::HttpsOrLoopbackUrl
            | P::IssuerUrl
            | P::String
            | P::ScopeTokens
            | P::ErrorChars
            | P::SignedJws => subject.is_json() || subject.is_text(),
        }
    }

    /// What it expects, in words. Some rules are stricter for a public deployment (see
    /// [`local`]), and say so.
    pub(super) fn describe(self, vars: &BTreeMap<String, String>) -> String {
        use Property as P;
        let local = local(vars);
        match self {
            P::AbsoluteUrl => "an absolute http(s) URL",
            P::HttpsOrLoopbackUrl if local => "an absolute https URL (http only on a loopback host)",
            P::HttpsOrLoopbackUrl => {
                "an absolute https URL (the server is public: an http loopback URL is one it leaked from \
                 behind its proxy)"
            }
            P::IssuerUrl if local => "an https URL without query or fragment (RFC 8414 §2; http only on loopback)",
            P::IssuerUrl => "an https URL without query or fragment (RFC 8414 §2; the server is public)",
            P::NonEmptyArray => "a non-empty array",
            P::ArrayOfUrls if local => "an array of absolute http(s) URLs",
            P::ArrayOfUrls => "an array of absolute http(s) URLs, none on loopback (the server is public)",
            P::JsonObject => "a JSON object",
            P::String => "a string",
            P::Parsable => "a value of the RFC 9110 §11.6.1 challenge grammar",
            P::WithParams => "a challenge with at least one auth-param (RFC 6750 §3)",
            P::UniqueParams => "each parameter at most once per challenge",
            P::ScopeTokens => "space-separated scope tokens (RFC 6749 §3.3)",
            P::ErrorChars => "printable ASCII without `\"` or `\\` (RFC 6750 §3)",
            P::Refusal => "a refusal: a 4xx, a JSON-RPC error or a tool result with isError",
            P::FrameProtected => {
                "a page that forbids framing: `X-Frame-Options: DENY` or a CSP `frame-ancestors` directive"
            }
            P::SignedJws => {
                "a signed JWS: header, payload and signature, with an `alg` other than `none` (RFC 7515 §7.1)"
            }
        }
        .to_owned()
    }

    pub(super) fn test(
        self,
        subject: &Subject,
        found: &Found,
        response: &Response,
        vars: &BTreeMap<String, String>,
    ) -> Result<(), Broken> {
        use Property as P;
        let broken = |actual: String| Err(Broken::new(subject, self.describe(vars), actual));
        let local = local(vars);
        // http is for development: only on loopback, and only where the deployment is local.
        let web_url = |url: &url::Url| url.scheme() == "https" || (is_loopback(url) && local);
        let holds = match self {
            P::Parsable => {
                let lines: Vec<&str> = response.header_values("www-authenticate").collect();
                return match www_authenticate::parse_lines(lines) {
                    Ok(challenges) if challenges.is_empty() => Err(Broken::new(
                        subject,
                        "at least one challenge (RFC 9110 §15.5.2)",
                        found.show(),
                    )),
                    Ok(_) => Ok(()),
                    Err(e) => {
                        let mut b = broken(format!("a grammar error: {}", e.message)).unwrap_err();
                        b.detail = Some(e.to_string());
                        Err(b)
                    }
                };
            }
            P::UniqueParams => {
                let lines: Vec<&str> = response.header_values("www-authenticate").collect();
                let Ok(challenges) = www_authenticate::parse_lines(lines) else {
                    return Err(Broken::new(subject, "a parsable WWW-Authenticate", found.show()));
                };
                return match challenges.iter().find_map(|c| c.duplicate_param().map(|p| (c, p))) {
                    Some((c, p)) => broken(format!("`{p}` twice in the `{}` challenge", c.scheme)),
                    None => Ok(()),
                };
            }
            P::ArrayOfUrls => {
                let Found::Json(Value::Array(items)) = found else {
                    return broken(found.show());
                };
                let usable = |s: &str| absolute_url(s).is_ok_and(|u| !is_loopback(&u) || local);
                return match items.iter().find(|i| i.as_str().is_none_or(|s| !usable(s))) {
                    Some(bad) => broken(format!("an element <{}>", plain(bad))),
                    None => Ok(()),
                };
            }
            P::WithParams => matches!(found, Found::Challenges(cs) if cs.iter().any(|c| !c.params.is_empty())),
            P::JsonObject => matches!(found, Found::Json(Value::Object(_))),
            P::String => found.text().is_some(),
            P::NonEmptyArray => matches!(found, Found::Json(Value::Array(items)) if !items.is_empty()),
            P::AbsoluteUrl => found.text().is_some_and(|s| absolute_url(s).is_ok()),
            P::HttpsOrLoopbackUrl => found
                .text()
                .and_then(|s| absolute_url(s).ok())
                .is_some_and(|u| web_url(&u)),
            P::IssuerUrl => found
                .text()
                .and_then(|s| absolute_url(s).ok())
                .is_some_and(|u| web_url(&u) && u.query().is_none() && u.fragment().is_none()),
            // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), space-separated.
            P::ScopeTokens => found.text().is_some_and(|s| {
                !s.is_empty()
                    && s.split(' ').all(|t| {
                        !t.is_empty()
                            && t.bytes()
                                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
                    })
            }),
            // RFC 6750 §3: %x20-21 / %x23-5B / %x5D-7E.
            P::ErrorChars => found
                .text()
                .is_some_and(|s| s.bytes().all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e))),
            P::SignedJws => found.text().is_some_and(signed_jws),
            P::FrameProtected => {
                return match frame_protected(response) {
                    true => Ok(()),
                    false => {
                        let shown = |name: &str| {
                            let values: Vec<&str> = response.header_values(name).collect();
                            match values.is_empty() {
                                true => format!("no {name}"),
                                false => format!("{name}: {}", values.join(", ")),
                            }
                        };
                        broken(format!(
                            "{}; {}",
                            shown("x-frame-options"),
                            shown("content-security-policy")
                        ))
                    }
                };
            }
            P::Refusal => {
                return match crate::http::jsonrpc::refused(response) {
                    true => Ok(()),
                    false => broken(format!("status {}: {}", response.status, found.show())),
                };
            }
        };
        if holds { Ok(()) } else { broken(found.show()) }
    }
}

/// A CSP `frame-ancestors` directive (CSP 3 §6.4.2) that lets no site at large frame the
/// page (no `*`, `http://*`, `https://*` or bare scheme source; a subdomain wildcard of a site
/// is that site's), else `X-Frame-Options: DENY` (RFC 7034; browsers ignore it where a policy
/// has `frame-ancestors`). Several policies (a header each, or comma-separated) all apply: one
/// restrictive directive protects; within a policy the first directive of a name counts.
/// `SAMEORIGIN` is not the DENY the text names; `frame-ancestors 'self'` is a directive.
fn frame_protected(response: &Response) -> bool {
    let policies: Vec<Vec<String>> = response
        .header_values("content-security-policy")
        .flat_map(|header| header.split(','))
        .filter_map(|policy| {
            policy
                .split(';')
                .map(|d| d.split_whitespace().map(str::to_ascii_lowercase).collect::<Vec<_>>())
                .find(|words| words.first().is_some_and(|name| name == "frame-ancestors"))
        })
        .collect();
    if !policies.is_empty() {
        let anyone = |source: &str| {
            matches!(
                source,
                "*" | "http://*" | "https://*" | "http:" | "https:" | "ws:" | "wss:"
            )
        };
        return policies.iter().any(|words| !words[1..].iter().any(|s| anyone(s)));
    }
    let mut options = response.header_values("x-frame-options").flat_map(|v| v.split(','));
    let first = options.next();
    first.is_some_and(|v| v.trim().eq_ignore_ascii_case("deny"))
        && options.all(|v| v.trim().eq_ignore_ascii_case("deny"))
}

/// Whether `token` is a JWS compact serialization that claims protection: its header a JSON
/// object naming an `alg` other than `none`, its payload a JSON object, its signature not
/// empty (an Unsecured JWS has `alg: none` and an empty signature, RFC 7515 Appendix A.5).
fn signed_jws(token: &str) -> bool {
    use base64::Engine;
    let json = |part: &str| {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok()?;
        serde_json::from_slice::<Value>(&bytes).ok().filter(Value::is_object)
    };
    let [header, payload, signature] = token.split('.').collect::<Vec<_>>()[..] else {
        return false;
    };
    let alg = json(header).and_then(|h| h.get("alg")?.as_str().map(str::to_owned));
    alg.is_some_and(|alg| !alg.eq_ignore_ascii_case("none")) && json(payload).is_some() && !signature.is_empty()
}

fn absolute_url(s: &str) -> Result<url::Url, ()> {
    match url::Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(u),
        _ => Err(()),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn page(headers: &[(&str, &str)]) -> Response {
        Response {
            status: 200,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: Vec::new(),
        }
    }

    #[test]
    fn framing_is_forbidden_by_deny_or_a_restrictive_frame_ancestors() {
        let protected = [
            vec![("X-Frame-Options", "DENY")],
            vec![("X-Frame-Options", "deny, DENY")],
            vec![("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")],
            vec![("Content-Security-Policy", "frame-ancestors 'self' https://app.example")],
            vec![("Content-Security-Policy", "default-src 'self', frame-ancestors 'none'")],
            vec![
                ("Content-Security-Policy", "frame-ancestors *"),
                ("Content-Security-Policy", "frame-ancestors 'none'"),
            ],
        ];
        for headers in protected {
            assert!(frame_protected(&page(&headers)), "{headers:?}");
        }
        let frameable = [
            vec![],
            vec![("X-Frame-Options", "SAMEORIGIN")],
            vec![("X-Frame-Options", "DENY, SAMEORIGIN")],
            vec![("Content-Security-Policy", "default-src 'self'")],
            // Browsers ignore X-Frame-Options where frame-ancestors is present.
            vec![
                ("X-Frame-Options", "DENY"),
                ("Content-Security-Policy", "frame-ancestors *"),
            ],
            vec![("Content-Security-Policy", "frame-ancestors https://*")],
            vec![("Content-Security-Policy", "frame-ancestors https:")],
            // Browsers take the first directive of a name.
            vec![("Content-Security-Policy", "frame-ancestors *; frame-ancestors 'none'")],
        ];
        for headers in frameable {
            assert!(!frame_protected(&page(&headers)), "{headers:?}");
        }
    }
}
