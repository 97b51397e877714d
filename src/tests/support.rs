//! Shared test helpers.

use std::time::Duration;

use crate::case;
use crate::config::TargetConfig;
use crate::discovery::Target;
use crate::http::{HttpClient, redact::Redactor};
use crate::run;
use crate::spec::SpecVersion;
use crate::suite::Suite;
use crate::verdict::{Outcome, Verdict};

/// insta settings that put snapshots in the top-level `snapshots/` folder.
pub fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}

/// Runs the embedded cases against `mcp_url` (no console).
pub async fn run_against(mcp_url: &str, version: SpecVersion, timeout: Duration) -> Vec<Verdict> {
    run_configured(mcp_url, version, timeout, TargetConfig::default()).await
}

/// As [`run_against`], with a target configuration.
pub async fn run_configured(
    mcp_url: &str,
    version: SpecVersion,
    timeout: Duration,
    config: TargetConfig,
) -> Vec<Verdict> {
    let cases = case::load_embedded().expect("embedded cases load");
    let client = HttpClient::new(timeout, Redactor::default()).expect("client");
    let target = Target::new(mcp_url, version).expect("target URL");
    Suite::new(run::plan(&cases, version, None), client, target, config)
        .verdicts()
        .await
}

/// The verdict for a requirement; panics with the run's verdicts if there is none.
pub fn verdict<'a>(verdicts: &'a [Verdict], id: &str) -> &'a Verdict {
    verdicts.iter().find(|v| v.requirement == id).unwrap_or_else(|| {
        panic!(
            "no verdict for {id}; have {:?}",
            verdicts.iter().map(|v| &v.requirement).collect::<Vec<_>>()
        )
    })
}

#[track_caller]
pub fn assert_outcome(verdicts: &[Verdict], id: &str, outcome: Outcome) {
    let v = verdict(verdicts, id);
    assert_eq!(v.outcome, outcome, "{id}: {}", v.message);
}

/// A proxy's check skipped because the target is not declared one (config `[proxy]`): right
/// for every target that is not a proxy.
pub fn undeclared_proxy(v: &Verdict) -> bool {
    v.outcome == Outcome::Skip
        && v.message.contains("not declared an MCP proxy")
        && crate::reference::PROXY_REQUIREMENTS.contains(&v.requirement.as_str())
}
