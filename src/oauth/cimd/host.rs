//! The suite's document host (CIMD draft, MCP 2025-11-25+): the run serves its own client ID
//! metadata documents and logs every fetch, so a check can see whether the authorization
//! server fetched one. On loopback over http (the draft's development allowance: it reaches
//! an AS on the same machine), over https with the run's own CA, or behind a public URL the
//! user's proxy or tunnel forwards to it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::response::IntoResponse;

use super::catalogue::{Served, answer, catalogue};

/// How the host is reached.
#[derive(Default)]
pub struct Hosting {
    /// The loopback port it listens on (0: any; seeded runs name theirs, so a document's URL
    /// is the same each time). Any free port when that one is taken, unless `base_url` is set
    /// (a proxy forwards to this one).
    pub port: u16,
    /// https with this configuration (a certificate from the run's CA), else http.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The public URL a proxy or tunnel forwards to the listener (`<base_url>/cimd/...` to
    /// `/cimd/...`); documents are named by it.
    pub base_url: Option<String>,
    /// Else a host name documents are named by, at the listener's port (`localhost`, the
    /// one name the embedded reference's SSRF guard lets through); else 127.0.0.1.
    pub name: Option<String>,
    /// Makes the documents' path prefix (`/cimd/<nonce>`): seeded runs fix it.
    pub randomness: crate::seed::Randomness,
}

/// One request the host received: evidence of an authorization server's fetch.
#[derive(Debug, Clone)]
struct Fetch {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    status: u16,
}

pub struct DocumentHost {
    offered: Vec<(&'static str, String, String)>,
    /// Every request received, in order.
    fetches: Arc<Mutex<Vec<Fetch>>>,
    /// The paths a request has named (those with an `after_use` answer serve it now).
    used: Arc<Mutex<std::collections::HashSet<String>>>,
    server: tokio::task::JoinHandle<()>,
    /// Where the documents are named: the base URL, or `http(s)://<name>:port`.
    origin: String,
    /// Where the host listens: `http(s)://127.0.0.1:port`.
    listener_origin: String,
}

impl DocumentHost {
    /// Serves the run's documents, naming `redirect_uri` (or, one, another host's) and
    /// `scope` (RFC 7591 client metadata: the scopes the run asks for).
    pub async fn start(redirect_uri: &str, scope: Option<&str>, hosting: Hosting) -> std::io::Result<DocumentHost> {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", hosting.port)).await {
            Ok(listener) => listener,
            Err(e) if hosting.base_url.is_some() => return Err(e),
            Err(_) => tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?,
        };
        let port = listener.local_addr()?.port();
        let scheme = if hosting.tls.is_some() { "https" } else { "http" };
        let loopback = format!("{scheme}://127.0.0.1:{port}");
        let origin = match (&hosting.base_url, &hosting.name) {
            (Some(base), _) => base.trim_end_matches('/').to_owned(),
            (None, Some(name)) => format!("{scheme}://{name}:{port}"),
            (None, None) => loopback.clone(),
        };
        // Seeded, the nth host of a process has the same prefix each run; unseeded, a fresh one.
        static HOSTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nth = HOSTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nonce = hosting
            .randomness
            .value(&format!("client id metadata documents {nth}"), 6);
        let prefix = format!("/cimd/{nonce}");
        let catalogue = catalogue(&origin, &loopback, &prefix, redirect_uri, scope);
        let served: Arc<HashMap<String, (Served, Option<Served>)>> = Arc::new(
            catalogue
                .iter()
                .map(|o| (o.path.clone(), (o.served.clone(), o.after_use.clone())))
                .collect(),
        );
        let fetches = Arc::new(Mutex::new(Vec::new()));
        let used = Arc::new(Mutex::new(std::collections::HashSet::new()));
        let (log, uses) = (fetches.clone(), used.clone());
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let (served, log, uses) = (served.clone(), log.clone(), uses.clone());
            async move {
                let path = request.uri().path().to_owned();
                let used = uses.lock().unwrap_or_else(|p| p.into_inner()).contains(&path);
                let response = match served.get(&path) {
                    Some((_, Some(after))) if used => answer(after),
                    Some((first, _)) => answer(first),
                    None => axum::http::StatusCode::NOT_FOUND.into_response(),
                };
                let headers = request.headers().iter();
                let fetch = Fetch {
                    method: request.method().to_string(),
                    path,
                    headers: headers
                        .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                        .collect(),
                    status: response.status().as_u16(),
                };
                log.lock().unwrap_or_else(|p| p.into_inner()).push(fetch);
                response
            }
        });
        let server = tokio::spawn(serve(listener, app, hosting.tls));
        let offered = catalogue.into_iter().map(|o| (o.name, o.url, o.path)).collect();
        Ok(DocumentHost {
            offered,
            fetches,
            used,
            server,
            origin,
            listener_origin: loopback,
        })
    }

    /// The URL of each client id, by the placeholder it fills (`{cimd_client}`...).
    pub fn urls(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.offered
            .iter()
            .map(|(name, url, _)| (name.to_string(), url.clone()))
    }

    /// Where the document of the client id `url` is served, if it is one of this host's.
    pub fn path_of(&self, url: &str) -> Option<String> {
        self.offered
            .iter()
            .find(|(_, u, _)| u == url)
            .map(|(_, _, path)| path.clone())
    }

    /// A request naming the document at `path` is over (what it serves may change now).
    pub fn used(&self, path: &str) {
        self.used
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path.to_owned());
    }

    /// How often `path` has been fetched.
    pub fn fetches(&self, path: &str) -> usize {
        let log = self.fetches.lock().unwrap_or_else(|p| p.into_inner());
        log.iter().filter(|f| f.path == path).count()
    }

    /// Whether a guarded AS at `issuer` must leave the host's loopback name unfetched: the
    /// documents have another name (not a loopback IP address) with the same scheme, and the
    /// AS is on this machine (elsewhere, 127.0.0.1 is the AS's own address, which the run
    /// must not send it to, and whose fetch it could not see).
    pub fn loopback_observable(&self, issuer: &str) -> bool {
        let (Ok(named), Ok(listener)) = (url::Url::parse(&self.origin), url::Url::parse(&self.listener_origin)) else {
            return false;
        };
        let local = url::Url::parse(issuer).is_ok_and(|u| crate::http::hosts::is_loopback(&u));
        local && named.scheme() == listener.scheme() && !crate::http::hosts::is_loopback_ip(&named)
    }

    /// The URL a fetch asked for, as its `Host` header names it (a proxy's or the loopback
    /// address's).
    fn url_fetched(&self, fetch: &Fetch) -> String {
        let host = fetch.headers.iter().find(|(n, _)| n == "host").map(|(_, v)| v.as_str());
        match (host, self.listener_origin.split_once("://")) {
            (Some(host), Some((scheme, _))) => format!("{scheme}://{host}{}", fetch.path),
            _ => format!("{}{}", self.listener_origin, fetch.path),
        }
    }

    /// Where the fetch log stands (see [`DocumentHost::fetched_since`]).
    pub fn mark(&self) -> usize {
        self.fetches.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The fetches of `path` since `mark`, as evidence: what the authorization server sent
    /// and what it got (the status; the body is the run's own document).
    pub fn fetched_since(&self, mark: usize, path: &str) -> Vec<crate::http::Exchange> {
        let log = self.fetches.lock().unwrap_or_else(|p| p.into_inner());
        let since = log.iter().skip(mark).filter(|f| f.path == path);
        since
            .map(|f| crate::http::Exchange {
                request: crate::http::RecordedRequest {
                    method: f.method.clone(),
                    url: self.url_fetched(f),
                    headers: f.headers.clone(),
                    body: None,
                },
                response: Some(crate::http::RecordedResponse {
                    status: f.status,
                    headers: Vec::new(),
                    body: String::new(),
                    body_truncated: false,
                }),
                error: None,
                duration_ms: 0,
                received_by: Some("the run's document host".to_owned()),
                seq: crate::http::Exchange::next_seq(),
            })
            .collect()
    }
}

/// Serves `app`, over TLS with `tls`, each connection in a task the server owns: when the
/// host is dropped its connections close too, so an AS's pooled connection never reaches a
/// host that is gone (axum::serve leaves them running, and takes plain TCP only).
async fn serve(listener: tokio::net::TcpListener, app: axum::Router, tls: Option<Arc<rustls::ServerConfig>>) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors, say: let it pass rather than spin.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        let (acceptor, app) = (acceptor.clone(), app.clone());
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                tower::ServiceExt::oneshot(app.clone(), request.map(axum::body::Body::new))
            });
            let http = hyper::server::conn::http1::Builder::new();
            match acceptor {
                None => {
                    let _ = http
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                }
                Some(acceptor) => {
                    let handshake = tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        let _ = http
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await;
                    }
                }
            }
        });
    }
}

impl Drop for DocumentHost {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::http::{HttpClient, Request, redact::Redactor};

    /// The host serves each client id's answer and counts every fetch by path.
    #[tokio::test]
    async fn documents_are_served_and_each_fetch_is_logged() {
        let host = DocumentHost::start("http://127.0.0.1:9/callback", Some("mcp"), Hosting::default())
            .await
            .unwrap();
        let url = |name: &str| host.urls().find(|(n, _)| n == name).unwrap().1;
        let http = HttpClient::new(std::time::Duration::from_secs(5), Redactor::default()).unwrap();
        let valid = url("cimd_client");
        let (_, answer) = http.send(&Request::get(&valid)).await;
        let doc: Value = serde_json::from_slice(&answer.unwrap().body).unwrap();
        assert_eq!(doc["client_id"], valid.as_str());
        assert_eq!(doc["redirect_uris"], json!(["http://127.0.0.1:9/callback"]));
        assert_eq!(doc["scope"], "mcp");
        let path = host.path_of(&valid).unwrap();
        assert_eq!(host.fetches(&path), 1);
        let (_, missing) = http.send(&Request::get(url("cimd_client_missing"))).await;
        assert_eq!(missing.unwrap().status, 404);
        // A client id with a dot segment is fetched at its normalised path.
        let dot = url("cimd_client_dot_segment");
        let (_, answer) = http.send(&Request::get(&dot)).await;
        let doc: Value = serde_json::from_slice(&answer.unwrap().body).unwrap();
        assert_eq!(doc["client_id"], dot.as_str());
        assert_eq!(host.fetches(&host.path_of(&dot).unwrap()), 1);
        assert!(host.path_of(&dot).unwrap().ends_with("/shape-dot.json"));
        assert_eq!(host.path_of("http://127.0.0.1:1/elsewhere"), None);
    }
}
