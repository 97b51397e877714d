//! After judging, the run's policy: under `--strict` a broken SHOULD fails, and the baseline
//! (`--expected-failures`) marks the failures it expects and the entries gone stale. The
//! same pass for a single run and for each target of a matrix.

use super::context::Context;
use crate::verdict::{Outcome, Verdict};

pub fn settle(mut verdict: Verdict, ctx: &Context) -> Verdict {
    if ctx.strict() && verdict.outcome == Outcome::Warn {
        verdict.outcome = Outcome::Fail;
        verdict.message = format!("(--strict: a broken {} fails) {}", verdict.level, verdict.message);
    }
    let baseline = ctx.baseline();
    let listed = baseline.entries.get(&verdict.requirement);
    if let Some(expected) = baseline.excuses(&verdict, &crate::baseline::today()) {
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
