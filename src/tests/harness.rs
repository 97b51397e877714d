//! The `cargo test` harness helper: a broken MUST is a failing test, the baseline excuses it,
//! and a listed requirement that passes fails (stale).

use std::process::ExitCode;

use libtest_mimic::Arguments;

use crate::Conformance;
use crate::config::TargetConfig;
use crate::harness;
use crate::reference::{Fault, Reference};
use crate::spec::SpecVersion;

/// The harness's exit code for `rs.prm.resource-required` alone, against the reference with
/// `faults`, with the baseline `listed` (if any) naming that requirement.
fn exit_code(faults: &[Fault], listed: bool) -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let reference = runtime.block_on(Reference::start(faults)).unwrap();
    let mut config = TargetConfig::default();
    reference.fill_config(&mut config);
    let mut conformance = Conformance::new(&reference.mcp_url)
        .spec_version(SpecVersion::LATEST)
        .config(config);
    let dir = tempfile::tempdir().unwrap();
    if listed {
        let path = dir.path().join("baseline.toml");
        let entry = "[[expected]]\nrequirement = \"rs.prm.resource-required\"\nreason = \"known\"\n";
        std::fs::write(&path, entry).unwrap();
        conformance = conformance.expected_failures(&path).unwrap();
    }
    // The inner harness's lines go to a file: in this test's output they would read as ours.
    let args = Arguments {
        filter: Some("rs.prm.resource-required".to_owned()),
        exact: true,
        quiet: true,
        logfile: Some(dir.path().join("harness.log").display().to_string()),
        ..Arguments::default()
    };
    harness::run(&runtime, conformance, &args)
}

#[test]
fn a_broken_must_fails_the_test_and_the_baseline_excuses_it() {
    let (broken, failed) = ([Fault::PrmMissingResource], ExitCode::from(101)); // libtest's code
    assert_eq!(exit_code(&broken, false), failed);
    assert_eq!(exit_code(&broken, true), ExitCode::SUCCESS);
    assert_eq!(exit_code(&[], false), ExitCode::SUCCESS);
    assert_eq!(exit_code(&[], true), failed, "a stale entry fails");
}
