//! An MCP answer's JSON-RPC message (a JSON body, or the response event of an SSE stream), and
//! whether the answer served the request or refused it.

use crate::http::Response;

/// A success that is not a JSON-RPC error (plain JSON, or the first response of an SSE answer).
pub fn accepted(response: &Response) -> bool {
    (200..300).contains(&response.status) && message(response).is_some_and(|m| m.get("error").is_none())
}

/// Served: a 2xx whose JSON-RPC message holds a `result`, not a tool result flagged `isError`
/// (how a tool says it did not act).
pub fn served(response: &Response) -> bool {
    (200..300).contains(&response.status)
        && message(response).is_some_and(|m| m.get("result").is_some() && !flagged_error(&m))
}

/// Refused: a 4xx, a JSON-RPC error, or a tool result flagged `isError`. Neither served nor
/// refused: a 5xx (the server failed), and 408, 425 and 429, which say "not now" about the
/// request rather than anything about the credentials it carries.
pub fn refused(response: &Response) -> bool {
    let not_now = matches!(response.status, 408 | 425 | 429);
    ((400..500).contains(&response.status) && !not_now)
        || ((200..300).contains(&response.status)
            && message(response).is_some_and(|m| m.get("error").is_some() || flagged_error(&m)))
}

fn flagged_error(message: &serde_json::Value) -> bool {
    message.pointer("/result/isError") == Some(&serde_json::Value::Bool(true))
}

/// The JSON-RPC message of an answer: its JSON body, or the first response of an SSE answer.
pub fn message(response: &Response) -> Option<serde_json::Value> {
    match response.media_type().as_deref() {
        Some("text/event-stream") => crate::http::sse::first_response(&response.body),
        _ => serde_json::from_slice(&response.body).ok(),
    }
}

/// An answer's status, with the JSON-RPC error it carries if any ("200 with JSON-RPC error
/// -32601: method not found"): a refusal in band reads as one.
pub fn describe(response: &Response) -> String {
    let error = message(response).and_then(|m| m.get("error").cloned());
    match error {
        Some(error) => {
            let code = error.get("code").map(ToString::to_string).unwrap_or_default();
            let text: String = (error.get("message").and_then(|m| m.as_str()).unwrap_or_default())
                .chars()
                .take(120)
                .collect();
            format!("{} with JSON-RPC error {code}: {text}", response.status)
        }
        None => response.status.to_string(),
    }
}
