//! From a case and what its steps observed to an outcome. Pure: the engine observes, this
//! judges, reporters print.

use std::collections::BTreeMap;

use super::expect::{Broken, evaluate};
use crate::case::{Case, Expectation, Step};
use crate::http::{Exchange, Response};
use crate::spec::Level;
use crate::verdict::Outcome;

/// What one step saw: a response to judge, or why there is none.
#[derive(Debug, Clone)]
pub struct Observation {
    /// What was observed, for messages: "AS metadata for http://h/as".
    pub label: String,
    /// Every exchange made to get here, in order (redacted): the evidence.
    pub exchanges: Vec<Exchange>,
    pub observed: Observed,
    /// Placeholder values for expectations, e.g. `issuer`, `resource_metadata`.
    pub vars: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub enum Observed {
    Response(Response),
    /// Nothing to observe, with the reason (a precondition elsewhere was not met).
    Skipped(String),
    /// Could not observe: timeout, connection refused, body too large.
    Error(String),
}

impl Observation {
    pub fn skipped(label: impl Into<String>, reason: impl Into<String>) -> Self {
        Observation {
            label: label.into(),
            exchanges: Vec::new(),
            observed: Observed::Skipped(reason.into()),
            vars: BTreeMap::new(),
        }
    }

    pub fn response(&self) -> Option<&Response> {
        match &self.observed {
            Observed::Response(r) => Some(r),
            _ => None,
        }
    }
}

/// The judgement of one case, before the engine adds the requirement's metadata.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub outcome: Outcome,
    pub message: String,
    pub evidence: Vec<Exchange>,
}

/// How a MAY verdict the target does not show begins.
pub const MAY_NOT_SHOWN: &str = "information only (MAY, not shown): ";

/// Judges `case` at `level`; `observed` gives each step's observations.
pub fn judge<'a>(
    case: &Case,
    level: Level,
    observed: impl Fn(&Step) -> &'a [Observation],
    globals: &BTreeMap<String, String>,
) -> Judgement {
    let mut evidence: Vec<Exchange> = Vec::new();
    for step in case.steps() {
        for obs in observed(&step) {
            for ex in &obs.exchanges {
                // The same exchange can reach a case through two steps; shown once.
                if !evidence.iter().any(|e| e.seq == ex.seq) {
                    evidence.push(ex.clone());
                }
            }
        }
    }
    let done = |outcome, message: String| Judgement {
        outcome,
        message,
        evidence: evidence.clone(),
    };

    if let Some((outcome, reason)) = unobservable(case.given.iter(), &observed) {
        return done(outcome, reason);
    }
    if let Some((label, broken)) = broken(&case.given, &observed, globals).into_iter().next() {
        let reason = format!("precondition not met: {}", line(&label, &broken));
        return done(Outcome::Skip, reason);
    }
    // A broken expectation is judged even when another step could not be observed: what was
    // seen stands, and must not hide behind a skip elsewhere.
    let failures = broken(&case.expect, &observed, globals);
    if failures.is_empty() {
        return match unobservable(case.expect.iter(), &observed) {
            Some((outcome, reason)) => done(outcome, reason),
            None => done(Outcome::Pass, String::new()),
        };
    }
    if let Some(alt) = &case.alternative {
        let available = unobservable(alt.expect.iter(), &observed).is_none();
        if available && broken(&alt.expect, &observed, globals).is_empty() {
            // A passing alternative says which acceptable way the target took.
            let message = if alt.outcome == Outcome::Pass {
                format!("({})", alt.reason)
            } else {
                alt.reason.clone()
            };
            return done(alt.outcome, message);
        }
    }
    let message: Vec<String> = failures.iter().map(|(label, b)| line(label, b)).collect();
    let message = message.join("\n");
    match level {
        Level::Must | Level::MustNot => done(Outcome::Fail, message),
        Level::Should | Level::ShouldNot => done(Outcome::Warn, message),
        // Optional behaviour the target does not show: information, never a warning (not
        // even under --strict).
        Level::May => done(Outcome::Skip, format!("{MAY_NOT_SHOWN}{message}")),
    }
}

/// The first step that could not be observed: error beats skip.
fn unobservable<'a, 'b>(
    expectations: impl Iterator<Item = &'b Expectation>,
    observed: &impl Fn(&Step) -> &'a [Observation],
) -> Option<(Outcome, String)> {
    let mut skip = None;
    for e in expectations {
        let observations = observed(&e.step);
        if observations.is_empty() {
            skip.get_or_insert((Outcome::Skip, format!("step `{}` observed nothing", e.step.name())));
        }
        for obs in observations {
            match &obs.observed {
                Observed::Error(reason) => {
                    return Some((Outcome::Error, format!("{}: {reason}", obs.label)));
                }
                Observed::Skipped(reason) => {
                    skip.get_or_insert((Outcome::Skip, format!("{}: {reason}", obs.label)));
                }
                Observed::Response(_) => {}
            }
        }
    }
    skip
}

fn broken<'a>(
    expectations: &[Expectation],
    observed: &impl Fn(&Step) -> &'a [Observation],
    globals: &BTreeMap<String, String>,
) -> Vec<(String, Broken)> {
    let mut out = Vec::new();
    for e in expectations {
        for obs in observed(&e.step) {
            let Some(response) = obs.response() else {
                continue;
            };
            let mut vars = globals.clone();
            vars.extend(obs.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
            if let Err(b) = evaluate(e, response, &vars) {
                out.push((obs.label.clone(), b));
            }
        }
    }
    out
}

fn line(label: &str, b: &Broken) -> String {
    let mut s = format!("{label}: {}: expected {}, got {}", b.subject, b.expected, b.actual);
    if let Some(detail) = &b.detail {
        for l in detail.lines() {
            s.push_str("\n    ");
            s.push_str(l);
        }
    }
    s
}
