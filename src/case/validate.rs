//! The TOML shapes of a case file and their conversion into the case model. Every problem
//! becomes a [`FileError`] at its span; all of a file's problems are reported together.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::expectation::ExpectSpec;
use super::model::{Alternative, Case, ClientKind, Overrides, RequestTemplate, Step, TokenPlan};
use crate::check::schema::Schemas;
use crate::diagnostic::{FileError, SourceFile};
use crate::requirement::Registry;
use crate::spec::SpecVersion;
use crate::token_kind::TokenKind;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CaseFileSpec {
    #[serde(default)]
    case: Vec<Spanned<CaseSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseSpec {
    requirement: Spanned<String>,
    versions: Option<Spanned<Vec<SpecVersion>>>,
    step: Spanned<String>,
    request: Option<Spanned<RequestSpec>>,
    register: Option<Spanned<OverridesSpec>>,
    authorize: Option<Spanned<OverridesSpec>>,
    token: Option<Spanned<OverridesSpec>>,
    refresh: Option<Spanned<OverridesSpec>>,
    mcp: Option<Spanned<OverridesSpec>>,
    #[serde(default)]
    given: Vec<Spanned<ExpectSpec>>,
    #[serde(default, rename = "where")]
    filter: Vec<Spanned<ExpectSpec>>,
    expect: Spanned<Vec<Spanned<ExpectSpec>>>,
    alternative: Option<AlternativeSpec>,
    judge: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestSpec {
    #[serde(default = "default_method")]
    method: String,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
}

fn default_method() -> String {
    "GET".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverridesSpec {
    #[serde(default)]
    set: BTreeMap<String, toml::Value>,
    #[serde(default)]
    omit: Vec<String>,
    #[serde(default)]
    variants: Vec<BTreeMap<String, toml::Value>>,
    repeat: Option<Spanned<u32>>,
    /// `[case.token]` only: `GET` sends the token request's parameters in the query string.
    method: Option<Spanned<String>>,
    /// `[case.token]` only: `default`, `confidential`, `confidential-wrong-secret` or
    /// `confidential-post-wrong-secret`.
    client: Option<Spanned<String>>,
    /// `[case.token]` only: false skips the authorization (a client_credentials request).
    authorization: Option<Spanned<bool>>,
    /// `[case.token]` only: redeem the code only after it should have expired (slow).
    expire_code: Option<Spanned<bool>>,
    /// `[case.mcp]` only: the kind of token to send (`expired`, `foreign_issuer`...).
    token: Option<Spanned<String>>,
}

impl OverridesSpec {
    fn to_model(&self) -> Overrides {
        let pairs = |m: &BTreeMap<String, toml::Value>| m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect();
        Overrides {
            set: pairs(&self.set),
            omit: self.omit.clone(),
            variants: self.variants.iter().map(pairs).collect(),
            repeat: self.repeat.as_ref().map(|r| *r.get_ref()).unwrap_or(1),
            query: self.method.as_ref().is_some_and(|m| m.get_ref() == "GET"),
            token: self.token.as_ref().and_then(|t| t.get_ref().parse().ok()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlternativeSpec {
    expect: Vec<Spanned<ExpectSpec>>,
    reason: String,
    outcome: Option<Spanned<String>>,
}

pub(super) struct Converter<'a> {
    pub file: &'a SourceFile,
    pub registry: &'a Registry,
    pub schemas: &'a Schemas,
    pub errors: Vec<FileError>,
}

impl Converter<'_> {
    pub(super) fn error(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) -> FileError {
        FileError::new(self.file, span, message)
    }

    pub fn file(&mut self, spec: CaseFileSpec) -> Vec<(Case, std::ops::Range<usize>)> {
        // A case's span is its `[[case]]` header: its text runs to the next one.
        let starts: Vec<usize> = spec.case.iter().map(|c| c.span().start).collect();
        for (i, start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(self.file.text.len());
            self.placeholders(*start..end);
        }
        spec.case
            .into_iter()
            .filter_map(|c| {
                let span = c.span();
                self.case(c.into_inner(), span.clone()).map(|case| (case, span))
            })
            .collect()
    }

    fn case(&mut self, spec: CaseSpec, span: std::ops::Range<usize>) -> Option<Case> {
        let errors_before = self.errors.len();
        let id = spec.requirement.get_ref();
        let requirement = self.registry.get(id);
        if requirement.is_none() {
            let e = self
                .error(spec.requirement.span(), format!("unknown requirement id `{id}`"))
                .with_label("not in cases/requirements.toml")
                .with_help("add a row to cases/requirements.toml first; ids come from the requirement catalogue");
            self.errors.push(e);
        }
        if let Some(why) = requirement.and_then(|r| r.untestable.as_ref()) {
            let e = self
                .error(spec.requirement.span(), format!("`{id}` is marked untestable: {why}"))
                .with_help("remove `untestable` from its row in cases/requirements.toml, or the case");
            self.errors.push(e);
        }
        if let Some(judge) = requirement.and_then(|r| r.judged_by.as_ref()) {
            let e = self
                .error(
                    spec.requirement.span(),
                    format!("`{id}` is judged by `{judge}`'s check"),
                )
                .with_help("remove `judged_by` from its row in cases/requirements.toml, or the case");
            self.errors.push(e);
        }
        if let (Some(req), Some(versions)) = (requirement, &spec.versions) {
            for v in versions.get_ref() {
                if !req.applies_to(*v) {
                    let e = self.error(versions.span(), format!("`{id}` does not apply to spec version {v}"));
                    self.errors.push(e.with_help(format!(
                        "the requirement's versions: {}",
                        req.versions.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                    )));
                }
            }
        }
        let case_step = self.case_step(&spec);
        let given = self.givens(&spec.given, case_step.as_ref());
        let filter = self.expectations(&spec.filter, case_step.as_ref());
        if spec.expect.get_ref().is_empty() {
            let e = self.error(spec.expect.span(), "`expect` is empty: a case must check something");
            self.errors.push(e);
        }
        let expect = self.expectations(spec.expect.get_ref(), case_step.as_ref());
        let alternative = spec.alternative.map(|a| {
            let outcome = match a.outcome.as_ref().map(|o| o.get_ref().as_str()) {
                None | Some("skip") => crate::verdict::Outcome::Skip,
                Some("pass") => crate::verdict::Outcome::Pass,
                Some(other) => {
                    let span = a.outcome.as_ref().map(|o| o.span()).unwrap_or(0..0);
                    let e = self.error(
                        span,
                        format!("an alternative's outcome is `skip` or `pass`, not `{other}`"),
                    );
                    self.errors.push(e);
                    crate::verdict::Outcome::Skip
                }
            };
            Alternative {
                expect: self.expectations(&a.expect, case_step.as_ref()),
                reason: a.reason,
                outcome,
            }
        });
        let refusals_only = match &spec.judge {
            None => false,
            Some(j) if j.get_ref() == "refusals" => true,
            Some(j) => {
                let e = self.error(
                    j.span(),
                    format!("`judge` is `refusals` or absent, not `{}`", j.get_ref()),
                );
                self.errors
                    .push(e.with_help("`refusals`: judge only the requests that issued no access token"));
                false
            }
        };
        if self.errors.len() > errors_before {
            return None;
        }
        Some(Case {
            refusals_only,
            requirement: spec.requirement.into_inner(),
            versions: spec.versions.map(Spanned::into_inner),
            given,
            filter,
            expect,
            alternative,
            origin: format!("{}:{}", self.file.name, line_of(&self.file.text, span.start)),
        })
    }

    /// Every `{name}` in the strings of a case's text is a declared placeholder.
    fn placeholders(&mut self, span: std::ops::Range<usize>) {
        let text = &self.file.text[span.clone()];
        for (at, name) in super::placeholders::references(text) {
            if super::placeholders::is_declared(name) {
                continue;
            }
            let start = span.start + at;
            let mut e = self
                .error(
                    start..start + name.len() + 2,
                    format!("unknown placeholder `{{{name}}}`"),
                )
                .with_label("sent as written otherwise");
            e = match super::placeholders::closest(name) {
                Some(near) => e.with_help(format!("did you mean `{{{near}}}`? (the README lists them all)")),
                None => e.with_help("the README's \"Adding a requirement\" lists the placeholders"),
            };
            self.errors.push(e);
        }
    }

    fn case_step(&mut self, spec: &CaseSpec) -> Option<Step> {
        let (name, request) = (&spec.step, spec.request.as_ref());
        // Override tables belong to one step each; elsewhere they would silently do nothing.
        type Table<'a> = (&'a Option<Spanned<OverridesSpec>>, &'a str, &'a [&'a str]);
        let allowed: [Table; 5] = [
            (&spec.register, "register", &["register"]),
            (&spec.authorize, "authorize", &["authorize", "token", "refresh"]),
            (&spec.token, "token", &["token", "refresh"]),
            (&spec.refresh, "refresh", &["refresh"]),
            (&spec.mcp, "mcp", &["mcp"]),
        ];
        let mut misplaced = false;
        for (table, table_name, steps) in allowed {
            let Some(t) = table else { continue };
            if !steps.contains(&name.get_ref().as_str()) {
                let msg = format!("`[case.{table_name}]` is only used by step {}", steps.join(" or "));
                let e = self.error(t.span(), msg);
                self.errors.push(e);
                misplaced = true;
            }
            if let Some(kind) = &t.get_ref().token {
                if table_name != "mcp" {
                    let e = self.error(kind.span(), "`token` is only used in `[case.mcp]`");
                    self.errors.push(e);
                    misplaced = true;
                } else if let Err(why) = kind.get_ref().parse::<TokenKind>() {
                    let e = self.error(kind.span(), why);
                    self.errors.push(e);
                }
            }
            // A variant changes the request, not the kind of token: one case per kind.
            if t.get_ref().variants.iter().any(|v| v.contains_key("token")) {
                let e = self
                    .error(t.span(), "a variant cannot change the kind of token")
                    .with_help("write one case per kind, each with `token = \"<kind>\"` in its `[case.mcp]`");
                self.errors.push(e);
                misplaced = true;
            }
            if let Some(method) = &t.get_ref().method
                && !matches!(method.get_ref().as_str(), "GET" | "POST")
            {
                let e = self.error(
                    method.span(),
                    format!("`method` is `GET` or `POST`, not `{}`", method.get_ref()),
                );
                self.errors.push(e);
                misplaced = true;
            }
            if table_name != "token" {
                let t = t.get_ref();
                let token_only = [
                    ("repeat", t.repeat.as_ref().map(|r| r.span())),
                    ("method", t.method.as_ref().map(|m| m.span())),
                    ("client", t.client.as_ref().map(|c| c.span())),
                    ("authorization", t.authorization.as_ref().map(|a| a.span())),
                    ("expire_code", t.expire_code.as_ref().map(|a| a.span())),
                ];
                for (key, span) in token_only {
                    if let Some(span) = span {
                        let e = self.error(span, format!("`{key}` is only used in `[case.token]`"));
                        self.errors.push(e);
                        misplaced = true;
                    }
                }
            }
        }
        if misplaced {
            return None;
        }
        let model = |t: &Option<Spanned<OverridesSpec>>| t.as_ref().map(|t| Arc::new(t.get_ref().to_model()));
        match name.get_ref().as_str() {
            "register" if spec.register.is_some() => return Some(Step::Register(model(&spec.register))),
            "authorize" if spec.authorize.is_some() => return Some(Step::Authorize(model(&spec.authorize))),
            "mcp" if spec.mcp.is_some() => return Some(Step::Mcp(model(&spec.mcp))),
            "token" | "refresh" if spec.authorize.is_some() || spec.token.is_some() || spec.refresh.is_some() => {
                let part = |t: &Option<Spanned<OverridesSpec>>| t.as_ref().map(|t| t.get_ref().to_model());
                let token_spec = spec.token.as_ref().map(|t| t.get_ref());
                let client = match token_spec.and_then(|t| t.client.as_ref()) {
                    None => ClientKind::Default,
                    Some(c) => match c.get_ref().as_str() {
                        "default" => ClientKind::Default,
                        "confidential" => ClientKind::Confidential,
                        "confidential-wrong-secret" => ClientKind::ConfidentialWrongSecret,
                        "confidential-post-wrong-secret" => ClientKind::ConfidentialPostWrongSecret,
                        other => {
                            let e = self.error(c.span(), format!("unknown client `{other}`")).with_help(
                                "clients: default, confidential, confidential-wrong-secret, \
                                 confidential-post-wrong-secret",
                            );
                            self.errors.push(e);
                            return None;
                        }
                    },
                };
                let plan = TokenPlan {
                    authorize: part(&spec.authorize).unwrap_or_default(),
                    token: part(&spec.token).unwrap_or_default(),
                    refresh: part(&spec.refresh).unwrap_or_default(),
                    client,
                    authorization: token_spec
                        .and_then(|t| t.authorization.as_ref())
                        .is_none_or(|a| *a.get_ref()),
                    expire_code: token_spec
                        .and_then(|t| t.expire_code.as_ref())
                        .is_some_and(|a| *a.get_ref()),
                };
                let plan = Some(Arc::new(plan));
                return Some(if name.get_ref() == "token" {
                    Step::Token(plan)
                } else {
                    Step::Refresh(plan)
                });
            }
            _ => {}
        }
        match (name.get_ref().as_str(), request) {
            ("http", Some(r)) => {
                let r = r.get_ref();
                Some(Step::Http(Arc::new(RequestTemplate {
                    method: r.method.to_ascii_uppercase(),
                    url: r.url.clone(),
                    headers: r.headers.iter().map(|(n, v)| (n.clone(), v.clone())).collect(),
                    body: r.body.clone(),
                })))
            }
            ("http", None) => {
                let e = self.error(name.span(), "step `http` needs a `[case.request]` table");
                self.errors.push(e);
                None
            }
            (_, Some(r)) => {
                let e = self.error(r.span(), "`request` is only used by step `http`");
                self.errors.push(e);
                None
            }
            (other, None) => self.built_in_step(other, name.span()),
        }
    }

    pub(super) fn built_in_step(&mut self, name: &str, span: std::ops::Range<usize>) -> Option<Step> {
        let step = Step::BUILT_IN.iter().find(|(n, _)| *n == name).map(|(_, s)| s.clone());
        if step.is_none() {
            let known: Vec<&str> = Step::BUILT_IN.iter().map(|(n, _)| *n).chain(["http"]).collect();
            let e = self
                .error(span, format!("unknown step `{name}`"))
                .with_help(format!("known steps: {}", known.join(", ")));
            self.errors.push(e);
        }
        step
    }
}

pub(super) fn to_json(v: &toml::Value) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}
