//! Consent cookies (MCP Security Best Practices, Confused Deputy Problem, Consent Cookie
//! Security): "If using cookies to track consent decisions, they MUST: Use `__Host-` prefix
//! for cookie names; Set `Secure`, `HttpOnly`, and `SameSite=Lax` attributes".

use cookie::{Cookie, SameSite};

/// What is wrong with each consent cookie the approval's answers set (`set_cookie` lines):
/// `name: flaw, flaw`, one per cookie, `; `-separated; empty: none is wrong, or none was set.
/// A consent cookie is one whose name says so (`consent`, any case), set anew or again at
/// approval: a load balancer's, a flash message's or the upstream hop's state cookie tracks
/// no consent decision (a consent cookie named otherwise goes unjudged). A deletion sets
/// nothing. `SameSite=Strict` is stricter than the Lax the text names, and passes.
/// `development`: the page is plain http on loopback, where a server may leave out what only
/// https carries (`Secure`, hence `__Host-`), as the run's transport rule lets loopback http
/// be (judge the deployed cookies over https).
pub fn consent_cookie_flaws(set_cookie: &[String], development: bool) -> String {
    let deletion = |c: &Cookie| {
        c.max_age().is_some_and(|age| age.whole_seconds() <= 0)
            || c.expires_datetime()
                .is_some_and(|at| at <= cookie::time::OffsetDateTime::now_utc())
    };
    let flawed: Vec<String> = set_cookie
        .iter()
        .filter_map(|line| Cookie::parse(line.as_str()).ok())
        .filter(|c| c.name().to_ascii_lowercase().contains("consent") && !deletion(c))
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

    fn lines(cookies: &[&str]) -> Vec<String> {
        cookies.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn a_hardened_consent_cookie_passes_and_each_flaw_is_named() {
        let good = "__Host-consent=v; Path=/; Secure; HttpOnly; SameSite=Lax";
        assert_eq!(consent_cookie_flaws(&lines(&[good]), false), "");
        let strict = "__Host-consent=v; Path=/; Secure; HttpOnly; SameSite=Strict";
        assert_eq!(consent_cookie_flaws(&lines(&[strict]), false), "");
        assert_eq!(
            consent_cookie_flaws(&lines(&["mcp_consent=v; Path=/; HttpOnly", good]), false),
            "mcp_consent: no __Host- prefix, no Secure, no SameSite=Lax"
        );
        let none = "__Host-Consent=v; Path=/; Secure; SameSite=None";
        assert_eq!(
            consent_cookie_flaws(&lines(&[none]), false),
            "__Host-Consent: no HttpOnly, no SameSite=Lax"
        );
    }

    #[test]
    fn only_consent_cookies_are_judged_and_a_deletion_sets_nothing() {
        let others = [
            "AWSALB=x; Path=/",
            "flash=approved; Path=/",
            "__Secure-authjs.state=s; Secure; HttpOnly",
        ];
        assert_eq!(consent_cookie_flaws(&lines(&others), false), "");
        assert_eq!(
            consent_cookie_flaws(&lines(&["junk"]), false),
            "",
            "an unparsable line is no cookie"
        );
        let deleted = [
            "consent=; Max-Age=0; Path=/",
            "consent2=; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        ];
        assert_eq!(consent_cookie_flaws(&lines(&deleted), false), "");
    }

    #[test]
    fn on_loopback_http_only_what_https_carries_is_left_out() {
        let dev = ["mcp_consent=v; Path=/; HttpOnly; SameSite=Lax".to_owned()];
        assert_eq!(consent_cookie_flaws(&dev, true), "");
        let lax_missing = ["mcp_consent=v; Path=/; HttpOnly".to_owned()];
        assert_eq!(consent_cookie_flaws(&lax_missing, true), "mcp_consent: no SameSite=Lax");
    }
}
