//! The command line as CI jobs see it: exit codes, console output, report files.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_mcp-auth-conformance");

fn cli(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Ports and timings change from run to run.
fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[port]");
    s.add_filter(r"finished in \d+\.\d+s", "finished in [time]");
    s.add_filter(r"(?m)^(\s*< date:) .*$", "$1 [date]");
    // Signed when served, under a key made at start.
    s.add_filter(r#""signed_metadata":"[^"]*""#, r#""signed_metadata":"[jwt]""#);
    s.add_filter(r"(?m)^report written: .*?([^/]+)$", "report written: [dir]/$1");
    s
}

/// `reference --fault ...` in the background, killed on drop.
struct Reference {
    child: Child,
    url: String,
}

impl Reference {
    fn start(faults: &[&str]) -> Reference {
        let mut args = vec!["reference"];
        for f in faults {
            args.extend(["--fault", f]);
        }
        let mut child = Command::new(BIN)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut url = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut url)
            .unwrap();
        Reference {
            child,
            url: url.trim().to_owned(),
        }
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn run_without_a_target_checks_the_embedded_reference() {
    let out = cli(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    settings().bind(|| insta::assert_snapshot!("cli-run-reference", text(&out.stdout)));
}

#[test]
fn a_broken_must_exits_1_and_reports_evidence() {
    let reference = Reference::start(&["prm-resource-trailing-slash", "error-without-credentials"]);
    assert!(
        reference.url.starts_with("http://127.0.0.1:"),
        "first line is the MCP URL: {}",
        reference.url
    );
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out/report.json");
    let junit = dir.path().join("report.xml");
    let out = cli(&[
        "run",
        "--target",
        &reference.url,
        "--report",
        &format!("json={}", json.display()),
        "--report",
        &format!("junit={}", junit.display()),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    settings().bind(|| insta::assert_snapshot!("cli-run-faults", text(&out.stdout)));

    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let outcome = |id: &str| {
        report["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["requirement"] == id)
            .unwrap()["outcome"]
            .clone()
    };
    assert_eq!(outcome("rs.prm.resource-matches-server"), "fail");
    assert_eq!(outcome("rs.challenge.no-error-without-credentials"), "warn");
    assert_eq!(report["summary"]["fail"], 1);
    assert_eq!(report["target"], reference.url.as_str());
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains(r#"<testcase name="rs.prm.resource-matches-server""#));
    assert!(xml.contains("<failure "));
}

#[test]
fn a_warning_alone_exits_0() {
    let reference = Reference::start(&["error-without-credentials"]);
    let out = cli(&["run", "--target", &reference.url, "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("1 warn"));
    // --strict: the same broken SHOULD NOT fails the run.
    let out = cli(&["run", "--target", &reference.url, "--quiet", "--strict"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("1 fail, 0 warn"), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("(--strict: a broken SHOULD NOT fails)"));
}

#[test]
fn an_unreachable_target_exits_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = cli(&["run", "--target", &format!("http://127.0.0.1:{port}/mcp"), "--quiet"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("the target could not be reached: could not connect"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn usage_errors_exit_2_with_one_clear_line() {
    let cases: &[&[&str]] = &[
        &["run", "--target", "localhost:3000/mcp"],
        &["run", "--spec-version", "2024-11-05"],
        &["run", "--report", "xml=out.xml"],
        &["run", "--filter", "no.such.requirement"],
        &["run", "--timeout", "0"],
        &["reference", "--fault", "no-such-fault"],
        &["run", "--cases", "/nonexistent/cases"],
        &["run", "--config", "/nonexistent/target.toml"],
        &["run", "--token", "stale=MCP_TOKEN"],
        &["run", "--token", "valid=MCP_CONFORMANCE_UNSET_VARIABLE"],
        &["run", "--mint-endpoint", "127.0.0.1:9400/as/mint"],
        &["run", "--registration", "oidc"],
        &["run", "--resolve", "mcp.example.com=not-an-ip"],
        &["run", "--registration", "preregistered"],
        &["run", "--save-failure-screenshots", "shots"],
        &["reference", "--login-form=captcha"],
    ];
    let mut transcript = String::new();
    for args in cases {
        let out = cli(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(!text(&out.stderr).contains("panicked"), "{args:?}");
        let first = text(&out.stderr)
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_owned();
        transcript.push_str(&format!("$ {}\n{first}\n\n", args.join(" ")));
    }
    settings().bind(|| insta::assert_snapshot!("cli-usage-errors", transcript));
}

#[test]
fn a_bad_case_directory_exits_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::copy(
        format!("{root}/cases/requirements.toml"),
        dir.path().join("requirements.toml"),
    )
    .unwrap();
    std::fs::copy(
        format!("{root}/fixtures/bad-cases/unknown-step.toml"),
        dir.path().join("area.toml"),
    )
    .unwrap();
    let out = cli(&["run", "--cases", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("unknown step `mcp_unauthenticatd`"), "{stderr}");
    assert!(stderr.contains("area.toml:3:8"), "{stderr}");
}

#[test]
fn requirements_lists_the_registry_with_check_coverage() {
    let out = cli(&["requirements", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rows.len() > 100);
    let row = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!(row("rs.challenge.401-no-token")["has_check"], true);
    assert_eq!(row("as.cimd.fetch")["has_check"], true);
    assert_eq!(row("as.cimd.localhost-warning")["has_check"], false);
    assert_eq!(row("as.metadata.pkce-advertised")["levels"]["2025-06-18"], "SHOULD");
    for key in ["level", "versions", "section", "url", "title"] {
        assert!(row("rs.prm.implemented").get(key).is_some(), "{key}");
    }
    let text_out = cli(&["requirements"]);
    assert!(
        text(&text_out.stdout)
            .lines()
            .any(|l| l.starts_with("rs.challenge.401-no-token "))
    );
}

#[test]
fn list_faults_names_the_requirement_each_breaks() {
    let out = cli(&["reference", "--list-faults"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(stdout.lines().count() >= 30);
    assert!(
        stdout
            .lines()
            .any(|l| l == "prm-resource-trailing-slash rs.prm.resource-matches-server"),
        "{stdout}"
    );
    assert!(stdout.lines().all(|l| l.split(' ').count() == 2));
}

#[test]
fn help_documents_the_exit_codes() {
    let out = cli(&["run", "--help"]);
    let help = text(&out.stdout);
    for line in [
        "0  no MUST requirement failed",
        "1  a MUST",
        "2  usage",
        "3  the target could not be reached",
    ] {
        assert!(help.contains(line), "{help}");
    }
}

/// `--version` names the spec versions this build knows; `-V` stays one line.
#[test]
fn version_names_the_spec_versions() {
    let long = text(&cli(&["--version"]).stdout);
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        long,
        format!(
            "mcp-auth-conformance {version}\nspec versions: 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28, draft\n"
        )
    );
    assert_eq!(text(&cli(&["-V"]).stdout), format!("mcp-auth-conformance {version}\n"));
}

/// Shell completions and the man page come from the same grammar as `--help`: every command
/// and `run`'s options are in them.
#[test]
fn completions_and_the_man_page_follow_the_grammar() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = cli(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = text(&out.stdout);
        for word in ["requirements", "reference", "spec-version", "report"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    let out = cli(&["manpage"]);
    assert!(out.status.success());
    let page = text(&out.stdout);
    assert!(
        page.starts_with(".ie") && page.contains(".TH mcp-auth-conformance 1"),
        "{page}"
    );
    assert!(page.contains("Conformance suite for MCP authorization"), "{page}");
    let bad = cli(&["completions", "nosh"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// `run | head -1`: the reader leaves after one line; the run ends without a panic.
#[test]
fn a_reader_that_leaves_early_ends_the_run_quietly() {
    let mut child = Command::new(BIN)
        .args(["run"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader (this test) drops stdout here, after one line.
    let output = child.wait_with_output().expect("the run ends");
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(output.status.code(), Some(101), "no panic exit");
}

#[test]
fn a_matrix_run_shows_each_target_and_exits_with_the_worst() {
    let good = Reference::start(&[]);
    let broken = Reference::start(&["prm-missing-resource"]);
    let dir = tempfile::tempdir().unwrap();
    let markdown = dir.path().join("matrix.md");
    let report = format!("markdown={}", markdown.display());
    let out = cli(&[
        "run",
        "--target",
        &good.url,
        "--target",
        &broken.url,
        "--report",
        &report,
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let row = stdout
        .lines()
        .find(|l| l.starts_with("rs.prm.resource-required "))
        .unwrap();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["rs.prm.resource-required", "pass", "FAIL"]
    );
    assert_eq!(stdout.matches("verdicts: ").count(), 2, "{stdout}");
    let table = std::fs::read_to_string(&markdown).unwrap();
    assert!(
        table.contains("| `rs.prm.resource-required` | MUST | pass | FAIL |"),
        "{table}"
    );
    let out = cli(&[
        "run",
        "--target",
        &good.url,
        "--target",
        &good.url,
        "--report",
        "junit=x.xml",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// A certification matrix spread over machines: 20 reference targets (every fourth with a
/// fault) run in 4 slices and merged (the files in any order) give the table one run over the
/// whole file gives; a missing or doubled slice is refused.
#[test]
fn four_slices_merged_equal_the_whole_matrix() {
    let faults = [
        "prm-missing-resource",
        "refresh-not-rotated",
        "refresh-old-token-kept",
        "token-ignores-resource",
        "refresh-not-bound-to-client",
    ];
    let targets: Vec<Reference> = (0..20)
        .map(|i| match i % 4 {
            1 => Reference::start(&[faults[i / 4]]),
            _ => Reference::start(&[]),
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let matrix: String = (targets.iter().enumerate())
        .map(|(i, t)| format!("[[target]]\nname = \"t{i:02}\"\nurl = \"{}\"\n", t.url))
        .collect();
    std::fs::write(path("matrix.toml"), matrix).unwrap();
    let run = |extra: &[&str], json: &str| {
        let (matrix, report) = (path("matrix.toml"), format!("json={}", path(json)));
        let mut args = vec!["run", "--matrix", &matrix, "--report", &report, "-q"];
        args.extend(extra);
        cli(&args)
    };
    let whole = run(&["--report", &format!("markdown={}", path("whole.md"))], "whole.json");
    assert_eq!(whole.status.code(), Some(1), "{}", text(&whole.stderr));
    for k in 1..=4 {
        let out = run(&["--shard", &format!("{k}/4")], &format!("slice-{k}.json"));
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains(&format!("slice {k}/4 of the matrix file: 5 of its targets")));
    }
    let slices = |ks: &[usize]| ks.iter().map(|k| path(&format!("slice-{k}.json"))).collect::<Vec<_>>();
    let merge = |files: Vec<String>, extra: &[String]| {
        let mut args = vec!["report".to_owned(), "merge".to_owned()];
        args.extend(files);
        args.extend(extra.iter().cloned());
        cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let report = ["--report".to_owned(), format!("markdown={}", path("merged.md"))];
    let merged = merge(slices(&[3, 1, 4, 2]), &report);
    assert_eq!(merged.status.code(), Some(1), "{}", text(&merged.stderr));
    let table = |name: &str| std::fs::read_to_string(path(name)).unwrap();
    assert_eq!(table("merged.md"), table("whole.md"));
    assert!(table("whole.md").matches("FAIL").count() >= 5, "{}", table("whole.md"));
    let missing = merge(slices(&[1, 2, 4]), &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("slice 3/4 is missing"),
        "{}",
        text(&missing.stderr)
    );
    let doubled = merge(slices(&[1, 2, 2, 3, 4]), &[]);
    assert_eq!(doubled.status.code(), Some(2));
    assert!(
        text(&doubled.stderr).contains("slice 2/4 is given twice"),
        "{}",
        text(&doubled.stderr)
    );
}

#[test]
fn a_bad_matrix_file_exits_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("matrix.toml");
    std::fs::write(
        &path,
        "[[target]]\nurl = \"http://127.0.0.1:1/mcp\"\n[[target]]\nurl = \"localhost:3000/mcp\"\n",
    )
    .unwrap();
    let out = cli(&["run", "--matrix", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("matrix.toml:4") && stderr.contains("absolute http(s) URL"),
        "{stderr}"
    );
}

#[test]
fn coverage_lists_per_version_what_has_no_check() {
    let out = cli(&["requirements", "--coverage"]);
    assert_eq!(out.status.code(), Some(0));
    settings().bind(|| insta::assert_snapshot!("cli-requirements-coverage", text(&out.stdout)));
}

#[test]
fn a_baseline_accepts_known_failures_expires_and_goes_stale() {
    let broken = Reference::start(&["prm-missing-resource"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baseline.toml");
    let file = path.to_str().unwrap();
    let out = cli(&["run", "--target", &broken.url, "-q", "--write-baseline", file]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written.matches("[[expected]]").count(), 2, "{written}");
    // Reasons still TODO: refused, pointing at the line.
    let out = cli(&["run", "--target", &broken.url, "-q", "--expected-failures", file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("baseline.toml:"), "{}", text(&out.stderr));
    let reasoned = written.replace("\"TODO (", "\"known: no resource in the PRM (");
    std::fs::write(&path, &reasoned).unwrap();
    let out = cli(&["run", "--target", &broken.url, "-q", "--expected-failures", file]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("(2 of them expected)"),
        "{}",
        text(&out.stdout)
    );
    // Past its date, an entry excuses nothing.
    std::fs::write(
        &path,
        reasoned.replacen("reason = ", "expires = 2020-01-01\nreason = ", 1),
    )
    .unwrap();
    let out = cli(&["run", "--target", &broken.url, "-q", "--expected-failures", file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("expected failure until 2020-01-01, no longer"));
    // Against a target that keeps the requirements, the entries are stale.
    let good = Reference::start(&[]);
    std::fs::write(&path, &reasoned).unwrap();
    let out = cli(&["run", "--target", &good.url, "-q", "--expected-failures", file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("stale expected failure: `rs.prm.resource-required`"));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("2 stale expected failure(s)"), "{stdout}");
    assert!(stdout.contains("STALE: passes now"), "{stdout}");
}

#[test]
fn a_taken_redirect_port_for_the_manual_driver_exits_2() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("target.toml");
    let config = format!(
        "[client]\nclient_id = \"c\"\nredirect_uri = \"http://127.0.0.1:{port}/callback\"\n[consent]\ndriver = \"manual\"\n"
    );
    std::fs::write(&path, config).unwrap();
    let out = cli(&[
        "run",
        "--target",
        "http://127.0.0.1:1/mcp",
        "--config",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("port {port} is not free")), "{stderr}");
}

/// The JSON report without its timings: durations, the start time, `Date` headers, the
/// registration times (`client_id_issued_at`) the target reports and its signed metadata
/// (a JWT with its `iat`, under a key the reference makes at start).
fn without_timings(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            map.remove("duration_ms");
            map.remove("started_at");
            if let Some(Value::Array(headers)) = map.get_mut("headers") {
                headers.retain(|h| !h["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("date")));
            }
            map.values_mut().for_each(without_timings);
        }
        Value::Array(items) => items.iter_mut().for_each(without_timings),
        Value::String(s) => {
            let key = "\"client_id_issued_at\":";
            if let Some(at) = s.find(key) {
                let digits = s[at + key.len()..].bytes().take_while(u8::is_ascii_digit).count();
                s.replace_range(at + key.len()..at + key.len() + digits, "0");
            }
            let key = "\"signed_metadata\":\"";
            if let Some(at) = s.find(key) {
                let jwt = s[at + key.len()..].bytes().take_while(|&b| b != b'"').count();
                s.replace_range(at + key.len()..at + key.len() + jwt, "jwt");
            }
        }
        _ => {}
    }
}

/// Two runs of the embedded reference, each with `extra` arguments; their JSON reports.
fn two_runs(extra: &[&str]) -> [serde_json::Value; 2] {
    let dir = tempfile::tempdir().unwrap();
    [1, 2].map(|i| {
        let path = dir.path().join(format!("run{i}.json"));
        let report = format!("json={}", path.display());
        let mut args = vec!["run", "--quiet", "--report", report.as_str()];
        args.extend(extra);
        let out = cli(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        without_timings(&mut json);
        json
    })
}

#[test]
fn two_runs_with_one_seed_give_the_same_report_apart_from_timings() {
    let [a, b] = two_runs(&["--seed", "7", "--spec-version", "2025-11-25"]);
    assert_eq!(a["seed"], 7);
    assert!(a == b, "seeded runs differ:\n{}\n---\n{}", a, b);
    // A case alone (`--filter`) gets the values it had in the whole run.
    let states = |report: &serde_json::Value| -> Vec<String> {
        let verdict = report["verdicts"].as_array().unwrap().iter();
        let single_use = verdict
            .clone()
            .find(|v| v["requirement"] == "as.code.single-use")
            .unwrap();
        let urls = single_use["evidence"].as_array().unwrap().iter();
        urls.filter_map(|e| e["request"]["url"].as_str()?.split("state=").nth(1).map(str::to_owned))
            .collect()
    };
    let [alone, _] = two_runs(&[
        "--seed",
        "7",
        "--spec-version",
        "2025-11-25",
        "--filter",
        "as.code.single-use",
    ]);
    assert_eq!(states(&a), states(&alone));
    assert_eq!(states(&a).len(), 2);
    // Two redemptions of one code read the same once redacted; both are evidence, after the
    // shared flow's own token request.
    let single_use = a["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["requirement"] == "as.code.single-use");
    let token_requests = single_use.unwrap()["evidence"].as_array().unwrap().iter();
    let token_requests = token_requests.filter(|e| e["request"]["url"].as_str().unwrap().ends_with("/as/token"));
    assert_eq!(token_requests.count(), 3);
    // The control: without a seed, state values, client ids and ports differ.
    let [a, b] = two_runs(&["--spec-version", "2025-11-25"]);
    assert!(a.get("seed").is_none());
    assert!(
        a != b,
        "unseeded runs must differ, or the comparison above proves nothing"
    );
}
