//! The access tokens the suite does not get from a flow: supplied by the user (environment
//! variables named in the configuration, so no token sits in a file or a shell history) or
//! minted by a test issuer the server trusts (`reference --issuer-only`).

use crate::http::{Exchange, HttpClient, Request};
use crate::token_kind::TokenKind;

/// Asks the minting endpoint of `reference --issuer-only` for a token of `kind` for
/// `resource` with `scope` (and for `client_id`, where given); the token comes back
/// registered as a secret.
pub async fn mint(
    client: &HttpClient,
    endpoint: &str,
    kind: TokenKind,
    resource: &str,
    scope: Option<&str>,
    client_id: Option<&str>,
) -> Result<(String, Exchange), (String, Option<Exchange>)> {
    let mut body = serde_json::json!({"kind": kind.as_str(), "resource": resource, "scope": scope});
    if let Some(client_id) = client_id {
        body["client_id"] = serde_json::Value::from(client_id);
    }
    let request = Request::post(endpoint, "application/json", body.to_string());
    let (exchange, result) = client.send(&request).await;
    let response = match result {
        Ok(r) => r,
        Err(e) => return Err((format!("the minting endpoint <{endpoint}>: {e}"), Some(exchange))),
    };
    let token = serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()
        .filter(|_| response.status == 200)
        .and_then(|doc| doc.get("access_token")?.as_str().map(str::to_owned));
    match token {
        Some(token) => Ok((token, exchange)),
        None => Err((
            format!(
                "the minting endpoint <{endpoint}> gave no token (status {})",
                response.status
            ),
            Some(exchange),
        )),
    }
}
