//! Edge cases of the discovery checks against a scripted server (wiremock): each test pins
//! how the suite judges one shape of answer.

use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::spec::SpecVersion;
use crate::tests::support::{assert_outcome, run_against, verdict};
use crate::verdict::Outcome::{Error, Fail, Pass, Skip, Warn};

const TIMEOUT: Duration = Duration::from_secs(5);

/// A conformant RS + AS on one server; `challenge` is the 401's WWW-Authenticate lines.
async fn server(challenge: &[&str]) -> MockServer {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount_challenge(&server, challenge).await;
    let prm = json!({"resource": format!("{uri}/mcp"), "authorization_servers": [uri], "scopes_supported": ["a"]});
    mount_json(&server, "/.well-known/oauth-protected-resource/mcp", prm).await;
    mount_json(&server, "/.well-known/oauth-authorization-server", as_metadata(&uri)).await;
    server
}

/// Answers the unauthenticated MCP request with a 401 carrying `challenge` lines
/// (`{uri}` is the server's own origin).
async fn mount_challenge(server: &MockServer, challenge: &[&str]) {
    let mut unauthorized = ResponseTemplate::new(401);
    for line in challenge {
        unauthorized = unauthorized.append_header("WWW-Authenticate", line.replace("{uri}", &server.uri()));
    }
    Mock::given(method("POST"))
        .and(path("/mcp"))
        .respond_with(unauthorized)
        .mount(server)
        .await;
}

/// Replaces what [`server`] answers to a GET of `at`.
async fn override_get(server: &MockServer, at: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(response)
        .with_priority(1)
        .mount(server)
        .await;
}

fn as_metadata(issuer: &str) -> serde_json::Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
    })
}

async fn mount_json(server: &MockServer, at: &str, body: serde_json::Value) {
    let response = ResponseTemplate::new(200).set_body_json(body);
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(response)
        .mount(server)
        .await;
}

const GOOD: &str = r#"Bearer resource_metadata="{uri}/.well-known/oauth-protected-resource/mcp", scope="a""#;

#[tokio::test]
async fn a_conformant_server_passes() {
    let s = server(&[GOOD]).await;
    let verdicts = run_against(&format!("{}/mcp", s.uri()), SpecVersion::LATEST, TIMEOUT).await;
    // This server has discovery only: every flow check skips, saying why (no registration;
    // no client ID metadata documents; no introspection; no signed metadata); the rest pass.
    let unexpected: Vec<_> = verdicts
        .iter()
        .filter(|v| match v.outcome {
            Pass => false,
            Skip => {
                !v.message.contains("registration_endpoint")
                    && !v.message.contains("introspection_endpoint")
                    && !v.message.contains("signed_metadata")
                    && !v.requirement.contains("cimd")
                    && !crate::tests::support::undeclared_proxy(v)
            }
            _ => true,
        })
        .map(|v| (&v.requirement, &v.message))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    assert!(verdicts.iter().filter(|v| v.outcome == Pass).count() >= 28);
}

#[tokio::test]
async fn challenges_on_several_header_lines_are_one_list() {
    let s = server(&[r#"Basic realm="x, y""#, GOOD]).await;
    let v = run_against(&format!("{}/mcp", s.uri()), SpecVersion::LATEST, TIMEOUT).await;
    for id in [
        "rs.challenge.www-authenticate-present",
        "rs.challenge.bearer-scheme",
        "rs.discovery.resource-metadata-url-valid",
    ] {
        assert_outcome(&v, id, Pass);
    }
}

#[tokio::test]
async fn a_missing_header_fails_and_what_needs_it_skips() {
    let s = server(&[]).await;
    let v = run_against(&format!("{}/mcp", s.uri()), SpecVersion::LATEST, TIMEOUT).await;
    assert_outcome(&v, "rs.challenge.www-authenticate-present", Fail);
    assert_outcome(&v, "rs.challenge.bearer-scheme", Skip);
    // PRM is still found at the well-known location (2025-11-25+ fallback).
    assert_outcome(&v, "rs.prm.implemented", Pass);
    assert_outcome(&v, "rs.discovery.prm-well-known", Pass);
}

#[tokio::test]
async fn a_grammar_error_points_a_caret_at_the_byte() {
    let s = server(&[r#"Bearer scope="a" resource_metadata="{uri}/x""#]).await;
    let v = run_against(&format!("{}/mcp", s.uri()), SpecVersion::LATEST, TIMEOUT).await;
    let present = verdict(&v, "rs.challenge.www-authenticate-present");
    assert_eq!(present.outcome, Fail);
    let caret_line = present.message.lines().find(|l| l.contains('^')).expect("a caret line");
    let header_line = present
        .message
        .lines()
        .find(|l| l.contains("WWW-Authenticate: Bearer"))
        .expect("the header");
    // The caret sits under the `r` of `resource_metadata`, where a comma was due.
    assert_eq!(header_line.find("resource_metadata"), caret_line.find('^'));
}

#[tokio::test]
async fn a_duplicated_parameter_fails_uniqueness_only() {
    let s =
        server(&[r#"Bearer resource_metadata="{uri}/.well-known/oauth-protected-resource/mcp", scope="a", Scope="b""#])
            .await;
    let v = run_against(&format!("{}/mcp", s.uri()), SpecVersion::LATEST, TIMEOUT).await;
    assert_outcome(&v, "rs.challenge.param-uniqueness", Fail);
    assert_outcome(&v, "rs.challenge.www-authenticate-present", Pass);
}

/// Both real peers (ts-sdk 1.32.2 and its auth middleware in front of oidc-provider) send
/// `error="invalid_token"` to a request without credentials: a SHOULD NOT, so a warning.
#[tokio::test]
async fn error_on_a_no_credentials_challenge_warns() {
    let peer = r#"Bearer error="invalid_token", error_description="Missing Authorization header", resource_metadata="{uri}/.well-known/oauth-protected-resource/mcp""#;
    let s = server(&[peer]).await;
    let v = run_against(&format!("{}/mcp", s.uri()), SpecVersion::LATEST, TIMEOUT).await;
    let no_error = verdict(&v, "rs.challenge.no-error-without-credentials");
    assert_eq!(no_error.outcome, Warn);
    assert!(
        no_error.message.contains(r#"expected absent, got <invalid_token>"#),
        "{}",
        no_error.message
    );
    // ts-sdk also has no scope in its challenge: a SHOULD (2025-11-25+).
    assert_outcome(&v, "rs.challenge.scope-on-401", Warn);
}

#[tokio::test]
async fn a_json_array_is_not_metadata() {
    let s = MockServer::start().await;
    mount_challenge(&s, &[r#"Bearer scope="a""#]).await;
    mount_json(&s, "/.well-known/oauth-protected-resource/mcp", json!([])).await;
    let v = run_against(&format!("{}/mcp", s.uri()), SpecVersion::LATEST, TIMEOUT).await;
    let implemented = verdict(&v, "rs.prm.implemented");
    assert_eq!(implemented.outcome, Fail);
    assert!(implemented.message.contains("(tried GET"), "{}", implemented.message);
    assert_eq!(
        implemented.evidence.len(),
        2,
        "both well-known locations, path-inserted then root"
    );
    assert_outcome(&v, "rs.prm.resource-matches-server", Skip);
}

#[tokio::test]
async fn wrong_json_types_fail_their_checks() {
    let s = MockServer::start().await;
    mount_challenge(&s, &[GOOD]).await;
    let prm = json!({"resource": 5, "authorization_servers": "https://as", "scopes_supported": ["a"], "resource_name": ["x"]});
    mount_json(&s, "/.well-known/oauth-protected-resource/mcp", prm).await;
    let v = run_against(&format!("{}/mcp", s.uri()), SpecVersion::LATEST, TIMEOUT).await;
    assert_outcome(&v, "rs.prm.resource-required", Fail);
    assert_outcome(&v, "rs.prm.authorization-servers", Fail);
    let typed = verdict(&v, "rs.prm.optional-fields-typed");
    assert_eq!(typed.outcome, Fail);
    assert!(typed.message.contains("/resource_name"), "{}", typed.message);
    assert_outcome(&v, "as.discovery.metadata-provided", Skip);
}

#[tokio::test]
async fn a_huge_body_is_an_error_not_a_verdict_on_the_rule() {
    let s = server(&[GOOD]).await;
    let huge = ResponseTemplate::new(200).set_body_string("x".repeat(2 * 1024 * 1024));
    override_get(&s, "/.well-known/oauth-protected-resource/mcp", huge).await;
    let v = run_against(&format!("{}/mcp", s.uri()), SpecVersion::LATEST, TIMEOUT).await;
    let implemented = verdict(&v, "rs.prm.implemented");
    assert_eq!(implemented.outcome, Error);
    assert!(
        implemented.message.contains("response body exceeds 1048576 bytes"),
        "{}",
        implemented.message
    );
}

#[tokio::test]
async fn a_slow_answer_is_an_error_within_the_timeout() {
    let s = server(&[GOOD]).await;
    let slow = ResponseTemplate::new(200)
        .set_body_json(json!({}))
        .set_delay(Duration::from_secs(30));
    override_get(&s, "/.well-known/oauth-authorization-server", slow).await;
    let v = run_against(&format!("{}/mcp", s.uri()), SpecVersion::LATEST, Duration::from_secs(1)).await;
    let provided = verdict(&v, "as.discovery.metadata-provided");
    assert_eq!(provided.outcome, Error);
    assert!(
        provided.message.contains("no complete response within 1 s"),
        "{}",
        provided.message
    );
    assert_outcome(&v, "rs.prm.implemented", Pass);
}

#[tokio::test]
async fn a_redirect_is_judged_not_followed() {
    let s = MockServer::start().await;
    let login = ResponseTemplate::new(302).append_header("Location", "/login");
    Mock::given(method("POST"))
        .and(path("/mcp"))
        .respond_with(login)
        .mount(&s)
        .await;
    let v = run_against(&format!("{}/mcp", s.uri()), SpecVersion::LATEST, TIMEOUT).await;
    let no_token = verdict(&v, "rs.challenge.401-no-token");
    assert_eq!(no_token.outcome, Fail);
    assert!(
        no_token.message.contains("expected <401>, got <302>"),
        "{}",
        no_token.message
    );
    assert_eq!(no_token.evidence.len(), 1, "the redirect was not followed");
}

#[tokio::test]
async fn an_unreachable_target_gives_errors() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let v = run_against(&format!("http://127.0.0.1:{port}/mcp"), SpecVersion::LATEST, TIMEOUT).await;
    let no_token = verdict(&v, "rs.challenge.401-no-token");
    assert_eq!(no_token.outcome, Error);
    assert!(no_token.message.contains("could not connect"), "{}", no_token.message);
    assert!(v.iter().all(|v| v.outcome != Pass && v.outcome != Fail));
}

/// ts-sdk's AS: issuer `http://localhost:3101/` in PRM and metadata alike. The terminating
/// slash is dropped to build the URL (RFC 8414 §3.1) and kept for the comparison.
#[tokio::test]
async fn an_issuer_with_a_terminating_slash_matches_itself() {
    let s = MockServer::start().await;
    let uri = s.uri();
    mount_challenge(&s, &[GOOD]).await;
    let prm = json!({"resource": format!("{uri}/mcp"), "authorization_servers": [format!("{uri}/")], "scopes_supported": ["a"]});
    mount_json(&s, "/.well-known/oauth-protected-resource/mcp", prm).await;
    mount_json(
        &s,
        "/.well-known/oauth-authorization-server",
        as_metadata(&format!("{uri}/")),
    )
    .await;
    let v = run_against(&format!("{uri}/mcp"), SpecVersion::LATEST, TIMEOUT).await;
    assert_outcome(&v, "as.metadata.issuer-matches-url", Pass);
    assert_outcome(&v, "rs.prm.authorization-servers-are-issuers", Pass);
}

/// OpenID Connect discovery only: enough from 2025-11-25 on, unreachable for 2025-06-18.
#[tokio::test]
async fn oidc_discovery_counts_from_2025_11_25() {
    let s = MockServer::start().await;
    let uri = s.uri();
    mount_challenge(&s, &[GOOD]).await;
    let prm = json!({"resource": format!("{uri}/mcp"), "authorization_servers": [uri], "scopes_supported": ["a"]});
    mount_json(&s, "/.well-known/oauth-protected-resource/mcp", prm).await;
    mount_json(&s, "/.well-known/openid-configuration", as_metadata(&uri)).await;
    let url = format!("{uri}/mcp");
    assert_outcome(
        &run_against(&url, SpecVersion::V2025_11_25, TIMEOUT).await,
        "as.discovery.metadata-provided",
        Pass,
    );
    assert_outcome(
        &run_against(&url, SpecVersion::V2025_06_18, TIMEOUT).await,
        "as.discovery.metadata-provided",
        Fail,
    );
}

/// Both peers serve, at the MCP server's origin, a copy of their separate AS's metadata
/// (`issuer` = the AS). Under 2025-03-26 that origin is the issuer, so RFC 8414 §3.3 fails.
#[tokio::test]
async fn origin_metadata_naming_another_issuer_fails_under_2025_03_26() {
    let s = server(&[GOOD]).await;
    let other = as_metadata("http://localhost:3101/");
    let response = ResponseTemplate::new(200).set_body_json(other);
    override_get(&s, "/.well-known/oauth-authorization-server", response).await;
    let v = run_against(&format!("{}/mcp", s.uri()), SpecVersion::V2025_03_26, TIMEOUT).await;
    let issuer = verdict(&v, "as.metadata.issuer-matches-url");
    assert_eq!(issuer.outcome, Fail);
    assert!(
        issuer.message.contains(r#"got <"http://localhost:3101/">"#),
        "{}",
        issuer.message
    );
    assert_outcome(&v, "as.discovery.03-26-root-metadata", Pass);
}

/// The ts-sdk peer rate-limits registration (20 an hour): a 429 says nothing about the rule.
#[tokio::test]
async fn throttling_is_an_error_not_a_failure() {
    let s = server(&[GOOD]).await;
    let throttled = ResponseTemplate::new(429).append_header("Retry-After", "600");
    override_get(&s, "/.well-known/oauth-authorization-server", throttled).await;
    let v = run_against(&format!("{}/mcp", s.uri()), SpecVersion::LATEST, TIMEOUT).await;
    let provided = verdict(&v, "as.discovery.metadata-provided");
    assert_eq!(provided.outcome, Error);
    assert!(
        provided.message.contains("429 Too Many Requests, Retry-After: 600"),
        "{}",
        provided.message
    );
    let statuses: Vec<u16> = provided
        .evidence
        .iter()
        .filter_map(|e| e.response.as_ref())
        .map(|r| r.status)
        .collect();
    assert!(statuses.contains(&429), "the 429 is evidence: {statuses:?}");
}

/// A throttled registration leaves every check that needs the client at `error`: could not
/// tell, never "not applicable" and never a failure.
#[tokio::test]
async fn a_throttled_registration_is_an_error_for_everything_that_needs_the_client() {
    let s = server(&[GOOD]).await;
    let mut metadata = as_metadata(&s.uri());
    metadata["registration_endpoint"] = json!(format!("{}/register", s.uri()));
    override_get(
        &s,
        "/.well-known/oauth-authorization-server",
        ResponseTemplate::new(200).set_body_json(metadata),
    )
    .await;
    let throttled = ResponseTemplate::new(429).append_header("Retry-After", "60");
    Mock::given(method("POST"))
        .and(path("/register"))
        .respond_with(throttled)
        .mount(&s)
        .await;
    let v = run_against(&format!("{}/mcp", s.uri()), SpecVersion::LATEST, TIMEOUT).await;
    for id in [
        "as.dcr.success-201",
        "as.dcr.registered-client-usable",
        "as.authz.state-echo",
        "as.token.success-shape",
    ] {
        let verdict = verdict(&v, id);
        assert!(
            matches!(verdict.outcome, Error),
            "{id}: {:?} {}",
            verdict.outcome,
            verdict.message
        );
        assert!(verdict.message.contains("429"), "{id}: {}", verdict.message);
    }
    assert!(v.iter().all(|v| v.outcome != Fail), "no false failures");
}

/// A resource_metadata on another host is judged, never fetched: its PRM check skips saying
/// which host, with no exchange made; the PRM is still found at the well-known location.
#[tokio::test]
async fn a_resource_metadata_on_another_host_is_not_fetched() {
    let s =
        server(&[r#"Bearer resource_metadata="https://prm.example.test/.well-known/oauth-protected-resource/mcp""#])
            .await;
    let verdicts = run_against(&format!("{}/mcp", s.uri()), SpecVersion::V2025_11_25, TIMEOUT).await;
    let v = verdict(&verdicts, "rs.discovery.resource-metadata-url-valid");
    assert_eq!(v.outcome, Skip, "{}", v.message);
    assert!(
        v.message.contains("`prm.example.test`") && v.message.contains("--allow-host"),
        "{}",
        v.message
    );
    assert!(
        v.evidence.iter().all(|e| !e.request.url.contains("example.test")),
        "never requested"
    );
    assert_outcome(&verdicts, "rs.prm.implemented", Pass);
}
