//! `WWW-Authenticate` parsing under the RFC 9110 §11.6.1 challenge grammar (with the §5.6 list
//! rules): several challenges per field, several field lines, token68 or auth-params,
//! quoted-string escapes, commas inside quotes, empty list elements, case-insensitive names.
//!
//! Hand-written because no maintained crate parses the general challenge list (the `headers`
//! crate only knows single Basic/Bearer values) and we need the byte offset of a grammar
//! error to point a caret at it.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// As sent; compare with [`Challenge::is`] (schemes are case-insensitive, §11.1).
    pub scheme: String,
    pub token68: Option<String>,
    /// Names as sent, values unquoted and unescaped, in order (duplicates kept).
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// The first value of a parameter; names are case-insensitive (§11.2).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A parameter name that occurs more than once (forbidden by §11.2).
    pub fn duplicate_param(&self) -> Option<&str> {
        self.params.iter().enumerate().find_map(|(i, (name, _))| {
            self.params[..i]
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
                .then_some(name.as_str())
        })
    }
}

/// A grammar error: where (line of the field, byte in that line) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrammarError {
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The field line the error is in, for the caret display.
    pub source: String,
}

impl fmt::Display for GrammarError {
    /// ```text
    /// WWW-Authenticate: Bearer a="x" Bearer b="y"
    ///                                ^ expected `,` or end of field after an auth-param
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const PREFIX: &str = "WWW-Authenticate: ";
        let pad = PREFIX.len() + self.source[..self.column.min(self.source.len())].chars().count();
        write!(f, "{PREFIX}{}\n{:pad$}^ {}", self.source, "", self.message, pad = pad)
    }
}

/// Parses every field line of `WWW-Authenticate` as one list (§5.3: lines combine with `, `).
pub fn parse_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Result<Vec<Challenge>, GrammarError> {
    let lines: Vec<&str> = lines.into_iter().collect();
    let joined = lines.join(", ");
    parse(&joined).map_err(|(offset, message)| {
        // Map the offset in the joined text back to its line.
        let mut start = 0;
        for (i, line) in lines.iter().enumerate() {
            if offset <= start + line.len() {
                return GrammarError {
                    line: i,
                    column: offset - start,
                    message,
                    source: line.to_string(),
                };
            }
            start += line.len() + 2;
        }
        GrammarError {
            line: 0,
            column: offset,
            message,
            source: joined.clone(),
        }
    })
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// OWS and empty list elements: recipients skip them (§5.6.1.2).
    fn skip_list_separators(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn token(&mut self) -> Option<&str> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        (self.pos > start).then(|| std::str::from_utf8(&self.s[start..self.pos]).unwrap_or(""))
    }

    /// A token68 that stands alone (followed by OWS then end or `,`), else None, cursor kept.
    fn token68(&mut self) -> Option<String> {
        let start = self.pos;
        let mut p = start;
        while self.s.get(p).copied().is_some_and(is_token68_char) {
            p += 1;
        }
        if p == start {
            return None;
        }
        while self.s.get(p) == Some(&b'=') {
            p += 1;
        }
        let mut q = p;
        while matches!(self.s.get(q), Some(b' ' | b'\t')) {
            q += 1;
        }
        if q < self.s.len() && self.s[q] != b',' {
            return None;
        }
        self.pos = p;
        Some(String::from_utf8_lossy(&self.s[start..p]).into_owned())
    }

    fn quoted_string(&mut self) -> Result<String, (usize, String)> {
        let open = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err((open, "unterminated quoted-string".to_owned())),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') => match self.s.get(self.pos + 1).copied() {
                    Some(c) if c == b'\t' || c >= 0x20 && c != 0x7f => {
                        out.push(c);
                        self.pos += 2;
                    }
                    _ => {
                        return Err((
                            self.pos,
                            "invalid quoted-pair: `\\` must escape a visible character".to_owned(),
                        ));
                    }
                },
                Some(c) if c == b'\t' || (c >= 0x20 && c != 0x7f) => {
                    out.push(c);
                    self.pos += 1;
                }
                Some(_) => return Err((self.pos, "control character in quoted-string".to_owned())),
            }
        }
    }
}

/// Parses one (possibly joined) field value. Errors carry the byte offset.
pub fn parse(value: &str) -> Result<Vec<Challenge>, (usize, String)> {
    let mut c = Cursor {
        s: value.as_bytes(),
        pos: 0,
    };
    let mut challenges = Vec::new();
    loop {
        c.skip_list_separators();
        if c.at_end() {
            break;
        }
        let at = c.pos;
        let scheme = c
            .token()
            .ok_or_else(|| (at, "expected an auth-scheme (a token)".to_owned()))?
            .to_owned();
        let mut challenge = Challenge {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        match c.peek() {
            None | Some(b',') => {
                challenges.push(challenge);
                continue;
            }
            Some(b' ') => c.skip_ows(),
            Some(_) => {
                return Err((c.pos, "expected a space or `,` after the auth-scheme".to_owned()));
            }
        }
        // §11.6.1 ambiguity: right after the scheme, a lone token68 (not `name=value`).
        if !matches!(c.peek(), None | Some(b',')) {
            if let Some(t) = c.token68() {
                challenge.token68 = Some(t);
                challenges.push(challenge);
                continue;
            }
        }
        // auth-params until a token that is not followed by `=` (the next challenge's scheme).
        loop {
            c.skip_list_separators();
            if c.at_end() {
                break;
            }
            let item_start = c.pos;
            let Some(name) = c.token().map(str::to_owned) else {
                return Err((c.pos, "expected an auth-param name or a new challenge".to_owned()));
            };
            c.skip_ows();
            if c.peek() != Some(b'=') {
                c.pos = item_start;
                break;
            }
            c.pos += 1;
            c.skip_ows();
            let value = match c.peek() {
                Some(b'"') => c.quoted_string()?,
                _ => {
                    let at = c.pos;
                    let missing = || (at, format!("expected a token or quoted-string value for `{name}`"));
                    c.token().ok_or_else(missing)?.to_owned()
                }
            };
            challenge.params.push((name, value));
            c.skip_ows();
            if !matches!(c.peek(), None | Some(b',')) {
                return Err((c.pos, "expected `,` or end of field after an auth-param".to_owned()));
            }
        }
        challenges.push(challenge);
    }
    Ok(challenges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(v: &str) -> Vec<Challenge> {
        parse(v).unwrap_or_else(|e| panic!("{v}: {e:?}"))
    }

    fn params(c: &Challenge) -> Vec<(&str, &str)> {
        c.params.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
    }

    // Test vectors 1-18 of the requirement catalogue, §4.2.
    #[test]
    fn catalogue_vectors() {
        let c = one(r#"Bearer resource_metadata="https://h/.well-known/oauth-protected-resource""#);
        assert_eq!(c.len(), 1);
        assert_eq!(
            c[0].param("resource_metadata"),
            Some("https://h/.well-known/oauth-protected-resource")
        );

        let c = one(r#"bearer Resource_Metadata="https://h/x""#);
        assert!(c[0].is("Bearer"));
        assert_eq!(c[0].param("resource_metadata"), Some("https://h/x"));

        let c = one(r#"Bearer error=invalid_token, error_description="token expired, renew""#);
        assert_eq!(
            params(&c[0]),
            [
                ("error", "invalid_token"),
                ("error_description", "token expired, renew")
            ]
        );

        let c = one(r#"Basic realm="a, b", Bearer scope="files:read files:write", resource_metadata="https://h/prm""#);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].param("realm"), Some("a, b"));
        assert!(c[1].is("bearer"));
        assert_eq!(c[1].params.len(), 2);

        let c = parse_lines([r#"Basic realm="x""#, r#"Bearer resource_metadata="https://h/prm""#]).unwrap();
        assert_eq!(c.len(), 2);

        let c = one(r#"Negotiate YII+/abc==, Bearer scope="a""#);
        assert_eq!(c[0].token68.as_deref(), Some("YII+/abc=="));
        assert_eq!(c[1].param("scope"), Some("a"));

        let c = one(r#"Bearer realm="say \"hi\"", scope="a""#);
        assert_eq!(c[0].param("realm"), Some(r#"say "hi""#));

        let c = one(r#"Bearer scope = "a b" ,  error = "insufficient_scope""#);
        assert_eq!(params(&c[0]), [("scope", "a b"), ("error", "insufficient_scope")]);

        let c = one(r#"Bearer ,, scope="a","#);
        assert_eq!(c.len(), 1);
        assert_eq!(params(&c[0]), [("scope", "a")]);

        let c = one(r#"Bearer resource_metadata="https://h/prm?x=1,2&y=a=b""#);
        assert_eq!(c[0].param("resource_metadata"), Some("https://h/prm?x=1,2&y=a=b"));

        let c = one(r#"Bearer scope="a", scope="b""#);
        assert_eq!(c[0].duplicate_param(), Some("scope"));

        let c = one("Bearer");
        assert!(c[0].params.is_empty() && c[0].token68.is_none());

        let c = one(r#"Bearer scope="a,b""#);
        assert_eq!(c[0].param("scope"), Some("a,b"));

        let c = one(r#"DPoP algs="ES256", Bearer resource_metadata="https://h/prm""#);
        assert!(c[0].is("dpop") && c[1].is("bearer"));

        let c = one(
            r#"Bearer error="insufficient_scope", scope="files:write", resource_metadata="https://h/prm", error_description="needs write""#,
        );
        assert_eq!(c[0].params.len(), 4);

        let c = one("Bearer realm=example");
        assert_eq!(c[0].param("realm"), Some("example"));

        let err = parse_lines([r#"Bearer resource_metadata="https://h/prm" Bearer scope="x""#]).unwrap_err();
        assert_eq!(err.column, 41);
        assert_eq!(
            err.to_string(),
            "WWW-Authenticate: Bearer resource_metadata=\"https://h/prm\" Bearer scope=\"x\"\n                                                           ^ expected `,` or end of field after an auth-param"
        );
    }

    #[test]
    fn more_shapes() {
        // A scheme alone between challenges, token68 padding, and a trailing bare scheme.
        let c = one(r#"Basic realm="x", Bearer"#);
        assert_eq!(c.len(), 2);
        assert!(c[1].params.is_empty());
        assert_eq!(one("Basic abc=")[0].token68.as_deref(), Some("abc="));
        assert_eq!(one("Basic abc=, Bearer")[1].scheme, "Bearer");
        assert!(one("").is_empty());
        assert!(one(" , ").is_empty());
    }

    #[test]
    fn grammar_errors_point_at_the_byte() {
        let cases = [
            (r#"Bearer realm="x"#, 13, "unterminated quoted-string"),
            ("Bearer realm=\"a\u{1}b\"", 15, "control character in quoted-string"),
            (
                r#"Bearer a="1", scope="#,
                20,
                "expected a token or quoted-string value for `scope`",
            ),
            ("=Bearer", 0, "expected an auth-scheme (a token)"),
            ("Bearer\"x\"", 6, "expected a space or `,` after the auth-scheme"),
            (
                r#"Bearer a="1" ; b="2""#,
                13,
                "expected `,` or end of field after an auth-param",
            ),
        ];
        for (input, offset, message) in cases {
            assert_eq!(parse(input), Err((offset, message.to_owned())), "{input}");
        }
    }

    #[test]
    fn errors_map_to_their_line() {
        let err = parse_lines([r#"Basic realm="x""#, r#"Bearer scope="a" x"#]).unwrap_err();
        assert_eq!((err.line, err.column), (1, 17));
        assert_eq!(err.source, r#"Bearer scope="a" x"#);
    }
}
