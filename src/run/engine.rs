//! Which cases run (the plan) and how one planned case becomes a verdict.

use std::sync::Arc;

use super::context::Context;
use crate::case::{Case, CaseSet, Step};
use crate::check::judge;
use crate::observation::Observations;
use crate::requirement::Requirement;
use crate::spec::{Level, SpecVersion};
use crate::verdict::Verdict;

/// One requirement to check under the run's version, with the case that checks it.
#[derive(Debug, Clone)]
pub struct Planned {
    pub requirement: Requirement,
    pub level: Level,
    pub case: Case,
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
    Verdict {
        requirement: planned.requirement.id.clone(),
        level: planned.level,
        outcome: judgement.outcome,
        // Known secret values (tokens the suite obtained) never reach a report.
        message: ctx.client.redactor().text(&judgement.message),
        evidence,
        findings: judgement
            .findings
            .into_iter()
            .map(|f| f.redacted(ctx.client.redactor()))
            .collect(),
        title: planned.requirement.title.clone(),
        section: planned.requirement.section.clone(),
        url: planned.requirement.url_for(version),
        normative: planned.requirement.normative_for(version).to_owned(),
        derived: planned.requirement.derived,
        case: planned.case.origin.clone(),
        expected_failure: None,
        stale_expected_failure: None,
    }
}
