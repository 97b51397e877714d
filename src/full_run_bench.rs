//! Benchmark: a full run of every case against the embedded reference target (`cargo bench`).
//! Prints min / median / max over repeated runs; the figure goes in closing notes.

use std::time::{Duration, Instant};

use mcp_auth_conformance::case;
use mcp_auth_conformance::config::TargetConfig;
use mcp_auth_conformance::discovery::Target;
use mcp_auth_conformance::http::{HttpClient, redact::Redactor};
use mcp_auth_conformance::reference::{Options, Reference};
use mcp_auth_conformance::run;
use mcp_auth_conformance::seed::Randomness;
use mcp_auth_conformance::spec::SpecVersion;
use mcp_auth_conformance::suite::Suite;
use mcp_auth_conformance::verdict::Outcome;

const RUNS: usize = 50;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cases = case::load_embedded().expect("cases");
    let verdicts = run::plan(&cases, SpecVersion::LATEST, None).len();
    for (what, randomness) in [
        ("concurrent", Randomness::default()),
        ("seeded, one case at a time", Randomness::seeded(7)),
    ] {
        let mut timings = rt.block_on(timed_runs(&cases, randomness));
        timings.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "full run against the embedded reference, {what} ({verdicts} verdicts, {RUNS} runs): \
             min {:.2} ms, median {:.2} ms, max {:.2} ms",
            ms(timings[0]),
            ms(timings[RUNS / 2]),
            ms(timings[RUNS - 1])
        );
    }
}

async fn timed_runs(cases: &case::CaseSet, randomness: Randomness) -> Vec<Duration> {
    let mut timings = Vec::with_capacity(RUNS);
    // As the CLI runs the embedded reference: its SSRF guard on, the documents named for it.
    let reference = Reference::start_with(&[], Options::default().guarded())
        .await
        .expect("reference");
    for i in 0..=RUNS {
        let started = Instant::now();
        // A run as the CLI does it: a fresh client and context, so nothing is cached.
        let client = HttpClient::new(Duration::from_secs(10), Redactor::default()).expect("client");
        let target = Target::new(&reference.mcp_url, SpecVersion::LATEST).expect("target");
        // As the CLI runs the embedded reference: with its second resource.
        let mut config = TargetConfig {
            randomness,
            ..TargetConfig::default()
        };
        reference.fill_config(&mut config);
        mcp_auth_conformance::reference::name_documents_for_guard(&mut config);
        let verdicts = Suite::new(run::plan(cases, SpecVersion::LATEST, None), client, target, config)
            .verdicts()
            .await;
        let elapsed = started.elapsed();
        // The default run: slow checks skip, saying so, and a proxy's (the reference is not
        // declared one); everything else passes.
        let slow = |v: &mcp_auth_conformance::verdict::Verdict| {
            v.message.contains("run with --slow") || v.message.contains("not declared an MCP proxy")
        };
        assert!(verdicts.iter().all(|v| v.outcome == Outcome::Pass || slow(v)));
        if i > 0 {
            timings.push(elapsed); // run 0 warms up connections and allocators
        }
    }
    timings
}
