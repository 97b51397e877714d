//! From a case and what its steps observed to an outcome. Pure: the engine observes, this
//! judges, reporters print.

use std::collections::BTreeMap;

use super::expect::{Broken, evaluate};
use crate::case::{Case, Expectation, Step};
use crate::http::Exchange;
use crate::observation::{Observation, Observed};
use crate::spec::Level;
use crate::verdict::{Finding, Outcome};

/// The judgement of one case, before the engine adds the requirement's metadata.
#[derive(Debug, Clone)]
pub struct Judgement {
    pub outcome: Outcome,
    pub message: String,
    pub evidence: Vec<Exchange>,
    /// The broken expectations behind a fail or warn (or a MAY not shown).
    pub findings: Vec<Finding>,
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
        findings: Vec::new(),
    };

    if let Some((outcome, reason)) = unobservable(case.given.iter(), &observed) {
        return done(outcome, reason);
    }
    for given in &case.given {
        if let Some(unmet) = broken(std::slice::from_ref(given), &observed, globals, &evidence)
            .into_iter()
            .next()
        {
            let reason = match &given.unmet {
                Some(why) => format!("precondition not met: {why} ({})", unmet.line()),
                None => format!("precondition not met: {}", unmet.line()),
            };
            return done(Outcome::Skip, reason);
        }
    }
    // `judge = "refusals"` and `where`: only the responses they select are judged (copied
    // only for such a case: every other case reads the observations as they are).
    let filtering = case.refusals_only || !case.filter.is_empty();
    let selected: Vec<(Step, Vec<Observation>)> = match filtering {
        false => Vec::new(),
        true => case
            .steps()
            .into_iter()
            .map(|step| {
                let kept = observed(&step)
                    .iter()
                    .filter(|o| selects(case, &step, o, globals))
                    .cloned()
                    .collect();
                (step, kept)
            })
            .collect(),
    };
    let judged = |step: &Step| -> &[Observation] {
        match filtering {
            false => observed(step),
            true => selected
                .iter()
                .find(|(s, _)| s == step)
                .map_or(&[], |(_, o)| o.as_slice()),
        }
    };
    if filtering && case.expect.iter().all(|e| judged(&e.step).is_empty()) {
        // Nothing observed at all: say why.
        if let Some((outcome, reason)) = unobservable(case.expect.iter(), &observed) {
            return done(outcome, reason);
        }
        let reason = match case.refusals_only {
            true => "nothing was refused: every request issued a token (whether each should have is another \
                     requirement's verdict)"
                .to_owned(),
            false => format!(
                "no response is one the rule covers ({})",
                describe(&case.filter, globals)
            ),
        };
        return done(Outcome::Skip, reason);
    }
    // A step the selection emptied has nothing to judge; it is not unobserved (a response that
    // does not exist, e.g. where the server refused the run's version, is not one it covers).
    let emptied = |step: &Step| filtering && judged(step).is_empty() && !observed(step).is_empty();
    let observable: Vec<&Expectation> = case.expect.iter().filter(|e| !emptied(&e.step)).collect();
    let observed = judged;
    // A broken expectation is judged even when another step could not be observed: what was
    // seen stands, and must not hide behind a skip elsewhere.
    let failures = broken(&case.expect, &observed, globals, &evidence);
    if failures.is_empty() {
        return match unobservable(observable.into_iter(), &observed) {
            Some((outcome, reason)) => done(outcome, reason),
            None => done(Outcome::Pass, String::new()),
        };
    }
    if let Some(alt) = &case.alternative {
        let available = unobservable(alt.expect.iter(), &observed).is_none();
        if available && broken(&alt.expect, &observed, globals, &evidence).is_empty() {
            // A passing alternative says which acceptable way the target took.
            let message = if alt.outcome == Outcome::Pass {
                format!("({})", alt.reason)
            } else {
                alt.reason.clone()
            };
            return done(alt.outcome, message);
        }
    }
    let message: Vec<String> = failures.iter().map(Finding::line).collect();
    let message = message.join("\n");
    let (outcome, message) = match level {
        Level::Must | Level::MustNot => (Outcome::Fail, message),
        Level::Should | Level::ShouldNot => (Outcome::Warn, message),
        // Optional behaviour the target does not show: information, never a warning (not
        // even under --strict).
        Level::May => (Outcome::Skip, format!("{MAY_NOT_SHOWN}{message}")),
    };
    Judgement {
        findings: failures,
        ..done(outcome, message)
    }
}

/// Whether `obs` (of `step`) is one the case judges: not a token issued under
/// `judge = "refusals"`, and meeting each `where` expectation about its step. An error stays,
/// to be reported; so does a skip, except on a step `where` selects from: a response that
/// does not exist is not one the rule covers (a refresh where the AS issues no refresh tokens).
fn selects(case: &Case, step: &Step, obs: &Observation, globals: &BTreeMap<String, String>) -> bool {
    let Some(response) = obs.response() else {
        let selected = case.filter.iter().any(|e| &e.step == step);
        return !selected || !matches!(obs.observed, Observed::Skipped(_));
    };
    if case.refusals_only && obs.issued_token() {
        return false;
    }
    let mut vars = globals.clone();
    vars.extend(obs.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    case.filter
        .iter()
        .filter(|e| &e.step == step)
        .all(|e| evaluate(e, response, &vars).is_ok())
}

/// `where` expectations for a message: "status: <401>, ...".
fn describe(filter: &[Expectation], globals: &BTreeMap<String, String>) -> String {
    filter
        .iter()
        .map(|e| super::expect::describe_expectation(e, globals))
        .collect::<Vec<_>>()
        .join(", ")
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

/// Each expectation broken on an observation, as a finding pointing into `evidence`.
fn broken<'a>(
    expectations: &[Expectation],
    observed: &impl Fn(&Step) -> &'a [Observation],
    globals: &BTreeMap<String, String>,
    evidence: &[Exchange],
) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in expectations {
        for obs in observed(&e.step) {
            let Some(response) = obs.response() else {
                continue;
            };
            let mut vars = globals.clone();
            vars.extend(obs.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
            if let Err(b) = evaluate(e, response, &vars) {
                let exchanges = obs
                    .exchanges
                    .iter()
                    .filter_map(|ex| evidence.iter().position(|shown| shown.seq == ex.seq))
                    .collect();
                out.push(finding(&obs.label, b, exchanges));
            }
        }
    }
    out
}

fn finding(observation: &str, b: Broken, exchanges: Vec<usize>) -> Finding {
    Finding {
        observation: observation.to_owned(),
        subject: b.subject,
        expected: b.expected,
        actual: b.actual,
        detail: b.detail,
        exchanges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{load_embedded, load_files};
    use crate::diagnostic::SourceFile;
    use crate::http::Response;

    /// The embedded `as.token.error-shape` case (`judge = "refusals"`).
    fn error_shape() -> Case {
        let set = load_embedded().expect("embedded cases load");
        set.case_for("as.token.error-shape", crate::spec::SpecVersion::LATEST)
            .expect("a case")
            .clone()
    }

    fn token_response(label: &str, status: u16, body: &str) -> Observation {
        Observation {
            label: label.to_owned(),
            exchanges: Vec::new(),
            observed: Observed::Response(Response {
                status,
                headers: vec![("content-type".to_owned(), "application/json".to_owned())],
                body: body.as_bytes().to_vec(),
            }),
            vars: BTreeMap::from([("stage".to_owned(), "token".to_owned())]),
        }
    }

    /// The one case of a case file's `text`.
    fn inline_case(text: &str) -> Case {
        let file = SourceFile {
            name: "inline.toml".to_owned(),
            text: text.to_owned(),
        };
        let set = load_files(vec![crate::case::embedded_registry(), file]).expect("loads");
        set.cases[0].clone()
    }

    fn judged(case: &Case, own: Vec<Observation>) -> Judgement {
        let control = vec![token_response("control", 200, r#"{"access_token":"t"}"#)];
        let lookup = |step: &Step| -> &[Observation] {
            match step {
                Step::Token(None) => &control,
                _ => &own,
            }
        };
        judge(case, Level::Must, lookup, &BTreeMap::new())
    }

    #[test]
    fn refusals_only_judges_the_requests_that_issued_nothing() {
        let case = error_shape();
        assert!(case.refusals_only);
        let refused = token_response("bad code", 400, r#"{"error":"invalid_grant"}"#);
        let issued = token_response("wrong verifier", 200, r#"{"access_token":"t"}"#);
        // A token where a refusal was due is another rule's verdict: not judged here.
        let verdict = judged(&case, vec![refused.clone(), issued.clone()]);
        assert_eq!(verdict.outcome, Outcome::Pass, "{}", verdict.message);
        // Every refusal is judged: one answered 401 fails.
        let wrong = token_response("redirect_uri", 401, r#"{"error":"invalid_grant"}"#);
        let verdict = judged(&case, vec![refused, issued.clone(), wrong]);
        assert_eq!(verdict.outcome, Outcome::Fail);
        assert!(verdict.message.contains("redirect_uri"), "{}", verdict.message);
        // Nothing refused: nothing to judge.
        let verdict = judged(&case, vec![issued]);
        assert_eq!(verdict.outcome, Outcome::Skip);
        assert!(
            verdict.message.starts_with("nothing was refused"),
            "{}",
            verdict.message
        );
    }

    /// `where` judges only the responses a rule covers; none left is a skip, not a pass.
    #[test]
    fn where_selects_the_responses_judged() {
        let text = "[[case]]\nrequirement = \"as.token.error-shape\"\nstep = \"token\"\n\
                    where = [{ subject = \"status\", equals = 400 }]\n\
                    expect = [{ subject = \"json:/error\", equals = \"invalid_grant\" }]\n\
                    [case.token]\nset = { code = \"x\" }\n";
        let case = inline_case(text);
        let refused = token_response("bad code", 400, r#"{"error":"invalid_grant"}"#);
        let crashed = token_response("bad verifier", 500, r#"{"error":"server_error"}"#);
        // The 500 is another rule's to judge.
        let verdict = judged(&case, vec![refused, crashed.clone()]);
        assert_eq!(verdict.outcome, Outcome::Pass, "{}", verdict.message);
        let wrong = token_response("redirect_uri", 400, r#"{"error":"invalid_request"}"#);
        assert_eq!(judged(&case, vec![wrong, crashed.clone()]).outcome, Outcome::Fail);
        let verdict = judged(&case, vec![crashed]);
        assert_eq!(verdict.outcome, Outcome::Skip);
        assert!(
            verdict.message.starts_with("no response is one the rule covers"),
            "{}",
            verdict.message
        );
        // A response that does not exist is not one the rule covers: with nothing else, the
        // reason it does not exist is the verdict's.
        let verdict = judged(&case, vec![Observation::skipped("refresh", "no refresh token")]);
        assert_eq!(verdict.outcome, Outcome::Skip);
        assert!(verdict.message.contains("no refresh token"), "{}", verdict.message);
    }

    #[test]
    fn without_refusals_only_a_token_response_is_judged_too() {
        let text = "[[case]]\nrequirement = \"as.token.error-shape\"\nstep = \"token\"\n\
                    expect = [{ subject = \"status\", equals = 400 }]\n[case.token]\nset = { code = \"x\" }\n";
        let case = inline_case(text);
        assert!(!case.refusals_only);
        let issued = token_response("bad code", 200, r#"{"access_token":"t"}"#);
        assert_eq!(judged(&case, vec![issued]).outcome, Outcome::Fail);
    }
}
