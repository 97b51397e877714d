//! Several targets' runs side by side: one row per requirement, one column per target.

use crate::spec::{Level, SpecVersion};
use crate::verdict::Outcome;
use crate::verdict::RunReport;

/// The runs of a matrix, each with the name of its target.
pub struct Matrix<'a> {
    pub spec_version: SpecVersion,
    pub columns: Vec<(String, &'a RunReport)>,
}

pub struct Row {
    pub requirement: String,
    pub level: Level,
    /// One per column; none where that run has no verdict for the requirement.
    pub cells: Vec<Option<Outcome>>,
}

impl Matrix<'_> {
    /// The seed of the runs (one `--seed` for all).
    pub fn seed(&self) -> Option<u64> {
        self.columns.first().and_then(|(_, r)| r.seed)
    }

    /// The requirements in the order the runs gave them (the first run that has each).
    pub fn rows(&self) -> Vec<Row> {
        let mut rows: Vec<Row> = Vec::new();
        for (i, (_, report)) in self.columns.iter().enumerate() {
            for v in &report.verdicts {
                let row = match rows.iter().position(|r| r.requirement == v.requirement) {
                    Some(at) => &mut rows[at],
                    None => {
                        rows.push(Row {
                            requirement: v.requirement.clone(),
                            level: v.level,
                            cells: vec![None; self.columns.len()],
                        });
                        rows.last_mut().expect("just pushed")
                    }
                };
                row.cells[i] = Some(v.outcome);
            }
        }
        rows
    }
}

/// An outcome in a table: failures in capitals, so they stand out.
pub fn cell(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "pass",
        Outcome::Fail => "FAIL",
        Outcome::Warn => "warn",
        Outcome::Skip => "skip",
        Outcome::Error => "ERROR",
    }
}
