//! The console: each verdict as a libtest trial line (requirement id first), failures with
//! the requirement's reference and the exchanges that prove them, and a closing summary.

use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use libtest_mimic::{Arguments, Completion, Conclusion, Failed, Trial};

use super::progress::Progress;
use crate::spec::SpecVersion;
use crate::verdict::{Outcome, RunReport, Verdict};

/// Shows a run's verdicts as libtest trials, one line each in plan order, as they arrive
/// from [`crate::suite::Suite::start`]; `unfinished` holds each case's verdict should its
/// evaluation die. With a progress bar (a terminal) the lines come once all verdicts are in;
/// without, each as soon as it and those before it are. Returns the verdicts in plan order,
/// and libtest's conclusion (a `cargo test` harness exits with it; the CLI, by the verdicts).
pub fn show_trials(
    arriving: Receiver<(usize, Verdict)>,
    unfinished: Vec<Verdict>,
    version: SpecVersion,
    args: &Arguments,
    progress: Option<&Progress>,
) -> (Vec<Verdict>, Conclusion) {
    let count = unfinished.len();
    let arrived = Arc::new(Mutex::new(Arrivals {
        rx: arriving,
        verdicts: vec![None; count],
    }));
    if let Some(progress) = progress {
        let mut arrivals = arrived.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..count {
            let Ok((i, verdict)) = arrivals.rx.recv() else { break };
            progress.done(&verdict.requirement);
            arrivals.verdicts[i] = Some(verdict);
        }
        progress.finish();
    }
    let results: Arc<Mutex<Vec<Option<Verdict>>>> = Arc::new(Mutex::new(vec![None; count]));
    let trials = unfinished.iter().cloned().enumerate().map(|(i, fallback)| {
        let (arrived, results) = (arrived.clone(), results.clone());
        Trial::ignorable_test(fallback.requirement.clone(), move || {
            let verdict = arrived
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(i)
                .unwrap_or(fallback);
            let shown = trial_result(&verdict, version);
            results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(verdict);
            shown
        })
    });
    let conclusion = libtest_mimic::run(args, trials.collect());
    let results = std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()));
    let verdicts = results
        .into_iter()
        .zip(unfinished)
        .map(|(v, fallback)| v.unwrap_or(fallback))
        .collect();
    (verdicts, conclusion)
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

/// libtest-mimic arguments for our console: one thread prints (the work is concurrent
/// anyway), no libtest filtering (we filter by requirement id ourselves).
pub fn arguments(quiet: bool, color: Option<bool>) -> Arguments {
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

/// Pass is `ok`; skip and warn are `ignored (...)` with the reason (neither fails the run);
/// fail and error are `FAILED`, with the full message printed by libtest at the end.
pub fn trial_result(v: &Verdict, version: SpecVersion) -> Result<Completion, Failed> {
    if let Some(reason) = &v.stale_expected_failure {
        return Err(Failed::from(format!(
            "STALE: passes now, yet the baseline lists it as an expected failure ({reason}); \
             remove `{}` from the baseline",
            v.requirement
        )));
    }
    if let Some(reason) = &v.expected_failure {
        return Ok(Completion::ignored_with(format!(
            "expected {}: {reason}: {}",
            v.outcome.as_str(),
            first_line(&v.message)
        )));
    }
    match v.outcome {
        Outcome::Pass => Ok(Completion::Completed),
        Outcome::Skip => Ok(Completion::ignored_with(format!("skip: {}", first_line(&v.message)))),
        Outcome::Warn => Ok(Completion::ignored_with(format!(
            "warn, {} broken: {}",
            v.level,
            first_line(&v.message)
        ))),
        Outcome::Fail | Outcome::Error => Err(Failed::from(failure_block(v, version))),
    }
}

/// The text shown for a failing or erroring verdict.
pub fn failure_block(v: &Verdict, version: SpecVersion) -> String {
    let word = if v.outcome == Outcome::Fail {
        "FAIL"
    } else {
        "ERROR (could not tell)"
    };
    let mut s = format!(
        "{word}: {}\n  requirement: {} ({})\n  says: {}\n  {}\n",
        v.title,
        v.requirement,
        v.reference(version.as_str()),
        v.quote(),
        v.case
    );
    // The message is the findings' text, after any note the run's policy added (--strict, an
    // expired baseline entry): the note as it is, then each broken expectation on lines of
    // its own, pointing at the exchanges that show it.
    let text: Vec<String> = v.findings.iter().map(|f| f.line()).collect();
    let note = v
        .message
        .strip_suffix(&text.join("\n"))
        .filter(|_| !v.findings.is_empty());
    let findings = if note.is_some() { v.findings.as_slice() } else { &[] };
    for line in note.unwrap_or(&v.message).lines().filter(|l| !l.trim().is_empty()) {
        s.push_str("  ");
        s.push_str(line.trim_end());
        s.push('\n');
    }
    for f in findings {
        s.push_str(&format!("  {}: {}\n", f.observation, f.subject));
        s.push_str(&format!("    expected {}\n    got      {}\n", f.expected, f.actual));
        for line in f.detail.iter().flat_map(|d| d.lines()) {
            s.push_str(&format!("      {line}\n"));
        }
        let numbers: Vec<String> = f.exchanges.iter().map(|i| format!("#{}", i + 1)).collect();
        if !numbers.is_empty() {
            s.push_str(&format!("    seen in exchange {}\n", numbers.join(", ")));
        }
    }
    for (i, exchange) in v.evidence.iter().enumerate() {
        s.push('\n');
        if !findings.is_empty() {
            s.push_str(&format!("  exchange #{}:\n", i + 1));
        }
        for line in exchange.to_text().lines() {
            s.push_str("  ");
            s.push_str(line);
            s.push('\n');
        }
    }
    if let Some(curl) = v.reproducer() {
        s.push_str(&format!(
            "\n  reproduce (fill in what shows as [redacted]):\n  {curl}\n"
        ));
    }
    s
}

/// The line after libtest's: our own counts, which decide the exit code.
pub fn summary_line(report: &RunReport) -> String {
    let s = &report.summary;
    let mut expected = match s.expected {
        0 => String::new(),
        n => format!(" ({n} of them expected)"),
    };
    if s.stale > 0 {
        expected.push_str(&format!(", {} stale expected failure(s)", s.stale));
    }
    format!(
        "verdicts: {} pass, {} fail, {} warn, {} skip, {} error{expected} (spec {}, target {}{})",
        s.pass,
        s.fail,
        s.warn,
        s.skip,
        s.error,
        report.spec_version,
        report.target,
        super::headline::seed_note(report.seed)
    )
}

/// A matrix run's table: one row per requirement, one column per target.
pub fn matrix_table(m: &super::Matrix) -> String {
    let rows = m.rows();
    let id_width = rows.iter().map(|r| r.requirement.len()).max().unwrap_or(0).max(11);
    let widths: Vec<usize> = m.columns.iter().map(|(name, _)| name.len().max(5)).collect();
    let line = |first: &str, cells: Vec<&str>| {
        let mut s = format!("{first:<id_width$}");
        for (cell, w) in cells.iter().zip(&widths) {
            s.push_str(&format!("  {cell:<w$}"));
        }
        format!("{}\n", s.trim_end())
    };
    let mut out = line("requirement", m.columns.iter().map(|(name, _)| name.as_str()).collect());
    for row in rows {
        let cells = row.cells.iter().map(|o| o.map_or("-", super::matrix::cell)).collect();
        out.push_str(&line(&row.requirement, cells));
    }
    out
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}
