//! Property tests (proptest) of what reads hostile input or generates near misses: the
//! WWW-Authenticate parser, the case-file loader and the redirect-URI variants. No input
//! makes them panic, and where a round trip exists it holds.

use proptest::prelude::*;

use crate::check::www_authenticate::{parse, parse_lines};
use crate::diagnostic::SourceFile;

/// A token (RFC 9110 §5.6.2).
fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

/// Any visible ASCII or space, quotes and backslashes included: what a quoted-string carries.
fn quoted_content() -> impl Strategy<Value = String> {
    "[ -~]{0,16}"
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any text, any number of lines: a list of challenges or an error, never a panic, and
    /// the error's caret display never panics either (its column may fall inside a
    /// multi-byte character).
    #[test]
    fn the_parser_never_panics(lines in prop::collection::vec(".{0,40}", 1..4)) {
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        if let Err(e) = parse_lines(refs) {
            let _ = e.to_string();
        }
    }

    /// Challenges written from parts parse back to those parts: schemes, names and values
    /// (unescaped), in order, whether values are tokens or quoted strings.
    #[test]
    fn written_challenges_parse_back(
        challenges in prop::collection::vec(
            (token(), prop::collection::vec((token(), prop_oneof![token(), quoted_content()], any::<bool>()), 0..4)),
            1..4,
        )
    ) {
        let text: Vec<String> = challenges
            .iter()
            .map(|(scheme, params)| {
                let params: Vec<String> = params
                    .iter()
                    .map(|(name, value, quoted)| {
                        let token_ok = !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+.^_`|~-".contains(&b));
                        if *quoted || !token_ok { format!("{name}={}", quote(value)) } else { format!("{name}={value}") }
                    })
                    .collect();
                if params.is_empty() { scheme.clone() } else { format!("{scheme} {}", params.join(", ")) }
            })
            .collect();
        let parsed = parse(&text.join(", ")).map_err(|e| TestCaseError::fail(format!("{e:?} for {text:?}")))?;
        prop_assert_eq!(parsed.len(), challenges.len());
        for (got, (scheme, params)) in parsed.iter().zip(&challenges) {
            prop_assert_eq!(&got.scheme, scheme);
            let want: Vec<(String, String)> = params.iter().map(|(n, v, _)| (n.clone(), v.clone())).collect();
            prop_assert_eq!(&got.params, &want);
        }
    }

    /// Any text as a case file next to the real registry: cases or diagnostics, never a panic,
    /// and a diagnostic renders.
    #[test]
    fn the_case_loader_never_panics(text in case_file()) {
        let registry = crate::case::load_files(Vec::new()).err();
        prop_assert!(registry.is_some(), "no registry is an error, not a panic");
        let files = vec![
            SourceFile { name: "cases/requirements.toml".to_owned(), text: include_str!("../../cases/requirements.toml").to_owned() },
            SourceFile { name: "cases/fuzzed.toml".to_owned(), text },
        ];
        if let Err(errors) = crate::case::load_files(files) {
            let _ = errors.render(false);
        }
    }

    /// For any loopback redirect URI the near misses differ from it where they can, and
    /// stay URLs.
    #[test]
    fn redirect_variants_are_near_misses(port in 1u16.., path in "(/[a-zA-Z0-9._~-]{0,8}){1,3}") {
        let uri = format!("http://127.0.0.1:{port}{path}");
        let vars = crate::oauth::grants::redirect_variants(&uri);
        let other = &vars["redirect_uri_other_port"];
        prop_assert_ne!(other, &uri);
        prop_assert!(url::Url::parse(other).is_ok());
        let changed = &vars["redirect_uri_case_changed"];
        prop_assert!(url::Url::parse(changed).is_ok());
        if path.chars().any(|c| c.is_ascii_lowercase()) {
            prop_assert_ne!(changed, &uri);
        }
    }
}

/// Case-file-shaped text: `[[case]]` tables whose keys and values are drawn from what the
/// format uses, so the loader gets past TOML into validation; and plain noise.
fn case_file() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("requirement"),
        Just("step"),
        Just("given"),
        Just("expect"),
        Just("versions"),
        Just("subject"),
        Just("equals"),
        Just("color"),
    ];
    let value = prop_oneof![
        Just("\"rs.token.invalid-401\"".to_owned()),
        Just("\"mcp\"".to_owned()),
        Just("[{ subject = \"status\", equals = 401 }]".to_owned()),
        Just("[{ subject = \"json:/x\", is = \"bogus\" }]".to_owned()),
        Just("[\"2025-03-26\", \"1999-01-01\"]".to_owned()),
        "[ -~]{0,20}".prop_map(|s| format!("{s:?}")),
        any::<i64>().prop_map(|n| n.to_string()),
    ];
    let table = prop::collection::vec((key, value), 0..6).prop_map(|kvs| {
        let body: Vec<String> = kvs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        format!("[[case]]\n{}\n", body.join("\n"))
    });
    prop_oneof![prop::collection::vec(table, 0..3).prop_map(|t| t.concat()), ".{0,200}",]
}
