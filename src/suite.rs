//! The library's one entry point. A [`Suite`] is one run: the planned cases, and the context
//! they share (the target under one spec version, the client, the run's configuration). It
//! yields verdicts, each with its place in the plan, and the finished report. The CLI, the
//! matrix run, the tests and the benchmark all run through it.

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Instant, SystemTime};

use crate::config::TargetConfig;
use crate::discovery::Target;
use crate::http::HttpClient;
use crate::run::{Context, Planned, Policy, evaluate};
use crate::spec::SpecVersion;
use crate::verdict::{Outcome, RunReport, Verdict};

pub struct Suite {
    /// What the cases share: discovery, registrations, tokens, the run's settings.
    pub ctx: Arc<Context>,
    /// The cases to run, one per requirement, in registry order (see [`crate::run::plan`]).
    pub plan: Vec<Planned>,
    /// What the run makes of a judged verdict (`--strict`, the baseline).
    pub policy: Policy,
}

impl Suite {
    pub fn new(plan: Vec<Planned>, client: HttpClient, target: Target, config: TargetConfig) -> Suite {
        Suite {
            policy: Policy::of(&config),
            ctx: Arc::new(Context::with_config(client, target, config)),
            plan,
        }
    }

    pub fn version(&self) -> SpecVersion {
        self.ctx.target.version
    }

    /// Runs every planned case and returns the verdicts in plan order.
    pub async fn verdicts(&self) -> Vec<Verdict> {
        self.verdicts_counted(|_| {}).await
    }

    /// As [`Suite::verdicts`], telling `each` of every verdict as it comes (a progress bar).
    pub async fn verdicts_counted(&self, each: impl Fn(&Verdict)) -> Vec<Verdict> {
        let each = &each;
        let one = |planned| async move {
            let verdict = self.policy.settle(evaluate(self.ctx.clone(), planned).await);
            each(&verdict);
            verdict
        };
        if self.ctx.seed().is_some() {
            // Seeded, one case after another: the target sees the same requests in the same order.
            let mut verdicts = Vec::with_capacity(self.plan.len());
            for planned in &self.plan {
                verdicts.push(one(planned).await);
            }
            return verdicts;
        }
        futures::future::join_all(self.plan.iter().map(one)).await
    }

    /// Starts every case on `runtime` now; each verdict arrives with its plan index when done
    /// (seeded, one case after another). A case whose evaluation dies sends nothing: its
    /// verdict is then the one [`Suite::unfinished`] gives.
    pub fn start(&self, runtime: &tokio::runtime::Runtime) -> Receiver<(usize, Verdict)> {
        let (tx, rx) = std::sync::mpsc::channel();
        let jobs: Vec<(usize, Planned)> = self.plan.iter().cloned().enumerate().collect();
        let (ctx, policy) = (self.ctx.clone(), Arc::new(self.policy.clone()));
        if ctx.seed().is_some() {
            runtime.spawn(async move {
                for (i, planned) in jobs {
                    let _ = tx.send((i, policy.settle(evaluate(ctx.clone(), &planned).await)));
                }
            });
        } else {
            for (i, planned) in jobs {
                let (ctx, policy, tx) = (ctx.clone(), policy.clone(), tx.clone());
                runtime.spawn(async move {
                    let _ = tx.send((i, policy.settle(evaluate(ctx, &planned).await)));
                });
            }
        }
        rx
    }

    /// For each planned case, the verdict it gets if its evaluation dies (a harness bug):
    /// `error`, never a pass.
    pub fn unfinished(&self) -> Vec<Verdict> {
        let died = "the harness failed while evaluating this case";
        let version = self.version();
        self.plan
            .iter()
            .map(|planned| planned.verdict(version, Outcome::Error, died.to_owned()))
            .collect()
    }

    /// The report of a run that began at `clock`.
    pub fn report(&self, verdicts: Vec<Verdict>, clock: &Clock) -> RunReport {
        let target = self.ctx.target.mcp_url.clone();
        let mut report = RunReport::new(target, self.version(), clock.started, clock.elapsed_ms(), verdicts);
        report.seed = self.ctx.seed();
        if let Some(mode) = self.ctx.client_mode() {
            report.registration = Some(mode.registration.name().to_owned());
            report.registration_chosen = mode.why.clone();
        }
        report
    }
}

/// When a run began, for its report.
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
