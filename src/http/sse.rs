//! Just enough of Server-Sent Events (HTML Living Standard §9.2) to tell when an SSE answer
//! holds its JSON-RPC response. A crate such as `eventsource-stream` would want to own the
//! byte stream; the client only needs to scan the prefix it has buffered, so a dozen lines do.

/// Whether `body` holds a complete event whose data is a JSON-RPC response (an object with
/// an `id` and a `result` or an `error`).
pub fn has_response(body: &[u8]) -> bool {
    first_response(body).is_some()
}

/// The first complete event whose data is a JSON-RPC response.
pub fn first_response(body: &[u8]) -> Option<serde_json::Value> {
    let text = String::from_utf8_lossy(body).replace("\r\n", "\n").replace('\r', "\n");
    // Only complete events: those a blank line ends.
    let end = text.rfind("\n\n")?;
    text[..end].split("\n\n").find_map(|event| {
        let data: Vec<&str> = event
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        let message = serde_json::from_str::<serde_json::Value>(&data.join("\n")).ok()?;
        let response =
            message.get("id").is_some() && (message.get("result").is_some() || message.get("error").is_some());
        response.then_some(message)
    })
}

#[cfg(test)]
mod tests {
    use super::has_response;

    #[test]
    fn a_response_event_is_found_once_complete() {
        let response = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n";
        assert!(has_response(response.as_bytes()));
        assert!(
            !has_response(&response.as_bytes()[..response.len() - 1]),
            "not yet complete"
        );
        let crlf = response.replace('\n', "\r\n");
        assert!(has_response(crlf.as_bytes()));
        let split =
            "data: {\"jsonrpc\":\"2.0\",\n data: \"id\":1,\"error\":{\"code\":-1}}\n\n".replace("\n data", "\ndata");
        assert!(has_response(split.as_bytes()), "data lines join");
    }

    #[test]
    fn notifications_requests_and_comments_are_not_the_response() {
        let notification = "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n";
        assert!(!has_response(notification.as_bytes()));
        let request = "data: {\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"sampling/createMessage\"}\n\n";
        assert!(!has_response(request.as_bytes()));
        assert!(!has_response(b": keep-alive\n\n"));
        assert!(!has_response(b""));
    }
}
