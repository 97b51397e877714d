//! Snapshots of every report format (pass, fail, warn, skip, error; a matrix), byte-for-byte
//! stable: fixed times, one verdict of each outcome.

use std::time::{Duration, UNIX_EPOCH};

use crate::http::{Exchange, RecordedRequest, RecordedResponse};
use crate::report::{Format, Matrix, console, json, junit, render, render_matrix};
use crate::spec::{Level, SpecVersion};
use crate::verdict::RunReport;
use crate::verdict::{Finding, Outcome, Verdict};

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
            received_by: None,
            seq: 0,
        }],
        title: format!("title of {id}"),
        section: "RFC 6750 §3.1".to_owned(),
        url: "https://www.rfc-editor.org/rfc/rfc6750#section-3.1".to_owned(),
        normative: "The resource server SHOULD respond with the HTTP 400 (Bad Request) status code.".to_owned(),
        derived: id.starts_with("rs.prm"),
        case: "cases/rs-challenge.toml:1".to_owned(),
        findings: Vec::new(),
        expected_failure: None,
        stale_expected_failure: None,
    }
}

/// One verdict of every outcome, fixed times: the reports are byte-for-byte stable.
fn report() -> RunReport {
    let verdicts = vec![
        verdict("rs.challenge.401-no-token", Level::Must, Outcome::Pass, ""),
        Verdict {
            findings: vec![Finding {
                observation: "protected resource metadata".to_owned(),
                subject: "json:/resource".to_owned(),
                expected: "<\"http://127.0.0.1:3100/mcp\">".to_owned(),
                actual: "<\"http://127.0.0.1:3100/mcp/\">".to_owned(),
                detail: None,
                exchanges: vec![0],
            }],
            ..verdict(
                "rs.prm.resource-matches-server",
                Level::Must,
                Outcome::Fail,
                "protected resource metadata: json:/resource: expected <\"http://127.0.0.1:3100/mcp\">, got <\"http://127.0.0.1:3100/mcp/\">",
            )
        },
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
    report.registration = Some("cimd".to_owned());
    report.registration_chosen = Some("the AS advertises client ID metadata documents".to_owned());
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
fn badge_report() {
    crate::tests::support::snapshot_settings()
        .bind(|| insta::assert_snapshot!("report-badge", render(Format::Badge, &report())));
}

/// The badge's colour follows the MUSTs: red while one is broken, green with a SHOULD broken,
/// bright green when nothing is, grey when no MUST was checked.
#[test]
fn the_badge_colour_follows_the_musts() {
    let colour = |verdicts: Vec<Verdict>| {
        let mut report = report();
        report.verdicts = verdicts;
        let doc: serde_json::Value = serde_json::from_str(&render(Format::Badge, &report)).unwrap();
        (
            doc["color"].as_str().unwrap().to_owned(),
            doc["message"].as_str().unwrap().to_owned(),
        )
    };
    let must = |outcome| verdict("rs.a", Level::Must, outcome, "");
    let should = |outcome| verdict("rs.b", Level::Should, outcome, "");
    assert_eq!(
        colour(vec![must(Outcome::Pass), should(Outcome::Pass)]),
        ("brightgreen".into(), "1/1 MUSTs".into())
    );
    assert_eq!(
        colour(vec![must(Outcome::Pass), should(Outcome::Warn)]),
        ("green".into(), "1/1 MUSTs".into())
    );
    assert_eq!(
        colour(vec![must(Outcome::Pass), must(Outcome::Fail)]),
        ("red".into(), "1/2 MUSTs".into())
    );
    assert_eq!(
        colour(vec![must(Outcome::Pass), must(Outcome::Error)]),
        ("red".into(), "1/2 MUSTs".into())
    );
    assert_eq!(
        colour(vec![must(Outcome::Skip), should(Outcome::Pass)]),
        ("lightgrey".into(), "0/0 MUSTs".into())
    );
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
        positions: Vec::new(),
        shard: None,
    };
    let markdown = render_matrix(Format::Markdown, &m).unwrap();
    let html = render_matrix(Format::Html, &m).unwrap();
    crate::tests::support::snapshot_settings().bind(|| insta::assert_snapshot!("report-matrix-markdown", markdown));
    crate::tests::support::snapshot_settings().bind(|| insta::assert_snapshot!("report-matrix-html", html));
    let json: serde_json::Value = serde_json::from_str(&render_matrix(Format::Json, &m).unwrap()).unwrap();
    assert_eq!(json["targets"][1]["target"], "http://127.0.0.1:3401/mcp");
    assert_eq!(json["targets"][1]["summary"]["fail"], 2);
    assert_eq!(json["targets"][1]["name"], "oidc <provider>");
    assert!(render_matrix(Format::Junit, &m).is_err());
    assert!(render_matrix(Format::Badge, &m).is_err());
}

/// `report merge` reads back every report format's JSON it is given: a single run's and a
/// matrix slice's, evidence and findings included, and refuses what is not one matrix.
#[test]
fn merge_reads_reports_back_and_refuses_what_is_not_one_matrix() {
    use crate::report::Shard;
    use crate::report::merge::merge;
    let (a, mut b) = (report(), report());
    b.target = "http://127.0.0.1:3401/mcp".to_owned();
    let slice = |report: &crate::verdict::RunReport, index: usize, position: usize| {
        let m = Matrix {
            spec_version: SpecVersion::LATEST,
            columns: vec![(format!("t{position}"), report)],
            positions: vec![position],
            shard: Some(Shard { index, count: 2 }),
        };
        render_matrix(Format::Json, &m).unwrap()
    };
    let input = |name: &str, text: String| (std::path::PathBuf::from(name), text);
    let merged = merge(&[input("2.json", slice(&b, 2, 1)), input("1.json", slice(&a, 1, 0))]).unwrap();
    let names: Vec<&str> = merged.columns.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["t0", "t1"]);
    assert_eq!(
        json(&merged.columns[0].1),
        json(&a),
        "a report reads back as it was written"
    );
    let single = merge(&[input("a.json", json(&a))]).unwrap();
    assert_eq!(single.columns[0].0, a.target);
    let errors = [
        (vec![input("x.json", "{".to_owned())], "x.json: not JSON"),
        (
            vec![input("x.json", "{\"verdicts\": 3}".to_owned())],
            "x.json: not a report",
        ),
        (vec![input("1.json", slice(&a, 1, 0))], "slice 2/2 is missing"),
        (vec![], "no target in the reports"),
    ];
    for (inputs, expected) in errors {
        let Err(why) = merge(&inputs) else {
            panic!("{expected}: accepted")
        };
        assert!(why.contains(expected), "{why}");
    }
    let mut old = report();
    old.spec_version = SpecVersion::V2025_06_18;
    let Err(why) = merge(&[input("a.json", json(&a)), input("old.json", json(&old))]) else {
        panic!("two versions merged")
    };
    assert!(why.contains("one matrix has one spec version"), "{why}");
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
