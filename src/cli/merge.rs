//! `report merge`: the slices of a matrix (or single runs), read back from their JSON
//! reports, shown and written as one matrix.

use std::path::PathBuf;

use mcp_auth_conformance::exit;
use mcp_auth_conformance::report::merge::merge;
use mcp_auth_conformance::report::{Matrix, ReportSpec, console};
use mcp_auth_conformance::verdict::RunReport;

use super::run::present_matrix;
use super::usage_error;

pub(super) fn merge_command(files: &[PathBuf], reports: &[ReportSpec]) -> u8 {
    if reports.iter().any(|r| r.format.single_run_only()) {
        return usage_error("a merged matrix is written as json, markdown or html");
    }
    let mut inputs = Vec::new();
    for path in files {
        match std::fs::read_to_string(path) {
            Ok(text) => inputs.push((path.clone(), text)),
            Err(e) => return usage_error(format!("{}: {e}", path.display())),
        }
    }
    let merged = match merge(&inputs) {
        Ok(merged) => merged,
        Err(why) => return usage_error(why),
    };
    let matrix = Matrix {
        spec_version: merged.spec_version,
        columns: merged.columns.iter().map(|(name, r)| (name.clone(), r)).collect(),
        positions: Vec::new(),
        shard: None,
    };
    if let Err(code) = present_matrix(&matrix, reports) {
        return code;
    }
    for (name, report) in &merged.columns {
        println!("{name}: {}", console::summary_line(report));
    }
    // Reachability was the runs' to report: their error verdicts carry it.
    let outcomes: Vec<(&RunReport, bool)> = merged.columns.iter().map(|(_, r)| (r, true)).collect();
    exit::of_matrix(&outcomes)
}
