//! The access tokens the resource-server checks need, by kind, and the ones the suite does
//! not get from a flow: supplied by the user (environment variables named in the
//! configuration, so no token sits in a file or a shell history) or minted by a test issuer
//! the server trusts (`reference --issuer-only`).

use std::fmt;
use std::str::FromStr;

use crate::http::{Exchange, HttpClient, Request};

/// What a check needs the token to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TokenKind {
    /// For this server, with the scope the server asks for.
    Valid,
    /// Valid, lacking the scope the privileged request needs (config `narrow_scope`).
    LowScope,
    /// Issued by the same AS for another resource (RFC 8707 audience).
    ForeignAudience,
    /// Valid once, expired now.
    Expired,
    /// Well-formed, for this server, from an issuer it does not trust.
    ForeignIssuer,
}

impl TokenKind {
    pub const ALL: [TokenKind; 5] = [
        TokenKind::Valid,
        TokenKind::LowScope,
        TokenKind::ForeignAudience,
        TokenKind::Expired,
        TokenKind::ForeignIssuer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Valid => "valid",
            TokenKind::LowScope => "low_scope",
            TokenKind::ForeignAudience => "foreign_audience",
            TokenKind::Expired => "expired",
            TokenKind::ForeignIssuer => "foreign_issuer",
        }
    }

    pub fn names() -> String {
        Self::ALL.map(TokenKind::as_str).join(", ")
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TokenKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown token kind `{s}` (kinds: {})", Self::names()))
    }
}

/// Asks the minting endpoint of `reference --issuer-only` for a token of `kind` for
/// `resource` with `scope`; the token comes back registered as a secret.
pub async fn mint(
    client: &HttpClient,
    endpoint: &str,
    kind: TokenKind,
    resource: &str,
    scope: Option<&str>,
) -> Result<(String, Exchange), (String, Option<Exchange>)> {
    let body = serde_json::json!({"kind": kind.as_str(), "resource": resource, "scope": scope});
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
