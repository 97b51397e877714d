//! The evidence record of one HTTP exchange. The client records it as it happened; a verdict
//! redacts it once ([`Exchange::redact`]) before any report prints it.

use serde::{Deserialize, Serialize};

/// Bodies in evidence are cut here; the checks see the whole (capped) body.
pub const EVIDENCE_BODY_LIMIT: usize = 4096;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Exchange {
    pub request: RecordedRequest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<RecordedResponse>,
    /// Why no (complete) response was recorded: timeout, connection refused, body too large.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
    /// Who received the request when the run did not send it: `the run's document host`, for
    /// an authorization server's fetch of a client ID metadata document (an extension of the
    /// report contract).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_by: Option<String>,
    /// Which exchange this is, in this process: two exchanges can read the same once redacted
    /// (a code and its replay), yet they are two pieces of evidence. Copies keep it.
    #[serde(skip)]
    pub seq: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    pub url: String,
    #[serde(serialize_with = "header_objects", deserialize_with = "from_header_objects")]
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RecordedResponse {
    pub status: u16,
    #[serde(serialize_with = "header_objects", deserialize_with = "from_header_objects")]
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body was longer than [`EVIDENCE_BODY_LIMIT`] and is cut in `body`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_truncated: bool,
}

/// Headers as `[{"name": ..., "value": ...}]`: order and repeated fields are evidence.
fn header_objects<S: serde::Serializer>(headers: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    #[derive(Serialize)]
    struct Header<'a> {
        name: &'a str,
        value: &'a str,
    }
    let mut seq = s.serialize_seq(Some(headers.len()))?;
    for (name, value) in headers {
        seq.serialize_element(&Header { name, value })?;
    }
    seq.end()
}

/// Headers read back from `[{"name": ..., "value": ...}]` (`report merge`).
fn from_header_objects<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    #[derive(Deserialize)]
    struct Header {
        name: String,
        value: String,
    }
    let headers = Vec::<Header>::deserialize(d)?;
    Ok(headers.into_iter().map(|h| (h.name, h.value)).collect())
}

impl Exchange {
    /// A number no other exchange of this process has (see [`Exchange::seq`]).
    pub fn next_seq() -> u64 {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Redacts the exchange for a report: credentials by name, then every secret the run
    /// knows by value; then cuts long bodies (after redacting: a token must not be cut in
    /// two before it is recognised). Done once, when a verdict takes the exchange as evidence.
    pub fn redact(&mut self, redactor: &super::redact::Redactor) {
        let content_type = |headers: &[(String, String)]| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v.clone())
        };
        let request = &mut self.request;
        request.url = redactor.url(&request.url);
        if let Some(body) = &mut request.body {
            *body = cut(redactor.body(body, content_type(&request.headers).as_deref())).0;
        }
        for (name, value) in request.headers.iter_mut() {
            *value = redactor.header(name, value);
        }
        if let Some(response) = &mut self.response {
            let redacted = redactor.body(&response.body, content_type(&response.headers).as_deref());
            (response.body, response.body_truncated) = cut(redacted);
            for (name, value) in response.headers.iter_mut() {
                *value = redactor.header(name, value);
            }
        }
        if let Some(error) = &mut self.error {
            *error = redactor.text(error);
        }
    }

    /// One line for messages: `POST http://h/mcp -> 401`.
    pub fn summary(&self) -> String {
        let outcome = match (&self.response, &self.error) {
            (Some(r), _) => r.status.to_string(),
            (None, Some(e)) => e.clone(),
            (None, None) => "no response".to_owned(),
        };
        format!("{} {} -> {}", self.request.method, self.request.url, outcome)
    }
}

/// A body for evidence: at most [`EVIDENCE_BODY_LIMIT`] bytes, cut at a char boundary.
fn cut(text: String) -> (String, bool) {
    if text.len() <= EVIDENCE_BODY_LIMIT {
        return (text, false);
    }
    let mut end = EVIDENCE_BODY_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_owned(), true)
}

impl Exchange {
    /// HTTP-like text of the (already redacted) exchange, for consoles and JUnit.
    pub fn to_text(&self) -> String {
        let mut s = match &self.received_by {
            Some(who) => format!("(sent to {who})\n"),
            None => String::new(),
        };
        s.push_str(&format!("> {} {}\n", self.request.method, self.request.url));
        for (n, v) in &self.request.headers {
            s.push_str(&format!("> {n}: {v}\n"));
        }
        if let Some(body) = &self.request.body {
            s.push_str(&format!(">\n> {body}\n"));
        }
        match (&self.response, &self.error) {
            (Some(r), _) => {
                s.push_str(&format!("< {}\n", r.status));
                for (n, v) in &r.headers {
                    s.push_str(&format!("< {n}: {v}\n"));
                }
                if !r.body.is_empty() {
                    let cut = if r.body_truncated { " [...]" } else { "" };
                    s.push_str(&format!("<\n< {}{cut}\n", r.body.replace('\n', "\n< ")));
                }
            }
            (None, Some(e)) => s.push_str(&format!("! {e}\n")),
            (None, None) => s.push_str("! no response\n"),
        }
        s
    }
}

impl RecordedRequest {
    /// A `curl` command replaying this (redacted) request: secrets stay `[redacted]`, for
    /// whoever reproduces it to fill in.
    pub fn to_curl(&self) -> String {
        // shlex quotes for POSIX shells; a value it refuses (a NUL byte) is left out.
        let quote = |s: &str| shlex::try_quote(s).map(|q| q.into_owned()).unwrap_or_default();
        let mut parts = vec!["curl -i".to_owned()];
        if self.method != "GET" || self.body.is_some() {
            parts.push(format!("-X {}", quote(&self.method)));
        }
        parts.push(quote(&self.url));
        for (name, value) in &self.headers {
            parts.push(format!("-H {}", quote(&format!("{name}: {value}"))));
        }
        if let Some(body) = &self.body {
            parts.push(format!("--data-binary {}", quote(body)));
        }
        parts.join(" ")
    }
}

#[cfg(test)]
mod curl_tests {
    use super::RecordedRequest;

    #[test]
    fn a_request_becomes_a_quoted_curl_command() {
        let request = RecordedRequest {
            method: "POST".to_owned(),
            url: "http://127.0.0.1:3100/mcp?a=1&b=2".to_owned(),
            headers: vec![("Authorization".to_owned(), "Bearer [redacted]".to_owned())],
            body: Some(r#"{"q":"it's"}"#.to_owned()),
        };
        assert_eq!(
            request.to_curl(),
            r#"curl -i -X POST 'http://127.0.0.1:3100/mcp?a=1&b=2' -H 'Authorization: Bearer [redacted]' --data-binary "{\"q\":\"it's\"}""#
        );
        let get = RecordedRequest {
            method: "GET".to_owned(),
            url: "http://h/x".to_owned(),
            headers: Vec::new(),
            body: None,
        };
        assert_eq!(get.to_curl(), "curl -i http://h/x");
    }
}
