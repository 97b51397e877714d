//! The placeholders and variables a case may use, declared once. A name nobody declared is
//! a load error with its line and caret, not a literal `{redirect_urx}` sent to the server or
//! a `var:` subject that can never be present.

/// Every placeholder and what it holds (whether a run has a value for it is the run's
/// business: a case naming one nobody configured skips, naming it).
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("target", "the MCP endpoint under test"),
    ("origin", "the MCP endpoint's origin"),
    (
        "target_case_changed",
        "the MCP endpoint with scheme and host upper-cased",
    ),
    ("issuer", "the authorization server's issuer"),
    ("token_endpoint", "the AS's token endpoint (step `http`)"),
    (
        "authorization_endpoint",
        "the AS's authorization endpoint (step `http`)",
    ),
    ("registration_endpoint", "the AS's registration endpoint (step `http`)"),
    (
        "introspection_endpoint",
        "the AS's introspection endpoint (step `http`)",
    ),
    ("redirect_uri", "the flow's redirect URI"),
    ("redirect_origin", "the redirect URI's origin"),
    (
        "redirect_uri_case_changed",
        "the redirect URI with its path upper-cased",
    ),
    ("redirect_uri_other_port", "the loopback redirect URI on another port"),
    ("redirect_uri_dot_segment", "the redirect URI with a dot segment"),
    ("redirect_uri_userinfo", "the redirect URI with userinfo"),
    (
        "redirect_uri_host_alias",
        "the redirect URI under another name for its host",
    ),
    (
        "redirect_uri_encoded",
        "the redirect URI with a path letter percent-encoded",
    ),
    ("state", "the request's state"),
    ("scope", "the scope the flows ask for"),
    ("narrow_scope", "the configured narrower scope, else the scope"),
    ("scope_beyond_narrow", "a scope beyond the narrow grant"),
    (
        "challenge_scope",
        "the 401 challenge's scope, without offline_access (step `prm`)",
    ),
    (
        "privileged_request",
        "a request needing more scope than the low-scope token has",
    ),
    ("privileged_scope", "the scope the privileged request needs"),
    (
        "broad_scope",
        "a scope the server holds to imply what its first request needs",
    ),
    (
        "second_resource",
        "another resource the same AS serves (else the unknown one)",
    ),
    ("unknown_resource", "a resource no AS serves"),
    ("client_id", "the case's client (token requests)"),
    ("other_client_id", "another registered client"),
    ("code", "the authorization code being redeemed (token requests)"),
    ("verifier", "the PKCE verifier of the authorization"),
    ("other_verifier", "a verifier of no one's"),
    ("challenge", "the S256 challenge the authorization sent"),
    ("short_verifier", "a 42-character verifier"),
    ("short_verifier_challenge", "the S256 challenge of the short verifier"),
    ("access_token", "a valid access token"),
    (
        "access_token_tampered",
        "the valid access token with one character changed",
    ),
    (
        "access_token_unsigned",
        "the valid token's claims as an `alg: none` JWT",
    ),
    (
        "access_token_no_signature",
        "the valid token with its signature part emptied",
    ),
    (
        "access_token_foreign_key",
        "the valid token's claims signed by another key, carried in its `jwk` header",
    ),
    ("resource_metadata", "the no-token 401 challenge's resource_metadata"),
    ("cimd_client", "the URL of the run's valid client ID metadata document"),
    (
        "cimd_chain_client",
        "the document client of the private chains (registration = cimd)",
    ),
    ("cimd_second_client", "a second document client (registration = cimd)"),
    (
        "cimd_client_mismatch",
        "a document URL whose document names the URL with a trailing slash",
    ),
    (
        "cimd_client_other_redirect",
        "a document URL whose document lists only a redirect URI on another host",
    ),
    ("cimd_client_html", "a client id URL that serves an HTML page"),
    ("cimd_client_empty", "a client id URL that serves `{}`"),
    (
        "cimd_client_no_redirect_uris",
        "a client id URL whose document lists no redirect_uris",
    ),
    ("cimd_client_missing", "a client id URL that answers 404"),
    ("cimd_client_fragment", "a client id URL with a fragment"),
    ("cimd_client_userinfo", "a client id URL with userinfo"),
    ("cimd_client_dot_segment", "a client id URL with a dot segment"),
    ("cimd_client_huge", "a valid document padded to 5 MiB"),
    (
        "cimd_client_secret_method",
        "a document naming token_endpoint_auth_method client_secret_basic",
    ),
    ("cimd_client_secret", "a document carrying a client_secret"),
    (
        "cimd_client_fixed_later",
        "a client id URL that answers 404 until a request has named it, then the valid document",
    ),
    (
        "cimd_client_loopback",
        "a valid document named by the host's loopback address (127.0.0.1), not its public URL",
    ),
    ("session_id", "the session a valid first request opens"),
    (
        "state_handle_request",
        "the configured use of a state handle, with one the server minted for the request's token",
    ),
];

/// Every variable a step records (`var:<name>` subjects; `.*`: any name after the dot).
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "stage",
        "how far a chain got: `authorize` (no code), `token`, `refresh` or `reuse`",
    ),
    ("callback", "the redirect the authorization ended on"),
    (
        "callback.*",
        "a parameter of that redirect (code, state, error, iss...)",
    ),
    ("authorization.scope", "the scope the authorization request asked for"),
    (
        "client.application_type",
        "what the registration answered for application_type",
    ),
    ("client.auth_method", "the client's token endpoint auth method"),
    (
        "client.registered",
        "`true` when the flow ran on the client this run registered",
    ),
    (
        "redirect_uri.loopback_ip",
        "`true` when the redirect URI is on a loopback IP literal",
    ),
    (
        "refresh.rotated",
        "`true` when the first refresh gave a new refresh token",
    ),
    (
        "refresh.widened",
        "`true` when a refresh granted more scope than the grant",
    ),
    (
        "repeat.first_status",
        "the first answer's status, of a request sent `repeat` times",
    ),
    (
        "revocation.outcome",
        "`revoked` (200), `unsupported` (unsupported_token_type) or `refused: <status> <error>`",
    ),
    (
        "revocation.before_status",
        "the status of the token's use before it was revoked (MCP request, or refresh)",
    ),
    (
        "replay.issued",
        "`true` when the replayed code issued a token (step `replay_code`)",
    ),
    (
        "replay.error",
        "the replayed code's `error` code (step `replay_code`; empty without one)",
    ),
    (
        "token_scope.granted",
        "the scope a `token_scope` token was granted (its token response's, else the one asked for)",
    ),
    ("sessions.count", "how many sessions step `sessions` opened"),
    (
        "session_owner.owner",
        "`served`, `refused` or else: the state used with its own user's token (step `session_owner`)",
    ),
    (
        "session_owner.unknown",
        "the same, for an id never issued (step `session_owner`)",
    ),
    (
        "session_owner.other",
        "the same, for the state used with the other user's token: the observed request (step `session_owner`)",
    ),
    (
        "session_owner.owner_after",
        "the same, for the state used by its owner again after that (step `session_owner`)",
    ),
    (
        "mcp.answer",
        "`served`, `refused` or what else came back, for an MCP request (step `mcp`)",
    ),
    (
        "state.with_token_after",
        "the same, for the session or handle used with the valid token after the observed request (step `mcp`)",
    ),
    (
        "state_handle.with_token",
        "the same, for the `{state_handle_request}` use sent with the valid token (step `mcp`)",
    ),
    (
        "session_owner.no_token",
        "the same, for the state used without a token (step `session_owner`)",
    ),
    (
        "session_owner.other_alone",
        "the same, for the other user's token in a state of its own (step `session_owner`)",
    ),
    (
        "sessions.unpredictable",
        "`true` when step `sessions`' ids look random, else why not",
    ),
    (
        "sessions.random_bits",
        "the bits that vary between step `sessions`' ids",
    ),
    (
        "proxy_consent.end",
        "`consent` when a page of the proxy's asking consent for the client came before the upstream AS, `forwarded` (under a static client id, no page), `forwarded after a page asking no consent`, `passthrough` (under the client's own id), `served` (a code at once) or else (step `proxy_consent`)",
    ),
    (
        "proxy_consent.cookie_flaws",
        "what each cookie the consent approval set first lacks (`__Host-`, Secure, HttpOnly, SameSite=Lax); empty: nothing (step `proxy_consent`)",
    ),
    (
        "proxy_callback.altered",
        "`served`, `refused` or else: the proxy's callback with an altered state (step `proxy_callback`)",
    ),
    (
        "proxy_callback.missing",
        "the same, for the callback without a state (step `proxy_callback`)",
    ),
    (
        "proxy_callback.other_browser",
        "the same, for the callback sent from another browser, without its cookies (step `proxy_callback`)",
    ),
    (
        "proxy_callback.replay",
        "the same, for the callback sent again after it was served (step `proxy_callback`)",
    ),
    (
        "proxy_callback.reused",
        "the same, for the replayed (spent) state with a fresh upstream code (step `proxy_callback`)",
    ),
    (
        "proxy_callback.controls",
        "`held` when the genuine callback before the replay was served and every tampered one got an answer (or one gave a code: that needs no control), else why not (step `proxy_callback`)",
    ),
    ("prm_url", "where the PRM was found"),
    (
        "mcp_url",
        "the MCP server's URL the run was given (step `mcp_unauthenticated`)",
    ),
    ("hops", "how many redirects the consent driver followed to the callback"),
    ("issuer", "the issuer an AS metadata observation is for"),
    ("challenge_scope", "the 401 challenge's scope (step `prm`)"),
    ("state", "the authorization request's state"),
    (
        "cimd.fetched",
        "`true` when the AS fetched the client ID metadata document the request named",
    ),
    (
        "cimd.fetched_before",
        "how often the run's host had served the document the request named, before it",
    ),
    (
        "cimd.loopback_observable",
        "`true` when the AS is on this machine and the run's documents have another name than 127.0.0.1, same scheme",
    ),
];

pub fn is_declared(name: &str) -> bool {
    PLACEHOLDERS.iter().any(|(n, _)| *n == name)
}

pub fn is_variable(name: &str) -> bool {
    VARIABLES.iter().any(|(n, _)| match n.strip_suffix('*') {
        Some(prefix) => name.len() > prefix.len() && name.starts_with(prefix),
        None => *n == name,
    })
}

/// The declared placeholder closest to an unknown `name`, if one is close.
pub fn closest(name: &str) -> Option<&'static str> {
    nearest(PLACEHOLDERS, name)
}

/// The declared variable closest to an unknown `name`, if one is close.
pub fn closest_variable(name: &str) -> Option<&'static str> {
    nearest(VARIABLES, name)
}

fn nearest(names: &[(&'static str, &str)], name: &str) -> Option<&'static str> {
    closest_of(names.iter().map(|(n, _)| *n), name)
}

/// The name among `names` most like `name`, if one is close enough to be a typo of it.
pub fn closest_of<'a>(names: impl IntoIterator<Item = &'a str>, name: &str) -> Option<&'a str> {
    names
        .into_iter()
        .map(|n| (strsim::jaro_winkler(name, n), n))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n)
}

/// Replaces `{name}` placeholders with their values; names without a value stay as written
/// (a case file cannot name an undeclared one).
/// The first `{name}` placeholder in `changes` that `vars` cannot fill (a configuration the
/// case needs, such as `{privileged_request}`).
pub fn unfilled(
    changes: &[(String, serde_json::Value)],
    vars: &std::collections::BTreeMap<String, String>,
) -> Option<String> {
    let strings = changes.iter().flat_map(|(_, v)| match v {
        serde_json::Value::String(s) => vec![s.as_str()],
        serde_json::Value::Array(items) => items.iter().filter_map(serde_json::Value::as_str).collect(),
        _ => Vec::new(),
    });
    for s in strings {
        for (start, _) in s.match_indices('{') {
            let rest = &s[start + 1..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !name.is_empty() && rest[name.len()..].starts_with('}') && !vars.contains_key(&name) {
                return Some(name);
            }
        }
    }
    None
}

pub fn expand_placeholders(s: &str, vars: &std::collections::BTreeMap<String, String>) -> String {
    let mut out = s.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Each `{name}` inside a string of a TOML fragment, with its byte offset. Scanned by hand:
/// the values that hold placeholders reach us as plain TOML/JSON values, without spans.
/// Strings in case files are one-line basic (`"..."`) or literal (`'...'`) strings; `#` outside
/// a string starts a comment.
pub fn references(text: &str) -> Vec<(usize, &str)> {
    let mut found = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let mut quote: Option<u8> = None;
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match (quote, bytes[i]) {
                (None, b'#') => break,
                (None, q @ (b'"' | b'\'')) => quote = Some(q),
                (Some(b'"'), b'\\') => i += 1,
                (Some(q), c) if c == q => quote = None,
                (Some(_), b'{') => {
                    let name_len = bytes[i + 1..]
                        .iter()
                        .take_while(|b| b.is_ascii_lowercase() || **b == b'_')
                        .count();
                    if name_len > 0 && bytes.get(i + 1 + name_len) == Some(&b'}') {
                        found.push((offset + i, &line[i + 1..i + 1 + name_len]));
                    }
                }
                _ => {}
            }
            i += 1;
        }
        offset += line.len();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfilled_placeholders_are_named_and_json_braces_ignored() {
        let body = |s: &str| [("body".to_owned(), serde_json::json!(s))];
        let vars = std::collections::BTreeMap::from([("access_token".to_owned(), "tok".to_owned())]);
        assert_eq!(unfilled(&body(r#"{"a":{}} {access_token}"#), &vars), None);
        assert_eq!(
            unfilled(&body("{privileged_request}"), &vars).as_deref(),
            Some("privileged_request")
        );
    }

    #[test]
    fn references_are_found_in_strings_only() {
        let text = "set = { a = \"{redirect_uri}#x\", b = '{state}' } # {not_this}\nbody = \"{\\\"k\\\": 1} {code}\"\n";
        let names: Vec<&str> = references(text).into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, ["redirect_uri", "state", "code"]);
        let (at, _) = references(text)[0];
        assert_eq!(&text[at..at + 14], "{redirect_uri}");
    }

    #[test]
    fn a_near_miss_gets_a_suggestion() {
        assert_eq!(closest("redirect_urx"), Some("redirect_uri"));
        assert_eq!(closest("zzz"), None);
        assert_eq!(closest_variable("stag"), Some("stage"));
    }

    #[test]
    fn variables_with_a_wildcard_take_any_name_after_the_dot() {
        assert!(is_variable("callback.code") && is_variable("callback") && is_variable("stage"));
        assert!(!is_variable("callback.") && !is_variable("stages"));
    }
}
