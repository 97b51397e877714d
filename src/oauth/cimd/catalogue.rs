//! The run's client ID metadata documents: each client id it offers and what an AS fetching
//! it gets (valid documents, broken ones, forbidden shapes, shared secrets, oversized).

use axum::response::IntoResponse;
use serde_json::{Value, json};

/// What the host answers at one path.
#[derive(Debug, Clone)]
pub(super) struct Served {
    status: u16,
    content_type: &'static str,
    body: String,
}

/// The size of the run's oversized document: far beyond any limit an AS would set (CIMD
/// §6.6 suggests a few kilobytes).
const HUGE: usize = 5 * 1024 * 1024;

/// Where the oversized document's padding goes.
const PAD: &str = "mcp-conformance-padding";

/// One client id the run offers: the placeholder its URL fills, the URL, and where the
/// host serves what an AS fetching it gets.
pub(super) struct Offered {
    pub(super) name: &'static str,
    pub(super) url: String,
    pub(super) path: String,
    pub(super) served: Served,
    /// What is served instead once a request naming this client id is over.
    pub(super) after_use: Option<Served>,
}

/// The response to a fetch of what `s` describes.
pub(super) fn answer(s: &Served) -> axum::response::Response {
    let status = axum::http::StatusCode::from_u16(s.status).unwrap_or(axum::http::StatusCode::OK);
    // The oversized document is made only when an AS asks for it, its padding once.
    static PADDING: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = match s.body.contains(PAD) {
        true => s.body.replace(PAD, PADDING.get_or_init(|| "x".repeat(HUGE))),
        false => s.body.clone(),
    };
    (status, [(axum::http::header::CONTENT_TYPE, s.content_type)], body).into_response()
}

/// Every client id the run offers, named under `origin` (`http://127.0.0.1:port`, or a base
/// URL; one under `loopback`, the listener's own address), each with its document.
pub(super) fn catalogue(
    origin: &str,
    loopback: &str,
    prefix: &str,
    redirect_uri: &str,
    scope: Option<&str>,
) -> Vec<Offered> {
    let json = |doc: Value| Served {
        status: 200,
        content_type: "application/json",
        body: doc.to_string(),
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
            // An MCP client on a loopback redirect URI is a native application (the loopback
            // port rule is theirs), as the run's DCR clients say too.
            "application_type": "native",
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
        after_use: None,
    };
    // Every path is under the host's own prefix (`/cimd/<nonce>`): no two hosts, in one run
    // or in two, offer the same URL, which an AS may still have cached.
    let p = |name: &str| format!("{prefix}/{name}");
    let at = |name: &str| format!("{origin}{}", p(name));
    let not_found = || Served {
        status: 404,
        content_type: "application/json",
        body: "{}".to_owned(),
    };
    let mut without_redirect_uris = document(&at("no-redirect-uris.json"), Value::Null);
    if let Some(fields) = without_redirect_uris.as_object_mut() {
        fields.remove("redirect_uris");
    }
    let fragment = at("shape-fragment.json#x");
    let userinfo = match url::Url::parse(&at("shape-userinfo.json")) {
        Ok(mut url) => {
            let _ = url.set_username("mcp-conformance");
            url.to_string()
        }
        Err(_) => at("shape-userinfo.json"),
    };
    let dot_segment = at("x/../shape-dot.json");
    vec![
        // Valid: its client_id is its URL; it lists the flows' redirect URI.
        entry(
            "cimd_client",
            at("client.json"),
            &p("client.json"),
            valid(&at("client.json")),
        ),
        // The flows' other document clients (`registration = cimd`): the private chains' and
        // a second client's, so that no two share a client's grants.
        entry(
            "cimd_chain_client",
            at("chain.json"),
            &p("chain.json"),
            valid(&at("chain.json")),
        ),
        entry(
            "cimd_second_client",
            at("second.json"),
            &p("second.json"),
            valid(&at("second.json")),
        ),
        // Its client_id is its URL with a trailing slash: another string.
        entry(
            "cimd_client_mismatch",
            at("mismatch.json"),
            &p("mismatch.json"),
            valid(&format!("{}/", at("mismatch.json"))),
        ),
        // It lists only a redirect URI on another host (RFC 6761 `.invalid`).
        entry(
            "cimd_client_other_redirect",
            at("other-redirect.json"),
            &p("other-redirect.json"),
            json(document(
                &at("other-redirect.json"),
                json!(["https://client.invalid/callback"]),
            )),
        ),
        // Not a document: an HTML page, an empty object, one without redirect_uris, a 404.
        entry(
            "cimd_client_html",
            at("page.html"),
            &p("page.html"),
            Served {
                status: 200,
                content_type: "text/html",
                body: "<!doctype html><title>Client</title><p>Not a metadata document.".to_owned(),
            },
        ),
        entry("cimd_client_empty", at("empty.json"), &p("empty.json"), json(json!({}))),
        entry(
            "cimd_client_no_redirect_uris",
            at("no-redirect-uris.json"),
            &p("no-redirect-uris.json"),
            json(without_redirect_uris),
        ),
        entry(
            "cimd_client_missing",
            at("missing.json"),
            &p("missing.json"),
            not_found(),
        ),
        // Client ids of a shape CIMD §3 forbids, each with a document that would otherwise
        // be valid (its client_id is the id as written).
        entry(
            "cimd_client_fragment",
            fragment.clone(),
            &p("shape-fragment.json"),
            valid(&fragment),
        ),
        entry(
            "cimd_client_userinfo",
            userinfo.clone(),
            &p("shape-userinfo.json"),
            valid(&userinfo),
        ),
        entry(
            "cimd_client_dot_segment",
            dot_segment.clone(),
            &p("shape-dot.json"),
            valid(&dot_segment),
        ),
        // Valid but for a shared secret (CIMD §4.1): a secret-based authentication method,
        // or a client_secret (a literal that secures nothing).
        entry(
            "cimd_client_secret_method",
            at("secret-method.json"),
            &p("secret-method.json"),
            json({
                let mut doc = document(&at("secret-method.json"), json!([redirect_uri]));
                doc["token_endpoint_auth_method"] = Value::from("client_secret_basic");
                doc
            }),
        ),
        entry(
            "cimd_client_secret",
            at("secret.json"),
            &p("secret.json"),
            json({
                let mut doc = document(&at("secret.json"), json!([redirect_uri]));
                doc["client_secret"] = Value::from("mcp-conformance-not-a-secret");
                doc["client_secret_expires_at"] = Value::from(0);
                doc
            }),
        ),
        // Valid, named by the listener's loopback address (with a public base URL, a place an
        // AS guarding against SSRF does not fetch; else one more valid document).
        entry(
            "cimd_client_loopback",
            format!("{loopback}{}", p("loopback.json")),
            &p("loopback.json"),
            valid(&format!("{loopback}{}", p("loopback.json"))),
        ),
        // A 404 until the first request naming it is over, then the valid document: an AS
        // that cached the error refuses the second request without fetching.
        Offered {
            after_use: Some(valid(&at("fixed.json"))),
            ..entry(
                "cimd_client_fixed_later",
                at("fixed.json"),
                &p("fixed.json"),
                not_found(),
            )
        },
        // Valid, padded to 5 MiB when fetched.
        entry("cimd_client_huge", at("huge.json"), &p("huge.json"), {
            let mut doc = document(&at("huge.json"), json!([redirect_uri]));
            // In a member of its own: an AS that caps the length of a shown name would
            // refuse it for that, not for its size.
            doc["mcp_conformance_padding"] = Value::from(PAD);
            json(doc)
        }),
    ]
}
