//! Markdown reports: a run's verdicts as a table with the failures' evidence (for a CI job
//! summary or a pull-request comment), and the requirement × target matrix.

use super::matrix::{Matrix, cell};
use crate::verdict::RunReport;
use crate::verdict::{Outcome, Verdict};

pub fn render(report: &RunReport) -> String {
    let mut out = format!(
        "# MCP authorization conformance: {}\n\n{}\n\n",
        report.target,
        super::headline::headline(report)
    );
    out.push_str("| requirement | level | outcome | details |\n| --- | --- | --- | --- |\n");
    for v in &report.verdicts {
        out.push_str(&format!(
            "| [`{}`]({}) | {} | {} | {} |\n",
            v.requirement,
            v.url,
            v.level,
            outcome_text(v),
            table_text(v.message.lines().next().unwrap_or(""))
        ));
    }
    let failed: Vec<&Verdict> = report
        .verdicts
        .iter()
        .filter(|v| matches!(v.outcome, Outcome::Fail | Outcome::Error))
        .collect();
    if !failed.is_empty() {
        out.push_str("\n## Failures\n");
    }
    for v in failed {
        out.push_str(&format!(
            "\n### `{}` ({})\n\n{} ({}, {})\n\n> {}\n\n",
            v.requirement,
            outcome_text(v),
            v.title,
            v.section,
            v.case,
            v.quote()
        ));
        let mut evidence = v.message.clone();
        for exchange in &v.evidence {
            evidence.push_str("\n\n");
            evidence.push_str(&exchange.to_text());
        }
        out.push_str(&fenced(&evidence));
        if let Some(curl) = v.reproducer() {
            out.push_str("\nReproduce (fill in what shows as `[redacted]`):\n\n");
            out.push_str(&fenced(&curl));
        }
    }
    out
}

/// The requirement × target table, with each target's counts.
pub fn matrix(m: &Matrix) -> String {
    let mut out = format!(
        "# MCP authorization conformance matrix (spec {}{})\n\n",
        m.spec_version,
        super::headline::seed_note(m.seed())
    );
    out.push_str("| requirement | level |");
    for (name, _) in &m.columns {
        out.push_str(&format!(" {} |", table_text(name)));
    }
    out.push_str(&format!("\n| --- | --- |{}\n", " --- |".repeat(m.columns.len())));
    for row in m.rows() {
        out.push_str(&format!("| `{}` | {} |", row.requirement, row.level));
        for outcome in &row.cells {
            out.push_str(&format!(" {} |", outcome.map_or("", cell)));
        }
        out.push('\n');
    }
    out.push_str("| **pass/fail/warn/skip/error** | |");
    for (_, report) in &m.columns {
        let s = &report.summary;
        out.push_str(&format!(" {}/{}/{}/{}/{} |", s.pass, s.fail, s.warn, s.skip, s.error));
    }
    out.push('\n');
    out
}

/// The outcome, and whether the baseline accepts it (or still lists it, passing).
pub(super) fn outcome_text(v: &Verdict) -> String {
    match (&v.expected_failure, &v.stale_expected_failure) {
        (Some(reason), _) => format!("{} (expected: {})", cell(v.outcome), table_text(reason)),
        (_, Some(reason)) => format!(
            "{} (STALE expected failure, remove it from the baseline: {})",
            cell(v.outcome),
            table_text(reason)
        ),
        _ => cell(v.outcome).to_owned(),
    }
}

/// One line for a table cell: `|` escaped, `<` not taken for HTML, no line breaks.
fn table_text(s: &str) -> String {
    s.replace('|', "\\|").replace('<', "&lt;").replace(['\n', '\r'], " ")
}

/// A code block whose fence is longer than any backtick run inside it (CommonMark §4.5).
fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{text}\n{fence}\n")
}
