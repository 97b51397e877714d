//! Several targets' runs side by side: one row per requirement, one column per target.

use serde::{Deserialize, Serialize};

use crate::spec::{Level, SpecVersion};
use crate::verdict::Outcome;
use crate::verdict::RunReport;

/// The runs of a matrix, each with the name of its target.
pub struct Matrix<'a> {
    pub spec_version: SpecVersion,
    pub columns: Vec<(String, &'a RunReport)>,
    /// Each column's place among the matrix file's targets (from 0), where the run took a
    /// slice of them (`--shard`); empty: the columns are the whole matrix, in its order.
    pub positions: Vec<usize>,
    pub shard: Option<Shard>,
}

/// `--shard K/N`: the K-th (from 1) of N slices of a matrix file's targets. Target `i` (from
/// 0, in the file's order) is in slice `i % N + 1`: deterministic, and a file that lists
/// similar servers together still spreads them over the slices (nextest's `count:` kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The places (from 0) of this slice's targets among `total`.
    pub fn positions(self, total: usize) -> Vec<usize> {
        (0..total).filter(|i| i % self.count == self.index - 1).collect()
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("expected K/N with 1 <= K <= N (e.g. 2/4), got `{s}`");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
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

#[cfg(test)]
mod tests {
    use super::Shard;

    #[test]
    fn shards_split_the_targets_round_robin_and_cover_each_once() {
        let shard = |s: &str| s.parse::<Shard>().unwrap();
        assert_eq!(shard("1/4").positions(10), [0, 4, 8]);
        assert_eq!(shard("4/4").positions(10), [3, 7]);
        assert_eq!(shard("3/3").positions(2), Vec::<usize>::new());
        let mut all: Vec<usize> = (1..=4).flat_map(|k| shard(&format!("{k}/4")).positions(21)).collect();
        all.sort();
        assert_eq!(all, (0..21).collect::<Vec<_>>());
        for bad in ["0/4", "5/4", "4", "a/b", "1/0", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
