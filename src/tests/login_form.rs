//! The `form` consent driver against the reference's login form, end to end; the `browser`
//! driver against the login built by script (`--login-form=script`); and the drivers meeting a
//! page they cannot pass: `error` (interaction required), never a false `fail`.

use std::time::Duration;

use crate::config::TargetConfig;
use crate::http::redact::Secret;
use crate::oauth::consent::{BrowserSettings, ConsentDriver, FormSettings, find_chromium};
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

/// The reference target whose login is built by script, in two steps.
async fn with_scripted_login() -> Reference {
    let options = Options {
        login_script: true,
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
        submit: vec!["approve".into()],
        refused_origins: Vec::new(),
    })
}

/// The `browser` driver signing in by the labels the scripted page shows.
fn browser_driver() -> ConsentDriver {
    let form = FormSettings {
        fields: vec![
            ("Email or username".into(), Secret::new(LOGIN_USER)),
            ("Password".into(), Secret::new(LOGIN_PASSWORD)),
        ],
        submit: vec!["Next".into(), "Approve".into()],
        refused_origins: Vec::new(),
    };
    let chromium = find_chromium(None).expect("Chromium (apt-get install chromium)");
    ConsentDriver::Browser(BrowserSettings::new(form, Duration::from_secs(30), chromium))
}

/// Every check passes through `driver` against `reference` (slow ones and the proxy's skip),
/// and the password never reaches a report.
async fn every_check_passes(reference: &Reference, driver: ConsentDriver) {
    let mut config = TargetConfig {
        consent: driver,
        ..Default::default()
    };
    reference.fill_config(&mut config);
    crate::reference::name_documents_for_guard(&mut config);
    let verdicts = run_configured(&reference.mcp_url, SpecVersion::LATEST, TIMEOUT, config).await;
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
async fn the_form_driver_signs_in_and_every_check_passes() {
    every_check_passes(&with_login_form().await, form_driver()).await;
}

/// The two-step login built by script (user name, "Next", password, "Approve"), in Chromium.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium (apt-get install chromium)"]
async fn the_browser_driver_passes_the_login_built_by_script_and_every_check_passes() {
    every_check_passes(&with_scripted_login().await, browser_driver()).await;
}

/// The `form` driver sees a page that builds its form by script: interaction required, and
/// the message points at the `browser` driver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_driver_meets_the_login_built_by_script_as_interaction_required() {
    let reference = with_scripted_login().await;
    let config = TargetConfig {
        consent: form_driver(),
        ..Default::default()
    };
    let verdicts = run_configured(&reference.mcp_url, SpecVersion::LATEST, TIMEOUT, config).await;
    assert!(verdicts.iter().all(|v| v.outcome != Outcome::Fail), "no false failures");
    let usable = verdicts
        .iter()
        .find(|v| v.requirement == "as.dcr.registered-client-usable")
        .unwrap();
    assert_eq!(usable.outcome, Outcome::Error);
    assert!(
        usable.message.contains("no form in its HTML, and it runs script")
            && usable.message.contains("[consent] driver = \"browser\""),
        "{}",
        usable.message
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
