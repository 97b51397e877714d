//! `run --spec-version auto` (the default): the newest spec version the target accepts. The
//! version's first MCP request is sent with a valid token, newest version first; a refusal of
//! the protocol version (a 4xx, or a JSON-RPC error) steps down to the next older one.

use super::Context;
use crate::discovery::{self, Target};
use crate::http::{Response, jsonrpc};
use crate::spec::SpecVersion;

/// What `--spec-version` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionChoice {
    /// The newest version the target accepts.
    Auto,
    Fixed(SpecVersion),
}

impl std::fmt::Display for VersionChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VersionChoice::Auto => f.write_str("auto"),
            VersionChoice::Fixed(v) => v.fmt(f),
        }
    }
}

impl std::str::FromStr for VersionChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(VersionChoice::Auto),
            other => other
                .parse()
                .map(VersionChoice::Fixed)
                .map_err(|e: crate::spec::UnknownVersion| format!("{e}, or `auto`")),
        }
    }
}

/// The versions tried, newest first (`draft` is 2026-07-28's text and is only ever asked for).
pub(crate) const NEWEST_FIRST: [SpecVersion; 4] = [
    SpecVersion::V2026_07_28,
    SpecVersion::V2025_11_25,
    SpecVersion::V2025_06_18,
    SpecVersion::V2025_03_26,
];

/// Why the run's own version cannot be judged, when the target refuses its first request
/// (the valid request answered `refusal`) but accepts an older version's with the same token:
/// a sentence naming the version it accepts. None when no older version fares better (then
/// the refusal is the target's answer, judged as such).
pub(crate) async fn refused_by(ctx: &Context, token: &str, refusal: &Response) -> Option<String> {
    let asked = ctx.target.version;
    for version in NEWEST_FIRST.into_iter().filter(|v| *v < asked) {
        if let Ok(response) = try_version(ctx, token, version).await?
            && jsonrpc::accepted(&response)
        {
            return Some(format!(
                "the target does not speak {asked}: its first request with a valid token was answered {}, \
                 while {version}'s was answered {} (run with --spec-version {version}, or auto)",
                jsonrpc::describe(refusal),
                response.status
            ));
        }
    }
    None
}

/// The version a run should use against `ctx`'s target (whose own version is the newest), and
/// why, in a sentence for the headline of every report.
pub async fn negotiate(ctx: &Context) -> (SpecVersion, String) {
    let newest = SpecVersion::LATEST;
    let token = match ctx.probe_token().await {
        Ok(token) => token,
        Err(why) => return (newest, format!("the newest; no version could be tried ({why})")),
    };
    let mut refused = Vec::new();
    for version in NEWEST_FIRST {
        let Some(result) = try_version(ctx, &token, version).await else {
            return (newest, "the newest; the target URL cannot be used".to_owned());
        };
        match result {
            Ok(response) if jsonrpc::accepted(&response) => {
                let mut why = format!(
                    "the newest version the target accepts; its first request was answered {}",
                    response.status
                );
                if !refused.is_empty() {
                    why.push_str(&format!("; refused: {}", refused.join(", ")));
                }
                return (version, why);
            }
            Ok(response) => refused.push(format!("{version} answered {}", jsonrpc::describe(&response))),
            Err(e) => return (newest, format!("the newest; trying it gave no answer ({e})")),
        }
    }
    (
        newest,
        format!("the newest; the target refused every version: {}", refused.join(", ")),
    )
}

/// The answer to `version`'s first MCP request with `token` (None: the URL cannot be used).
async fn try_version(
    ctx: &Context,
    token: &str,
    version: SpecVersion,
) -> Option<Result<Response, crate::http::HttpError>> {
    let target = Target::new(&ctx.target.mcp_url, version).ok()?;
    let request = discovery::first_request(&target).header("Authorization", &format!("Bearer {token}"));
    Some(ctx.client.send(&request).await.1)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use wiremock::matchers::{body_string_contains, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::config::TargetConfig;
    use crate::http::HttpClient;
    use crate::http::redact::{Redactor, Secret};
    use crate::token_kind::TokenKind;

    /// The version negotiated with a server that accepts 2025-11-25's first request and
    /// answers 2026-07-28's (`server/discover`) with `refusal`, given a supplied valid token.
    async fn negotiated(refusal: ResponseTemplate) -> (SpecVersion, String) {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(body_string_contains("server/discover"))
            .respond_with(refusal)
            .mount(&server)
            .await;
        let result = serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-11-25"}});
        Mock::given(method("POST"))
            .and(body_string_contains("\"protocolVersion\":\"2025-11-25\""))
            .respond_with(ResponseTemplate::new(200).set_body_json(result))
            .mount(&server)
            .await;
        let mut config = TargetConfig::default();
        config.tokens.insert(TokenKind::Valid, Secret::new("supplied-token"));
        let client = HttpClient::new(Duration::from_secs(5), Redactor::default()).unwrap();
        let target = Target::new(&format!("{}/mcp", server.uri()), SpecVersion::LATEST).unwrap();
        negotiate(&Arc::new(Context::with_config(client, target, config))).await
    }

    #[tokio::test]
    async fn a_refused_version_steps_down_to_the_newest_accepted() {
        let (version, why) = negotiated(ResponseTemplate::new(400)).await;
        assert_eq!(version, SpecVersion::V2025_11_25);
        assert!(why.contains("refused: 2026-07-28 answered 400"), "{why}");
    }

    #[tokio::test]
    async fn a_json_rpc_error_is_a_refusal_too() {
        let error =
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "Method not found"}});
        let (version, why) = negotiated(ResponseTemplate::new(200).set_body_json(error)).await;
        assert_eq!(version, SpecVersion::V2025_11_25);
        assert!(
            why.contains("2026-07-28 answered 200 with JSON-RPC error -32601: Method not found"),
            "{why}"
        );
    }

    /// Asked for a version the server does not speak (it speaks an older one), the checks
    /// that need the refused request skip, saying why, and never fail on it.
    #[tokio::test]
    async fn an_explicit_version_the_target_refuses_skips_instead_of_failing() {
        let server = MockServer::start().await;
        let challenge = format!("Bearer resource_metadata=\"{}/prm\"", server.uri());
        Mock::given(method("POST"))
            .and(wiremock::matchers::header("authorization", "Bearer supplied-token"))
            .and(body_string_contains("server/discover"))
            .respond_with(ResponseTemplate::new(400))
            .mount(&server)
            .await;
        let result = serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-11-25"}});
        Mock::given(method("POST"))
            .and(wiremock::matchers::header("authorization", "Bearer supplied-token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(result))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(401).insert_header("WWW-Authenticate", challenge.as_str()))
            .mount(&server)
            .await;
        let mut config = TargetConfig::default();
        config.tokens.insert(TokenKind::Valid, Secret::new("supplied-token"));
        let verdicts = crate::tests::support::run_configured(
            &format!("{}/mcp", server.uri()),
            SpecVersion::LATEST,
            Duration::from_secs(5),
            config,
        )
        .await;
        let valid = crate::tests::support::verdict(&verdicts, "rs.token.valid-accepted");
        assert_eq!(valid.outcome, crate::verdict::Outcome::Skip, "{}", valid.message);
        assert!(valid.message.contains("does not speak 2026-07-28"), "{}", valid.message);
        assert!(valid.message.contains("--spec-version 2025-11-25"), "{}", valid.message);
        let failed: Vec<&str> = verdicts
            .iter()
            .filter(|v| v.requirement.starts_with("rs.token") && v.outcome == crate::verdict::Outcome::Fail)
            .map(|v| v.requirement.as_str())
            .collect();
        assert!(failed.is_empty(), "{failed:?}");
    }

    #[test]
    fn auto_or_a_version() {
        assert_eq!("auto".parse::<VersionChoice>(), Ok(VersionChoice::Auto));
        assert_eq!(
            "2025-06-18".parse::<VersionChoice>(),
            Ok(VersionChoice::Fixed(SpecVersion::V2025_06_18))
        );
        assert!(
            "2024-11-05"
                .parse::<VersionChoice>()
                .unwrap_err()
                .ends_with("or `auto`")
        );
    }
}
