//! No report shows a secret: the reference target records every secret it issues, and every
//! rendering of runs whose failures carry full flow evidence is searched for each of them.

use std::time::{Duration, SystemTime};

use crate::case;
use crate::config::TargetConfig;
use crate::discovery::Target;
use crate::http::redact::Secret;
use crate::http::{HttpClient, redact::Redactor};
use crate::oauth::tokens;
use crate::reference::{Fault, LOGIN_PASSWORD, Options, Reference};
use crate::report::{self, Format, console};
use crate::run;
use crate::spec::SpecVersion;
use crate::suite::Suite;
use crate::token_kind::TokenKind;
use crate::verdict::Outcome;
use crate::verdict::RunReport;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_report_shows_an_issued_secret() {
    audit(SpecVersion::LATEST, &[]).await;
}

/// Up to 2025-11-25 a session id is a credential too: sessions that stand in for the token,
/// or serve another user, put live ids in failing evidence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_report_shows_a_session_id() {
    let sessions = [Fault::SessionAuthenticates, Fault::SessionNotBoundToUser];
    let broken = audit(SpecVersion::V2025_11_25, &sessions).await;
    assert!(
        broken.iter().any(|r| r == "rs.token.every-request"),
        "a session stood in for the token, in failing evidence: {broken:?}"
    );
}

/// A proxy's failing evidence holds upstream codes in its callback URLs and consent cookies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_report_shows_a_proxy_secret() {
    let proxy = [Fault::ProxyCallbackStateUnchecked, Fault::ConsentCookieWeak];
    let broken = audit(SpecVersion::LATEST, &proxy).await;
    for id in ["as.authz.proxy-state-single-use", "as.authz.consent-page-hardening"] {
        assert!(
            broken.iter().any(|r| r == id),
            "{id} failed, its evidence shown: {broken:?}"
        );
    }
}

/// Runs the suite at `version` under secret-showing faults and `extra`, and asserts no
/// rendering shows an issued secret; the requirements that failed.
async fn audit(version: SpecVersion, extra: &[Fault]) -> Vec<String> {
    let mut faults = vec![
        Fault::CodeReusable,
        Fault::VerifierNotCompared,
        Fault::TokenResponseCacheable,
        Fault::SecretWithoutExpiry,
        // The token in a query string and in repeated headers, in failing evidence.
        Fault::QueryTokenAccepted,
        Fault::TwoTokenMethodsAccepted,
        Fault::AnyTokenAccepted,
    ];
    faults.extend(extra);
    // Behind a login form, so the form driver's password and the session cookie are in play.
    let options = Options {
        login_form: true,
        ..Options::default()
    };
    let reference = Reference::start_with(&faults, options).await.unwrap();
    let cases = case::load_embedded().unwrap();
    let client = HttpClient::new(Duration::from_secs(5), Redactor::default()).unwrap();
    let mut config = TargetConfig {
        consent: super::login_form::form_driver(),
        ..TargetConfig::default()
    };
    reference.fill_config(&mut config);
    // A supplied token too (the user's, from an environment variable).
    let minted = tokens::mint(
        &client,
        &reference.mint_endpoint,
        TokenKind::ForeignIssuer,
        &reference.mcp_url,
        None,
        None,
    );
    let (supplied, _) = minted.await.unwrap();
    config
        .tokens
        .insert(TokenKind::ForeignIssuer, Secret::new(supplied.as_str()));
    let client = HttpClient::new(Duration::from_secs(5), Redactor::default()).unwrap();
    let target = Target::new(&reference.mcp_url, version).unwrap();
    let suite = Suite::new(run::plan(&cases, version, None), client, target, config);
    let verdicts = suite.verdicts().await;
    let failing = verdicts.iter().filter(|v| v.outcome == Outcome::Fail).count();
    assert!(failing >= 4, "the faults produce failures with flow evidence");
    let shows_supplied =
        |v: &&crate::verdict::Verdict| v.requirement == "rs.token.foreign-issuer" && v.outcome == Outcome::Fail;
    assert!(
        verdicts.iter().any(|v| shows_supplied(&v)),
        "the supplied token is in failing evidence"
    );
    let report = RunReport::new(reference.mcp_url.clone(), version, SystemTime::now(), 1, verdicts);

    let mut rendered: Vec<String> = [
        Format::Json,
        Format::Junit,
        Format::Markdown,
        Format::Html,
        Format::Badge,
    ]
    .iter()
    .map(|f| report::render(*f, &report))
    .collect();
    rendered.extend(report.verdicts.iter().map(|v| console::failure_block(v, version)));
    let everything = rendered.join("\n");
    let secrets = reference.issued_secrets();
    // Access tokens are JWTs (`eyJ`: base64url of `{"`).
    let kinds = ["code-", "eyJ", "refresh-", "secret-", "session-"];
    for kind in kinds {
        assert!(
            secrets.iter().any(|s| s.starts_with(kind)),
            "the run got a {kind}* secret issued"
        );
    }
    for secret in secrets.iter().chain([&LOGIN_PASSWORD.to_owned(), &supplied]) {
        assert!(
            !everything.contains(secret.as_str()),
            "a report shows the secret {secret}"
        );
    }
    assert!(
        everything.contains("[redacted]"),
        "the evidence still shows where secrets were"
    );
    let failed = report.verdicts.iter().filter(|v| v.outcome == Outcome::Fail);
    failed.map(|v| v.requirement.clone()).collect()
}
