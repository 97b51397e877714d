//! The proof that every check can fail: the whole suite runs once per fault against the
//! reference target, and exactly the requirements the fault names may come out broken.

use std::collections::BTreeSet;

use futures::StreamExt;
use std::time::Duration;

use crate::case::{self, CaseSet};
use crate::config::TargetConfig;
use crate::discovery::Target;
use crate::http::HttpClient;
use crate::http::redact::{Redactor, Secret};
use crate::oauth::tokens;
use crate::reference::{Fault, Options, PROXY_REQUIREMENTS, Reference, Variation};
use crate::run;
use crate::spec::SpecVersion;
use crate::suite::Suite;
use crate::tests::support::undeclared_proxy;
use crate::token_kind::TokenKind;
use crate::verdict::{Outcome, Verdict};

/// Runs every check (`slow`: the slow ones too). The reference's codes live 5 s and its tokens
/// 6 s here (its clock switches; shorter lets a busy machine expire what the other checks
/// use); the code-lifetime check holds its code for 6 s, the expiry check waits 7 s.
async fn run_suite(cases: &CaseSet, faults: &[Fault], version: SpecVersion, slow: bool) -> Vec<Verdict> {
    run_with(cases, faults, matrix_options(), version, slow, None, async |_, _| {}).await
}

/// The reference's clock switches for the matrix.
fn matrix_options() -> Options {
    Options {
        code_lifetime: Some(Duration::from_secs(5)),
        token_lifetime: Some(Duration::from_secs(6)),
        ..Options::default()
    }
    .guarded()
}

/// As [`run_suite`], for the requirements matching `filter`, with the configuration changed
/// by `tweak` (which also sees the reference).
async fn run_with(
    cases: &CaseSet,
    faults: &[Fault],
    options: Options,
    version: SpecVersion,
    slow: bool,
    filter: Option<&str>,
    tweak: impl AsyncFnOnce(&mut TargetConfig, &Reference),
) -> Vec<Verdict> {
    let reference = Reference::start_with(faults, options)
        .await
        .expect("reference target starts");
    // Generous: dozens of suites share two cores here, and no check is about latency.
    let client = HttpClient::new(Duration::from_secs(20), Redactor::default())
        .and_then(|c| c.resolving(reference.resolves().to_vec()))
        .expect("client");
    let target = Target::new(&reference.mcp_url, version).expect("target URL");
    let mut config = TargetConfig {
        slow,
        code_wait: Some(Duration::from_secs(6)),
        ..TargetConfig::default()
    };
    reference.fill_config(&mut config);
    crate::reference::name_documents_for_guard(&mut config);
    tweak(&mut config, &reference).await;
    Suite::new(run::plan(cases, version, filter), client, target, config)
        .verdicts()
        .await
}

/// The requirements a run found broken: a fail, warn or error, and a MAY-level behaviour not
/// shown (information only, a skip saying so: the check still saw it).
fn broken(verdicts: &[Verdict]) -> BTreeSet<String> {
    verdicts
        .iter()
        .filter(|v| match v.outcome {
            Outcome::Pass => false,
            Outcome::Skip => v.message.starts_with(crate::check::MAY_NOT_SHOWN),
            _ => true,
        })
        .map(|v| v.requirement.clone())
        .collect()
}

fn show(verdicts: &[Verdict]) -> String {
    verdicts
        .iter()
        .filter(|v| v.outcome != Outcome::Pass)
        .map(|v| {
            format!(
                "  {} {}: {}",
                v.outcome.as_str(),
                v.requirement,
                v.message.replace('\n', "\n      ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_faults_every_check_passes_in_every_version() {
    let cases = case::load_embedded().expect("embedded cases load");
    let runs = SpecVersion::ALL.map(|version| run_suite(&cases, &[], version, true));
    for (version, verdicts) in SpecVersion::ALL.into_iter().zip(futures::future::join_all(runs).await) {
        assert!(!verdicts.is_empty(), "{version}: no checks ran");
        // A proxy's rules are not this reference's: it is not declared one, and says so.
        let not_passing: Vec<&Verdict> = verdicts
            .iter()
            .filter(|v| v.outcome != Outcome::Pass && !undeclared_proxy(v))
            .collect();
        assert!(
            not_passing.is_empty(),
            "{version}: the conformant reference target must pass everything:\n{}",
            show(&verdicts)
        );
    }
}

/// The reference as an MCP proxy (its consent page passed by the `form` driver, then its
/// upstream AS and callback): every check passes, the proxy's among them; in every version,
/// and in the latest under each legal way of being a proxy (there the proxy's checks must
/// pass, not only avoid failing as the variation matrix asks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_a_proxy_without_faults_every_check_passes_in_every_version() {
    let cases = case::load_embedded().expect("embedded cases load");
    let proxy = |variations: Vec<Variation>| Options {
        proxy: true,
        variations,
        ..matrix_options()
    };
    let mut setups: Vec<(SpecVersion, Options)> = SpecVersion::ALL.map(|v| (v, proxy(Vec::new()))).to_vec();
    for variation in [Variation::ProxyRemembersConsent, Variation::ProxyLoginPageFirst] {
        setups.push((SpecVersion::LATEST, proxy(vec![variation])));
    }
    let runs = setups
        .iter()
        .map(|(version, options)| run_with(&cases, &[], options.clone(), *version, false, None, async |_, _| {}));
    let finished = futures::future::join_all(runs).await;
    for ((version, options), verdicts) in setups.iter().zip(finished) {
        let setup = format!("{version} {:?}", options.variations);
        let slow = |v: &&Verdict| v.outcome == Outcome::Skip && v.message.contains("--slow");
        let not_passing: Vec<&Verdict> = verdicts
            .iter()
            .filter(|v| v.outcome != Outcome::Pass && !slow(v))
            .collect();
        assert!(not_passing.is_empty(), "{setup}, as a proxy:\n{}", show(&verdicts));
        for id in PROXY_REQUIREMENTS {
            let judged = verdicts.iter().any(|v| v.requirement == *id);
            let applies = cases.registry.get(id).is_some_and(|r| r.applies_to(*version));
            assert_eq!(judged, applies, "{setup}: {id} ran only where it applies");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_breaks_exactly_its_requirements() {
    let cases = case::load_embedded().expect("embedded cases load");
    // Slow checks run only under the faults that break them (they wait seconds each).
    let slow: BTreeSet<String> = cases
        .cases
        .iter()
        .filter(|c| c.is_slow())
        .map(|c| c.requirement.clone())
        .collect();
    // `MCP_FAULTS=id,id`: only those (while working on them).
    let only = std::env::var("MCP_FAULTS").ok();
    let chosen = Fault::ALL
        .iter()
        .filter(|f| only.as_deref().is_none_or(|ids| ids.split(',').any(|id| id == f.id())));
    let runs = chosen.map(|&fault| {
        let cases = &cases;
        let slow = fault.requirements().iter().any(|r| slow.contains(*r));
        async move { (fault, run_suite(cases, &[fault], fault.version(), slow).await) }
    });
    // A bounded number at once: two cores, and every suite runs all its checks concurrently.
    let finished: Vec<_> = futures::stream::iter(runs).buffer_unordered(24).collect().await;
    let mut problems = Vec::new();
    for (fault, verdicts) in finished {
        let expected: BTreeSet<String> = fault.requirements().iter().map(|r| r.to_string()).collect();
        let actual = broken(&verdicts);
        let errors: Vec<&Verdict> = verdicts.iter().filter(|v| v.outcome == Outcome::Error).collect();
        if actual != expected || !errors.is_empty() {
            problems.push(format!(
                "fault `{}` under {}: expected broken {expected:?}, got {actual:?}\n{}",
                fault.id(),
                fault.version(),
                show(&verdicts)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Without a minting issuer, the expiry check waits a fresh token out (`--slow`), and that
/// way fails too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_minting_the_expiry_check_waits_a_token_out() {
    let cases = case::load_embedded().expect("embedded cases load");
    let expiry = Some("rs.token.expired-401");
    let version = SpecVersion::LATEST;
    let no_minting = async |config: &mut TargetConfig, _: &Reference| config.mint_endpoint = None;
    let (kept, broken) = futures::join!(
        run_with(&cases, &[], matrix_options(), version, true, expiry, no_minting),
        run_with(
            &cases,
            &[Fault::ExpiredTokenAccepted],
            matrix_options(),
            version,
            true,
            expiry,
            no_minting
        ),
    );
    let outcomes = |v: &[Verdict]| v.iter().map(|v| v.outcome).collect::<Vec<_>>();
    assert_eq!(outcomes(&kept), [Outcome::Pass], "{}", show(&kept));
    assert_eq!(outcomes(&broken), [Outcome::Fail], "{}", show(&broken));
    assert!(
        kept[0].message.is_empty() && kept[0].evidence.len() > 3,
        "a flow ran before the wait"
    );
}

/// MAY-level behaviour is information only: a target that does not show it gets a `skip`
/// saying so, never a warning, not even under --strict. (The registry's MAY rows have no
/// check yet; a SHOULD row made MAY stands in.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_optional_behaviour_not_shown_is_information_only() {
    let cases = case::load_embedded().expect("embedded cases load");
    let version = SpecVersion::LATEST;
    let mut plan = run::plan(&cases, version, Some("rs.challenge.scope-on-401"));
    plan[0].level = crate::spec::Level::May;
    let run = async |faults: &[Fault]| {
        let reference = Reference::start(faults).await.expect("reference target starts");
        let client = HttpClient::new(Duration::from_secs(20), Redactor::default()).expect("client");
        let target = Target::new(&reference.mcp_url, version).expect("target URL");
        let config = TargetConfig {
            strict: true,
            ..TargetConfig::default()
        };
        Suite::new(plan.clone(), client, target, config).verdicts().await
    };
    let (kept, not_shown) = futures::join!(run(&[]), run(&[Fault::NoScopeOn401]));
    assert_eq!(kept[0].outcome, Outcome::Pass, "{}", show(&kept));
    assert_eq!(not_shown[0].outcome, Outcome::Skip, "{}", show(&not_shown));
    assert!(not_shown[0].message.starts_with(crate::check::MAY_NOT_SHOWN));
    assert!(!not_shown[0].evidence.is_empty(), "the exchange that shows it stays");
}

/// Supplied tokens stand in for flows and minting: the checks use them (a garbage "valid"
/// token fails the control) and no evidence shows them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supplied_tokens_are_used_instead_of_flows_and_minting() {
    let cases = case::load_embedded().expect("embedded cases load");
    let supply = async |config: &mut TargetConfig, reference: &Reference| {
        let client = HttpClient::new(Duration::from_secs(20), Redactor::default()).expect("client");
        let minted = [
            TokenKind::Valid,
            TokenKind::Expired,
            TokenKind::ForeignIssuer,
            TokenKind::NotYetValid,
        ];
        for kind in minted {
            let minted = tokens::mint(
                &client,
                &reference.mint_endpoint,
                kind,
                &reference.mcp_url,
                Some("mcp:tools"),
                None,
            );
            let (token, _) = minted.await.expect("the reference mints");
            config.tokens.insert(kind, Secret::new(token));
        }
        config.mint_endpoint = None;
    };
    let filter = Some("rs.token");
    let verdicts = run_with(
        &cases,
        &[],
        matrix_options(),
        SpecVersion::LATEST,
        false,
        filter,
        supply,
    )
    .await;
    assert!(
        verdicts.len() >= 9 && verdicts.iter().all(|v| v.outcome == Outcome::Pass),
        "{}",
        show(&verdicts)
    );
    let garbage = async |config: &mut TargetConfig, _: &Reference| {
        config
            .tokens
            .insert(TokenKind::Valid, Secret::new("supplied-garbage-token"));
    };
    let verdicts = run_with(
        &cases,
        &[],
        matrix_options(),
        SpecVersion::LATEST,
        false,
        Some("rs.token.valid"),
        garbage,
    )
    .await;
    assert_eq!(verdicts[0].outcome, Outcome::Fail, "{}", show(&verdicts));
    let evidence = format!("{:?}", verdicts[0].evidence);
    assert!(evidence.contains("Bearer [redacted]") && !evidence.contains("supplied-garbage-token"));
}

/// A minting issuer the server does not trust (another reference's) makes every minted token
/// refused: the checks of minted kinds skip, naming the control that failed, rather than pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_minting_issuer_proves_nothing() {
    let cases = case::load_embedded().expect("embedded cases load");
    let stranger = Reference::start(&[]).await.expect("a second reference starts");
    let elsewhere = async |config: &mut TargetConfig, _: &Reference| {
        config.mint_endpoint = Some(stranger.mint_endpoint.clone());
    };
    let verdicts = run_with(
        &cases,
        &[],
        matrix_options(),
        SpecVersion::LATEST,
        false,
        Some("rs.token"),
        elsewhere,
    )
    .await;
    for minted in ["rs.token.foreign-issuer", "rs.token.not-yet-valid"] {
        let verdict = verdicts.iter().find(|v| v.requirement == minted).expect("planned");
        assert_eq!(verdict.outcome, Outcome::Skip, "{}", show(&verdicts));
        assert!(
            verdict.message.contains("does not trust that issuer"),
            "{}",
            verdict.message
        );
    }
    // An expired token can still be waited out instead (a slow check).
    let expired = verdicts
        .iter()
        .find(|v| v.requirement == "rs.token.expired-401")
        .expect("planned");
    assert_eq!(expired.outcome, Outcome::Skip, "{}", show(&verdicts));
    assert!(expired.message.contains("--slow"), "{}", expired.message);
}

/// Without a configured privileged request, a scope the AS advertises and the server does not
/// ask for makes the low-scope token, and the first request the privileged one: the
/// insufficient-scope checks run, and fail where scopes are not enforced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_the_server_does_not_ask_for_makes_the_low_scope_token() {
    let cases = case::load_embedded().expect("embedded cases load");
    let options = Options {
        scopes: Some("mcp:tools openid mcp:admin".to_owned()),
        ..matrix_options()
    };
    let unconfigured = async |config: &mut TargetConfig, _: &Reference| {
        config.privileged_request = None;
        config.privileged_scope = None;
    };
    let scope_checks = Some("rs.scope.insufficient");
    let (kept, broken) = futures::join!(
        run_with(
            &cases,
            &[],
            options.clone(),
            SpecVersion::LATEST,
            false,
            scope_checks,
            unconfigured
        ),
        run_with(
            &cases,
            &[Fault::PrivilegeNotEnforced],
            options,
            SpecVersion::LATEST,
            false,
            scope_checks,
            unconfigured
        ),
    );
    assert!(
        kept.len() == 4 && kept.iter().all(|v| v.outcome == Outcome::Pass),
        "{}",
        show(&kept)
    );
    let insufficient = broken
        .iter()
        .find(|v| v.requirement == "rs.scope.insufficient-403")
        .unwrap();
    assert_eq!(insufficient.outcome, Outcome::Warn, "{}", show(&broken));
    assert!(
        insufficient.message.contains("scope `openid`"),
        "says which scope it chose: {}",
        insufficient.message
    );
    // A 2025-03-26 server without a scope in its challenge (as ts-sdk): no PRM either, so
    // nothing says which scope it needs (against ts-sdk, its one scope was taken for an
    // unasked one: a false alarm).
    let options = Options {
        scopes: Some("mcp:tools openid mcp:admin".to_owned()),
        ..matrix_options()
    };
    let quiet = [Fault::NoScopeOn401];
    let old = run_with(
        &cases,
        &quiet,
        options,
        SpecVersion::V2025_03_26,
        false,
        scope_checks,
        unconfigured,
    )
    .await;
    assert!(
        !old.is_empty() && old.iter().all(|v| v.outcome == Outcome::Skip),
        "{}",
        show(&old)
    );
}

#[test]
fn every_check_has_a_fault_and_every_fault_a_check() {
    let cases = case::load_embedded().expect("embedded cases load");
    let proven: BTreeSet<&str> = Fault::ALL
        .iter()
        .flat_map(|f| f.requirements().iter().copied())
        .collect();
    let checked: BTreeSet<&str> = cases.cases.iter().map(|c| c.requirement.as_str()).collect();
    let unproven: Vec<&&str> = checked.difference(&proven).collect();
    assert!(unproven.is_empty(), "checks no fault proves able to fail: {unproven:?}");
    for fault in Fault::ALL {
        for id in fault.requirements() {
            assert!(
                cases.case_for(id, fault.version()).is_some(),
                "fault `{}` names `{id}`, which has no case under {}",
                fault.id(),
                fault.version()
            );
        }
    }
    let ids: BTreeSet<&str> = Fault::ALL.iter().map(|f| f.id()).collect();
    assert_eq!(ids.len(), Fault::ALL.len(), "fault ids are unique");
}

/// A check proven only against the blunt form of its breach is not proven: every MUST that
/// has a check has a fault breaking it the way deployed servers do (partly, or as a named
/// server or the catalogue's FAIL column shows).
#[test]
fn every_must_has_a_realistic_fault() {
    use crate::spec::Level;
    let cases = case::load_embedded().expect("embedded cases load");
    let missing: Vec<&str> = cases
        .registry
        .iter()
        .filter(|r| {
            r.versions
                .iter()
                .any(|&v| matches!(r.level_for(v), Level::Must | Level::MustNot) && cases.case_for(&r.id, v).is_some())
        })
        .map(|r| r.id.as_str())
        .filter(|id| {
            !Fault::ALL
                .iter()
                .any(|f| f.form() == crate::reference::Form::Realistic && f.requirements().contains(id))
        })
        .collect();
    assert!(missing.is_empty(), "MUSTs proven only by blunt faults: {missing:?}");
}
