//! The badge: a shields.io endpoint document (`https://img.shields.io/endpoint?url=...`), so an
//! implementer can show their server's conformance in a README. Its message counts the MUST
//! rows: those passed of those checked (a skip checked nothing; an error could not tell, so it
//! counts as checked and not passed).

use serde_json::json;

use crate::spec::Level;
use crate::verdict::{Outcome, RunReport};

pub fn render(report: &RunReport) -> String {
    let must = |v: &&crate::verdict::Verdict| matches!(v.level, Level::Must | Level::MustNot);
    let musts: Vec<_> = report.verdicts.iter().filter(must).collect();
    let checked = musts.iter().filter(|v| v.outcome != Outcome::Skip).count();
    let passed = musts.iter().filter(|v| v.outcome == Outcome::Pass).count();
    let warned = report.verdicts.iter().any(|v| v.outcome == Outcome::Warn);
    // shields.io's named colours: red while a MUST is broken or unknown, green with SHOULDs
    // broken, brightgreen when nothing is, grey when no MUST was checked.
    let color = match (checked, passed == checked, warned) {
        (0, _, _) => "lightgrey",
        (_, false, _) => "red",
        (_, true, true) => "green",
        (_, true, false) => "brightgreen",
    };
    let doc = json!({
        "schemaVersion": 1,
        "label": format!("MCP auth {}", report.spec_version),
        "message": format!("{passed}/{checked} MUSTs"),
        "color": color,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
