//! The GitHub Action (`.ci/action.yml`): its YAML parses, every input is used and none is
//! missing, and the command its run step builds, for the inputs a user gives, is one this
//! binary's command line accepts. The step's script runs for real, in bash, with a stand-in
//! binary that records its arguments.

use std::collections::BTreeSet;
use std::path::Path;

use clap::Parser;
use yaml_serde::Value;

use super::args::Cli;

fn action() -> Value {
    let text = include_str!("../../.ci/action.yml");
    yaml_serde::from_str(text).expect("the action's YAML parses")
}

/// Every `inputs.<name>` the steps and outputs name.
fn referenced_inputs(text: &str) -> BTreeSet<String> {
    text.match_indices("inputs.")
        .map(|(at, _)| {
            let rest = &text[at + "inputs.".len()..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'));
            rest[..end.unwrap_or(rest.len())].to_owned()
        })
        .collect()
}

#[test]
fn every_input_is_used_and_every_use_is_an_input() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    let declared: BTreeSet<String> = action["inputs"]
        .as_mapping()
        .expect("inputs")
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    let steps = yaml_serde::to_string(&action["runs"]).unwrap();
    assert_eq!(referenced_inputs(&steps), declared);
}

/// What the run step does with `given` inputs (the rest at their defaults): the arguments the
/// binary got (none if it was not called), the step's exit status and its `exit-code` output.
fn run_step(given: &[(&str, &str)], dir: &Path) -> (Option<Vec<String>>, i32, String) {
    let action = action();
    let step = action["runs"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "run")
        .expect("a step with id run")
        .clone();
    let input = |name: &str| {
        given
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| {
                action["inputs"][name]["default"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
    };
    let runner_temp = dir.join("runner");
    let bin = runner_temp.join("mcp-auth-conformance-bin/bin/mcp-auth-conformance");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    let recorded = dir.join("argv");
    // The stand-in: records one argument per line, then fails as a run with a broken MUST.
    let stub = format!(
        "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}'\nexit 1\n",
        recorded.display()
    );
    std::fs::write(&bin, stub).unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&bin)
        .status()
        .unwrap();
    let output = dir.join("github-output");
    std::fs::write(&output, "").unwrap();
    let mut command = std::process::Command::new("bash");
    // As GitHub runs a `shell: bash` step.
    command.args([
        "--noprofile",
        "--norc",
        "-eo",
        "pipefail",
        "-c",
        step["run"].as_str().unwrap(),
    ]);
    command.current_dir(dir).env("GITHUB_OUTPUT", &output);
    for (name, value) in step["env"].as_mapping().unwrap() {
        let template = value.as_str().unwrap();
        let value = match template.trim_start_matches("${{").trim_end_matches("}}").trim() {
            expression if expression.starts_with("inputs.") => input(&expression["inputs.".len()..]),
            _ => template.replace("${{ runner.temp }}", &runner_temp.display().to_string()),
        };
        command.env(name.as_str().unwrap(), value);
    }
    // Its output is kept: a `::error::` line in our CI's log would be a workflow command there.
    let finished = command.output().unwrap();
    let status = finished.status.code().unwrap_or(-1);
    let argv = std::fs::read_to_string(&recorded)
        .ok()
        .map(|text| text.lines().map(str::to_owned).collect());
    (argv, status, std::fs::read_to_string(&output).unwrap())
}

#[test]
fn the_run_step_builds_a_valid_command_line_and_keeps_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let target = ("target", "http://127.0.0.1:3000/mcp");
    let (argv, status, output) = run_step(&[target], dir.path());
    let argv = argv.expect("the binary ran");
    assert_eq!(
        argv,
        [
            "run",
            "--target",
            "http://127.0.0.1:3000/mcp",
            "--spec-version",
            "auto",
            "--report",
            "json=mcp-auth-conformance/report.json",
            "--report",
            "junit=mcp-auth-conformance/report.xml",
            "--report",
            "markdown=mcp-auth-conformance/report.md",
        ]
    );
    let cli = |argv: &[String]| {
        Cli::try_parse_from(std::iter::once("mcp-auth-conformance".to_owned()).chain(argv.iter().cloned()))
    };
    assert!(cli(&argv).is_ok(), "{:?}", cli(&argv).err());
    assert_eq!(
        (status, output.as_str()),
        (0, "exit-code=1\n"),
        "the step records the run's code"
    );

    let every = [
        target,
        ("spec-version", "2025-11-25"),
        ("config", "conformance.toml"),
        ("baseline", "conformance-baseline.toml"),
        ("reports", "json junit markdown html badge"),
        ("report-dir", "out dir"),
    ];
    let (argv, _, _) = run_step(&every, dir.path());
    let argv = argv.expect("the binary ran");
    assert!(cli(&argv).is_ok(), "{argv:?}: {:?}", cli(&argv).err());
    for expected in [
        "conformance.toml",
        "conformance-baseline.toml",
        "badge=out dir/badge.json",
        "html=out dir/report.html",
    ] {
        assert!(argv.iter().any(|a| a == expected), "{expected} in {argv:?}");
    }

    let dir = tempfile::tempdir().unwrap();
    let (argv, status, _) = run_step(&[target, ("reports", "json pdf")], dir.path());
    assert_eq!((argv, status), (None, 2), "an unknown format stops before the run");
}
