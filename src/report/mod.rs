//! Reporters: each a function of the finished [`RunReport`]. They print; they never judge.

pub mod console;
mod html;
mod json;
mod junit;
mod markdown;
pub mod matrix;
pub mod progress;

use std::path::PathBuf;
use std::str::FromStr;

pub use json::render as json;
pub use junit::render as junit;

use crate::run::RunReport;
pub use matrix::Matrix;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Junit,
    Markdown,
    Html,
}

/// `--report <format>=<path>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    pub format: Format,
    pub path: PathBuf,
}

impl FromStr for ReportSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (format, path) = s
            .split_once('=')
            .ok_or_else(|| format!("expected <format>=<path> (e.g. json=report.json), got `{s}`"))?;
        let format = match format {
            "json" => Format::Json,
            "junit" => Format::Junit,
            "markdown" => Format::Markdown,
            "html" => Format::Html,
            other => {
                return Err(format!(
                    "unknown report format `{other}` (known: json, junit, markdown, html)"
                ));
            }
        };
        if path.is_empty() {
            return Err(format!("`{s}`: the report path is empty"));
        }
        Ok(ReportSpec {
            format,
            path: PathBuf::from(path),
        })
    }
}

/// `Spec V[ (auto: why)], started T[, seed N]: counts.`, the first line of the Markdown and
/// HTML reports.
fn headline(report: &RunReport) -> String {
    let s = &report.summary;
    let chosen = match &report.spec_version_chosen {
        Some(why) => format!(" (auto: {why})"),
        None => String::new(),
    };
    format!(
        "Spec {}{chosen}, started {}{}: {} pass, {} fail, {} warn, {} skip, {} error.",
        report.spec_version,
        report.started_at,
        seed_note(report.seed),
        s.pass,
        s.fail,
        s.warn,
        s.skip,
        s.error
    )
}

/// `, seed N` for a seeded run (`run --seed`), else nothing: every format names the seed.
fn seed_note(seed: Option<u64>) -> String {
    seed.map(|n| format!(", seed {n}")).unwrap_or_default()
}

/// A requirement's area: its id up to the second dot (`rs.challenge.401-no-token` ->
/// `rs.challenge`).
fn area(id: &str) -> &str {
    match id.match_indices('.').nth(1) {
        Some((i, _)) => &id[..i],
        None => id,
    }
}

pub fn render(format: Format, report: &RunReport) -> String {
    match format {
        Format::Json => json(report),
        Format::Junit => junit(report),
        Format::Markdown => markdown::render(report),
        Format::Html => html::render(report),
    }
}

/// A matrix report: Markdown or HTML tables, or JSON `{"targets": [<run report>...]}` (each
/// element the single-run contract). JUnit has no place for a target: none.
pub fn render_matrix(format: Format, m: &Matrix) -> Result<String, String> {
    match format {
        Format::Json => {
            let reports: Vec<&RunReport> = m.columns.iter().map(|(_, r)| *r).collect();
            let doc = serde_json::json!({ "targets": reports });
            Ok(serde_json::to_string_pretty(&doc).expect("reports serialize"))
        }
        Format::Junit => Err("a JUnit report is one target's: run each target alone for it".to_owned()),
        Format::Markdown => Ok(markdown::matrix(m)),
        Format::Html => Ok(html::matrix(m)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_specs_parse() {
        let spec: ReportSpec = "junit=out/r.xml".parse().unwrap();
        assert_eq!(
            spec,
            ReportSpec {
                format: Format::Junit,
                path: "out/r.xml".into()
            }
        );
        assert!("json".parse::<ReportSpec>().is_err());
        assert!(
            "xml=a"
                .parse::<ReportSpec>()
                .unwrap_err()
                .contains("unknown report format `xml`")
        );
        assert!("json=".parse::<ReportSpec>().is_err());
    }
}

#[cfg(test)]
mod snapshot_tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::http::{Exchange, RecordedRequest, RecordedResponse};
    use crate::spec::{Level, SpecVersion};
    use crate::verdict::{Outcome, Verdict};

    fn verdict(id: &str, level: Level, outcome: Outcome, message: &str) -> Verdict {
        Verdict {
            requirement: id.to_owned(),
            level,
            outcome,
            message: message.to_owned(),
            evidence: vec![Exchange {
                request: RecordedRequest {
                    method: "POST".to_owned(),
                    url: "http://127.0.0.1:3100/mcp".to_owned(),
                    headers: vec![("Authorization".to_owned(), "Bearer [redacted]".to_owned())],
                    body: Some(r#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#.to_owned()),
                },
                response: Some(RecordedResponse {
                    status: 401,
                    headers: vec![(
                        "www-authenticate".to_owned(),
                        r#"Bearer error="invalid_token""#.to_owned(),
                    )],
                    body: r#"{"error":"invalid_token"}"#.to_owned(),
                    body_truncated: false,
                }),
                error: None,
                duration_ms: 3,
                seq: 0,
            }],
            title: format!("title of {id}"),
            section: "RFC 6750 §3.1".to_owned(),
            url: "https://www.rfc-editor.org/rfc/rfc6750#section-3.1".to_owned(),
            normative: "The resource server SHOULD respond with the HTTP 400 (Bad Request) status code.".to_owned(),
            derived: id.starts_with("rs.prm"),
            case: "cases/rs-challenge.toml:1".to_owned(),
            expected_failure: None,
            stale_expected_failure: None,
        }
    }

    /// One verdict of every outcome, fixed times: the reports are byte-for-byte stable.
    fn report() -> RunReport {
        let verdicts = vec![
            verdict("rs.challenge.401-no-token", Level::Must, Outcome::Pass, ""),
            verdict(
                "rs.prm.resource-matches-server",
                Level::Must,
                Outcome::Fail,
                "protected resource metadata: json:/resource: expected <\"http://127.0.0.1:3100/mcp\">, got <\"http://127.0.0.1:3100/mcp/\">",
            ),
            verdict(
                "rs.challenge.no-error-without-credentials",
                Level::ShouldNot,
                Outcome::Warn,
                "unauthenticated MCP request: challenge:bearer:error: expected absent, got <invalid_token>",
            ),
            verdict(
                "rs.challenge.scope-on-401",
                Level::Should,
                Outcome::Skip,
                "precondition not met: unauthenticated MCP request: challenge:bearer: expected present, got no `bearer` challenge",
            ),
            verdict(
                "as.discovery.metadata-provided",
                Level::Must,
                Outcome::Error,
                "AS metadata for http://127.0.0.1:3101: no complete response within 10 s",
            ),
            Verdict {
                expected_failure: Some("known: our verifier answers 500 (issue 12)".to_owned()),
                ..verdict(
                    "rs.token.invalid-401",
                    Level::Must,
                    Outcome::Fail,
                    "authenticated MCP request (Authorization=\"Bearer mcp-conformance-not-a-token\"): status: expected <401>, got <500>",
                )
            },
            Verdict {
                stale_expected_failure: Some("known: PRM served as text/plain (issue 9)".to_owned()),
                ..verdict("rs.prm.http-shape", Level::Must, Outcome::Pass, "")
            },
        ];
        let mut report = RunReport::new(
            "http://127.0.0.1:3100/mcp".to_owned(),
            SpecVersion::LATEST,
            UNIX_EPOCH + Duration::from_secs(1_795_000_000),
            42,
            verdicts,
        );
        report.seed = Some(7);
        report.spec_version_chosen =
            Some("the newest version the target accepts; its first request was answered 200".to_owned());
        report
    }

    #[test]
    fn json_report() {
        crate::tests::support::snapshot_settings().bind(|| insta::assert_snapshot!("report-json", json(&report())));
    }

    #[test]
    fn junit_report() {
        crate::tests::support::snapshot_settings().bind(|| insta::assert_snapshot!("report-junit", junit(&report())));
    }

    #[test]
    fn markdown_report() {
        crate::tests::support::snapshot_settings()
            .bind(|| insta::assert_snapshot!("report-markdown", render(Format::Markdown, &report())));
    }

    #[test]
    fn html_report() {
        crate::tests::support::snapshot_settings()
            .bind(|| insta::assert_snapshot!("report-html", render(Format::Html, &report())));
    }

    #[test]
    fn matrix_reports() {
        let (a, mut b) = (report(), report());
        b.target = "http://127.0.0.1:3401/mcp".to_owned();
        b.verdicts.truncate(2);
        b.verdicts[0].outcome = Outcome::Fail;
        b.summary = crate::verdict::Summary::of(&b.verdicts);
        let m = Matrix {
            spec_version: SpecVersion::LATEST,
            columns: vec![("ts-sdk".to_owned(), &a), ("oidc <provider>".to_owned(), &b)],
        };
        let markdown = render_matrix(Format::Markdown, &m).unwrap();
        let html = render_matrix(Format::Html, &m).unwrap();
        crate::tests::support::snapshot_settings().bind(|| insta::assert_snapshot!("report-matrix-markdown", markdown));
        crate::tests::support::snapshot_settings().bind(|| insta::assert_snapshot!("report-matrix-html", html));
        let json: serde_json::Value = serde_json::from_str(&render_matrix(Format::Json, &m).unwrap()).unwrap();
        assert_eq!(json["targets"][1]["target"], "http://127.0.0.1:3401/mcp");
        assert_eq!(json["targets"][1]["summary"]["fail"], 2);
        assert!(render_matrix(Format::Junit, &m).is_err());
    }

    #[test]
    fn console_failure_block_and_summary() {
        let r = report();
        let Err(stale) = console::trial_result(&r.verdicts[6], SpecVersion::LATEST) else {
            panic!("a stale entry fails");
        };
        let text = format!(
            "{}\n{}\n{}\n{}",
            console::failure_block(&r.verdicts[1], SpecVersion::LATEST),
            console::failure_block(&r.verdicts[4], SpecVersion::LATEST),
            stale.message().unwrap_or_default(),
            console::summary_line(&r)
        );
        crate::tests::support::snapshot_settings().bind(|| insta::assert_snapshot!("console-failure-blocks", text));
    }

    #[test]
    fn the_json_report_keeps_the_contract() {
        let value: serde_json::Value = serde_json::from_str(&json(&report())).unwrap();
        for key in [
            "tool",
            "target",
            "spec_version",
            "started_at",
            "duration_ms",
            "verdicts",
            "summary",
        ] {
            assert!(value.get(key).is_some(), "missing `{key}`");
        }
        assert_eq!(value["tool"]["name"], "mcp-auth-conformance");
        let first = &value["verdicts"][1];
        for key in ["requirement", "level", "outcome", "message", "evidence"] {
            assert!(first.get(key).is_some(), "verdict misses `{key}`");
        }
        assert_eq!(
            value["summary"],
            serde_json::json!({"pass": 2, "fail": 2, "warn": 1, "skip": 1, "error": 1, "expected": 1, "stale": 1})
        );
        assert_eq!(value["verdicts"][2]["level"], "SHOULD NOT");
    }
}
