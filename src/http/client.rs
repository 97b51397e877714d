//! The one HTTP client: no automatic redirects, a deadline per exchange (headers and body),
//! a body cap, and an [`Exchange`] recorded for every request, answered or not (redacted
//! when a verdict takes it).

use std::time::{Duration, Instant};

use super::exchange::{Exchange, RecordedRequest, RecordedResponse};
use super::hosts::HostPolicy;
use super::redact::Redactor;

/// The longest `Retry-After` (seconds) the client waits out before sending a request again.
pub const SHORT_RETRY_AFTER: u64 = 2;

/// Bodies beyond this are refused: a metadata document or challenge is never this large.
pub const DEFAULT_BODY_CAP: usize = 1024 * 1024;

/// A request as a value: cases and actions build these; only the client sends them.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Request {
    pub fn get(url: impl Into<String>) -> Self {
        Request {
            method: "GET".to_owned(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn post(url: impl Into<String>, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Request {
            method: "POST".to_owned(),
            url: url.into(),
            headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            body: Some(body.into()),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// A complete response (body within the cap).
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    /// In arrival order; a field sent on several lines appears several times.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// Every value of a header field, in order (names compare case-insensitively).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The media type of `Content-Type`, lower-cased, without parameters.
    pub fn media_type(&self) -> Option<String> {
        let value = self.header_values("content-type").next()?;
        let media = value.split(';').next().unwrap_or("").trim();
        Some(media.to_ascii_lowercase())
    }
}

/// Why an exchange gave no usable response. These become `error` verdicts, never `fail`.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum HttpError {
    #[error("invalid request URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("no complete response within {secs} s")]
    Timeout { secs: u64 },
    #[error("response body exceeds {limit} bytes")]
    BodyTooLarge { limit: usize },
    /// 429: the target throttles the suite. Not a verdict on any requirement.
    #[error("the target throttled the suite (429 Too Many Requests{}); wait or restart it, then run again", retry_after.as_ref().map(|r| format!(", Retry-After: {r}")).unwrap_or_default())]
    Throttled { retry_after: Option<String> },
    #[error("could not connect: {0}")]
    Connect(String),
    /// A host outside the run's [`HostPolicy`]: nothing was sent.
    #[error(
        "<{url}> is on host `{host}`, outside the hosts of this run (the target's, its advertised issuers', the configured endpoints' and --allow-host's); it was not contacted"
    )]
    HostNotAllowed { url: String, host: String },
    #[error("HTTP error: {0}")]
    Other(String),
}

#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    /// Built once: loading the platform's trust roots costs milliseconds, and every
    /// authorization chain gets a client (a cookie session) of its own.
    tls: std::sync::Arc<rustls::ClientConfig>,
    timeout: Duration,
    body_cap: usize,
    redactor: Redactor,
    hosts: HostPolicy,
    /// Names answered without DNS (`--resolve`): a server reached by its public name.
    resolves: Vec<(String, std::net::SocketAddr)>,
}

impl HttpClient {
    pub fn new(timeout: Duration, redactor: Redactor) -> Result<Self, HttpError> {
        Self::trusting(timeout, redactor, Vec::new())
    }

    /// As [`HttpClient::new`], also trusting `extra_roots` (`--ca-cert`: a test server's own
    /// CA). Without them an untrusted certificate is an error, never waved through.
    pub fn trusting(
        timeout: Duration,
        redactor: Redactor,
        extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    ) -> Result<Self, HttpError> {
        install_crypto_provider();
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra_roots, provider.clone())
            .map_err(|e| HttpError::Other(e.to_string()))?;
        // `dangerous()` is only rustls's door to a custom verifier: this one is the platform's
        // own (what `with_platform_verifier` installs), with the extra roots.
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| HttpError::Other(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(std::sync::Arc::new(verifier))
            .with_no_client_auth();
        let tls = std::sync::Arc::new(tls);
        let inner = Self::builder(timeout, &tls, &[])
            .build()
            .map_err(|e| HttpError::Other(e.to_string()))?;
        Ok(HttpClient {
            inner,
            tls,
            timeout,
            body_cap: DEFAULT_BODY_CAP,
            redactor,
            hosts: HostPolicy::default(),
            resolves: Vec::new(),
        })
    }

    /// This client, and every session made from it, reaching each `(name, address)` without
    /// DNS (`--resolve`): a server tested under its public name on another machine.
    pub fn resolving(self, resolves: Vec<(String, std::net::IpAddr)>) -> Result<Self, HttpError> {
        // Port 0: the URL's own port is used.
        let resolves: Vec<_> = resolves
            .into_iter()
            .map(|(name, ip)| (name, std::net::SocketAddr::new(ip, 0)))
            .collect();
        let inner = Self::builder(self.timeout, &self.tls, &resolves)
            .build()
            .map_err(|e| HttpError::Other(e.to_string()))?;
        Ok(HttpClient {
            inner,
            resolves,
            ..self
        })
    }

    /// A client with its own cookie jar (a browser session for one authorization chain),
    /// otherwise configured as this one.
    pub fn session(&self) -> Result<HttpClient, HttpError> {
        let inner = Self::builder(self.timeout, &self.tls, &self.resolves)
            .cookie_store(true)
            .build()
            .map_err(|e| HttpError::Other(e.to_string()))?;
        Ok(HttpClient { inner, ..self.clone() })
    }

    fn builder(
        timeout: Duration,
        tls: &rustls::ClientConfig,
        resolves: &[(String, std::net::SocketAddr)],
    ) -> reqwest::ClientBuilder {
        let builder = resolves
            .iter()
            .fold(reqwest::Client::builder(), |b, (name, addr)| b.resolve(name, *addr));
        builder
            .use_preconfigured_tls(tls.clone())
            // Redirects are evidence, not something to follow silently (discovery rules
            // and redirect-URI checks depend on seeing them).
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            // No connection is reused: a server may close an idle one at any time without
            // saying so (RFC 9112 §9.5), and a request sent on it then fails after the server
            // may have read it, so it cannot safely be sent again (a code redemption). A fresh
            // connection per exchange costs about 60 ms of a full run against the embedded
            // reference (2026-12 benchmark: median 41 ms pooled, 101 ms not).
            .pool_max_idle_per_host(0)
            .connect_timeout(timeout)
            .user_agent(concat!("mcp-auth-conformance/", env!("CARGO_PKG_VERSION")))
    }

    /// The names this client reaches without DNS, and where (`--resolve`).
    pub fn resolves(&self) -> Vec<(String, std::net::IpAddr)> {
        self.resolves
            .iter()
            .map(|(name, addr)| (name.clone(), addr.ip()))
            .collect()
    }

    /// The deadline of each exchange.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// This client, and every session made from it, contacting only the hosts of `policy`.
    pub fn restricted_to(self, policy: HostPolicy) -> Self {
        HttpClient { hosts: policy, ..self }
    }

    /// This client, reading bodies up to `cap` bytes (the default is [`DEFAULT_BODY_CAP`]).
    pub fn with_body_cap(self, cap: usize) -> Self {
        HttpClient { body_cap: cap, ..self }
    }

    /// The hosts this client contacts.
    pub fn hosts(&self) -> &HostPolicy {
        &self.hosts
    }

    /// Sends one request. The exchange is always recorded, also when it failed. A 429 with a
    /// short `Retry-After` (at most [`SHORT_RETRY_AFTER`] seconds) is waited out and the
    /// request sent once more; a longer one is the target throttling the run.
    pub async fn send(&self, request: &Request) -> (Exchange, Result<Response, HttpError>) {
        let (exchange, result) = self.send_once(request).await;
        let wait = match &result {
            Err(HttpError::Throttled {
                retry_after: Some(after),
            }) => after.trim().parse::<u64>().ok(),
            _ => None,
        };
        match wait {
            Some(secs) if secs <= SHORT_RETRY_AFTER => {
                tokio::time::sleep(Duration::from_secs(secs)).await;
                self.send_once(request).await
            }
            _ => (exchange, result),
        }
    }

    async fn send_once(&self, request: &Request) -> (Exchange, Result<Response, HttpError>) {
        let started = Instant::now();
        if !self.hosts.allows(&request.url) {
            let refused = Err(HttpError::HostNotAllowed {
                url: request.url.clone(),
                host: super::Hosts::host_of(&request.url),
            });
            return (self.record(request, &refused, started.elapsed()), refused);
        }
        let result = match tokio::time::timeout(self.timeout, self.send_inner(request)).await {
            Ok(result) => result,
            Err(_) => Err(HttpError::Timeout {
                secs: self.timeout.as_secs(),
            }),
        };
        let exchange = self.record(request, &result, started.elapsed());
        // Recorded as answered (the evidence shows the 429), judged as could-not-tell.
        let result = result.and_then(|r| match r.status {
            429 => Err(HttpError::Throttled {
                retry_after: r.header_values("retry-after").next().map(str::to_owned),
            }),
            _ => Ok(r),
        });
        (exchange, result)
    }

    async fn send_inner(&self, request: &Request) -> Result<Response, HttpError> {
        let url = reqwest::Url::parse(&request.url).map_err(|e| HttpError::InvalidUrl {
            url: request.url.clone(),
            reason: e.to_string(),
        })?;
        let method =
            reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|e| HttpError::Other(e.to_string()))?;
        let mut builder = self.inner.request(method, url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let mut response = builder.send().await.map_err(|e| classify(e, self.timeout))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let stream = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/event-stream"));
        while let Some(chunk) = response.chunk().await.map_err(|e| classify(e, self.timeout))? {
            if body.len() + chunk.len() > self.body_cap {
                return Err(HttpError::BodyTooLarge { limit: self.body_cap });
            }
            body.extend_from_slice(&chunk);
            // An SSE answer is judged on its first JSON-RPC response: a server may keep the
            // stream open after it (MCP Streamable HTTP only says it SHOULD close it).
            if stream && super::sse::has_response(&body) {
                break;
            }
        }
        Ok(Response { status, headers, body })
    }

    /// The exchange as it happened, whole and unredacted until its verdict (see
    /// [`Exchange::redact`]); the redactor learns the credentials the response carries now.
    fn record(&self, request: &Request, result: &Result<Response, HttpError>, elapsed: Duration) -> Exchange {
        let (response, error) = match result {
            Ok(resp) => {
                self.redactor.learn_response(&resp.headers, &resp.body);
                let recorded = RecordedResponse {
                    status: resp.status,
                    headers: resp.headers.clone(),
                    body: String::from_utf8_lossy(&resp.body).into_owned(),
                    body_truncated: false,
                };
                (Some(recorded), None)
            }
            Err(e) => (None, Some(e.to_string())),
        };
        Exchange {
            request: RecordedRequest {
                method: request.method.clone(),
                url: request.url.clone(),
                headers: request.headers.clone(),
                body: request.body.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()),
            },
            response,
            error,
            duration_ms: elapsed.as_millis() as u64,
            received_by: None,
            seq: Exchange::next_seq(),
        }
    }
}

fn classify(e: reqwest::Error, timeout: Duration) -> HttpError {
    if e.is_timeout() {
        HttpError::Timeout {
            secs: timeout.as_secs(),
        }
    } else if e.is_connect() {
        // The innermost cause says why ("Connection refused"); reqwest's own text does not.
        let mut source: &dyn std::error::Error = &e;
        while let Some(inner) = source.source() {
            source = inner;
        }
        HttpError::Connect(source.to_string())
    } else {
        // reqwest's text names only the URL; the chain says what broke (a header line too
        // long, an invalid chunk size, a reset).
        let e = e.without_url();
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(inner) = source {
            text.push_str(&format!(": {inner}"));
            source = inner.source();
        }
        HttpError::Other(text)
    }
}

/// reqwest is built without a default TLS provider (no C toolchain for aws-lc needed);
/// ring is installed once, process-wide.
fn install_crypto_provider() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        // Err only means another provider is already installed, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Hosts;

    /// The run's host rule holds whoever asks: a request elsewhere is refused unsent, and the
    /// refusal is recorded like any other exchange.
    #[tokio::test]
    async fn a_host_outside_the_policy_is_never_contacted() {
        let server = wiremock::MockServer::start().await;
        let policy = HostPolicy::only(Hosts::new(["127.0.0.1".to_owned()]));
        let client = HttpClient::new(Duration::from_secs(5), Redactor::default())
            .unwrap()
            .restricted_to(policy);
        let (_, allowed) = client.send(&Request::get(format!("{}/x", server.uri()))).await;
        assert!(allowed.is_ok(), "{allowed:?}");
        let elsewhere = server.uri().replace("127.0.0.1", "localhost");
        let (exchange, refused) = client.session().unwrap().send(&Request::get(&elsewhere)).await;
        assert!(matches!(refused, Err(HttpError::HostNotAllowed { .. })), "{refused:?}");
        assert!(exchange.error.is_some_and(|e| e.contains("not contacted")));
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }
}
