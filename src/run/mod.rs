//! A run: plan the cases, evaluate them concurrently (shared discovery), show each verdict on
//! the console as a libtest trial, and hand the verdicts to the reporters.

mod bearer;
mod context;
mod engine;

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use libtest_mimic::{Arguments, Trial};
use serde::Serialize;

pub use context::Context;
#[cfg(test)]
pub(crate) use context::redirect_variants;
pub use engine::{Planned, evaluate, plan};

use crate::report::console;
use crate::spec::SpecVersion;
use crate::verdict::{Outcome, Summary, Verdict};

/// Everything a run found: the one input of every reporter. Its JSON form is the report
/// contract (`--report json=...`).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub tool: Tool,
    pub target: String,
    pub spec_version: SpecVersion,
    /// `run --seed`, when given: the same seed against the same target reproduces the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    pub started_at: String,
    pub duration_ms: u64,
    pub verdicts: Vec<Verdict>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

impl RunReport {
    pub fn new(
        target: String,
        version: SpecVersion,
        started: SystemTime,
        elapsed_ms: u64,
        verdicts: Vec<Verdict>,
    ) -> Self {
        RunReport {
            tool: Tool {
                name: env!("CARGO_PKG_NAME"),
                version: env!("CARGO_PKG_VERSION"),
            },
            target,
            spec_version: version,
            seed: None,
            started_at: humantime::format_rfc3339_millis(started).to_string(),
            duration_ms: elapsed_ms,
            summary: Summary::of(&verdicts),
            verdicts,
        }
    }

    /// A broken MUST / MUST NOT (or, under `--strict`, SHOULD): a `fail` verdict.
    pub fn must_failed(&self) -> bool {
        self.verdicts.iter().any(|v| v.counts_against(Outcome::Fail))
    }
}

/// Runs the plan without console output (library use and tests).
pub async fn run_quiet(ctx: Arc<Context>, plan: &[Planned]) -> Vec<Verdict> {
    if ctx.seed().is_some() {
        // Seeded, one case after another: the target sees the same requests in the same order.
        let mut verdicts = Vec::with_capacity(plan.len());
        for p in plan {
            verdicts.push(evaluate(ctx.clone(), p).await);
        }
        return verdicts;
    }
    let tasks = plan.iter().map(|p| {
        let ctx = ctx.clone();
        async move { evaluate(ctx, p).await }
    });
    futures::future::join_all(tasks).await
}

/// Runs the plan on `runtime`, printing one libtest line per verdict, in plan order.
pub fn run_with_console(
    runtime: &tokio::runtime::Runtime,
    ctx: Arc<Context>,
    plan: Vec<Planned>,
    args: &Arguments,
) -> Vec<Verdict> {
    let version = ctx.target.version;
    let results: Arc<Mutex<Vec<Option<Verdict>>>> = Arc::new(Mutex::new(vec![None; plan.len()]));
    let mut trials = Vec::with_capacity(plan.len());
    let mut jobs = Vec::with_capacity(plan.len());
    for (i, planned) in plan.iter().enumerate() {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        jobs.push((tx, planned.clone()));
        let results = results.clone();
        let fallback = harness_error(planned, version);
        trials.push(Trial::ignorable_test(planned.requirement.id.clone(), move || {
            let verdict = rx.recv().unwrap_or(fallback);
            let shown = console::trial_result(&verdict, version);
            results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(verdict);
            shown
        }));
    }
    // Every case starts now; trials only wait for their own verdict, so the console streams in
    // registry order while the work runs concurrently. Seeded, the cases run one at a time.
    if ctx.seed().is_some() {
        let ctx = ctx.clone();
        runtime.spawn(async move {
            for (tx, planned) in jobs {
                let _ = tx.send(evaluate(ctx.clone(), &planned).await);
            }
        });
    } else {
        for (tx, planned) in jobs {
            let ctx = ctx.clone();
            runtime.spawn(async move {
                let _ = tx.send(evaluate(ctx, &planned).await);
            });
        }
    }
    // The exit code comes from the verdicts (a warn is not a failure), not from libtest.
    let _conclusion = libtest_mimic::run(args, trials);
    let results = std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()));
    results
        .into_iter()
        .zip(&plan)
        .map(|(v, p)| v.unwrap_or_else(|| harness_error(p, version)))
        .collect()
}

/// The verdict of a case whose evaluation died (a harness bug): `error`, never a pass.
fn harness_error(planned: &Planned, version: SpecVersion) -> Verdict {
    Verdict {
        requirement: planned.requirement.id.clone(),
        level: planned.level,
        outcome: Outcome::Error,
        message: "the harness failed while evaluating this case".to_owned(),
        evidence: Vec::new(),
        title: planned.requirement.title.clone(),
        section: planned.requirement.section.clone(),
        url: planned.requirement.url_for(version),
        case: planned.case.origin.clone(),
        expected_failure: None,
    }
}

/// libtest-mimic arguments for our console: one thread prints (the work is concurrent
/// anyway), no libtest filtering (we filter by requirement id ourselves).
pub fn console_arguments(quiet: bool, color: Option<bool>) -> Arguments {
    Arguments {
        test_threads: Some(1),
        quiet,
        color: color.map(|c| match c {
            true => libtest_mimic::ColorSetting::Always,
            false => libtest_mimic::ColorSetting::Never,
        }),
        ..Arguments::default()
    }
}

/// Timing helper for the report.
pub struct Clock {
    pub started: SystemTime,
    instant: Instant,
}

impl Clock {
    pub fn start() -> Self {
        Clock {
            started: SystemTime::now(),
            instant: Instant::now(),
        }
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.instant.elapsed().as_millis() as u64
    }
}

#[cfg(test)]
mod edge_cases;
