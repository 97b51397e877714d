//! Which cases run (the plan) and how one planned case becomes a verdict.

use std::sync::Arc;

use super::context::Context;
use crate::case::{Case, CaseSet, Step};
use crate::check::judge;
use crate::observation::Observations;
use crate::requirement::Requirement;
use crate::spec::{Level, SpecVersion};
use crate::verdict::{Outcome, Verdict};

/// One requirement to check under the run's version, with the case that checks it.
#[derive(Debug, Clone)]
pub struct Planned {
    pub requirement: Requirement,
    pub level: Level,
    pub case: Case,
}

impl Planned {
    /// A verdict on this case's requirement under `version`, without evidence.
    pub fn verdict(&self, version: SpecVersion, outcome: Outcome, message: String) -> Verdict {
        let r = &self.requirement;
        Verdict {
            requirement: r.id.clone(),
            level: self.level,
            outcome,
            message,
            evidence: Vec::new(),
            findings: Vec::new(),
            title: r.title.clone(),
            section: r.section.clone(),
            url: r.url_for(version),
            normative: r.normative_for(version).to_owned(),
            derived: r.derived,
            case: self.case.origin.clone(),
            expected_failure: None,
            stale_expected_failure: None,
        }
    }
}

/// Requirements of `version` that have a case, in registry order, optionally filtered by a
/// substring of the requirement id.
pub fn plan(set: &CaseSet, version: SpecVersion, filter: Option<&str>) -> Vec<Planned> {
    set.registry
        .iter()
        .filter(|r| r.applies_to(version))
        .filter(|r| filter.is_none_or(|f| r.id.contains(f)))
        .filter_map(|r| {
            let case = set.case_for(&r.id, version)?;
            Some(Planned {
                requirement: r.clone(),
                level: r.level_for(version),
                case: case.clone(),
            })
        })
        .collect()
}

/// Observes and judges one planned case; the run's policy is the suite's to apply.
pub(crate) async fn evaluate(ctx: Arc<Context>, planned: &Planned) -> Verdict {
    let steps = planned.case.steps();
    let observe = |step: Step| {
        let ctx = ctx.clone();
        async move {
            let obs = ctx.observe(&step, &planned.requirement.id).await;
            (step, obs)
        }
    };
    // Seeded, one step after another: the order of requests is part of what the seed fixes.
    let observed: Vec<(Step, Observations)> = if ctx.seed().is_some() {
        let mut observed = Vec::new();
        for step in steps {
            observed.push(observe(step).await);
        }
        observed
    } else {
        futures::future::join_all(steps.into_iter().map(observe)).await
    };
    let lookup = |step: &Step| -> &[crate::observation::Observation] {
        observed
            .iter()
            .find(|(s, _)| s == step)
            .map(|(_, o)| o.as_slice())
            .unwrap_or(&[])
    };
    let judgement = judge(&planned.case, planned.level, lookup, &ctx.globals());
    let version = ctx.target.version;
    let mut evidence = judgement.evidence;
    for exchange in &mut evidence {
        exchange.redact(ctx.client.redactor());
    }
    // Known secret values (tokens the suite obtained) never reach a report.
    let message = ctx.client.redactor().text(&judgement.message);
    Verdict {
        evidence,
        findings: judgement
            .findings
            .into_iter()
            .map(|f| f.redacted(ctx.client.redactor()))
            .collect(),
        ..planned.verdict(version, judgement.outcome, message)
    }
}
