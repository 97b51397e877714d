//! Exit codes: a contract with CI jobs (documented in `--help` and README).

use crate::verdict::RunReport;

/// No MUST failed (warnings and skips do not fail a run).
pub const OK: u8 = 0;
/// A MUST / MUST NOT requirement failed.
pub const MUST_FAILED: u8 = 1;
/// Usage, configuration or case-file error.
pub const USAGE: u8 = 2;
/// The target could not be reached, a check could not be completed (`error` verdict), or
/// the harness itself failed.
pub const UNREACHABLE: u8 = 3;

/// The exit code of a matrix run: as [`of_run`] over all targets, the worst first (an
/// unreachable target, then a failed MUST anywhere, then an incomplete check).
pub fn of_matrix(runs: &[(&RunReport, bool)]) -> u8 {
    if runs.iter().any(|(_, reachable)| !reachable) {
        UNREACHABLE
    } else {
        runs.iter()
            .map(|(r, _)| of_run(r, true))
            .min_by_key(|code| match *code {
                MUST_FAILED => 0,
                UNREACHABLE => 1,
                _ => 2,
            })
            .unwrap_or(OK)
    }
}

/// The exit code of a finished run. An unreachable target outranks everything (its
/// verdicts are all `error`); a failed MUST outranks an incomplete check.
pub fn of_run(report: &RunReport, reachable: bool) -> u8 {
    if !reachable {
        UNREACHABLE
    } else if report.must_failed() {
        MUST_FAILED
    } else if report
        .verdicts
        .iter()
        .any(|v| v.counts_against(crate::verdict::Outcome::Error))
    {
        UNREACHABLE
    } else {
        OK
    }
}
