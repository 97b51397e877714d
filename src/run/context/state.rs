//! State a server keeps for a client across requests: up to 2025-11-25 a session (the
//! `Mcp-Session-Id` its first answer assigns), from 2026-07-28 a state handle (MCP is stateless;
//! a server that needs state mints a handle, e.g. a cart id, and takes it back as a tool
//! argument: config `[state_handle]`). The session and handle checks open and use it alike.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::http::{Exchange, HttpError, Response, jsonrpc};
use crate::run::bearer;
use crate::spec::SpecVersion;

use super::Context;

/// What a client sends once its session is open (MCP lifecycle: before any other request).
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// Why a 2026-07-28 run cannot judge state handles.
pub(super) const NO_STATE_HANDLE: &str = "needs `[state_handle]` in the target configuration (--config): how your server mints a state handle and how a \
     request uses one";

/// What opening one session, or minting one state handle, gave.
pub(super) struct Opened {
    pub exchanges: Vec<Exchange>,
    pub response: Option<Response>,
    /// The session id or handle, or why there is none.
    pub id: Result<String, String>,
}

impl Context {
    /// Whether the run's version keeps state in handles (2026-07-28+) rather than sessions.
    pub(super) fn uses_handles(&self) -> bool {
        self.target.version >= SpecVersion::V2026_07_28
    }

    /// Opens a session with `token` as a client does (the version's first request, then
    /// `notifications/initialized` in it), or mints a state handle with it.
    pub(super) async fn open_state(&self, token: &str) -> Opened {
        let handles = self.uses_handles();
        let config = self.config.state_handle.as_ref();
        let changes = match (handles, config) {
            (false, _) => Vec::new(),
            (true, Some(config)) => vec![("body".to_owned(), Value::from(config.mint.as_str()))],
            (true, None) => {
                return Opened {
                    exchanges: Vec::new(),
                    response: None,
                    id: Err(NO_STATE_HANDLE.to_owned()),
                };
            }
        };
        let vars = BTreeMap::from([("access_token".to_owned(), token.to_owned())]);
        let (exchange, result) = self
            .client
            .send(&bearer::request(&self.target, &changes, &[], &vars))
            .await;
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                return Opened {
                    exchanges: vec![exchange],
                    response: None,
                    id: Err(format!("no answer: {e}")),
                };
            }
        };
        let id = match config.filter(|_| handles) {
            None => response
                .header_values("mcp-session-id")
                .next()
                .map(str::to_owned)
                .ok_or_else(|| {
                    format!(
                        "the valid request (status {}) opened no session (no Mcp-Session-Id)",
                        response.status
                    )
                }),
            Some(config) => handle_in(&response, &config.pointer).ok_or_else(|| {
                format!(
                    "the mint request (status {}) gave no handle at `{}` (config state_handle.pointer)",
                    response.status, config.pointer
                )
            }),
        };
        // A session id or handle is a credential where the server lets it stand for the user.
        if let Ok(id) = &id {
            self.client.redactor().learn_secret(id);
        }
        let mut exchanges = vec![exchange];
        if let (Ok(session), false) = (&id, handles) {
            let mut changes = self.session_headers(session);
            changes.push(("body".to_owned(), Value::from(INITIALIZED)));
            let (exchange, _) = self
                .client
                .send(&bearer::request(&self.target, &changes, &[], &vars))
                .await;
            exchanges.push(exchange);
        }
        Opened {
            exchanges,
            response: Some(response),
            id,
        }
    }

    /// The headers of a request inside session `id`: the id, and from 2025-06-18 the
    /// negotiated version (the client MUST send it on every later request).
    fn session_headers(&self, id: &str) -> Vec<(String, Value)> {
        let mut headers = vec![("Mcp-Session-Id".to_owned(), Value::from(id))];
        if self.target.version >= SpecVersion::V2025_06_18 {
            let version = self.target.version.protocol_version();
            headers.push(("MCP-Protocol-Version".to_owned(), Value::from(version)));
        }
        headers
    }

    /// The changes to the valid request that make it a request in state `id`: `tools/list`
    /// inside the session with JSON-RPC id `n` (ids are not reused within a session), or the
    /// configured use of a handle.
    pub(super) fn in_state(&self, id: &str, n: u32) -> Vec<(String, Value)> {
        match self.config.state_handle.as_ref().filter(|_| self.uses_handles()) {
            Some(config) => vec![("body".to_owned(), Value::from(handle_request(&config.request, id)))],
            None => {
                let mut changes = self.session_headers(id);
                let body = format!(r#"{{"jsonrpc":"2.0","id":{n},"method":"tools/list"}}"#);
                changes.push(("body".to_owned(), Value::from(body)));
                changes
            }
        }
    }
}

/// The configured use request with `handle` in place of `{state_handle}`: inside quotes as
/// JSON string content (escaped), bare as a number (or, if it is none, a JSON string).
pub(super) fn handle_request(template: &str, handle: &str) -> String {
    let quoted = Value::from(handle).to_string();
    let bare = match serde_json::from_str::<serde_json::Number>(handle) {
        Ok(number) => number.to_string(),
        Err(_) => quoted.clone(),
    };
    template
        .replace("\"{state_handle}\"", &quoted)
        .replace("{state_handle}", &bare)
}

/// An id of the same shape as `id` that the server never issued: its last six letters and
/// digits changed within their kind (digit to digit, hex letter to hex letter, other letters
/// within their case), so a server checking the format still looks it up.
pub(super) fn unknown_like(id: &str) -> String {
    let mut chars: Vec<char> = id.chars().collect();
    let shift = |c: char| match c {
        '0'..='8' => char::from(c as u8 + 1),
        '9' => '0',
        'a'..='e' | 'A'..='E' => char::from(c as u8 + 1),
        'f' => 'a',
        'F' => 'A',
        'g'..='y' | 'G'..='Y' => char::from(c as u8 + 1),
        'z' => 'g',
        'Z' => 'G',
        other => other,
    };
    for c in chars.iter_mut().rev().filter(|c| c.is_ascii_alphanumeric()).take(6) {
        *c = shift(*c);
    }
    let unknown: String = chars.into_iter().collect();
    match unknown == id {
        true => format!("{id}-unknown"),
        false => unknown,
    }
}

/// `served`, `refused` or what else came back (a 5xx, a 429, no answer).
pub(super) fn outcome(answer: &Result<Response, HttpError>) -> String {
    match answer {
        Ok(r) if jsonrpc::served(r) => "served".to_owned(),
        Ok(r) if jsonrpc::refused(r) => "refused".to_owned(),
        Ok(r) => format!("neither served nor refused (status {})", r.status),
        Err(e) => format!("no answer: {e}"),
    }
}

/// The handle at `pointer` in a JSON-RPC answer (JSON, or the response event of an SSE
/// stream): a string, or a number written out.
fn handle_in(response: &Response, pointer: &str) -> Option<String> {
    match crate::http::jsonrpc::message(response)?.pointer(pointer)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::handle_request;

    #[test]
    fn an_unknown_id_keeps_the_shape_of_a_real_one() {
        use super::unknown_like;
        let uuid = "3f2b8c1e-9a4d-4e6f-b0c2-7d9e1f3a5b6c";
        let unknown = unknown_like(uuid);
        assert_ne!(unknown, uuid);
        assert_eq!(unknown.len(), uuid.len());
        assert_eq!(
            &unknown[..24],
            &uuid[..24],
            "only the last six letters and digits change"
        );
        assert!(unknown[24..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(unknown_like("ab-41"), "bc-52");
        assert_eq!(unknown_like("1999"), "2000");
        assert_eq!(unknown_like("---"), "----unknown");
    }

    #[test]
    fn a_numeric_handle_goes_in_bare_where_the_template_has_no_quotes() {
        let bare = r#"{"params":{"arguments":{"cart":{state_handle}}}}"#;
        assert_eq!(handle_request(bare, "42"), r#"{"params":{"arguments":{"cart":42}}}"#);
        assert_eq!(
            handle_request(bare, "a-1"),
            r#"{"params":{"arguments":{"cart":"a-1"}}}"#
        );
    }

    #[test]
    fn a_handle_is_written_as_json_string_content() {
        let template = r#"{"params":{"arguments":{"cart_id":"{state_handle}"}}}"#;
        let filled = handle_request(template, r#"a"b\c"#);
        let parsed: serde_json::Value = serde_json::from_str(&filled).expect("still JSON");
        assert_eq!(parsed.pointer("/params/arguments/cart_id").unwrap(), r#"a"b\c"#);
    }
}
