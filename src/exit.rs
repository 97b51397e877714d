//! Exit codes: a contract with CI jobs (documented in `--help` and README).

use crate::run::RunReport;

/// No MUST failed (warnings and skips do not fail a run).
pub const OK: u8 = 0;
/// A MUST / MUST NOT requirement failed.
pub const MUST_FAILED: u8 = 1;
/// Usage, configuration or case-file error.
pub const USAGE: u8 = 2;
/// The target could not be reached, a check could not be completed (`error` verdict), or
/// the harness itself failed.
pub const UNREACHABLE: u8 = 3;

/// The exit code of a finished run. An unreachable target outranks everything (its
/// verdicts are all `error`); a failed MUST outranks an incomplete check.
pub fn of_run(report: &RunReport, reachable: bool) -> u8 {
    if !reachable {
        UNREACHABLE
    } else if report.must_failed() {
        MUST_FAILED
    } else if report.summary.error > 0 {
        UNREACHABLE
    } else {
        OK
    }
}
