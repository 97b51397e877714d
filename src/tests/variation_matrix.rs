//! The proof that no check fails a server for behaving legally but differently from our
//! reference: the whole suite runs under each legal [`Variation`] (alone in every spec
//! version, and pairwise in the newest), all cases at once, and every verdict must be a pass
//! or a skip. The twin of the fault matrix.

use std::time::Duration;

use futures::StreamExt;

use crate::case::{self, CaseSet};
use crate::config::TargetConfig;
use crate::discovery::Target;
use crate::http::HttpClient;
use crate::http::redact::Redactor;
use crate::reference::{Options, Reference, Variation};
use crate::run::{self, Planned};
use crate::spec::SpecVersion;
use crate::suite::Suite;
use crate::verdict::{Outcome, Verdict};

/// The reference showing `variations`, and a run of `plan` against it (the reference stops
/// when dropped).
async fn varied(variations: &[Variation], version: SpecVersion, plan: Vec<Planned>) -> (Reference, Suite) {
    let options = Options {
        variations: variations.to_vec(),
        ..Options::default()
    }
    .guarded();
    let reference = Reference::start_with(&[], options)
        .await
        .expect("reference target starts");
    // Generous: dozens of suites share two cores here, and no check is about latency.
    let client = HttpClient::new(Duration::from_secs(20), Redactor::default()).expect("client");
    let target = Target::new(&reference.mcp_url, version).expect("target URL");
    let mut config = TargetConfig::default();
    reference.fill_config(&mut config);
    crate::reference::name_documents_for_guard(&mut config);
    (reference, Suite::new(plan, client, target, config))
}

async fn run_suite(cases: &CaseSet, variations: &[Variation], version: SpecVersion) -> Vec<Verdict> {
    let (_reference, suite) = varied(variations, version, run::plan(cases, version, None)).await;
    suite.verdicts().await
}

/// The verdicts that are neither pass nor skip, one line each.
fn false_verdicts(verdicts: &[Verdict]) -> Vec<String> {
    verdicts
        .iter()
        .filter(|v| !matches!(v.outcome, Outcome::Pass | Outcome::Skip))
        .map(|v| {
            let first: String = v.message.lines().next().unwrap_or("").chars().take(300).collect();
            format!("  {} {}: {first}", v.outcome.as_str(), v.requirement)
        })
        .collect()
}

/// Runs every combination at once (bounded), and lists each one that gave a false verdict.
async fn prove(cases: &CaseSet, runs: Vec<(Vec<Variation>, SpecVersion)>) {
    let total = runs.len();
    let suites = runs.into_iter().map(|(variations, version)| async move {
        let verdicts = run_suite(cases, &variations, version).await;
        (variations, version, verdicts)
    });
    let finished: Vec<_> = futures::stream::iter(suites).buffer_unordered(24).collect().await;
    assert_eq!(finished.len(), total);
    let mut problems = Vec::new();
    for (variations, version, verdicts) in finished {
        assert!(!verdicts.is_empty(), "{version}: no checks ran");
        let wrong = false_verdicts(&verdicts);
        if !wrong.is_empty() {
            let ids: Vec<&str> = variations.iter().map(|v| v.id()).collect();
            problems.push(format!("under {} ({version}):\n{}", ids.join(" + "), wrong.join("\n")));
        }
    }
    assert!(
        problems.is_empty(),
        "legal behaviour judged as broken:\n{}",
        problems.join("\n\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_legal_variation_alone_breaks_nothing_in_any_version() {
    let cases = case::load_embedded().expect("embedded cases load");
    let runs = Variation::ALL
        .iter()
        .flat_map(|&v| SpecVersion::ALL.map(|version| (vec![v], version)))
        .collect();
    prove(&cases, runs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_pair_of_legal_variations_breaks_nothing() {
    let cases = case::load_embedded().expect("embedded cases load");
    let all = Variation::ALL;
    let pairs = (0..all.len())
        .flat_map(|i| (i + 1..all.len()).map(move |j| (vec![all[i], all[j]], SpecVersion::LATEST)))
        .collect();
    prove(&cases, pairs).await;
}

/// Verdicts do not depend on scheduling: under `revoke-on-refresh` (refreshing a grant kills
/// its access token) and `revoke-earlier-grants` (authorizing again kills a client's earlier
/// grants), 20 runs that start the cases in a shuffled order, each after a random delay, give
/// the same outcome for every requirement. A case that spent the run's shared token, or two
/// chains on one client at once, would make some of them differ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_do_not_depend_on_the_order_cases_run_in() {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    let cases = case::load_embedded().expect("embedded cases load");
    let version = SpecVersion::LATEST;
    let plan = run::plan(&cases, version, None);
    let jittered = |seed: u64| {
        let plan = plan.clone();
        async move {
            let revoking = [Variation::RevokeOnRefresh, Variation::RevokeEarlierGrants];
            let (_reference, suite) = varied(&revoking, version, plan.clone()).await;
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut order: Vec<(usize, u64)> = (0..plan.len()).map(|i| (i, rng.random_range(0..30))).collect();
            order.shuffle(&mut rng);
            let runs = order.into_iter().map(|(i, delay)| {
                let (ctx, planned) = (suite.ctx.clone(), &plan[i]);
                async move {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    let verdict = run::evaluate(ctx, planned).await;
                    (verdict.requirement.clone(), verdict.outcome)
                }
            });
            let outcomes: std::collections::BTreeMap<String, Outcome> =
                futures::future::join_all(runs).await.into_iter().collect();
            outcomes
        }
    };
    let all: Vec<_> = futures::stream::iter((0..20).map(jittered))
        .buffer_unordered(5)
        .collect()
        .await;
    let first = &all[0];
    for (n, outcomes) in all.iter().enumerate() {
        let differing: Vec<String> = first
            .iter()
            .filter(|(id, o)| outcomes.get(*id) != Some(o))
            .map(|(id, o)| format!("{id}: {} vs {:?}", o.as_str(), outcomes.get(id).map(|o| o.as_str())))
            .collect();
        assert!(
            differing.is_empty(),
            "run {n} differs from run 0:\n{}",
            differing.join("\n")
        );
    }
    assert!(
        first.values().all(|o| matches!(o, Outcome::Pass | Outcome::Skip)),
        "{first:?}"
    );
}

/// A variation may only turn a pass into a skip where the check cannot observe its
/// requirement on such a server, as the variation declares ([`Variation::skips`]): a legal
/// behaviour must not quietly switch checks off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variation_skips_only_the_checks_it_declares() {
    let cases = case::load_embedded().expect("embedded cases load");
    let version = SpecVersion::LATEST;
    let base = run_suite(&cases, &[], version).await;
    let runs = Variation::ALL.iter().map(|&v| {
        let cases = &cases;
        async move { (v, run_suite(cases, &[v], version).await) }
    });
    let mut problems = Vec::new();
    for (variation, verdicts) in futures::future::join_all(runs).await {
        for (before, after) in base.iter().zip(&verdicts) {
            assert_eq!(before.requirement, after.requirement, "same plan");
            let declared = variation.skips().contains(&before.requirement.as_str());
            let lost = before.outcome == Outcome::Pass && after.outcome != Outcome::Pass;
            if lost != declared {
                let first: String = after.message.chars().take(200).collect();
                problems.push(format!(
                    "{}: {} {} -> {} (declared: {declared}) {first}",
                    variation.id(),
                    before.requirement,
                    before.outcome.as_str(),
                    after.outcome.as_str()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// When the AS refuses a token the run needs, the verdict says so in the AS's words and its
/// evidence holds the refusal (the authorization redirect with its `error`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_shown_with_the_refusal() {
    let reference = Reference::start(&[]).await.expect("reference target starts");
    let mut config = TargetConfig {
        narrow_scope: Some("mcp-conformance-no-such-scope".to_owned()),
        ..TargetConfig::default()
    };
    reference.fill_config(&mut config);
    let verdicts =
        crate::tests::support::run_configured(&reference.mcp_url, SpecVersion::LATEST, Duration::from_secs(20), config)
            .await;
    let v = crate::tests::support::verdict(&verdicts, "rs.scope.insufficient-403");
    assert_eq!(v.outcome, Outcome::Skip, "{}", v.message);
    assert!(v.message.contains("error=invalid_scope"), "{}", v.message);
    let refusal = v.evidence.iter().any(|e| {
        e.response.as_ref().is_some_and(|r| {
            r.headers
                .iter()
                .any(|(n, val)| n == "location" && val.contains("error=invalid_scope"))
        })
    });
    assert!(refusal, "the refusing redirect is in the evidence");
}

/// An AS that registers loopback http redirect URIs for native clients only (better-auth)
/// still gets every check before 2026-07-28, whose clients do not say what they are: the
/// run's client registers again as the native application it is, and no pass is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_refused_as_web_registers_as_native() {
    let cases = case::load_embedded().expect("embedded cases load");
    for version in [SpecVersion::V2025_06_18, SpecVersion::V2025_11_25] {
        let base = run_suite(&cases, &[], version).await;
        let varied = run_suite(&cases, &[Variation::NativeLoopbackOnly], version).await;
        let lost: Vec<String> = base
            .iter()
            .zip(&varied)
            .filter(|(before, after)| before.outcome == Outcome::Pass && after.outcome != Outcome::Pass)
            .map(|(_, after)| format!("{version} {}: {}", after.requirement, after.outcome.as_str()))
            .collect();
        assert!(lost.is_empty(), "passes lost:\n{}", lost.join("\n"));
    }
}
