//! The verdict, one per requirement checked, and the run report that gathers them: the
//! records between the engine and every reporter. Reporters print them; they never re-judge.

use std::borrow::Cow;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::http::Exchange;
use crate::spec::{Level, SpecVersion};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The target keeps the requirement.
    Pass,
    /// A MUST / MUST NOT is broken.
    Fail,
    /// A SHOULD / SHOULD NOT is broken.
    Warn,
    /// Not applicable (feature absent, precondition unmet), with the reason.
    Skip,
    /// Could not tell: timeout, unreachable, oversized answer.
    Error,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Pass,
        Outcome::Fail,
        Outcome::Warn,
        Outcome::Skip,
        Outcome::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Warn => "warn",
            Outcome::Skip => "skip",
            Outcome::Error => "error",
        }
    }
}

/// Reports are read back by `report merge` (Deserialize): what a report may leave out has
/// its default.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verdict {
    pub requirement: String,
    pub level: Level,
    pub outcome: Outcome,
    pub message: String,
    pub evidence: Vec<Exchange>,
    /// The broken expectations behind a fail, a warn or a MAY not shown, one each (an
    /// extension of the contract; the message is their text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Extensions of the report contract: what the requirement says and where.
    pub title: String,
    pub section: String,
    pub url: String,
    /// The sentence of the cited text that sets the level, and whether the server's duty is
    /// inferred from it rather than stated.
    pub normative: String,
    pub derived: bool,
    /// The case that produced the verdict (`cases/rs-challenge.toml:3`).
    pub case: String,
    /// A fail or error the run's baseline accepts (`--expected-failures`): its reason. It
    /// stays visible and does not fail the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_failure: Option<String>,
    /// A pass the baseline still lists as an expected failure: its reason. The baseline is
    /// stale, and the run fails until the entry goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_expected_failure: Option<String>,
}

impl Verdict {
    /// A `curl` command replaying the decisive (last) request the run sent.
    pub fn reproducer(&self) -> Option<String> {
        let sent = self.evidence.iter().rev().find(|e| e.received_by.is_none());
        sent.map(|e| e.request.to_curl())
    }

    /// A fail or error that no baseline excuses: what fails a run.
    pub fn counts_against(&self, outcome: Outcome) -> bool {
        self.outcome == outcome && self.expected_failure.is_none()
    }

    /// The sentence the level rests on, as every report quotes it: `"..."`, with `(derived:
    /// ...)` where the server's duty is inferred from it.
    pub fn quote(&self) -> String {
        let derived = if self.derived {
            " (derived: the server's duty is inferred from this sentence)"
        } else {
            ""
        };
        format!("\"{}\"{derived}", self.normative)
    }

    /// The requirement's reference, as printed with a failure:
    /// `MUST, 2026-07-28, RFC 9728 §3.3 <url>`.
    pub fn reference(&self, version: &str) -> String {
        format!("{}, {version}, {} <{}>", self.level, self.section, self.url)
    }
}

/// One broken expectation: where it was seen, what was expected (every acceptable form) and
/// what was there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The observation that broke it: "token request (code_verifier: {other_verifier})".
    pub observation: String,
    /// What the expectation looked at, as the case writes it: `json:/resource`.
    pub subject: String,
    pub expected: String,
    pub actual: String,
    /// More lines where one is not enough (a caret under a grammar error, schema violations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The exchanges of that observation: indexes into the verdict's `evidence`.
    pub exchanges: Vec<usize>,
}

impl Finding {
    /// The finding as one message line (with its detail indented below).
    pub fn line(&self) -> String {
        let mut s = format!(
            "{}: {}: expected {}, got {}",
            self.observation, self.subject, self.expected, self.actual
        );
        if let Some(detail) = &self.detail {
            for l in detail.lines() {
                s.push_str("\n    ");
                s.push_str(l);
            }
        }
        s
    }

    /// Its text with every secret the run knows replaced.
    pub fn redacted(self, redactor: &crate::http::redact::Redactor) -> Finding {
        Finding {
            observation: redactor.text(&self.observation),
            subject: self.subject,
            expected: redactor.text(&self.expected),
            actual: redactor.text(&self.actual),
            detail: self.detail.map(|d| redactor.text(&d)),
            exchanges: self.exchanges,
        }
    }
}

/// Counts per outcome, in the report's `summary`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub skip: usize,
    pub error: usize,
    /// Of the fails and errors, those the baseline accepts (an extension: absent when 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub expected: usize,
    /// Passes the baseline still lists (an extension: absent when 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stale: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    pub fn of(verdicts: &[Verdict]) -> Self {
        let mut s = Summary::default();
        for v in verdicts {
            *match v.outcome {
                Outcome::Pass => &mut s.pass,
                Outcome::Fail => &mut s.fail,
                Outcome::Warn => &mut s.warn,
                Outcome::Skip => &mut s.skip,
                Outcome::Error => &mut s.error,
            } += 1;
            s.expected += usize::from(v.expected_failure.is_some());
            s.stale += usize::from(v.stale_expected_failure.is_some());
        }
        s
    }
}

/// Everything a run found: the one input of every reporter. Its JSON form is the report
/// contract (`--report json=...`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub tool: Tool,
    pub target: String,
    pub spec_version: SpecVersion,
    /// `--spec-version auto` (the default): why this version (an extension of the contract).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_version_chosen: Option<String>,
    /// `run --seed`, when given: the same seed against the same target reproduces the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// How the flows' client identified itself (`cimd`, `dcr`, `preregistered`), once a flow
    /// ran (an extension of the contract).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<String>,
    /// `registration = auto` (the default): why that way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_chosen: Option<String>,
    pub started_at: String,
    pub duration_ms: u64,
    pub verdicts: Vec<Verdict>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tool {
    pub name: Cow<'static, str>,
    pub version: Cow<'static, str>,
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
                name: Cow::Borrowed(env!("CARGO_PKG_NAME")),
                version: Cow::Borrowed(env!("CARGO_PKG_VERSION")),
            },
            target,
            spec_version: version,
            spec_version_chosen: None,
            seed: None,
            registration: None,
            registration_chosen: None,
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
