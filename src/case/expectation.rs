//! An expectation as a case file writes it (`subject`, `step` or `control`, `optional`, a
//! given's `unmet` and one predicate) into the model; the predicates' own keys and rules are
//! `check::Predicate`'s.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::model::{Expectation, Step};
use super::validate::{Converter, to_json};
use crate::check::{Predicate, Subject};
use crate::diagnostic::FileError;

/// An expectation as written: `subject`, an optional `step` or `control`, `optional`, and
/// one predicate, whose keys [`Predicate::parse`] knows.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(super) struct ExpectSpec(BTreeMap<Spanned<String>, Spanned<toml::Value>>);

impl ExpectSpec {
    const OWN_KEYS: [&str; 5] = ["subject", "step", "control", "optional", "unmet"];

    /// The steps a case table can make private (`[case.token]`...). In an expectation, the
    /// run's shared valid one, the control, is `control = "<step>"`, never `step`: one word,
    /// one meaning.
    const CONTROLS: [&str; 5] = ["register", "authorize", "token", "refresh", "mcp"];

    fn get(&self, key: &str) -> Option<&Spanned<toml::Value>> {
        self.0.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v)
    }
}

impl Converter<'_> {
    pub(super) fn expectations(&mut self, specs: &[Spanned<ExpectSpec>], case_step: Option<&Step>) -> Vec<Expectation> {
        specs
            .iter()
            .filter_map(|s| self.expectation(s, case_step, false))
            .collect()
    }

    /// A case's `given`: as [`Converter::expectations`], each with its optional `unmet`.
    pub(super) fn givens(&mut self, specs: &[Spanned<ExpectSpec>], case_step: Option<&Step>) -> Vec<Expectation> {
        specs
            .iter()
            .filter_map(|s| self.expectation(s, case_step, true))
            .collect()
    }

    fn expectation(
        &mut self,
        spanned: &Spanned<ExpectSpec>,
        case_step: Option<&Step>,
        given: bool,
    ) -> Option<Expectation> {
        let spec = spanned.get_ref();
        let text = |key: &str| -> Result<Option<Spanned<&str>>, (std::ops::Range<usize>, String)> {
            match spec.get(key) {
                None => Ok(None),
                Some(v) => match v.get_ref().as_str() {
                    Some(s) => Ok(Some(Spanned::new(v.span(), s))),
                    None => Err((v.span(), format!("`{key}` takes a string"))),
                },
            }
        };
        let (subject, step, control) = match (text("subject"), text("step"), text("control")) {
            (Ok(subject), Ok(step), Ok(control)) => (subject, step, control),
            (Err((span, msg)), _, _) | (_, Err((span, msg)), _) | (_, _, Err((span, msg))) => {
                let e = self.error(span, msg);
                self.errors.push(e);
                return None;
            }
        };
        // What a skip says when this precondition is not met: a given's alone.
        let unmet = match (text("unmet"), given) {
            (Ok(None), _) => None,
            (Ok(Some(why)), true) => Some(why.get_ref().to_string()),
            (Ok(Some(why)), false) => {
                let e = self.error(
                    why.span(),
                    "`unmet` belongs to a `given`: what a skip says when it is not met",
                );
                self.errors.push(e);
                return None;
            }
            (Err((span, msg)), _) => {
                let e = self.error(span, msg);
                self.errors.push(e);
                return None;
            }
        };
        let optional = match spec.get("optional").map(|v| (v.span(), v.get_ref().as_bool())) {
            None => false,
            Some((_, Some(b))) => b,
            Some((span, None)) => {
                let e = self.error(span, "`optional` takes true or false");
                self.errors.push(e);
                return None;
            }
        };
        let step = match (step, control) {
            (Some(_), Some(control)) => {
                let e = self.error(control.span(), "an expectation names `step` or `control`, not both");
                self.errors.push(e);
                return None;
            }
            (Some(name), None) if ExpectSpec::CONTROLS.contains(name.get_ref()) => {
                let msg = format!(
                    "`step = \"{0}\"` in an expectation: the run's shared `{0}` is its control",
                    name.get_ref()
                );
                let e = self.error(name.span(), msg).with_help(format!(
                    "write `control = \"{}\"` (a case's own `step` with a `[case.{}]` table is its private chain)",
                    name.get_ref(),
                    name.get_ref()
                ));
                self.errors.push(e);
                return None;
            }
            (None, Some(name)) if !ExpectSpec::CONTROLS.contains(name.get_ref()) => {
                let (span, name) = (name.span(), name.get_ref());
                let help = match Step::BUILT_IN.iter().any(|(n, _)| n == name) {
                    true => format!("`{name}` is observed once per run: write `step = \"{name}\"`"),
                    false => {
                        let near = super::placeholders::closest_of(ExpectSpec::CONTROLS, name)
                            .map(|c| format!("did you mean `{c}`? "))
                            .unwrap_or_default();
                        format!("{near}controls: {}", ExpectSpec::CONTROLS.join(", "))
                    }
                };
                let e = self.error(span, format!("`{name}` has no control")).with_help(help);
                self.errors.push(e);
                return None;
            }
            // An expectation may look at another built-in step than its case's: one observed
            // once per run, or the shared valid flow (the control).
            (Some(name), None) | (None, Some(name)) => self.built_in_step(name.get_ref(), name.span())?,
            (None, None) => case_step?.clone(),
        };
        let Some(subject_text) = subject else {
            let e = self
                .error(spanned.span(), "an expectation needs a `subject`")
                .with_help(Subject::HELP);
            self.errors.push(e);
            return None;
        };
        let subject = match self.subject(&subject_text) {
            Ok(s) => s,
            Err(e) => {
                self.errors.push(*e);
                return None;
            }
        };
        let mut predicates = Vec::new();
        for (key, value) in spec
            .0
            .iter()
            .filter(|(k, _)| !ExpectSpec::OWN_KEYS.contains(&k.get_ref().as_str()))
        {
            match Predicate::parse(key.get_ref(), &to_json(value.get_ref()), self.schemas) {
                Some(Ok(p)) => predicates.push(p),
                Some(Err(invalid)) => {
                    let mut e = self.error(value.span(), invalid.message);
                    if let Some(help) = invalid.help {
                        e = e.with_help(help);
                    }
                    self.errors.push(e);
                    return None;
                }
                None => {
                    let known = ExpectSpec::OWN_KEYS.iter().chain(&Predicate::KEYS);
                    let near = super::placeholders::closest_of(known.clone().copied(), key.get_ref())
                        .map(|k| format!("did you mean `{k}`? "))
                        .unwrap_or_default();
                    let e = self
                        .error(key.span(), format!("unknown key `{}` in an expectation", key.get_ref()))
                        .with_help(format!("{near}keys: {}", known.copied().collect::<Vec<_>>().join(", ")));
                    self.errors.push(e);
                    return None;
                }
            }
        }
        let predicate = match predicates.len() {
            1 => predicates.remove(0),
            n => {
                let msg = format!("an expectation needs exactly one predicate, found {n}");
                let e = self
                    .error(spanned.span(), msg)
                    .with_help(format!("one of: {}", Predicate::KEYS.join(", ")));
                self.errors.push(e);
                return None;
            }
        };
        if !predicate.applies_to(&subject) {
            let msg = format!("this predicate does not apply to subject `{subject}`");
            let e = self.error(spanned.span(), msg);
            self.errors.push(e);
            return None;
        }
        Some(Expectation {
            step,
            subject,
            predicate,
            optional,
            unmet,
        })
    }

    /// A subject's syntax is the check's; whether a `var:` is ever recorded is the
    /// declared variables'.
    fn subject(&mut self, text: &Spanned<&str>) -> Result<Subject, Box<FileError>> {
        let refuse = |this: &mut Self, msg: String| Box::new(this.error(text.span(), msg).with_help(Subject::HELP));
        match Subject::parse(text.get_ref()) {
            Ok(Subject::Var(name)) if !super::placeholders::is_variable(&name) => {
                let near = super::placeholders::closest_variable(&name)
                    .map(|n| format!(" (did you mean `var:{n}`?)"))
                    .unwrap_or_default();
                Err(refuse(
                    self,
                    format!("unknown variable `var:{name}`{near}: no step records it"),
                ))
            }
            Ok(subject) => Ok(subject),
            Err(msg) => Err(refuse(self, msg)),
        }
    }
}
