//! Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document, MCP
//! 2025-11-25+): a URL `client_id` names a document the AS fetches, checks and treats as the
//! client's registration. The reference fetches with a deadline and a size cap and, being a
//! test AS, allows http on loopback (the draft's development allowance).

use std::time::Duration;

use serde_json::Value;

use super::*;

/// Larger documents are refused (CIMD §6.6 suggests a few kilobytes).
const MAX_DOCUMENT: usize = 16 * 1024;

/// Authentication methods built on a shared secret, which a document must not name (§4.1).
const SHARED_SECRET_METHODS: [&str; 3] = ["client_secret_post", "client_secret_basic", "client_secret_jwt"];

/// Whether `client_id` is a URL, hence a document to fetch rather than a registered id.
pub(in crate::reference) fn is_document_url(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

/// The client the document at `client_id` describes, or why it is refused; `requested` is
/// the authorization request's redirect_uri (only a fault trusts it). Valid documents are
/// remembered (reused only under a variation); a refusal is never (CIMD §4.4), but by a fault.
pub(in crate::reference) async fn client(
    s: &State,
    client_id: &str,
    requested: Option<&str>,
) -> Result<RegisteredClient, String> {
    if s.has(Fault::CimdErrorsCached)
        && let Some(refused) = store(s).cimd_refused.get(client_id)
        && refused.elapsed() < Duration::from_secs(300)
    {
        return Err("the client metadata document was refused a moment ago".to_owned());
    }
    // A variation: a valid document is reused for 30 s, whatever its Cache-Control says
    // (CIMD §4.4 lets an AS set its own lower bound).
    if s.varies(Variation::CimdCacheFloor)
        && let Some((client, fetched)) = store(s).cimd_cache.get(client_id)
        && fetched.elapsed() < Duration::from_secs(30)
    {
        return Ok(client.clone());
    }
    let checked = fetched_client(s, client_id, requested).await;
    let now = std::time::Instant::now();
    match &checked {
        Ok(client) => {
            store(s).cimd_cache.insert(client_id.to_owned(), (client.clone(), now));
        }
        Err(_) => {
            store(s).cimd_refused.insert(client_id.to_owned(), now);
        }
    }
    checked
}

/// The client the document at `client_id` describes, fetched now.
async fn fetched_client(s: &State, client_id: &str, requested: Option<&str>) -> Result<RegisteredClient, String> {
    if !s.has(Fault::CimdUrlShapeUnchecked) {
        shape(client_id)?;
    }
    // A variation: no development allowance, https documents only.
    if s.varies(Variation::CimdHttpsOnly) && !client_id.starts_with("https://") {
        return Err("not a client id URL: not https".to_owned());
    }
    // The SSRF guard, where one is set: only the allowed hosts are fetched.
    let host = url::Url::parse(client_id)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned));
    let allowed = host.is_some_and(|h| s.document_hosts.contains(&h));
    if !s.document_hosts.is_empty() && !allowed && !s.has(Fault::CimdSsrfUnguarded) {
        return Err("client id URLs on that host are not fetched".to_owned());
    }
    // The suite's own client: a deadline, a body cap, no redirects followed (a fault reads
    // documents of any size).
    let http = match s.documents.get() {
        Some(http) => http.clone(),
        None => {
            let roots = s.document_roots.clone();
            let http = crate::http::HttpClient::trusting(Duration::from_secs(5), Default::default(), roots)
                .map_err(|e| e.to_string())?;
            s.documents.get_or_init(|| http).clone()
        }
    };
    let http = match s.has(Fault::CimdAnySize) {
        true => http.with_body_cap(64 * 1024 * 1024),
        false => http,
    };
    let (_, answer) = http.send(&crate::http::Request::get(client_id)).await;
    let response = answer.map_err(|e| format!("the client metadata document could not be fetched: {e}"))?;
    if response.status != 200 {
        return Err(format!("the client metadata document answered {}", response.status));
    }
    let body = response.body;
    if body.len() > MAX_DOCUMENT && !s.has(Fault::CimdAnySize) {
        return Err("the client metadata document is too large".to_owned());
    }
    let doc: Value =
        serde_json::from_slice(&body).map_err(|_| "the client metadata document is not JSON".to_owned())?;
    let named = doc.get("client_id").and_then(Value::as_str).unwrap_or_default();
    // §4.1: the document's client_id is the URL it was fetched from, compared exactly.
    let matches = match s.has(Fault::CimdClientIdLoose) {
        true => named
            .trim_end_matches('/')
            .eq_ignore_ascii_case(client_id.trim_end_matches('/')),
        false => named == client_id,
    };
    if !matches {
        return Err("the document's client_id is not the URL it was fetched from".to_owned());
    }
    let redirect_uris: Vec<String> = doc
        .get("redirect_uris")
        .and_then(Value::as_array)
        .map(|uris| uris.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let redirect_uris = match (redirect_uris.is_empty(), requested) {
        // A fault: a document without redirect URIs trusts the request's.
        (true, Some(requested)) if s.has(Fault::CimdRedirectUrisOptional) => vec![requested.to_owned()],
        (true, _) => return Err("the document lists no redirect_uris".to_owned()),
        (false, _) => redirect_uris,
    };
    let method = doc.get("token_endpoint_auth_method").and_then(Value::as_str);
    let shared_secret =
        doc.get("client_secret").is_some() || method.is_some_and(|m| SHARED_SECRET_METHODS.contains(&m));
    if shared_secret && !s.has(Fault::CimdSharedSecretAccepted) {
        return Err("a client metadata document cannot carry a shared secret".to_owned());
    }
    let client = RegisteredClient {
        redirect_uris,
        secret: None,
        // A document's client is a public one; its loopback redirect URIs get the port rule.
        web: false,
        scopes: doc.get("scope").and_then(Value::as_str).map(str::to_owned),
    };
    Ok(client)
}

/// CIMD §3: https with a path, no fragment, no userinfo, no dot segments; http only on
/// loopback (development).
fn shape(client_id: &str) -> Result<(), String> {
    let refused = |why: &str| Err(format!("not a client id URL: {why}"));
    let Ok(url) = url::Url::parse(client_id) else {
        return refused("unparsable");
    };
    let loopback = crate::http::hosts::is_loopback(&url);
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return refused("not https");
    }
    // The path as written: after the authority, up to the query or fragment.
    let after_scheme = client_id.split_once("://").map_or("", |(_, rest)| rest);
    let rest = &after_scheme[after_scheme.find(['/', '?', '#']).unwrap_or(after_scheme.len())..];
    let path = rest.split(['?', '#']).next().unwrap_or_default();
    if path.is_empty() {
        return refused("no path");
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return refused("a fragment or userinfo");
    }
    // Encoded dots and backslashes are dot segments to a lenient parser.
    let dot = |seg: &str| {
        let seg = seg.to_ascii_lowercase().replace("%2e", ".");
        seg == "." || seg == ".."
    };
    if path.split(['/', '\\']).any(dot) {
        return refused("a dot segment");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::shape;

    /// CIMD §3's shape, read from the text as written (a parser would normalise it away).
    #[test]
    fn client_id_urls_of_a_forbidden_shape_are_refused() {
        for ok in [
            "https://client.example/c.json",
            "https://client.example/",
            "http://127.0.0.1:9/c.json",
        ] {
            assert!(shape(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://client.example/c.json",
            "https://client.example",
            "https://client.example?x=/y",
            "https://client.example/c.json#x",
            "https://user@client.example/c.json",
            "https://client.example/a/../c.json",
            "https://client.example/a/%2E%2E/c.json",
            "https://client.example/a\\..\\c.json",
        ] {
            assert!(shape(bad).is_err(), "{bad}");
        }
    }
}
