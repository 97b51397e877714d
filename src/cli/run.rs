//! `run`: one target or a matrix of them, the reports, the baseline, the exit code.

use std::time::Duration;

use mcp_auth_conformance::baseline;
use mcp_auth_conformance::config::TargetConfig;
use mcp_auth_conformance::discovery::Target;
use mcp_auth_conformance::exit;
use mcp_auth_conformance::http::HttpClient;
use mcp_auth_conformance::http::redact::{Redactor, Secret};
use mcp_auth_conformance::matrix_file::{self, MatrixTarget};
use mcp_auth_conformance::oauth::cimd::ca::LoopbackCa;
use mcp_auth_conformance::oauth::consent::ConsentDriver;
use mcp_auth_conformance::reference::{Options, Reference};
use mcp_auth_conformance::report::progress::Progress;
use mcp_auth_conformance::report::{self, Matrix, ReportSpec, console};
use mcp_auth_conformance::run::{self, Policy, VersionChoice};
use mcp_auth_conformance::spec::SpecVersion;
use mcp_auth_conformance::suite::{Clock, Suite};
use mcp_auth_conformance::verdict::RunReport;

use super::args::RunArgs;
use super::{data_errors, load_cases, runtime, usage_error, write_text};

pub(super) fn run_command(args: RunArgs) -> u8 {
    let cases = match load_cases(args.cases.as_ref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut config = match &args.config {
        Some(path) => match mcp_auth_conformance::config::load(path) {
            Ok(c) => c,
            Err(errors) => return data_errors(&errors),
        },
        None => TargetConfig::default(),
    };
    if let Some(path) = &args.expected_failures {
        match baseline::load(path, &cases.registry) {
            Ok(b) => config.baseline = b,
            Err(errors) => return data_errors(&errors),
        }
    }
    if let Err(code) = apply_flags(&args, &mut config) {
        return code;
    }
    if let Some(why) = config.redirect_port_in_use() {
        return usage_error(why);
    }

    // `auto` plans for the newest version until the target says which it accepts.
    let asked = match args.spec_version {
        VersionChoice::Fixed(v) => v,
        VersionChoice::Auto => SpecVersion::LATEST,
    };
    let plan = match plan_for(&cases, asked, &args) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    if args.matrix.is_some() || args.targets.len() > 1 {
        if args.spec_version == VersionChoice::Auto {
            eprintln!("note: a matrix run checks every target against the newest spec version, {asked}");
        }
        return matrix_run(&args, &rt, &plan, asked, config);
    }
    // The embedded reference guards against SSRF, fetching documents from `localhost` only:
    // the run names its documents so (a public name, to it), and as.cimd.ssrf-guard is judged.
    let guarded = args.targets.is_empty() && config.cimd.base_url.is_none();
    if guarded {
        mcp_auth_conformance::reference::name_documents_for_guard(&mut config);
    }
    // The reference target lives as long as this guard, on the run's runtime.
    let (mcp_url, _reference) = match args.targets.first() {
        Some(url) => (url.clone(), None),
        None => match rt.block_on(Reference::start_with(&[], reference_options(&config, guarded))) {
            Ok(r) => {
                // What a black box cannot discover: its second resource, its privileged call.
                r.fill_config(&mut config);
                (r.mcp_url.clone(), Some(r))
            }
            Err(e) => {
                eprintln!("error: cannot start the reference target: {e}");
                return exit::UNREACHABLE;
            }
        },
    };
    let build = |version, plan| -> Result<Suite, u8> {
        let target = match Target::new(&mcp_url, version) {
            Ok(t) => Target {
                extra_hosts: args.allow_hosts.clone(),
                ..t
            },
            Err(e) => return Err(usage_error(e)),
        };
        Ok(Suite::new(plan, http_client(&args)?, target, config.clone()))
    };
    let mut suite = match build(asked, plan) {
        Ok(suite) => suite,
        Err(code) => return code,
    };
    let chosen = match args.spec_version {
        VersionChoice::Fixed(_) => None,
        VersionChoice::Auto => {
            let (version, why) = rt.block_on(run::negotiate(&suite.ctx));
            let why = suite.ctx.client.redactor().text(&why);
            println!("spec version {version} (auto: {why})");
            if version != asked {
                // A run of its own: flows, discovery and the cases differ by version.
                let plan = match plan_for(&cases, version, &args) {
                    Ok(plan) => plan,
                    Err(code) => return code,
                };
                drop(suite);
                suite = match build(version, plan) {
                    Ok(suite) => suite,
                    Err(code) => return code,
                };
            }
            Some(why)
        }
    };
    let clock = Clock::start();
    let progress = Progress::on_terminal(args.quiet, suite.plan.iter().map(|p| p.requirement.id.clone()));
    // The exit code comes from the verdicts (a warn is not a failure), not from libtest.
    let (verdicts, _) = console::show_trials(
        suite.start(&rt),
        suite.unfinished(),
        suite.version(),
        &console::arguments(args.quiet, args.color.forced()),
        progress.as_ref(),
    );
    let reachable = rt.block_on(suite.ctx.reachability());
    let mut report = suite.report(verdicts, &clock);
    report.spec_version_chosen = chosen;
    let ctx = &suite.ctx;
    for spec in &args.reports {
        if let Err(e) = write_report(spec, &report) {
            return usage_error(e);
        }
    }
    if let Some(why) = ctx.version_refusal_seen() {
        println!("note: {why}; the checks that needed its requests skipped");
    }
    if let Some(registration) = &report.registration {
        let why = report.registration_chosen.as_ref().map(|w| format!(" (auto: {w})"));
        println!("client: {registration}{}", why.unwrap_or_default());
    }
    println!("{}", console::summary_line(&report));
    for spec in &args.reports {
        println!("report written: {}", spec.path.display());
    }
    if let Err(e) = &reachable {
        eprintln!(
            "error: the target could not be reached: {}",
            ctx.client.redactor().text(e)
        );
    }
    let code = exit::of_run(&report, reachable.is_ok());
    match baseline_end(&args, &suite.policy, &report) {
        Err(code) => code,
        Ok(true) if code == exit::OK => exit::MUST_FAILED,
        Ok(_) => code,
    }
}

/// The cases of `version` the run's filter selects; none is a usage error.
fn plan_for(
    cases: &mcp_auth_conformance::case::CaseSet,
    version: SpecVersion,
    args: &RunArgs,
) -> Result<Vec<run::Planned>, u8> {
    let plan = run::plan(cases, version, args.filter.as_deref());
    if !plan.is_empty() {
        return Ok(plan);
    }
    let why = match &args.filter {
        Some(f) => format!("no requirement of spec version {version} with a check has an id containing `{f}`"),
        None => format!("no requirement of spec version {version} has a check"),
    };
    Err(usage_error(why))
}

/// The embedded reference target of a run: seeded along with it.
fn reference_options(config: &TargetConfig, guarded: bool) -> Options {
    // The reference trusts the run's loopback CA, as a user's AS would be told to.
    let ca = config
        .cimd
        .https_ca
        .as_deref()
        .and_then(|dir| LoopbackCa::in_dir(dir).ok());
    let options = Options {
        document_roots: ca.and_then(|(ca, _)| ca.root().ok()).into_iter().collect(),
        randomness: config.randomness,
        ..Default::default()
    };
    if guarded { options.guarded() } else { options }
}

/// The run's HTTP client: the timeout, and the extra trusted roots of `--ca-cert`.
fn http_client(args: &RunArgs) -> Result<HttpClient, u8> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = Vec::new();
    for path in &args.ca_certs {
        let certs: Result<Vec<CertificateDer<'static>>, _> =
            CertificateDer::pem_file_iter(path).and_then(|certs| certs.collect());
        match certs {
            Ok(certs) if !certs.is_empty() => roots.extend(certs),
            Ok(_) => {
                return Err(usage_error(format!(
                    "--ca-cert {}: no PEM certificate in it",
                    path.display()
                )));
            }
            Err(e) => return Err(usage_error(format!("--ca-cert {}: {e}", path.display()))),
        }
    }
    HttpClient::trusting(Duration::from_secs(args.timeout), Redactor::default(), roots)
        .and_then(|client| client.resolving(args.resolves.clone()))
        .map_err(|e| {
            eprintln!("error: cannot build the HTTP client: {e}");
            exit::UNREACHABLE
        })
}

/// The command line's additions to a target configuration.
fn apply_flags(args: &RunArgs, config: &mut TargetConfig) -> Result<(), u8> {
    config.slow = args.slow;
    config.strict = args.strict;
    if let Some(registration) = args.registration {
        config.registration = registration;
    }
    if let Some(why) = config.registration_problem() {
        return Err(usage_error(why));
    }
    if let Some(dir) = &args.cimd_https {
        config.cimd.https_ca = Some(dir.clone());
    }
    if let Some(dir) = &args.save_failure_screenshots {
        let ConsentDriver::Browser(browser) = &mut config.consent else {
            let why = "--save-failure-screenshots: screenshots are the `browser` consent driver's \
                       (--config with [consent] driver = \"browser\")";
            return Err(usage_error(why));
        };
        browser.screenshots = Some(dir.clone());
    }
    if let Some(url) = &args.cimd_base_url {
        config.cimd.base_url = Some(url.to_string());
    }
    if let Some(port) = args.cimd_port {
        config.cimd.port = Some(port);
    }
    if let Some(dir) = &config.cimd.https_ca {
        match LoopbackCa::in_dir(dir) {
            Ok((ca, true)) => eprintln!(
                "note: wrote a loopback CA to {}; an AS that fetches https documents must trust it \
                 (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE...) before the run",
                ca.cert_path.display()
            ),
            Ok((_, false)) => {}
            Err(why) => return Err(usage_error(format!("--cimd-https: {why}"))),
        }
    }
    if let Some(problem) = config
        .cimd
        .base_url
        .as_deref()
        .and_then(mcp_auth_conformance::config::base_url_problem)
    {
        return Err(usage_error(format!("--cimd-base-url: {problem}")));
    }
    if config.cimd.base_url.is_some() && (args.targets.len() > 1 || args.matrix.is_some()) {
        let why = "--cimd-base-url names one document host: give it to a run of one target";
        return Err(usage_error(why));
    }
    if config.cimd.base_url.is_some() && config.cimd.port.is_none() {
        let why = "--cimd-base-url needs --cimd-port (or [cimd] port): the port your proxy forwards to";
        return Err(usage_error(why));
    }
    if let Some(seed) = args.seed {
        config.randomness = mcp_auth_conformance::seed::Randomness::seeded(seed);
    }
    if let Some(endpoint) = &args.mint_endpoint {
        config.mint_endpoint = Some(endpoint.to_string());
    }
    if let Some(scope) = &args.narrow_scope {
        config.narrow_scope = Some(scope.clone());
    }
    for (kind, var) in &args.tokens {
        match std::env::var(var) {
            Ok(token) if !token.is_empty() => {
                config.tokens.insert(*kind, Secret::new(token));
            }
            _ => {
                let why = format!("--token {kind}={var}: the environment variable `{var}` is not set");
                return Err(usage_error(why));
            }
        }
    }
    Ok(())
}

/// Several targets, each run on its own, side by side: a requirement × target table on the
/// console and in the reports, and the worst target's exit code.
fn matrix_run(
    args: &RunArgs,
    rt: &tokio::runtime::Runtime,
    plan: &[run::Planned],
    version: SpecVersion,
    config: TargetConfig,
) -> u8 {
    if args.reports.iter().any(|r| r.format.single_run_only()) {
        return usage_error("JUnit reports and badges are one target's: a matrix run writes json, markdown or html");
    }
    let mut positions = Vec::new();
    let targets = match &args.matrix {
        Some(path) => match matrix_file::load(path) {
            Ok(targets) => match args.shard {
                Some(shard) => {
                    positions = shard.positions(targets.len());
                    let kept = targets.into_iter().enumerate();
                    kept.filter(|(i, _)| positions.contains(i)).map(|(_, t)| t).collect()
                }
                None => targets,
            },
            Err(errors) => return data_errors(&errors),
        },
        None => args
            .targets
            .iter()
            .map(|url| MatrixTarget {
                name: url.clone(),
                url: url.clone(),
                config: config.clone(),
            })
            .collect(),
    };
    let mut runs = Vec::new();
    for mut t in targets {
        if args.matrix.is_some() {
            t.config.baseline = config.baseline.clone();
            if let Err(code) = apply_flags(args, &mut t.config) {
                return code;
            }
        }
        let target = match Target::new(&t.url, version) {
            Ok(target) => Target {
                extra_hosts: args.allow_hosts.clone(),
                ..target
            },
            Err(e) => return usage_error(format!("{}: {e}", t.name)),
        };
        let client = match http_client(args) {
            Ok(c) => c,
            Err(code) => return code,
        };
        runs.push((t.name, Suite::new(plan.to_vec(), client, target, t.config)));
    }
    let cases = runs.iter().flat_map(|_| plan.iter().map(|p| p.requirement.id.clone()));
    let progress = Progress::on_terminal(args.quiet, cases.collect::<Vec<_>>());
    let progress = progress.as_ref();
    let finished = rt.block_on(futures::future::join_all(runs.into_iter().map(
        |(name, suite)| async move {
            let clock = Clock::start();
            let verdicts = suite
                .verdicts_counted(|v| {
                    if let Some(progress) = progress {
                        progress.done(&v.requirement);
                    }
                })
                .await;
            let reachable = suite.ctx.reachability().await;
            (name, suite.report(verdicts, &clock), reachable)
        },
    )));
    let matrix = Matrix {
        spec_version: version,
        columns: finished
            .iter()
            .map(|(name, report, _)| (name.clone(), report))
            .collect(),
        positions,
        shard: args.shard,
    };
    if let Some(progress) = progress {
        progress.finish();
    }
    if let Some(shard) = args.shard {
        eprintln!(
            "slice {shard} of the matrix file: {} of its targets",
            matrix.columns.len()
        );
    }
    if let Err(code) = present_matrix(&matrix, &args.reports) {
        return code;
    }
    for (name, report, reachable) in &finished {
        println!("{name}: {}", console::summary_line(report));
        if let Err(e) = reachable {
            eprintln!("error: {name} could not be reached: {e}");
        }
    }
    let outcomes: Vec<(&RunReport, bool)> = finished
        .iter()
        .map(|(_, r, reachable)| (r, reachable.is_ok()))
        .collect();
    let code = exit::of_matrix(&outcomes);
    let stale = finished.iter().any(|(name, report, _)| {
        let ids = config.baseline.stale(&report.verdicts);
        for id in &ids {
            eprintln!("stale expected failure: `{id}` passes now on {name}; remove it from the baseline");
        }
        !ids.is_empty()
    });
    if stale && code == exit::OK {
        exit::MUST_FAILED
    } else {
        code
    }
}

/// A matrix on the console and in the reports asked for.
pub(super) fn present_matrix(matrix: &Matrix, reports: &[ReportSpec]) -> Result<(), u8> {
    print!("{}", console::matrix_table(matrix));
    for spec in reports {
        let written = report::render_matrix(spec.format, matrix).and_then(|text| write_text(&spec.path, &text));
        written.map_err(usage_error)?;
    }
    Ok(())
}

/// After a run: names the stale entries of the baseline (true if any) and writes the new
/// baseline if asked.
fn baseline_end(args: &RunArgs, policy: &Policy, report: &RunReport) -> Result<bool, u8> {
    let stale = policy.baseline.stale(&report.verdicts);
    for id in &stale {
        eprintln!("stale expected failure: `{id}` passes now; remove it from the baseline");
    }
    if let Some(path) = &args.write_baseline {
        write_text(path, &baseline::write(&report.verdicts)).map_err(usage_error)?;
        eprintln!("baseline written to {}", path.display());
    }
    Ok(!stale.is_empty())
}

fn write_report(spec: &ReportSpec, report: &RunReport) -> Result<(), String> {
    write_text(&spec.path, &report::render(spec.format, report))
}
