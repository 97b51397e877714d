//! Behaviours of real peers (`../shared/peers/`), reproduced by reference options, so the
//! suite's verdict on each stays what was confirmed by hand.

use std::time::Duration;

use crate::reference::{Options, Reference};
use crate::spec::SpecVersion;
use crate::tests::support::{run_against, verdict};
use crate::verdict::Outcome;

/// oidc-provider registers a client that names no application_type as a web application and
/// gives it no loopback port flexibility. The port rule is for native apps, so the case's own
/// authorizations run on a client registered as native in every version, and the rule is
/// judged there (before, a 2025-06-18 run registered a web client and skipped it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loopback_port_rule_is_judged_on_a_native_client_where_registrations_default_to_web() {
    let options = Options {
        variations: vec![crate::reference::Variation::WebDefaultRegistration],
        ..Options::default()
    };
    let reference = Reference::start_with(&[], options).await.unwrap();
    for version in [SpecVersion::V2025_06_18, SpecVersion::LATEST] {
        let verdicts = run_against(&reference.mcp_url, version, Duration::from_secs(5)).await;
        let port_rule = verdict(&verdicts, "as.redirect.loopback-any-port");
        assert_eq!(port_rule.outcome, Outcome::Pass, "{version}: {}", port_rule.message);
    }
}
