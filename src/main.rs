//! The command line: `run`, `requirements`, `reference`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use mcp_auth_conformance::baseline;
use mcp_auth_conformance::case::{self, CaseSet};
use mcp_auth_conformance::config::TargetConfig;
use mcp_auth_conformance::discovery::Target;
use mcp_auth_conformance::http::HttpClient;
use mcp_auth_conformance::http::redact::{Redactor, Secret};
use mcp_auth_conformance::matrix_file::{self, MatrixTarget};
use mcp_auth_conformance::oauth::tokens::TokenKind;
use mcp_auth_conformance::report::progress::Progress;
use mcp_auth_conformance::report::{self, Matrix, ReportSpec, console};
use mcp_auth_conformance::run::{self, Clock, Context, RunReport};
use mcp_auth_conformance::spec::SpecVersion;
use mcp_auth_conformance::target::{Fault, Options, Reference};
use mcp_auth_conformance::{exit, requirement::Requirement};

const EXIT_CODES: &str = "Exit codes:
  0  no MUST requirement failed (warnings and skips do not fail a run)
  1  a MUST / MUST NOT requirement failed
  2  usage, configuration or case-file error
  3  the target could not be reached, a check could not be completed (error verdict),
     or the harness itself failed";

#[derive(Parser)]
#[command(name = "mcp-auth-conformance", version, about = "Conformance suite for MCP authorization: one verdict per spec requirement", after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every applicable case against a target (default: the embedded reference target).
    #[command(after_help = EXIT_CODES)]
    Run(Box<RunArgs>),
    /// List the requirement registry.
    Requirements {
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
        /// Directory with requirements.toml and case files (default: the built-in ones).
        #[arg(long, value_name = "DIR")]
        cases: Option<PathBuf>,
        /// Print, per spec version, how many requirements exist, how many have a check, and
        /// which have none (Markdown).
        #[arg(long, conflicts_with = "format")]
        coverage: bool,
    },
    /// Serve the reference target on 127.0.0.1 until killed; the first stdout line is its MCP URL.
    Reference {
        /// Break the requirement(s) this fault names (repeatable; see --list-faults).
        #[arg(long = "fault", value_name = "ID")]
        faults: Vec<Fault>,
        /// Print each fault id with the requirement ids it breaks, and exit.
        #[arg(long)]
        list_faults: bool,
        /// Consent needs a login form (user `conformance`, password `reference-password`),
        /// for trying the `form` consent driver.
        #[arg(long)]
        login_form: bool,
        /// Serve a test issuer for your own MCP server: its AS issues JWT access tokens (ES256,
        /// JWKS at `<issuer>/jwks`) for any resource, and mints the tokens no flow gives. The
        /// first stdout line is then its issuer.
        #[arg(long)]
        issuer_only: bool,
        /// The authorization server's port (default: any free one), so a server configured to
        /// trust the issuer finds it again.
        #[arg(long, value_name = "PORT")]
        port: Option<u16>,
        /// The scopes its AS grants and advertises, space-separated (default: mcp:tools, and
        /// the privileged mcp:admin and offline_access unadvertised).
        #[arg(long, value_name = "SCOPES")]
        scopes: Option<String>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The MCP endpoint URL of the server under test; omitted: start the reference target.
    /// Repeated: a matrix run, one column per target.
    #[arg(long = "target", value_name = "URL")]
    targets: Vec<String>,
    /// A matrix file: the targets (name, URL, configuration) of a matrix run.
    #[arg(long, value_name = "FILE", conflicts_with = "targets")]
    matrix: Option<PathBuf>,
    /// MCP spec version to check against (2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28, draft).
    #[arg(long, value_name = "VERSION", default_value_t = SpecVersion::LATEST)]
    spec_version: SpecVersion,
    /// Write a report: json=<path>, junit=<path>, markdown=<path> or html=<path> (repeatable).
    #[arg(long = "report", value_name = "FORMAT=PATH")]
    reports: Vec<ReportSpec>,
    /// Only requirements whose id contains this substring.
    #[arg(long, value_name = "SUBSTRING")]
    filter: Option<String>,
    /// Seconds allowed for each HTTP exchange (headers and body).
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
    /// Directory with requirements.toml and case files (default: the built-in ones).
    #[arg(long, value_name = "DIR")]
    cases: Option<PathBuf>,
    /// Target configuration (TOML): pre-registered client, scopes, consent driver.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print only failures and the summary.
    #[arg(long, short)]
    quiet: bool,
    /// Also run slow checks (the code-lifetime check holds a code for over 10 minutes).
    #[arg(long)]
    slow: bool,
    /// A PEM file of CA certificates to trust besides the platform's (a test server's own CA);
    /// repeatable. Without it an untrusted certificate is an error verdict.
    #[arg(long = "ca-cert", value_name = "PEM")]
    ca_certs: Vec<PathBuf>,
    /// A host the run may contact besides the target's, its advertised issuers' and loopback
    /// (where a challenge or metadata points elsewhere); repeatable.
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_hosts: Vec<String>,
    /// Colour on the console: auto (a terminal, and NO_COLOR unset), always or never.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// A broken SHOULD / SHOULD NOT fails the run (default: a warning).
    #[arg(long)]
    strict: bool,
    /// A baseline (TOML) of accepted failures, each with its reason: they stay visible but do
    /// not fail the run; one that now passes is stale and does.
    #[arg(long, value_name = "FILE")]
    expected_failures: Option<PathBuf>,
    /// Write this run's fails and errors as a baseline for --expected-failures (each reason
    /// to be written).
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// A token you supply: KIND=ENV_VAR, the environment variable that holds it (repeatable;
    /// kinds: valid, low_scope, foreign_audience, expired, foreign_issuer). Overrides the
    /// configuration's [tokens].
    #[arg(long = "token", value_name = "KIND=ENV_VAR", value_parser = token_arg)]
    tokens: Vec<(TokenKind, String)>,
    /// The minting endpoint of a test issuer your server trusts (`reference --issuer-only`
    /// prints it): expired and foreign-issuer tokens come from there.
    #[arg(long, value_name = "URL")]
    mint_endpoint: Option<url::Url>,
    /// Fix the values the run generates (state, PKCE verifiers) and the reference target's
    /// (ids, ports); cases then run one at a time. The same seed against the same target gives
    /// the same report, apart from timings. Printed in every report.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// A narrower set of scopes than the server asks for, space-separated: the low-scope token's
    /// (insufficient-scope checks) and the grant a refresh must not widen. Overrides the
    /// configuration's `narrow_scope`.
    #[arg(long, value_name = "SCOPES")]
    narrow_scope: Option<String>,
}

fn token_arg(s: &str) -> Result<(TokenKind, String), String> {
    let (kind, var) = s.split_once('=').ok_or_else(|| format!("`{s}` is not KIND=ENV_VAR"))?;
    if var.is_empty() {
        return Err(format!("`{s}` names no environment variable"));
    }
    Ok((kind.parse()?, var.to_owned()))
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

impl Color {
    /// None: let the console decide (auto).
    fn forced(self) -> Option<bool> {
        match self {
            Color::Auto if std::env::var_os("NO_COLOR").is_some() => Some(false),
            Color::Auto => None,
            Color::Always => Some(true),
            Color::Never => Some(false),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    quiet_broken_pipe();
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => run_command(*args),
        Command::Requirements {
            format,
            cases,
            coverage,
        } => requirements_command(format, cases, coverage),
        Command::Reference {
            faults,
            list_faults,
            login_form,
            issuer_only,
            port,
            scopes,
        } => reference_command(
            &faults,
            list_faults,
            Options {
                login_form,
                any_resource: issuer_only,
                as_port: port,
                scopes,
                ..Options::default()
            },
        ),
    };
    ExitCode::from(code)
}

/// A reader that goes away (`run | head`) ends the process quietly, as it does any Unix tool,
/// instead of a panic in the console printer (libtest-mimic unwraps its writes).
fn quiet_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: first thing in main, before any other thread exists; it restores the default
    // disposition of SIGPIPE, which Rust's runtime sets to "ignore".
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn usage_error(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    exit::USAGE
}

fn load_cases(dir: Option<&PathBuf>) -> Result<CaseSet, u8> {
    let loaded = match dir {
        Some(dir) => case::load_dir(dir),
        None => case::load_embedded(),
    };
    loaded.map_err(|errors| data_errors(&errors))
}

fn data_errors(errors: &mcp_auth_conformance::diagnostic::DataErrors) -> u8 {
    use std::io::IsTerminal;
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    eprint!("{}", errors.render(color));
    exit::USAGE
}

fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            exit::UNREACHABLE
        })
}

fn run_command(args: RunArgs) -> u8 {
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

    let plan = run::plan(&cases, args.spec_version, args.filter.as_deref());
    if plan.is_empty() {
        let why = match &args.filter {
            Some(f) => format!(
                "no requirement of spec version {} with a check has an id containing `{f}`",
                args.spec_version
            ),
            None => format!("no requirement of spec version {} has a check", args.spec_version),
        };
        return usage_error(why);
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    if args.matrix.is_some() || args.targets.len() > 1 {
        return matrix_run(&args, &rt, &plan, config);
    }
    // The reference target lives as long as this guard, on the run's runtime.
    let (mcp_url, _reference) = match args.targets.first() {
        Some(url) => (url.clone(), None),
        None => match rt.block_on(Reference::start_with(&[], reference_options(&config))) {
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
    let target = match Target::new(&mcp_url, args.spec_version) {
        Ok(t) => Target {
            extra_hosts: args.allow_hosts.clone(),
            ..t
        },
        Err(e) => return usage_error(e),
    };
    let client = match http_client(&args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let ctx = Arc::new(Context::with_config(client, target, config));
    let clock = Clock::start();
    let progress = Progress::on_terminal(args.quiet, plan.iter().map(|p| p.requirement.id.clone()));
    let verdicts = run::run_with_console(
        &rt,
        ctx.clone(),
        plan,
        &run::console_arguments(args.quiet, args.color.forced()),
        progress.as_ref(),
    );
    let reachable = rt.block_on(ctx.reachability());
    let mut report = RunReport::new(mcp_url, args.spec_version, clock.started, clock.elapsed_ms(), verdicts);
    report.seed = ctx.seed();
    for spec in &args.reports {
        if let Err(e) = write_report(spec, &report) {
            return usage_error(e);
        }
    }
    println!("{}", console::summary_line(&report));
    for spec in &args.reports {
        println!("report written: {}", spec.path.display());
    }
    if let Err(e) = &reachable {
        eprintln!("error: the target could not be reached: {e}");
    }
    let code = exit::of_run(&report, reachable.is_ok());
    match baseline_end(&args, &ctx, &report) {
        Err(code) => code,
        Ok(true) if code == exit::OK => exit::MUST_FAILED,
        Ok(_) => code,
    }
}

/// The embedded reference target of a run: seeded along with it.
fn reference_options(config: &TargetConfig) -> Options {
    Options {
        randomness: config.randomness,
        ..Default::default()
    }
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
    HttpClient::trusting(Duration::from_secs(args.timeout), Redactor::default(), roots).map_err(|e| {
        eprintln!("error: cannot build the HTTP client: {e}");
        exit::UNREACHABLE
    })
}

/// The command line's additions to a target configuration.
fn apply_flags(args: &RunArgs, config: &mut TargetConfig) -> Result<(), u8> {
    config.slow = args.slow;
    config.strict = args.strict;
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
fn matrix_run(args: &RunArgs, rt: &tokio::runtime::Runtime, plan: &[run::Planned], config: TargetConfig) -> u8 {
    if args.reports.iter().any(|r| r.format == report::Format::Junit) {
        return usage_error("a JUnit report is one target's: a matrix run writes json, markdown or html");
    }
    let targets = match &args.matrix {
        Some(path) => match matrix_file::load(path) {
            Ok(targets) => targets,
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
        let target = match Target::new(&t.url, args.spec_version) {
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
        runs.push((t.name, t.url, Arc::new(Context::with_config(client, target, t.config))));
    }
    let cases = runs.iter().flat_map(|_| plan.iter().map(|p| p.requirement.id.clone()));
    let progress = Progress::on_terminal(args.quiet, cases.collect::<Vec<_>>());
    let progress = progress.as_ref();
    let finished = rt.block_on(futures::future::join_all(runs.into_iter().map(
        |(name, url, ctx)| async move {
            let clock = Clock::start();
            let verdicts = run::run_counted(ctx.clone(), plan, progress).await;
            let reachable = ctx.reachability().await;
            let mut report = RunReport::new(url, args.spec_version, clock.started, clock.elapsed_ms(), verdicts);
            report.seed = ctx.seed();
            (name, report, reachable)
        },
    )));
    let matrix = Matrix {
        spec_version: args.spec_version,
        columns: finished
            .iter()
            .map(|(name, report, _)| (name.clone(), report))
            .collect(),
    };
    if let Some(progress) = progress {
        progress.finish();
    }
    print!("{}", console::matrix_table(&matrix));
    for spec in &args.reports {
        let written = report::render_matrix(spec.format, &matrix).and_then(|text| write_text(&spec.path, &text));
        if let Err(e) = written {
            return usage_error(e);
        }
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

/// After a run: names the stale entries of the baseline (true if any) and writes the new
/// baseline if asked.
fn baseline_end(args: &RunArgs, ctx: &Context, report: &RunReport) -> Result<bool, u8> {
    let stale = ctx.baseline().stale(&report.verdicts);
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

fn write_text(path: &std::path::Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn requirements_command(format: ListFormat, dir: Option<PathBuf>, coverage: bool) -> u8 {
    let cases = match load_cases(dir.as_ref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if coverage {
        print!("{}", coverage_table(&cases));
        return exit::OK;
    }
    let checked = |r: &Requirement| -> Vec<SpecVersion> {
        r.versions
            .iter()
            .copied()
            .filter(|v| cases.case_for(&r.id, *v).is_some())
            .collect()
    };
    match format {
        ListFormat::Json => {
            let rows: Vec<serde_json::Value> = cases
                .registry
                .iter()
                .map(|r| {
                    let checked = checked(r);
                    serde_json::json!({
                        "id": r.id,
                        "level": r.level,
                        "levels": r.levels,
                        "versions": r.versions,
                        "title": r.title,
                        "section": r.section,
                        "url": r.url_for(SpecVersion::LATEST),
                        "has_check": !checked.is_empty(),
                        "checked_versions": checked,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
        }
        ListFormat::Text => {
            for r in cases.registry.iter() {
                let versions: Vec<&str> = r.versions.iter().map(|v| v.as_str()).collect();
                let check = if checked(r).is_empty() { "-" } else { "check" };
                println!(
                    "{:<52} {:<10} {:<5} {}  {} <{}>",
                    r.id,
                    r.level.as_str(),
                    check,
                    versions.join(","),
                    r.section,
                    r.url_for(SpecVersion::LATEST)
                );
            }
        }
    }
    exit::OK
}

/// `requirements --coverage`: per version, the registry's rows, those with a check, and a
/// list of those without.
fn coverage_table(cases: &CaseSet) -> String {
    let mut table =
        String::from("| spec version | requirements | with a check | without |\n| --- | --- | --- | --- |\n");
    let mut lists = String::new();
    for version in SpecVersion::ALL {
        let rows: Vec<&Requirement> = cases
            .registry
            .iter()
            .filter(|r| r.versions.contains(&version))
            .collect();
        let (checked, unchecked): (Vec<&Requirement>, Vec<&Requirement>) =
            rows.iter().partition(|r| cases.case_for(&r.id, version).is_some());
        table.push_str(&format!(
            "| {version} | {} | {} | {} |\n",
            rows.len(),
            checked.len(),
            unchecked.len()
        ));
        lists.push_str(&format!("\n### Without a check in {version}\n\n"));
        for r in unchecked {
            lists.push_str(&format!("- `{}` ({}): {}\n", r.id, r.level_for(version), r.title));
        }
    }
    table + &lists
}

fn reference_command(faults: &[Fault], list: bool, options: Options) -> u8 {
    if list {
        for f in Fault::ALL {
            println!("{} {}", f.id(), f.requirements().join(","));
        }
        return exit::OK;
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let issuer_only = options.any_resource;
        match Reference::start_with(faults, options).await {
            Ok(reference) if issuer_only => {
                println!("{}", reference.issuer);
                eprintln!(
                    "test issuer: JWT access tokens (ES256) for any resource, keys at {}",
                    reference.jwks_uri
                );
                eprintln!(
                    "point your MCP server's token validation and its PRM `authorization_servers` at the issuer;"
                );
                eprintln!(
                    "then `run --target <your MCP URL> --mint-endpoint {}`",
                    reference.mint_endpoint
                );
                std::future::pending::<()>().await;
                exit::OK
            }
            Ok(reference) => {
                println!("{}", reference.mcp_url);
                eprintln!("authorization server issuer: {}", reference.issuer);
                // What a run against it needs and cannot discover, as `--config` lines.
                let mut config = TargetConfig::default();
                reference.fill_config(&mut config);
                eprintln!("target configuration for `run --config`:");
                eprintln!("  second_resource = {:?}", reference.second_resource);
                eprintln!(
                    "  privileged_request = '{}'",
                    config.privileged_request.unwrap_or_default()
                );
                eprintln!("  privileged_scope = {:?}", config.privileged_scope.unwrap_or_default());
                eprintln!("  mint_endpoint = {:?}", reference.mint_endpoint);
                std::future::pending::<()>().await;
                exit::OK
            }
            Err(e) => {
                eprintln!("error: cannot start the reference target: {e}");
                exit::UNREACHABLE
            }
        }
    })
}
