//! Client ID metadata documents from the suite's side (CIMD draft, MCP 2025-11-25+): the
//! run serves its own documents on loopback and logs every fetch, so a check can see whether
//! the authorization server fetched one. Loopback http is the draft's development
//! allowance: it reaches an AS on the same machine.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::response::IntoResponse;
use serde_json::{Value, json};

/// What the host answers at one path.
#[derive(Debug, Clone)]
struct Served {
    status: u16,
    content_type: &'static str,
    body: String,
    location: Option<String>,
    cache_control: Option<&'static str>,
}

/// The size of the run's oversized document: far beyond any limit an AS would set (CIMD
/// §6.6 suggests a few kilobytes).
const HUGE: usize = 5 * 1024 * 1024;

/// Where the oversized document's padding goes.
const PAD: &str = "mcp-conformance-padding";

/// One client id the run offers: the placeholder its URL fills, the URL, and where the
/// host serves what an AS fetching it gets.
struct Offered {
    name: &'static str,
    url: String,
    path: String,
    served: Served,
}

/// A loopback HTTP server of the run's documents; it stops when dropped.
pub struct DocumentHost {
    offered: Vec<(&'static str, String, String)>,
    fetches: Arc<Mutex<HashMap<String, usize>>>,
    server: tokio::task::JoinHandle<()>,
}

impl DocumentHost {
    /// Serves the run's documents, naming `redirect_uri` (or, one, another host's) and
    /// `scope` (RFC 7591 client metadata: the scopes the run asks for), on `port` (0: any;
    /// seeded runs name theirs, so a document's URL is the same each time), or any free port
    /// when that one is taken.
    pub async fn start(redirect_uri: &str, scope: Option<&str>, port: u16) -> std::io::Result<DocumentHost> {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => listener,
            Err(_) => tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?,
        };
        let port = listener.local_addr()?.port();
        let catalogue = catalogue(port, redirect_uri, scope);
        let served: Arc<HashMap<String, Served>> =
            Arc::new(catalogue.iter().map(|o| (o.path.clone(), o.served.clone())).collect());
        let fetches = Arc::new(Mutex::new(HashMap::new()));
        let log = fetches.clone();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let (served, log) = (served.clone(), log.clone());
            async move {
                let path = uri.path().to_owned();
                *log.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(path.clone())
                    .or_insert(0) += 1;
                match served.get(&path) {
                    Some(s) => answer(s),
                    None => axum::http::StatusCode::NOT_FOUND.into_response(),
                }
            }
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let offered = catalogue.into_iter().map(|o| (o.name, o.url, o.path)).collect();
        Ok(DocumentHost {
            offered,
            fetches,
            server,
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

    /// How often `path` has been fetched.
    pub fn fetches(&self, path: &str) -> usize {
        let log = self.fetches.lock().unwrap_or_else(|p| p.into_inner());
        log.get(path).copied().unwrap_or(0)
    }
}

impl Drop for DocumentHost {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn answer(s: &Served) -> axum::response::Response {
    let status = axum::http::StatusCode::from_u16(s.status).unwrap_or(axum::http::StatusCode::OK);
    // The oversized document is made only when an AS asks for it, its padding once.
    static PADDING: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = match s.body.contains(PAD) {
        true => s.body.replace(PAD, PADDING.get_or_init(|| "x".repeat(HUGE))),
        false => s.body.clone(),
    };
    let mut response = (status, [(axum::http::header::CONTENT_TYPE, s.content_type)], body).into_response();
    if let Some(location) = s.location.as_ref().and_then(|l| l.parse().ok()) {
        response.headers_mut().insert(axum::http::header::LOCATION, location);
    }
    if let Some(cache) = s.cache_control {
        let value = axum::http::HeaderValue::from_static(cache);
        response.headers_mut().insert(axum::http::header::CACHE_CONTROL, value);
    }
    response
}

/// Every client id the run offers, each with its document.
fn catalogue(port: u16, redirect_uri: &str, scope: Option<&str>) -> Vec<Offered> {
    let origin = format!("http://127.0.0.1:{port}");
    let json = |doc: Value| Served {
        status: 200,
        content_type: "application/json",
        body: doc.to_string(),
        location: None,
        cache_control: None,
    };
    // A document naming `client_id`, listing `redirect_uris`.
    let document = |client_id: &str, redirect_uris: Value| {
        let mut doc = json!({
            "client_id": client_id,
            "client_name": "mcp-auth-conformance",
            "redirect_uris": redirect_uris,
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        });
        if let Some(scope) = scope {
            doc["scope"] = Value::from(scope);
        }
        doc
    };
    let valid = |client_id: &str| json(document(client_id, json!([redirect_uri])));
    // (placeholder, client id URL, path served, what is served)
    let entry = |name, url: String, path: &str, served| Offered {
        name,
        url,
        path: path.to_owned(),
        served,
    };
    let at = |path: &str| format!("{origin}{path}");
    let mut without_redirect_uris = document(&at("/cimd/no-redirect-uris.json"), Value::Null);
    if let Some(fields) = without_redirect_uris.as_object_mut() {
        fields.remove("redirect_uris");
    }
    let fragment = at("/cimd/shape-fragment.json#x");
    let userinfo = format!("http://mcp-conformance@127.0.0.1:{port}/cimd/shape-userinfo.json");
    let dot_segment = at("/cimd/x/../shape-dot.json");
    vec![
        // Valid: its client_id is its URL; it lists the flows' redirect URI.
        entry(
            "cimd_client",
            at("/cimd/client.json"),
            "/cimd/client.json",
            valid(&at("/cimd/client.json")),
        ),
        // The flows' other document clients (`registration = cimd`): the private chains' and
        // a second client's, so that no two share a client's grants.
        entry(
            "cimd_chain_client",
            at("/cimd/chain.json"),
            "/cimd/chain.json",
            valid(&at("/cimd/chain.json")),
        ),
        entry(
            "cimd_second_client",
            at("/cimd/second.json"),
            "/cimd/second.json",
            valid(&at("/cimd/second.json")),
        ),
        // Its client_id is its URL with a trailing slash: another string.
        entry(
            "cimd_client_mismatch",
            at("/cimd/mismatch.json"),
            "/cimd/mismatch.json",
            valid(&format!("{}/", at("/cimd/mismatch.json"))),
        ),
        // It lists only a redirect URI on another host (RFC 6761 `.invalid`).
        entry(
            "cimd_client_other_redirect",
            at("/cimd/other-redirect.json"),
            "/cimd/other-redirect.json",
            json(document(
                &at("/cimd/other-redirect.json"),
                json!(["https://client.invalid/callback"]),
            )),
        ),
        // Not a document: an HTML page, an empty object, one without redirect_uris, a 404.
        entry(
            "cimd_client_html",
            at("/cimd/page.html"),
            "/cimd/page.html",
            Served {
                status: 200,
                content_type: "text/html",
                body: "<!doctype html><title>Client</title><p>Not a metadata document.".to_owned(),
                location: None,
                cache_control: None,
            },
        ),
        entry(
            "cimd_client_empty",
            at("/cimd/empty.json"),
            "/cimd/empty.json",
            json(json!({})),
        ),
        entry(
            "cimd_client_no_redirect_uris",
            at("/cimd/no-redirect-uris.json"),
            "/cimd/no-redirect-uris.json",
            json(without_redirect_uris),
        ),
        entry(
            "cimd_client_missing",
            at("/cimd/missing.json"),
            "/cimd/missing.json",
            Served {
                status: 404,
                content_type: "application/json",
                body: "{}".to_owned(),
                location: None,
                cache_control: None,
            },
        ),
        // Client ids of a shape CIMD §3 forbids, each with a document that would otherwise
        // be valid (its client_id is the id as written).
        entry(
            "cimd_client_fragment",
            fragment.clone(),
            "/cimd/shape-fragment.json",
            valid(&fragment),
        ),
        entry(
            "cimd_client_userinfo",
            userinfo.clone(),
            "/cimd/shape-userinfo.json",
            valid(&userinfo),
        ),
        entry(
            "cimd_client_dot_segment",
            dot_segment.clone(),
            "/cimd/shape-dot.json",
            valid(&dot_segment),
        ),
        entry("cimd_client_no_path", origin.clone(), "/", valid(&origin)),
        // Valid, but not to be stored (`Cache-Control: no-store`): each use fetches it again.
        entry(
            "cimd_client_no_store",
            at("/cimd/no-store.json"),
            "/cimd/no-store.json",
            Served {
                cache_control: Some("no-store"),
                ..valid(&at("/cimd/no-store.json"))
            },
        ),
        // Valid, padded to 5 MiB when fetched.
        entry("cimd_client_huge", at("/cimd/huge.json"), "/cimd/huge.json", {
            let mut doc = document(&at("/cimd/huge.json"), json!([redirect_uri]));
            // In a member of its own: an AS that caps the length of a shown name would
            // refuse it for that, not for its size.
            doc["mcp_conformance_padding"] = Value::from(PAD);
            json(doc)
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{HttpClient, Request, redact::Redactor};

    /// The host serves each client id's answer and counts every fetch by path.
    #[tokio::test]
    async fn documents_are_served_and_each_fetch_is_logged() {
        let host = DocumentHost::start("http://127.0.0.1:9/callback", Some("mcp"), 0)
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
        assert_eq!(host.fetches("/cimd/shape-dot.json"), 1);
        assert_eq!(host.path_of("http://127.0.0.1:1/elsewhere"), None);
    }
}
