//! The values a case's placeholders take from the run (`{target}`, `{redirect_uri}` and its
//! near misses, `{scope}`...).

use std::collections::BTreeMap;

use super::*;

/// `{redirect_uri}` and its near misses: `{redirect_origin}`, `{redirect_uri_case_changed}`
/// (the path upper-cased) and `{redirect_uri_other_port}` (OAuth 2.1 §8.4.2: the same
/// loopback URI on another port).
pub fn redirect_variants(redirect_uri: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::from([("redirect_uri".to_owned(), redirect_uri.to_owned())]);
    if let Ok(url) = url::Url::parse(redirect_uri) {
        vars.insert("redirect_origin".to_owned(), url.origin().ascii_serialization());
        let changed = format!("{}{}", url.origin().ascii_serialization(), url.path().to_uppercase());
        vars.insert("redirect_uri_case_changed".to_owned(), changed);
        let mut other = url.clone();
        let port = if url.port() == Some(49152) { 49153 } else { 49152 };
        if other.set_port(Some(port)).is_ok() {
            vars.insert("redirect_uri_other_port".to_owned(), other.to_string());
        }
        vars.extend(near_misses(redirect_uri, &url));
    }
    vars
}

/// Redirect URIs a URL parser takes for `uri` and exact string matching does not (OAuth 2.1
/// §2.3.1): with a dot segment, with userinfo, under another name for its host, with one
/// path character percent-encoded. Built on the text, so each differs from `uri` only there.
pub(crate) fn near_misses(uri: &str, url: &url::Url) -> Vec<(String, String)> {
    let origin_end = uri.find("://").map_or(0, |i| i + 3);
    let path_start = uri[origin_end..].find('/').map_or(uri.len(), |i| origin_end + i);
    let (origin, rest) = uri.split_at(path_start);
    let rest = if rest.is_empty() { "/" } else { rest };
    let (scheme, authority) = origin.split_at(origin_end);
    let alias = match url.host() {
        Some(url::Host::Ipv4(_)) | Some(url::Host::Ipv6(_)) => "localhost".to_owned(),
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => "127.0.0.1".to_owned(),
        // A fully qualified name: the same host to DNS, another string to compare.
        Some(url::Host::Domain(d)) => format!("{d}."),
        None => String::new(),
    };
    let aliased = match url.port() {
        Some(port) => format!("{alias}:{port}"),
        None => alias,
    };
    // The first letter of the path as %XX (`/callback` → `/%63allback`).
    let encoded = match rest.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, c)) => format!("{}%{:02X}{}", &rest[..i], c as u32, &rest[i + 1..]),
        None => format!("{rest}%2E"),
    };
    [
        ("redirect_uri_dot_segment", format!("{origin}/mcp-conformance/..{rest}")),
        (
            "redirect_uri_userinfo",
            format!("{scheme}mcp-conformance@{authority}{rest}"),
        ),
        ("redirect_uri_host_alias", format!("{scheme}{aliased}{rest}")),
        ("redirect_uri_encoded", format!("{origin}{encoded}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// `{scope}`, `{narrow_scope}` (the configured narrower set, else the scope itself) and
/// `{scope_beyond_narrow}`: a request beyond the narrow grant, the full scope when it is wider,
/// else the scope plus one the AS cannot know.
pub(crate) fn scope_placeholders(scope: Option<&str>, narrow: Option<&str>) -> [(String, String); 3] {
    let scope = scope.unwrap_or_default();
    let narrow = narrow.unwrap_or(scope);
    let wider = scope
        .split_whitespace()
        .any(|s| !narrow.split_whitespace().any(|n| n == s));
    let beyond = if wider {
        scope.to_owned()
    } else {
        format!("{scope} {UNKNOWN_SCOPE}").trim_start().to_owned()
    };
    [
        ("scope".to_owned(), scope.to_owned()),
        ("narrow_scope".to_owned(), narrow.to_owned()),
        ("scope_beyond_narrow".to_owned(), beyond),
    ]
}

/// A resource no AS serves (RFC 6761 reserves `.invalid`).
pub(crate) const UNKNOWN_RESOURCE: &str = "https://other-resource.invalid/mcp";

/// A scope no AS defines (for "unknown scope" checks).
pub(crate) const UNKNOWN_SCOPE: &str = "mcp-conformance-unknown-scope";

impl Grants {
    /// Placeholders every case can use: `{target}`, `{origin}`, and the flow's redirect URI
    /// with its near-miss variants (`{redirect_origin}`, `{redirect_uri_case_changed}`).
    pub fn globals(&self) -> BTreeMap<String, String> {
        let mut vars = self.discovered.target.globals();
        vars.extend(redirect_variants(&self.redirect_uri));
        // RFC 8707 tests need resources that are not this server: `{second_resource}`, another
        // one the same AS serves (configured; else the unknown one), and `{unknown_resource}`,
        // one that cannot exist (`.invalid`, RFC 6761).
        let second = self.config.second_resource.clone();
        vars.insert(
            "second_resource".to_owned(),
            second.unwrap_or_else(|| UNKNOWN_RESOURCE.to_owned()),
        );
        vars.insert("unknown_resource".to_owned(), UNKNOWN_RESOURCE.to_owned());
        let privileged = [
            ("privileged_request", &self.config.privileged_request),
            ("privileged_scope", &self.config.privileged_scope),
            ("broad_scope", &self.config.broad_scope),
        ];
        for (name, value) in privileged {
            if let Some(value) = value {
                vars.insert(name.to_owned(), value.clone());
            }
        }
        vars
    }
}

#[cfg(test)]
mod tests {
    use super::{redirect_variants, scope_placeholders};

    /// Each near miss differs from the registered URI as text, where a URL parser sees none.
    #[test]
    fn redirect_uri_near_misses() {
        let cases = [
            (
                "http://127.0.0.1:33418/callback",
                [
                    "http://127.0.0.1:33418/mcp-conformance/../callback",
                    "http://mcp-conformance@127.0.0.1:33418/callback",
                    "http://localhost:33418/callback",
                    "http://127.0.0.1:33418/%63allback",
                ],
            ),
            (
                "http://[::1]:8080/cb?x=1",
                [
                    "http://[::1]:8080/mcp-conformance/../cb?x=1",
                    "http://mcp-conformance@[::1]:8080/cb?x=1",
                    "http://localhost:8080/cb?x=1",
                    "http://[::1]:8080/%63b?x=1",
                ],
            ),
            (
                "https://Client.example/cb",
                [
                    "https://Client.example/mcp-conformance/../cb",
                    "https://mcp-conformance@Client.example/cb",
                    "https://client.example./cb",
                    "https://Client.example/%63b",
                ],
            ),
        ];
        let names = ["dot_segment", "userinfo", "host_alias", "encoded"];
        for (uri, want) in cases {
            let vars = redirect_variants(uri);
            for (name, want) in names.iter().zip(want) {
                assert_eq!(vars[&format!("redirect_uri_{name}")], want, "{uri}: {name}");
            }
        }
    }

    fn beyond(scope: Option<&str>, narrow: Option<&str>) -> String {
        scope_placeholders(scope, narrow)[2].1.clone()
    }

    #[test]
    fn beyond_the_narrow_scope_is_the_full_scope_when_wider_else_an_unknown_one() {
        assert_eq!(beyond(Some("read write"), Some("read")), "read write");
        assert_eq!(beyond(Some("read"), None), "read mcp-conformance-unknown-scope");
        assert_eq!(beyond(Some("read"), Some("read")), "read mcp-conformance-unknown-scope");
        assert_eq!(beyond(None, None), "mcp-conformance-unknown-scope");
    }
}
