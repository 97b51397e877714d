//! A run: plan the cases, evaluate them concurrently (shared discovery), show each verdict on
//! the console as a libtest trial, and hand the verdicts to the reporters.

mod bearer;
mod context;
mod engine;
mod version;

use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use libtest_mimic::{Arguments, Trial};
use serde::Serialize;

pub use context::Context;
#[cfg(test)]
pub(crate) use context::redirect_variants;
pub use engine::{Planned, evaluate, plan};
pub use version::{VersionChoice, negotiate};

use crate::report::console;
use crate::report::progress::Progress;
use crate::spec::SpecVersion;
use crate::verdict::{Outcome, Summary, Verdict};

/// Everything a run found: the one input of every reporter. Its JSON form is the report
/// contract (`--report json=...`).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub tool: Tool,
    pub target: String,
    pub spec_version: SpecVersion,
    /// `--spec-version auto` (the default): why this version (an extension of the contract).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec_version_chosen: Option<String>,
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
            spec_version_chosen: None,
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
    run_counted(ctx, plan, None).await
}

/// As [`run_quiet`], counting each verdict on `progress` (a matrix run's bar).
pub async fn run_counted(ctx: Arc<Context>, plan: &[Planned], progress: Option<&Progress>) -> Vec<Verdict> {
    let one = |p| {
        let ctx = ctx.clone();
        async move {
            let verdict = evaluate(ctx, p).await;
            if let Some(progress) = progress {
                progress.done(&verdict.requirement);
            }
            verdict
        }
    };
    if ctx.seed().is_some() {
        // Seeded, one case after another: the target sees the same requests in the same order.
        let mut verdicts = Vec::with_capacity(plan.len());
        for p in plan {
            verdicts.push(one(p).await);
        }
        return verdicts;
    }
    futures::future::join_all(plan.iter().map(one)).await
}

/// Runs the plan on `runtime`, printing one libtest line per verdict, in plan order. With a
/// progress bar (a terminal) the lines come once all verdicts are in; without, each as soon
/// as it and those before it are.
pub fn run_with_console(
    runtime: &tokio::runtime::Runtime,
    ctx: Arc<Context>,
    plan: Vec<Planned>,
    args: &Arguments,
    progress: Option<&Progress>,
) -> Vec<Verdict> {
    let version = ctx.target.version;
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Verdict)>();
    start(runtime, ctx, &plan, tx);
    let arrived = Arc::new(Mutex::new(Arrivals {
        rx,
        verdicts: vec![None; plan.len()],
    }));
    if let Some(progress) = progress {
        let mut arrivals = arrived.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..plan.len() {
            let Ok((i, verdict)) = arrivals.rx.recv() else { break };
            progress.done(&verdict.requirement);
            arrivals.verdicts[i] = Some(verdict);
        }
        progress.finish();
    }
    let results: Arc<Mutex<Vec<Option<Verdict>>>> = Arc::new(Mutex::new(vec![None; plan.len()]));
    let trials = plan.iter().enumerate().map(|(i, planned)| {
        let (arrived, results) = (arrived.clone(), results.clone());
        let fallback = harness_error(planned, version);
        Trial::ignorable_test(planned.requirement.id.clone(), move || {
            let verdict = arrived
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(i)
                .unwrap_or(fallback);
            let shown = console::trial_result(&verdict, version);
            results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(verdict);
            shown
        })
    });
    // The exit code comes from the verdicts (a warn is not a failure), not from libtest.
    let _conclusion = libtest_mimic::run(args, trials.collect());
    let results = std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()));
    results
        .into_iter()
        .zip(&plan)
        .map(|(v, p)| v.unwrap_or_else(|| harness_error(p, version)))
        .collect()
}

/// Starts every case now, each sending its verdict with its plan index when done; seeded, one
/// case after another.
fn start(runtime: &tokio::runtime::Runtime, ctx: Arc<Context>, plan: &[Planned], tx: Sender<(usize, Verdict)>) {
    let jobs: Vec<(usize, Planned)> = plan.iter().cloned().enumerate().collect();
    if ctx.seed().is_some() {
        runtime.spawn(async move {
            for (i, planned) in jobs {
                let _ = tx.send((i, evaluate(ctx.clone(), &planned).await));
            }
        });
        return;
    }
    for (i, planned) in jobs {
        let (ctx, tx) = (ctx.clone(), tx.clone());
        runtime.spawn(async move {
            let _ = tx.send((i, evaluate(ctx, &planned).await));
        });
    }
}

/// Verdicts as they arrive, in any order, kept until their trial takes them.
struct Arrivals {
    rx: Receiver<(usize, Verdict)>,
    verdicts: Vec<Option<Verdict>>,
}

impl Arrivals {
    /// Case `i`'s verdict, waiting for it if need be; none if its evaluation died.
    fn take(&mut self, i: usize) -> Option<Verdict> {
        while self.verdicts[i].is_none() {
            let (at, verdict) = self.rx.recv().ok()?;
            self.verdicts[at] = Some(verdict);
        }
        self.verdicts[i].take()
    }
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
        normative: planned.requirement.normative_for(version).to_owned(),
        derived: planned.requirement.derived,
        case: planned.case.origin.clone(),
        expected_failure: None,
        stale_expected_failure: None,
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
