//! Behaviours of real peers (`../shared/peers/`), reproduced by reference options, so the
//! suite's verdict on each stays what was confirmed by hand.

use std::time::Duration;

use super::{Options, Reference};
use crate::spec::SpecVersion;
use crate::testing::{run_against, verdict};
use crate::verdict::Outcome;

/// oidc-provider registers a client that names no application_type as a web application and
/// gives it no loopback port flexibility: the port rule is for native apps, so that is a skip
/// (saying why), not a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_clients_are_not_judged_by_the_native_loopback_port_rule() {
    let options = Options {
        variations: vec![super::Variation::WebDefaultRegistration],
        ..Options::default()
    };
    let reference = Reference::start_with(&[], options).await.unwrap();
    let verdicts = run_against(&reference.mcp_url, SpecVersion::V2025_06_18, Duration::from_secs(5)).await;
    let port_rule = verdict(&verdicts, "as.redirect.loopback-any-port");
    assert_eq!(port_rule.outcome, Outcome::Skip, "{}", port_rule.message);
    assert!(port_rule.message.contains("web"), "{}", port_rule.message);
    // Under 2026-07-28 the suite registers a native client, and the rule applies.
    let verdicts = run_against(&reference.mcp_url, SpecVersion::LATEST, Duration::from_secs(5)).await;
    assert_eq!(
        verdict(&verdicts, "as.redirect.loopback-any-port").outcome,
        Outcome::Pass
    );
}
