//! After judging, the run's policy: under `--strict` a broken SHOULD fails, and the baseline
//! (`--expected-failures`) marks the failures it expects and the entries gone stale. A plain
//! value, the same pass for a single run and for each target of a matrix.

use crate::baseline::Baseline;
use crate::config::TargetConfig;
use crate::verdict::{Outcome, Verdict};

#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `run --strict`: a broken SHOULD fails.
    pub strict: bool,
    /// `run --expected-failures`: the failures the run accepts.
    pub baseline: Baseline,
}

impl Policy {
    pub fn of(config: &TargetConfig) -> Policy {
        Policy {
            strict: config.strict,
            baseline: config.baseline.clone(),
        }
    }

    /// A judged verdict as the run reports it.
    pub fn settle(&self, mut verdict: Verdict) -> Verdict {
        if self.strict && verdict.outcome == Outcome::Warn {
            verdict.outcome = Outcome::Fail;
            verdict.message = format!("(--strict: a broken {} fails) {}", verdict.level, verdict.message);
        }
        let listed = self.baseline.entries.get(&verdict.requirement);
        if let Some(expected) = self.baseline.excuses(&verdict, &crate::baseline::today()) {
            verdict.expected_failure = Some(expected.reason.clone());
        } else if let Some(entry) = listed
            && verdict.outcome == Outcome::Pass
        {
            verdict.stale_expected_failure = Some(entry.reason.clone());
        } else if let Some(entry) = listed
            && matches!(verdict.outcome, Outcome::Fail | Outcome::Error)
        {
            // Listed, but past its expiry date: a failure again, saying so.
            let day = entry.expires.as_deref().unwrap_or_default();
            verdict.message = format!("(expected failure until {day}, no longer) {}", verdict.message);
        }
        verdict
    }
}
