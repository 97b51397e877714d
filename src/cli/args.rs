//! The command line's grammar (clap): commands, options, their help.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use mcp_auth_conformance::config::Registration;
use mcp_auth_conformance::reference::{Fault, Variation};
use mcp_auth_conformance::report::{ReportSpec, Shard};
use mcp_auth_conformance::run::VersionChoice;
use mcp_auth_conformance::spec::SpecVersion;
use mcp_auth_conformance::token_kind::TokenKind;

const EXIT_CODES: &str = "Exit codes:
  0  no MUST requirement failed (warnings and skips do not fail a run)
  1  a MUST / MUST NOT requirement failed
  2  usage, configuration or case-file error
  3  the target could not be reached, a check could not be completed (error verdict),
     or the harness itself failed";

#[derive(Parser)]
#[command(name = "mcp-auth-conformance", version, long_version = long_version(), about = "Conformance suite for MCP authorization: one verdict per spec requirement", after_help = EXIT_CODES)]
pub(super) struct Cli {
    #[command(subcommand)]
    pub(super) command: Command,
}

/// `--version`: the version, and the spec versions this build knows.
fn long_version() -> String {
    let versions: Vec<String> = SpecVersion::ALL.iter().map(ToString::to_string).collect();
    format!("{}\nspec versions: {}", env!("CARGO_PKG_VERSION"), versions.join(", "))
}

#[derive(Subcommand)]
pub(super) enum Command {
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
        /// Show this legal behaviour, one the specs allow (repeatable; see --list-variations).
        #[arg(long = "variation", value_name = "ID")]
        variations: Vec<Variation>,
        /// Print each variation id with what it does, and exit.
        #[arg(long)]
        list_variations: bool,
        /// Consent needs a login form (user `conformance`, password `reference-password`), for
        /// trying the `form` consent driver; `--login-form=script` builds it by script, in two
        /// steps, for trying the `browser` driver.
        #[arg(long, value_name = "KIND", num_args = 0..=1, require_equals = true, default_missing_value = "html")]
        login_form: Option<LoginForm>,
        /// Run the AS as an MCP proxy: its own consent page (pass it with the `form` consent
        /// driver), then an upstream AS of its own under one static client id, then its
        /// callback (the proxy checks: config [proxy]).
        #[arg(long)]
        proxy: bool,
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
    /// Make the loopback CA of `run --cimd-https DIR` ahead of a run (kept if there is one),
    /// and print the path of its certificate: the authorization server must trust it before
    /// it starts (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE...). It can vouch only for loopback names.
    CimdCa {
        /// The directory to keep the CA in.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Print the shell completion script of this command line (e.g. `completions bash >
    /// ~/.local/share/bash-completion/completions/mcp-auth-conformance`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page of this command line (roff: `manpage > mcp-auth-conformance.1`).
    Manpage,
    /// Work on written reports.
    #[command(subcommand)]
    Report(ReportCommand),
}

#[derive(Subcommand)]
pub(super) enum ReportCommand {
    /// Join JSON reports (the slices of a `run --matrix FILE --shard K/N`, or single runs) into
    /// one requirement × target matrix: on the console and in --report files; the exit code is
    /// the worst target's, as a matrix run's.
    #[command(after_help = EXIT_CODES)]
    Merge {
        /// The JSON reports, in any order (slices are put back in the matrix file's order).
        #[arg(value_name = "JSON", required = true)]
        files: Vec<PathBuf>,
        /// Write the merged matrix: json=<path>, markdown=<path> or html=<path> (repeatable).
        #[arg(long = "report", value_name = "FORMAT=PATH")]
        reports: Vec<ReportSpec>,
    },
}

#[derive(clap::Args)]
pub(super) struct RunArgs {
    /// The MCP endpoint URL of the server under test; omitted: start the reference target.
    /// Repeated: a matrix run, one column per target.
    #[arg(long = "target", value_name = "URL")]
    pub(super) targets: Vec<String>,
    /// A matrix file: the targets (name, URL, configuration) of a matrix run.
    #[arg(long, value_name = "FILE", conflicts_with = "targets")]
    pub(super) matrix: Option<PathBuf>,
    /// Only the K-th of N slices of the matrix file's targets (target i, from 0, is in slice
    /// i % N + 1), for spreading a matrix over N machines; `report merge` joins their JSON
    /// reports into one table.
    #[arg(long, value_name = "K/N", requires = "matrix")]
    pub(super) shard: Option<Shard>,
    /// MCP spec version to check against (2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28,
    /// draft), or `auto`: the newest the target accepts (a matrix run: the newest).
    #[arg(long, value_name = "VERSION", default_value_t = VersionChoice::Auto)]
    pub(super) spec_version: VersionChoice,
    /// Write a report: json=<path>, junit=<path>, markdown=<path>, html=<path> or badge=<path>
    /// (a shields.io endpoint document) (repeatable).
    #[arg(long = "report", value_name = "FORMAT=PATH")]
    pub(super) reports: Vec<ReportSpec>,
    /// Only requirements whose id contains this substring.
    #[arg(long, value_name = "SUBSTRING")]
    pub(super) filter: Option<String>,
    /// Seconds allowed for each HTTP exchange (headers and body).
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(super) timeout: u64,
    /// Directory with requirements.toml and case files (default: the built-in ones).
    #[arg(long, value_name = "DIR")]
    pub(super) cases: Option<PathBuf>,
    /// Target configuration (TOML): pre-registered client, scopes, consent driver.
    #[arg(long, value_name = "FILE")]
    pub(super) config: Option<PathBuf>,
    /// How the flows' client identifies itself (overrides the configuration's `registration`).
    #[arg(long, value_enum, value_name = "MODE")]
    pub(super) registration: Option<Registration>,
    /// Serve the run's client ID metadata documents over https, with a certificate from the
    /// loopback CA kept in DIR (made there on first use): point the AS at DIR/ca.pem before
    /// the run (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE...).
    #[arg(long, value_name = "DIR")]
    pub(super) cimd_https: Option<PathBuf>,
    /// The public URL of the run's client ID metadata documents: your proxy or tunnel
    /// forwards URL/cimd/... to http://127.0.0.1:<--cimd-port>/cimd/...
    #[arg(long, value_name = "URL")]
    pub(super) cimd_base_url: Option<url::Url>,
    /// The loopback port the document host listens on (default: any free one).
    #[arg(long, value_name = "PORT")]
    pub(super) cimd_port: Option<u16>,
    /// Save a PNG of each page the `browser` consent driver could not pass in DIR (made if
    /// need be); the error names the file. Off by default: a page may show the user's data.
    #[arg(long, value_name = "DIR")]
    pub(super) save_failure_screenshots: Option<PathBuf>,
    /// Print only failures and the summary.
    #[arg(long, short)]
    pub(super) quiet: bool,
    /// Also run slow checks (the code-lifetime check holds a code for over 10 minutes).
    #[arg(long)]
    pub(super) slow: bool,
    /// A PEM file of CA certificates to trust besides the platform's (a test server's own CA);
    /// repeatable. Without it an untrusted certificate is an error verdict.
    #[arg(long = "ca-cert", value_name = "PEM")]
    pub(super) ca_certs: Vec<PathBuf>,
    /// A host the run may contact besides the target's, its advertised issuers' and loopback
    /// (where a challenge or metadata points elsewhere); repeatable.
    #[arg(long = "allow-host", value_name = "HOST")]
    pub(super) allow_hosts: Vec<String>,
    /// Reach HOST at IP without DNS, as curl's --resolve: a server tested under its public
    /// name on another machine; repeatable.
    #[arg(long = "resolve", value_name = "HOST=IP", value_parser = resolve_arg)]
    pub(super) resolves: Vec<(String, std::net::IpAddr)>,
    /// Colour on the console: auto (a terminal, and NO_COLOR unset), always or never.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub(super) color: Color,
    /// A broken SHOULD / SHOULD NOT fails the run (default: a warning).
    #[arg(long)]
    pub(super) strict: bool,
    /// A baseline (TOML) of accepted failures, each with its reason: they stay visible but do
    /// not fail the run; one that now passes is stale and does.
    #[arg(long, value_name = "FILE")]
    pub(super) expected_failures: Option<PathBuf>,
    /// Write this run's fails and errors as a baseline for --expected-failures (each reason
    /// to be written).
    #[arg(long, value_name = "FILE")]
    pub(super) write_baseline: Option<PathBuf>,
    /// A token you supply: KIND=ENV_VAR, the environment variable that holds it (repeatable;
    /// kinds: valid, low_scope, foreign_audience, expired, foreign_issuer). Overrides the
    /// configuration's [tokens].
    #[arg(long = "token", value_name = "KIND=ENV_VAR", value_parser = token_arg)]
    pub(super) tokens: Vec<(TokenKind, String)>,
    /// The minting endpoint of a test issuer your server trusts (`reference --issuer-only`
    /// prints it): expired and foreign-issuer tokens come from there.
    #[arg(long, value_name = "URL")]
    pub(super) mint_endpoint: Option<url::Url>,
    /// Fix the values the run generates (state, PKCE verifiers) and the reference target's
    /// (ids, ports); cases then run one at a time. The same seed against the same target gives
    /// the same report, apart from timings. Printed in every report.
    #[arg(long, value_name = "N")]
    pub(super) seed: Option<u64>,
    /// A narrower set of scopes than the server asks for, space-separated: the low-scope token's
    /// (insufficient-scope checks) and the grant a refresh must not widen. Overrides the
    /// configuration's `narrow_scope`.
    #[arg(long, value_name = "SCOPES")]
    pub(super) narrow_scope: Option<String>,
}

/// `HOST=IP`: a domain name (no port: the URL's is used) and an address. Anything the HTTP
/// client would not look up by name (an IP literal, `host:port`) is refused, so the run never
/// falls back to DNS for a host the user meant to pin; `localhost` must stay on loopback, as the
/// suite judges it local.
fn resolve_arg(s: &str) -> Result<(String, std::net::IpAddr), String> {
    let (host, ip) = s
        .split_once('=')
        .ok_or("expected HOST=IP, e.g. mcp.example.com=127.0.0.1")?;
    let ip: std::net::IpAddr =
        (ip.trim_matches(['[', ']']).parse()).map_err(|_| format!("`{ip}` is not an IP address"))?;
    match url::Host::parse(host) {
        Ok(url::Host::Domain(name)) if !name.contains([':', ' ']) => {
            let local = name == "localhost" || name.ends_with(".localhost");
            match local && !ip.is_loopback() {
                true => Err(format!(
                    "`{name}` is judged local: it may only resolve to a loopback address"
                )),
                false => Ok((name, ip)),
            }
        }
        _ => Err(format!("`{host}` is not a host name (no port, no IP address)")),
    }
}

fn token_arg(s: &str) -> Result<(TokenKind, String), String> {
    let (kind, var) = s.split_once('=').ok_or_else(|| format!("`{s}` is not KIND=ENV_VAR"))?;
    if var.is_empty() {
        return Err(format!("`{s}` names no environment variable"));
    }
    Ok((kind.parse()?, var.to_owned()))
}

/// How the reference's login form is served.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum LoginForm {
    /// A plain HTML form (the `form` driver passes it).
    Html,
    /// Built by script after load, in two steps (the `browser` driver passes it).
    Script,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Color {
    Auto,
    Always,
    Never,
}

impl Color {
    /// None: let the console decide (auto).
    pub(super) fn forced(self) -> Option<bool> {
        match self {
            Color::Auto if std::env::var_os("NO_COLOR").is_some() => Some(false),
            Color::Auto => None,
            Color::Always => Some(true),
            Color::Never => Some(false),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(super) enum ListFormat {
    Text,
    Json,
}
