//! The console: each verdict as a libtest trial line (requirement id first), failures with
//! the requirement's reference and the exchanges that prove them, and a closing summary.

use libtest_mimic::{Completion, Failed};

use crate::run::RunReport;
use crate::spec::SpecVersion;
use crate::verdict::{Outcome, Verdict};

/// Pass is `ok`; skip and warn are `ignored (...)` with the reason (neither fails the run);
/// fail and error are `FAILED`, with the full message printed by libtest at the end.
pub fn trial_result(v: &Verdict, version: SpecVersion) -> Result<Completion, Failed> {
    if let Some(reason) = &v.stale_expected_failure {
        return Err(Failed::from(format!(
            "STALE: passes now, yet the baseline lists it as an expected failure ({reason}); \
             remove `{}` from the baseline",
            v.requirement
        )));
    }
    if let Some(reason) = &v.expected_failure {
        return Ok(Completion::ignored_with(format!(
            "expected {}: {reason}: {}",
            v.outcome.as_str(),
            first_line(&v.message)
        )));
    }
    match v.outcome {
        Outcome::Pass => Ok(Completion::Completed),
        Outcome::Skip => Ok(Completion::ignored_with(format!("skip: {}", first_line(&v.message)))),
        Outcome::Warn => Ok(Completion::ignored_with(format!(
            "warn, {} broken: {}",
            v.level,
            first_line(&v.message)
        ))),
        Outcome::Fail | Outcome::Error => Err(Failed::from(failure_block(v, version))),
    }
}

/// The text shown for a failing or erroring verdict.
pub fn failure_block(v: &Verdict, version: SpecVersion) -> String {
    let word = if v.outcome == Outcome::Fail {
        "FAIL"
    } else {
        "ERROR (could not tell)"
    };
    let mut s = format!(
        "{word}: {}\n  requirement: {} ({})\n  says: {}\n  {}\n",
        v.title,
        v.requirement,
        v.reference(version.as_str()),
        v.quote(),
        v.case
    );
    for line in v.message.lines() {
        s.push_str("  ");
        s.push_str(line);
        s.push('\n');
    }
    for exchange in &v.evidence {
        s.push('\n');
        for line in exchange.to_text().lines() {
            s.push_str("  ");
            s.push_str(line);
            s.push('\n');
        }
    }
    if let Some(curl) = v.reproducer() {
        s.push_str(&format!(
            "\n  reproduce (fill in what shows as [redacted]):\n  {curl}\n"
        ));
    }
    s
}

/// The line after libtest's: our own counts, which decide the exit code.
pub fn summary_line(report: &RunReport) -> String {
    let s = &report.summary;
    let mut expected = match s.expected {
        0 => String::new(),
        n => format!(" ({n} of them expected)"),
    };
    if s.stale > 0 {
        expected.push_str(&format!(", {} stale expected failure(s)", s.stale));
    }
    format!(
        "verdicts: {} pass, {} fail, {} warn, {} skip, {} error{expected} (spec {}, target {}{})",
        s.pass,
        s.fail,
        s.warn,
        s.skip,
        s.error,
        report.spec_version,
        report.target,
        super::seed_note(report.seed)
    )
}

/// A matrix run's table: one row per requirement, one column per target.
pub fn matrix_table(m: &super::Matrix) -> String {
    let rows = m.rows();
    let id_width = rows.iter().map(|r| r.requirement.len()).max().unwrap_or(0).max(11);
    let widths: Vec<usize> = m.columns.iter().map(|(name, _)| name.len().max(5)).collect();
    let line = |first: &str, cells: Vec<&str>| {
        let mut s = format!("{first:<id_width$}");
        for (cell, w) in cells.iter().zip(&widths) {
            s.push_str(&format!("  {cell:<w$}"));
        }
        format!("{}\n", s.trim_end())
    };
    let mut out = line("requirement", m.columns.iter().map(|(name, _)| name.as_str()).collect());
    for row in rows {
        let cells = row.cells.iter().map(|o| o.map_or("-", super::matrix::cell)).collect();
        out.push_str(&line(&row.requirement, cells));
    }
    out
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}
