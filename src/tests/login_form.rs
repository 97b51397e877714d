//! The `form` consent driver against the reference's login form, end to end; and the
//! `redirects` driver meeting that form: `error` (interaction required), never a false `fail`.

use std::time::Duration;

use crate::config::TargetConfig;
use crate::http::redact::Secret;
use crate::oauth::consent::{ConsentDriver, FormSettings};
use crate::reference::{LOGIN_PASSWORD, LOGIN_USER, Options, Reference};
use crate::spec::SpecVersion;
use crate::tests::support::run_configured;
use crate::verdict::Outcome;

const TIMEOUT: Duration = Duration::from_secs(5);

/// The reference target with a login form in front of consent.
async fn with_login_form() -> Reference {
    let options = Options {
        login_form: true,
        ..Options::default()
    }
    .guarded();
    Reference::start_with(&[], options).await.unwrap()
}

/// The `form` driver signing in as the reference's user.
pub(super) fn form_driver() -> ConsentDriver {
    ConsentDriver::Form(FormSettings {
        fields: vec![
            ("username".into(), Secret::new(LOGIN_USER)),
            ("password".into(), Secret::new(LOGIN_PASSWORD)),
        ],
        submit: Some("approve".into()),
        refused_origins: Vec::new(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_driver_signs_in_and_every_check_passes() {
    let reference = with_login_form().await;
    let mut config = TargetConfig {
        consent: form_driver(),
        ..Default::default()
    };
    reference.fill_config(&mut config);
    crate::reference::name_documents_for_guard(&mut config);
    let verdicts = run_configured(&reference.mcp_url, SpecVersion::LATEST, TIMEOUT, config).await;
    // Slow checks are skipped unless asked for; everything else passes.
    let not_passing: Vec<_> = verdicts
        .iter()
        .filter(|v| v.outcome != Outcome::Pass && !v.message.contains("run with --slow"))
        .filter(|v| !crate::tests::support::undeclared_proxy(v))
        .map(|v| (&v.requirement, &v.message))
        .collect();
    assert!(not_passing.is_empty(), "{not_passing:#?}");
    let everything = serde_json::to_string(&verdicts).unwrap();
    assert!(
        !everything.contains(LOGIN_PASSWORD),
        "the form password never reaches a report"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redirects_driver_reports_interaction_required_never_a_failure() {
    let reference = with_login_form().await;
    let verdicts = run_configured(
        &reference.mcp_url,
        SpecVersion::LATEST,
        TIMEOUT,
        TargetConfig::default(),
    )
    .await;
    assert!(verdicts.iter().all(|v| v.outcome != Outcome::Fail), "no false failures");
    let usable = verdicts
        .iter()
        .find(|v| v.requirement == "as.dcr.registered-client-usable")
        .unwrap();
    assert_eq!(usable.outcome, Outcome::Error);
    assert!(
        usable.message.contains("interaction required") && usable.message.contains("Sign in to the reference AS"),
        "{}",
        usable.message
    );
}
