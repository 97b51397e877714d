//! Client ID metadata documents from the suite's side (CIMD draft, MCP 2025-11-25+): the
//! run serves its own documents on loopback and logs every fetch, so a check can see whether
//! the authorization server fetched one. Loopback http is the draft's development
//! allowance: it reaches an AS on the same machine.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::response::IntoResponse;
use serde_json::{Value, json};

/// The documents a run publishes, by path, and the placeholder each one's URL fills.
pub const DOCUMENTS: [(&str, &str); 3] = [
    // A valid document: its client_id is its URL, it lists the flows' redirect URI.
    ("cimd_client", "/cimd/client.json"),
    // Its client_id is its URL with a trailing slash: not the URL, compared exactly.
    ("cimd_client_mismatch", "/cimd/mismatch.json"),
    // It lists only a redirect URI on another host, not the flows' redirect URI.
    ("cimd_client_other_redirect", "/cimd/other-redirect.json"),
];

/// A loopback HTTP server of the run's documents; it stops when dropped.
pub struct DocumentHost {
    origin: String,
    fetches: Arc<Mutex<HashMap<String, usize>>>,
    server: tokio::task::JoinHandle<()>,
}

impl DocumentHost {
    /// Serves the run's documents, each naming `redirect_uri` (or, one, another host's), on
    /// `port` (0: any; seeded runs name theirs, so a document's URL is the same each time),
    /// or any free port when that one is taken.
    pub async fn start(redirect_uri: &str, port: u16) -> std::io::Result<DocumentHost> {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => listener,
            Err(_) => tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?,
        };
        let origin = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
        let documents = Arc::new(documents(&origin, redirect_uri));
        let fetches = Arc::new(Mutex::new(HashMap::new()));
        let log = fetches.clone();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let (documents, log) = (documents.clone(), log.clone());
            async move {
                let path = uri.path().to_owned();
                *log.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(path.clone())
                    .or_insert(0) += 1;
                match documents.get(&path) {
                    Some(doc) => axum::Json(doc.clone()).into_response(),
                    None => axum::http::StatusCode::NOT_FOUND.into_response(),
                }
            }
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(DocumentHost {
            origin,
            fetches,
            server,
        })
    }

    /// The URL of each document, by the placeholder it fills (`{cimd_client}`...).
    pub fn urls(&self) -> impl Iterator<Item = (String, String)> + '_ {
        DOCUMENTS
            .iter()
            .map(|(name, path)| (name.to_string(), format!("{}{path}", self.origin)))
    }

    /// The path of the document at `url`, if it is one of this host's.
    pub fn path_of(&self, url: &str) -> Option<String> {
        let path = url.strip_prefix(&self.origin)?;
        DOCUMENTS.iter().any(|(_, p)| *p == path).then(|| path.to_owned())
    }

    /// How often the document at `path` has been fetched.
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

/// Each document, by path.
fn documents(origin: &str, redirect_uri: &str) -> HashMap<String, Value> {
    // RFC 6761 reserves `.invalid`: a host that cannot be anyone's.
    let elsewhere = "https://client.invalid/callback";
    let document = |client_id: String, redirect_uri: &str| {
        json!({
            "client_id": client_id,
            "client_name": "mcp-auth-conformance",
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        })
    };
    let url = |path: &str| format!("{origin}{path}");
    HashMap::from([
        (
            "/cimd/client.json".to_owned(),
            document(url("/cimd/client.json"), redirect_uri),
        ),
        (
            "/cimd/mismatch.json".to_owned(),
            document(format!("{}/", url("/cimd/mismatch.json")), redirect_uri),
        ),
        (
            "/cimd/other-redirect.json".to_owned(),
            document(url("/cimd/other-redirect.json"), elsewhere),
        ),
    ])
}
