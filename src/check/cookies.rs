//! Consent cookies (MCP Security Best Practices, Confused Deputy Problem, Consent Cookie
//! Security): "If using cookies to track consent decisions, they MUST: Use `__Host-` prefix
//! for cookie names; Set `Secure`, `HttpOnly`, and `SameSite=Lax` attributes".

use std::collections::BTreeSet;

use cookie::{Cookie, SameSite};

/// What is wrong with each cookie the approval's answers set (`set_cookie` lines) for the first
/// time (one set earlier in the chain, a load balancer's or the session's, tracks no consent
/// decision; a deletion sets nothing): `name: flaw, flaw`, one per cookie, `; `-separated.
/// Empty: none is wrong (or none is new). `SameSite=Strict` is stricter than the Lax the text
/// names, and passes. `development`: the page is plain http on loopback, where a server may
/// leave out what only https carries (`Secure`, hence `__Host-`), as the run's transport rule
/// lets loopback http be (judge the deployed cookies over https).
pub fn consent_cookie_flaws(set_cookie: &[String], set_before: &BTreeSet<String>, development: bool) -> String {
    let deletion = |c: &Cookie| {
        c.max_age().is_some_and(|age| age.whole_seconds() <= 0)
            || c.expires_datetime()
                .is_some_and(|at| at <= cookie::time::OffsetDateTime::now_utc())
    };
    let flawed: Vec<String> = set_cookie
        .iter()
        .filter_map(|line| Cookie::parse(line.as_str()).ok())
        .filter(|c| !set_before.contains(c.name()) && !deletion(c))
        .filter_map(|c| {
            let mut flaws = Vec::new();
            if !c.name().starts_with("__Host-") && !development {
                flaws.push("no __Host- prefix");
            }
            if c.secure() != Some(true) && !development {
                flaws.push("no Secure");
            }
            if c.http_only() != Some(true) {
                flaws.push("no HttpOnly");
            }
            if !matches!(c.same_site(), Some(SameSite::Lax | SameSite::Strict)) {
                flaws.push("no SameSite=Lax");
            }
            (!flaws.is_empty()).then(|| format!("{}: {}", c.name(), flaws.join(", ")))
        })
        .collect();
    flawed.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent_cookie_flaws_(lines: &[String], before: &BTreeSet<String>) -> String {
        consent_cookie_flaws(lines, before, false)
    }

    #[test]
    fn on_loopback_http_only_what_https_carries_is_left_out() {
        let dev = ["mcp_consent=v; Path=/; HttpOnly; SameSite=Lax".to_owned()];
        assert_eq!(consent_cookie_flaws(&dev, &BTreeSet::new(), true), "");
        let lax_missing = ["mcp_consent=v; Path=/; HttpOnly".to_owned()];
        assert_eq!(
            consent_cookie_flaws(&lax_missing, &BTreeSet::new(), true),
            "mcp_consent: no SameSite=Lax"
        );
    }

    fn answer(cookies: &[&str]) -> Vec<String> {
        cookies.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn a_hardened_cookie_passes_and_each_flaw_is_named() {
        let none = BTreeSet::new();
        let good = "__Host-consent=v; Path=/; Secure; HttpOnly; SameSite=Lax";
        assert_eq!(consent_cookie_flaws_(&answer(&[good]), &none), "");
        let strict = "__Host-consent=v; Path=/; Secure; HttpOnly; SameSite=Strict";
        assert_eq!(consent_cookie_flaws_(&answer(&[strict]), &none), "");
        assert_eq!(
            consent_cookie_flaws_(&answer(&["consent=v; Path=/; HttpOnly", good]), &none),
            "consent: no __Host- prefix, no Secure, no SameSite=Lax"
        );
        let lax_none = "__Host-c=v; Path=/; Secure; SameSite=None";
        assert_eq!(
            consent_cookie_flaws_(&answer(&[lax_none]), &none),
            "__Host-c: no HttpOnly, no SameSite=Lax"
        );
    }

    #[test]
    fn cookies_set_before_the_approval_are_not_judged() {
        let before = BTreeSet::from(["AWSALB".to_owned()]);
        let lb = "AWSALB=x; Expires=Wed, 09 Dec 2026 19:00:00 GMT; Path=/";
        assert_eq!(consent_cookie_flaws_(&answer(&[lb]), &before), "");
        assert_eq!(
            consent_cookie_flaws_(&answer(&["junk"]), &before),
            "",
            "an unparsable line is no cookie"
        );
        let deleted = [
            "old=; Max-Age=0; Path=/",
            "older=; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        ];
        assert_eq!(
            consent_cookie_flaws_(&answer(&deleted), &before),
            "",
            "a deletion sets nothing"
        );
    }
}
