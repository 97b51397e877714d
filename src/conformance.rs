//! The suite as a value, for Rust code: a target and its settings in, verdicts and a report
//! out. `mcp-auth-conformance run` is this plus the console; [`crate::harness`] turns it into
//! one `cargo test` line per requirement.
//!
//! ```
//! use mcp_auth_conformance::Conformance;
//! use mcp_auth_conformance::reference::Reference;
//! use mcp_auth_conformance::spec::SpecVersion;
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() {
//! // Any MCP server with OAuth; here the embedded reference target.
//! let server = Reference::start(&[]).await.expect("the reference starts");
//! let mut config = mcp_auth_conformance::config::TargetConfig::default();
//! server.fill_config(&mut config);
//! let report = Conformance::new(&server.mcp_url)
//!     .spec_version(SpecVersion::V2025_11_25)
//!     .config(config)
//!     .run()
//!     .await
//!     .expect("the suite runs");
//! assert!(!report.must_failed(), "{:?}", report.summary);
//! assert!(report.verdicts.iter().any(|v| v.requirement == "rs.challenge.401-no-token"));
//! # }
//! ```

use std::path::Path;
use std::time::Duration;

use crate::case::{self, CaseSet};
use crate::config::{self, TargetConfig};
use crate::discovery::Target;
use crate::http::HttpClient;
use crate::http::redact::Redactor;
use crate::run;
use crate::spec::SpecVersion;
use crate::suite::{Clock, Suite};
use crate::verdict::{RunReport, Verdict};

/// One run of the suite against one MCP server, to be configured, then run.
#[derive(Debug, Clone)]
pub struct Conformance {
    mcp_url: String,
    version: Option<SpecVersion>,
    config: TargetConfig,
    filter: Option<String>,
    timeout: Duration,
}

/// Why a run could not start: a bad URL, configuration, baseline or case set.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(String);

impl Conformance {
    /// The MCP endpoint URL exactly as clients use it (the PRM's `resource`).
    pub fn new(mcp_url: impl Into<String>) -> Self {
        Conformance {
            mcp_url: mcp_url.into(),
            version: None,
            config: TargetConfig::default(),
            filter: None,
            timeout: Duration::from_secs(10),
        }
    }

    /// The spec version to check against (default: the newest the server accepts, as
    /// `--spec-version auto`).
    pub fn spec_version(mut self, version: SpecVersion) -> Self {
        self.version = Some(version);
        self
    }

    /// The target configuration (`--config`): a pre-registered client, scopes, the consent
    /// driver, a mint endpoint... It replaces any set before, baseline included.
    pub fn config(mut self, config: TargetConfig) -> Self {
        self.config = config;
        self
    }

    /// The target configuration read from a TOML file, as `--config FILE`.
    pub fn config_file(self, path: impl AsRef<Path>) -> Result<Self, Error> {
        let config = config::load(path.as_ref()).map_err(|e| Error(e.render(false)))?;
        Ok(self.config(config))
    }

    /// Failures the server is known to have (`--expected-failures FILE`): they stay visible,
    /// do not fail the run, and a listed requirement that passes fails it (stale).
    pub fn expected_failures(mut self, path: impl AsRef<Path>) -> Result<Self, Error> {
        let cases = embedded_cases()?;
        let baseline = crate::baseline::load(path.as_ref(), &cases.registry).map_err(|e| Error(e.render(false)))?;
        self.config.baseline = baseline;
        Ok(self)
    }

    /// Only requirements whose id contains `filter` (`--filter`).
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }

    /// The time allowed for each HTTP exchange (`--timeout`, default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs every case and returns the report (the JSON report's contents).
    pub async fn run(self) -> Result<RunReport, Error> {
        self.run_with(|_| {}).await
    }

    /// As [`Conformance::run`], telling `each` of every verdict as it comes.
    pub async fn run_with(self, each: impl Fn(&Verdict)) -> Result<RunReport, Error> {
        let clock = Clock::start();
        let (suite, chosen) = self.suite().await?;
        let verdicts = suite.verdicts_counted(each).await;
        let mut report = suite.report(verdicts, &clock);
        report.spec_version_chosen = chosen;
        Ok(report)
    }

    /// The suite ready to run, for the version asked for or (none asked) the newest the
    /// server accepts, and why that one.
    pub async fn suite(self) -> Result<(Suite, Option<String>), Error> {
        let cases = embedded_cases()?;
        let build = |version| -> Result<Suite, Error> {
            let target = Target::new(&self.mcp_url, version).map_err(|e| Error(e.to_string()))?;
            let client = HttpClient::new(self.timeout, Redactor::default()).map_err(|e| Error(e.to_string()))?;
            let plan = run::plan(&cases, version, self.filter.as_deref());
            Ok(Suite::new(plan, client, target, self.config.clone()))
        };
        match self.version {
            Some(version) => Ok((build(version)?, None)),
            None => {
                let newest = build(SpecVersion::LATEST)?;
                let (version, why) = run::negotiate(&newest.ctx).await;
                let why = newest.ctx.client.redactor().text(&why);
                let suite = if version == SpecVersion::LATEST {
                    newest
                } else {
                    build(version)?
                };
                Ok((suite, Some(why)))
            }
        }
    }
}

fn embedded_cases() -> Result<CaseSet, Error> {
    case::load_embedded().map_err(|e| Error(e.render(false)))
}
