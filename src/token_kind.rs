//! The kinds of access token the resource-server checks need: one word of the case language
//! (`token = "low_scope"`), the configuration and the command line (`--token`) alike.

use std::fmt;
use std::str::FromStr;

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
    /// From the trusted issuer, for this server, not valid until ten minutes from now (`nbf`).
    NotYetValid,
    /// Valid, for this server, issued to another user than the valid token's (its `sub`).
    OtherUser,
}

impl TokenKind {
    pub const ALL: [TokenKind; 7] = [
        TokenKind::Valid,
        TokenKind::LowScope,
        TokenKind::ForeignAudience,
        TokenKind::Expired,
        TokenKind::ForeignIssuer,
        TokenKind::NotYetValid,
        TokenKind::OtherUser,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Valid => "valid",
            TokenKind::LowScope => "low_scope",
            TokenKind::ForeignAudience => "foreign_audience",
            TokenKind::Expired => "expired",
            TokenKind::ForeignIssuer => "foreign_issuer",
            TokenKind::NotYetValid => "not_yet_valid",
            TokenKind::OtherUser => "other_user",
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
