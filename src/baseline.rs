//! An expected-failure baseline (`run --expected-failures <file>`): requirements a target is
//! known to fail, each with the reason and optionally a date after which the entry no longer
//! holds. An expected failure stays visible but does not fail the run; one that now passes
//! is stale and does (so the baseline gets cleaned).
//!
//! ```toml
//! [[expected]]
//! requirement = "rs.token.invalid-401"
//! reason = "our verifier answers 500 to garbage tokens (issue 123)"
//! expires = 2027-01-31                 # optional: after this day it counts as a failure again
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::{DataErrors, FileError, SourceFile};
use crate::requirement::Registry;
use crate::verdict::{Outcome, Verdict};

/// One accepted failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub reason: String,
    /// `YYYY-MM-DD`; the entry holds through that day.
    pub expires: Option<String>,
}

/// The baseline, by requirement id.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    pub entries: BTreeMap<String, Expected>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    #[serde(default)]
    expected: Vec<EntrySpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntrySpec {
    requirement: Spanned<String>,
    reason: Spanned<String>,
    expires: Option<Spanned<toml::value::Datetime>>,
}

/// Reads and validates a baseline: every requirement known to `registry`, every reason
/// given, every expiry a date; each problem at its place (exit code 2).
pub fn load(path: &Path, registry: &Registry) -> Result<Baseline, DataErrors> {
    parse(&SourceFile::read(path)?, registry)
}

pub fn parse(file: &SourceFile, registry: &Registry) -> Result<Baseline, DataErrors> {
    let spec: BaselineFile = toml::from_str(&file.text).map_err(|e| DataErrors {
        errors: vec![FileError::from_toml(file, &e)],
    })?;
    let mut errors = Vec::new();
    let mut entries = BTreeMap::new();
    for e in spec.expected {
        let id = e.requirement.get_ref();
        if registry.get(id).is_none() {
            errors.push(FileError::new(
                file,
                e.requirement.span(),
                format!("unknown requirement `{id}`"),
            ));
        } else if entries.contains_key(id) {
            errors.push(FileError::new(
                file,
                e.requirement.span(),
                format!("`{id}` is listed twice"),
            ));
        }
        if e.reason.get_ref().trim().is_empty() || e.reason.get_ref().starts_with("TODO") {
            let msg = "say why this failure is accepted (the reason is empty or still TODO)";
            errors.push(FileError::new(file, e.reason.span(), msg));
        }
        let expires = match &e.expires {
            Some(d) if d.get_ref().date.is_none() || d.get_ref().time.is_some() => {
                errors.push(FileError::new(file, d.span(), "expires is a date: 2027-01-31"));
                None
            }
            Some(d) => Some(d.get_ref().to_string()),
            None => None,
        };
        entries.insert(
            id.clone(),
            Expected {
                reason: e.reason.into_inner(),
                expires,
            },
        );
    }
    if errors.is_empty() {
        Ok(Baseline { entries })
    } else {
        Err(DataErrors { errors })
    }
}

impl Baseline {
    /// The entry that excuses `verdict` on `today` (`YYYY-MM-DD`): a fail or error of a listed,
    /// unexpired requirement.
    pub fn excuses(&self, verdict: &Verdict, today: &str) -> Option<&Expected> {
        let failed = matches!(verdict.outcome, Outcome::Fail | Outcome::Error);
        let entry = self.entries.get(&verdict.requirement)?;
        let live = entry.expires.as_deref().is_none_or(|day| today <= day);
        (failed && live).then_some(entry)
    }

    /// Listed requirements that ran and passed: the baseline is stale for them.
    pub fn stale<'a>(&'a self, verdicts: &'a [Verdict]) -> Vec<&'a str> {
        verdicts
            .iter()
            .filter(|v| v.outcome == Outcome::Pass && self.entries.contains_key(&v.requirement))
            .map(|v| v.requirement.as_str())
            .collect()
    }
}

/// A baseline listing every fail and error of `verdicts`, each reason still to be written.
pub fn write(verdicts: &[Verdict]) -> String {
    let mut out = String::from(
        "# Expected failures (run --expected-failures <this file>). Replace each TODO with the\n\
         # reason; `expires = YYYY-MM-DD` makes an entry count as a failure again after that day.\n",
    );
    for v in verdicts
        .iter()
        .filter(|v| matches!(v.outcome, Outcome::Fail | Outcome::Error))
    {
        // An accepted failure keeps its reason; a new one gets a placeholder to replace.
        let reason = match &v.expected_failure {
            Some(reason) => reason.clone(),
            None => format!("TODO ({})", v.message.lines().next().unwrap_or("")),
        };
        let reason = reason.replace('\\', "\\\\").replace('"', "\\\"");
        out.push_str(&format!(
            "\n[[expected]]\nrequirement = \"{}\"\nreason = \"{reason}\"\n",
            v.requirement
        ));
    }
    out
}

/// Today's date, `YYYY-MM-DD` (UTC).
pub fn today() -> String {
    humantime::format_rfc3339(std::time::SystemTime::now()).to_string()[..10].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        crate::case::load_embedded().expect("embedded cases load").registry
    }

    fn file(text: &str) -> SourceFile {
        SourceFile {
            name: "baseline.toml".to_owned(),
            text: text.to_owned(),
        }
    }

    #[test]
    fn every_entry_needs_a_known_requirement_a_reason_and_a_date() {
        let text = "[[expected]]\nrequirement = \"rs.token.invalid-401\"\nreason = \"TODO (500 on garbage)\"\n\n\
                    [[expected]]\nrequirement = \"rs.no.such\"\nreason = \"x\"\nexpires = 2027-01-31T10:00:00Z\n\n\
                    [[expected]]\nrequirement = \"rs.token.invalid-401\"\nreason = \"twice\"\n";
        let errors = parse(&file(text), &registry()).unwrap_err();
        crate::tests::support::snapshot_settings()
            .bind(|| insta::assert_snapshot!("baseline-errors", errors.render(false)));
    }

    #[test]
    fn an_entry_excuses_a_failure_until_it_expires_and_goes_stale_on_a_pass() {
        let text =
            "[[expected]]\nrequirement = \"rs.token.invalid-401\"\nreason = \"500 on garbage\"\nexpires = 2027-01-31\n";
        let baseline = parse(&file(text), &registry()).unwrap();
        let verdict = |outcome| Verdict {
            requirement: "rs.token.invalid-401".to_owned(),
            level: crate::spec::Level::Must,
            outcome,
            message: String::new(),
            evidence: Vec::new(),
            findings: Vec::new(),
            title: String::new(),
            section: String::new(),
            url: String::new(),
            normative: String::new(),
            derived: false,
            case: String::new(),
            expected_failure: None,
            stale_expected_failure: None,
        };
        let failed = verdict(Outcome::Fail);
        assert!(baseline.excuses(&failed, "2027-01-31").is_some());
        assert!(baseline.excuses(&failed, "2027-02-01").is_none(), "expired");
        assert!(baseline.excuses(&verdict(Outcome::Warn), "2026-01-01").is_none());
        let passed = [verdict(Outcome::Pass)];
        assert_eq!(baseline.stale(&passed), ["rs.token.invalid-401"]);
        let written = write(&[failed]);
        assert!(
            written.contains("requirement = \"rs.token.invalid-401\"\nreason = \"TODO ("),
            "{written}"
        );
    }
}
