//! The target configuration (`--config <file>`): what a black box cannot discover. Secrets are
//! never in the file: it names the environment variables that hold them.
//!
//! ```toml
//! scope = "mcp:tools"                 # scopes to ask for (default: the 401 challenge's, else PRM's)
//! narrow_scope = "mcp:read"           # a narrower set, for scope tests
//! second_resource = "https://other.example/mcp"  # another resource the same AS issues tokens for
//! privileged_request = '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete","arguments":{}}}'
//! privileged_scope = "files:write"    # what that request needs beyond the challenge's scope
//! broad_scope = "files:admin"         # a scope the server holds to imply every scope its first
//!                                     # request needs (its scope hierarchy)
//! code_wait_seconds = 610             # `run --slow`: how long to hold a code before redeeming
//! token_wait_seconds = 610            # `run --slow`: the longest token lifetime to wait out
//! mint_endpoint = "http://127.0.0.1:9400/as/mint"  # a test issuer the server trusts mints tokens
//!                                     # no flow gives (printed by `reference --issuer-only`)
//!
//! registration = "auto"               # how the flows' client identifies itself: auto | cimd |
//!                                     # dcr | preregistered (`run --registration`)
//!
//! [state_handle]                      # 2026-07-28+: a state handle the server mints, and a use of it
//! mint = '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"cart_create","arguments":{}}}'
//! pointer = "/result/structuredContent/cart_id"  # where the mint's answer holds the handle
//! use = '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"cart_show","arguments":{"cart_id":"{state_handle}"}}}'
//!
//! [proxy]                             # the server is an MCP proxy to a third-party AS
//! upstream_authorization_endpoint = "https://github.com/login/oauth/authorize"
//! fill_upstream_forms = false         # the form driver fills the upstream's pages too
//!
//! [cimd]                              # where the run's client ID metadata documents are served
//! https_ca_dir = "ca"                 # over https, with the loopback CA kept there (`--cimd-https`)
//! base_url = "https://ci.example/t"   # a public URL your proxy forwards to the host (`--cimd-base-url`)
//! port = 8788                         # the host's loopback port (`--cimd-port`)
//!
//! [tokens]                            # supplied tokens, each from an environment variable
//! valid_env = "MCP_TOKEN"             # kinds: valid, low_scope, foreign_audience, expired,
//! expired_env = "MCP_EXPIRED_TOKEN"   #        foreign_issuer, not_yet_valid, other_user
//!
//! [client]                            # a pre-registered client (default: register one by DCR)
//! client_id = "conformance"
//! client_secret_env = "MCP_CLIENT_SECRET"
//! auth_method = "client_secret_basic" # none | client_secret_basic | client_secret_post
//! redirect_uri = "http://127.0.0.1:33418/callback"
//!
//! [consent]
//! driver = "form"                     # redirects | form | browser | command | manual
//! timeout = 120                       # seconds a command, a person (120) or the browser (30) may take
//! fields = { username = "alice" }     # form, browser: values to fill in (browser: by label,
//! fields_env = { password = "MCP_TEST_PASSWORD" }  # name, id or CSS selector too)
//! submit = ["Sign in", "Approve"]     # form, browser: the button to press, by name, value or
//!                                     # text: on each page the first it has (default: the
//!                                     # form's first submit button)
//! chromium = "/usr/bin/chromium"      # browser: the binary (default: MCP_CHROMIUM, then PATH)
//! command = ["node", "login.mjs"]     # command: argv; the authorization URL is appended
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::{DataErrors, FileError, SourceFile};
use crate::http::redact::Secret;
use crate::oauth::consent::{BrowserSettings, ConsentDriver, FormSettings, find_chromium};
use crate::token_kind::TokenKind;

/// The validated configuration.
#[derive(Debug, Clone, Default)]
pub struct TargetConfig {
    pub scope: Option<String>,
    pub narrow_scope: Option<String>,
    pub second_resource: Option<String>,
    /// An MCP request body that needs more than the scope the challenge asks for, and the
    /// scope it needs (insufficient-scope checks).
    pub privileged_request: Option<String>,
    pub privileged_scope: Option<String>,
    /// A scope the server holds to imply every scope its first request needs (MCP 2026-07-28
    /// scope hierarchies).
    pub broad_scope: Option<String>,
    /// How the server mints a state handle and how a request uses one (2026-07-28+).
    pub state_handle: Option<StateHandle>,
    /// The server is an MCP proxy to a third-party authorization server (its proxy checks run).
    pub proxy: Option<Proxy>,
    pub client: Option<PreRegisteredClient>,
    /// How the flows' client identifies itself.
    pub registration: Registration,
    /// Where the run's client ID metadata documents are served.
    pub cimd: DocumentHosting,
    pub consent: ConsentDriver,
    /// Slow checks run (`run --slow`); otherwise they are skipped, saying how to run them.
    pub slow: bool,
    /// A broken SHOULD / SHOULD NOT fails the run (`run --strict`) instead of warning.
    pub strict: bool,
    /// Failures the run accepts (`run --expected-failures`).
    pub baseline: crate::baseline::Baseline,
    /// How long the code-lifetime check holds a code (default [`DEFAULT_CODE_WAIT`]).
    pub code_wait: Option<Duration>,
    /// The longest `expires_in` the expired-token check waits out (default [`DEFAULT_CODE_WAIT`]).
    pub token_wait: Option<Duration>,
    /// A test issuer's minting endpoint (`reference --issuer-only`), for the tokens no flow
    /// gives: expired ones and ones from a foreign issuer.
    pub mint_endpoint: Option<String>,
    /// Tokens the user supplied, by kind; they take precedence over flows and minting.
    pub tokens: BTreeMap<TokenKind, Secret>,
    /// `run --seed`: generated values follow from the seed, and cases run one at a time.
    pub randomness: crate::seed::Randomness,
}

impl TargetConfig {
    /// Why the manual driver could not listen on the pre-registered client's loopback
    /// redirect port (it is taken), if so: a usage error before the run, not a hang in it.
    /// Every secret the configuration holds: tokens, the client secret, form field values.
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        let form = match &self.consent {
            ConsentDriver::Form(form) | ConsentDriver::Browser(BrowserSettings { form, .. }) => {
                form.fields.iter().map(|(_, v)| v).collect()
            }
            _ => Vec::new(),
        };
        let client = self.client.as_ref().and_then(|c| c.secret.as_ref());
        self.tokens.values().chain(client).chain(form)
    }

    pub fn redirect_port_in_use(&self) -> Option<String> {
        let (ConsentDriver::Manual { .. }, Some(client)) = (&self.consent, self.flow_client()) else {
            return None;
        };
        let url = url::Url::parse(&client.redirect_uri).ok()?;
        let port = url.port().filter(|_| url.host_str() == Some("127.0.0.1"))?;
        match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(_) => None,
            Err(e) => Some(format!(
                "the redirect URI's port {port} is not free ({e}): the manual driver listens there; \
                 stop what holds it or register another redirect URI"
            )),
        }
    }
}

/// Where the run's client ID metadata documents are served (default: http on a loopback port).
#[derive(Debug, Clone, Default)]
pub struct DocumentHosting {
    /// Over https, with a certificate from the loopback CA kept in this directory (made there
    /// on first use; `ca.pem` is what the AS must trust).
    pub https_ca: Option<std::path::PathBuf>,
    /// The public URL a proxy or tunnel forwards to the host: `<base_url>/cimd/...` reaches
    /// `http://127.0.0.1:<port>/cimd/...`. The run fetches its own document through it first.
    pub base_url: Option<String>,
    /// The host's loopback port (default: any free one; a seeded run's follows its seed).
    pub port: Option<u16>,
    /// Without a base URL, a host name to name the documents by at the host's own port
    /// (`localhost` for the embedded reference's SSRF guard; not a setting of the file).
    pub name: Option<String>,
}

/// How the flows' client identifies itself to the authorization server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Registration {
    /// The configured client if there is one; else a client ID metadata document when the
    /// spec version has them, the AS advertises them and can reach the run's documents; else
    /// dynamic client registration. A configured client comes first: it is the user's choice,
    /// and configurations written before this setting keep their meaning.
    #[default]
    Auto,
    /// A client ID metadata document the run serves (CIMD draft; MCP 2025-11-25+).
    Cimd,
    /// Dynamic client registration (RFC 7591).
    Dcr,
    /// The configured `[client]`.
    Preregistered,
}

impl Registration {
    pub const NAMES: &str = "auto, cimd, dcr, preregistered";

    pub fn name(self) -> &'static str {
        match self {
            Registration::Auto => "auto",
            Registration::Cimd => "cimd",
            Registration::Dcr => "dcr",
            Registration::Preregistered => "preregistered",
        }
    }
}

impl std::str::FromStr for Registration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        [
            Registration::Auto,
            Registration::Cimd,
            Registration::Dcr,
            Registration::Preregistered,
        ]
        .into_iter()
        .find(|r| r.name() == s)
        .ok_or_else(|| format!("unknown registration `{s}` ({})", Registration::NAMES))
    }
}

/// Why `url` cannot be the documents' base URL, if so: an http(s) URL without a query or
/// fragment (the documents' paths are appended to it).
pub fn base_url_problem(url: &str) -> Option<String> {
    let problem = match url::Url::parse(url) {
        Err(e) => format!("not an absolute URL ({e})"),
        Ok(u) if !matches!(u.scheme(), "http" | "https") => "not http or https".to_owned(),
        Ok(u) if u.query().is_some() || u.fragment().is_some() => "it has a query or a fragment".to_owned(),
        Ok(_) => return None,
    };
    Some(format!("base_url `{url}`: {problem}"))
}

impl TargetConfig {
    /// The configured client, when the flows use it (`preregistered`, or `auto` with one).
    pub fn flow_client(&self) -> Option<&PreRegisteredClient> {
        match self.registration {
            Registration::Auto | Registration::Preregistered => self.client.as_ref(),
            Registration::Cimd | Registration::Dcr => None,
        }
    }

    /// Why the flows cannot run as configured, if so: `preregistered` without a `[client]`.
    pub fn registration_problem(&self) -> Option<String> {
        (self.registration == Registration::Preregistered && self.client.is_none())
            .then(|| "registration `preregistered` needs a [client] in the configuration (--config)".to_owned())
    }
}

/// Just over OAuth 2.1 §4.1.2's recommended 10-minute maximum code lifetime.
pub const DEFAULT_CODE_WAIT: Duration = Duration::from_secs(610);

#[derive(Debug, Clone)]
pub struct PreRegisteredClient {
    pub client_id: String,
    pub secret: Option<Secret>,
    pub auth_method: String,
    pub redirect_uri: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    scope: Option<String>,
    narrow_scope: Option<String>,
    second_resource: Option<Spanned<String>>,
    privileged_request: Option<Spanned<String>>,
    privileged_scope: Option<String>,
    broad_scope: Option<String>,
    state_handle: Option<StateHandleSpec>,
    proxy: Option<ProxySpec>,
    client: Option<ClientSpec>,
    registration: Option<Spanned<String>>,
    cimd: Option<CimdSpec>,
    consent: Option<ConsentSpec>,
    code_wait_seconds: Option<Spanned<u64>>,
    token_wait_seconds: Option<u64>,
    mint_endpoint: Option<Spanned<String>>,
    #[serde(default)]
    tokens: BTreeMap<Spanned<String>, Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateHandleSpec {
    mint: Spanned<String>,
    pointer: Spanned<String>,
    #[serde(rename = "use")]
    request: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProxySpec {
    upstream_authorization_endpoint: Spanned<String>,
    fill_upstream_forms: Option<bool>,
}

/// An MCP proxy (MCP Confused Deputy Problem): a server that sends its users on to a
/// third-party authorization server under one static client id.
#[derive(Debug, Clone, PartialEq)]
pub struct Proxy {
    /// The third-party AS's authorization endpoint: a redirect to its origin is the proxy
    /// forwarding.
    pub upstream_authorization_endpoint: String,
    /// The `form` driver fills the upstream's pages too (its login: the fields must then be
    /// for an account there). Off by default: the configured fields are the target's.
    pub fill_upstream_forms: bool,
}

/// A state handle (MCP 2026-07-28 State Handle Hijacking): servers that keep state across
/// requests mint one, e.g. a cart id, and take it back as a tool argument.
#[derive(Debug, Clone, PartialEq)]
pub struct StateHandle {
    /// The JSON-RPC request that mints one.
    pub mint: String,
    /// A JSON pointer to the handle in the mint's JSON-RPC answer.
    pub pointer: String,
    /// A JSON-RPC request using one: `{state_handle}` stands for it.
    pub request: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientSpec {
    client_id: String,
    client_secret_env: Option<Spanned<String>>,
    #[serde(default = "default_auth_method")]
    auth_method: Spanned<String>,
    redirect_uri: Spanned<String>,
}

fn default_auth_method() -> Spanned<String> {
    Spanned::new(0..0, "none".to_owned())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CimdSpec {
    https_ca_dir: Option<std::path::PathBuf>,
    base_url: Option<Spanned<String>>,
    port: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentSpec {
    driver: Spanned<String>,
    timeout: Option<u64>,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    #[serde(default)]
    fields_env: BTreeMap<String, Spanned<String>>,
    submit: Option<Submit>,
    command: Option<Spanned<Vec<String>>>,
    chromium: Option<Spanned<std::path::PathBuf>>,
}

/// `submit = "Approve"`, or a list: on each page, the first of them it has.
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a button's label, or a list of labels")]
enum Submit {
    One(String),
    Many(Vec<String>),
}

/// Reads and validates a configuration file; every problem at its place (exit code 2).
pub fn load(path: &Path) -> Result<TargetConfig, DataErrors> {
    parse(&SourceFile::read(path)?, &|var| std::env::var(var).ok())
}

/// Parses `file`; `env` reads environment variables (a parameter, so tests need no globals).
pub fn parse(file: &SourceFile, env: &dyn Fn(&str) -> Option<String>) -> Result<TargetConfig, DataErrors> {
    let spec: ConfigFile = toml::from_str(&file.text).map_err(|e| DataErrors {
        errors: vec![FileError::from_toml(file, &e)],
    })?;
    let mut errors = Vec::new();
    let mut secret_from = |var: &Spanned<String>, what: &str| -> Option<Secret> {
        match env(var.get_ref()) {
            Some(v) if !v.is_empty() => Some(Secret::new(v)),
            _ => {
                let msg = format!("the environment variable `{}` ({what}) is not set", var.get_ref());
                errors.push(
                    FileError::new(file, var.span(), msg)
                        .with_help("export it before the run; secrets never sit in the file"),
                );
                None
            }
        }
    };
    let client_spans = spec.client.as_ref().map(|c| c.redirect_uri.clone());
    let client = spec.client.map(|c| PreRegisteredClient {
        client_id: c.client_id,
        secret: c
            .client_secret_env
            .as_ref()
            .and_then(|v| secret_from(v, "the client secret")),
        auth_method: c.auth_method.get_ref().clone(),
        redirect_uri: c.redirect_uri.get_ref().clone(),
    });
    let mut unknown_token_keys = Vec::new();
    let mut tokens = BTreeMap::new();
    for (key, var) in &spec.tokens {
        let kind = key.get_ref().strip_suffix("_env").map(str::parse::<TokenKind>);
        match kind {
            Some(Ok(kind)) => {
                if let Some(token) = secret_from(var, &format!("the {kind} token")) {
                    tokens.insert(kind, token);
                }
            }
            _ => {
                let msg = format!("unknown key `{}` in [tokens]", key.get_ref());
                let help = format!(
                    "keys: <kind>_env, naming an environment variable; kinds: {}",
                    TokenKind::names()
                );
                unknown_token_keys.push(FileError::new(file, key.span(), msg).with_help(help));
            }
        }
    }
    let consent = match spec.consent {
        None => ConsentDriver::default(),
        Some(c) => {
            let browser = c.driver.get_ref() == "browser";
            // A person or a command may take minutes; a browser left at a page it cannot
            // pass ends sooner (a page that stays still ends it at once).
            let timeout = Duration::from_secs(c.timeout.unwrap_or(if browser { 30 } else { 120 }));
            let mut fields: Vec<(String, Secret)> = c.fields.into_iter().map(|(k, v)| (k, Secret::new(v))).collect();
            // Only the drivers that fill fields need their secrets.
            let fills = matches!(c.driver.get_ref().as_str(), "form" | "browser");
            for (field, var) in c.fields_env.iter().filter(|_| fills) {
                if let Some(value) = secret_from(var, &format!("form field `{field}`")) {
                    fields.push((field.clone(), value));
                }
            }
            let form = FormSettings {
                fields,
                submit: match c.submit {
                    None => Vec::new(),
                    Some(Submit::One(button)) => vec![button],
                    Some(Submit::Many(buttons)) => buttons,
                },
                refused_origins: Vec::new(),
            };
            match c.driver.get_ref().as_str() {
                "redirects" => ConsentDriver::Redirects,
                "form" => ConsentDriver::Form(form),
                "browser" => match find_chromium(c.chromium.as_ref().map(|p| p.get_ref().as_path())) {
                    Some(executable) if executable.is_file() => {
                        ConsentDriver::Browser(BrowserSettings::new(form, timeout, executable))
                    }
                    found => {
                        let (span, msg) = match (&c.chromium, found) {
                            (Some(path), _) => (path.span(), format!("no browser at `{}`", path.get_ref().display())),
                            (None, Some(path)) => (
                                c.driver.span(),
                                format!("MCP_CHROMIUM names no browser: `{}`", path.display()),
                            ),
                            (None, None) => (
                                c.driver.span(),
                                "driver `browser` needs Chromium, and none is installed".to_owned(),
                            ),
                        };
                        errors.push(FileError::new(file, span, msg).with_help(
                            "install Debian's `chromium` package (apt-get install chromium), or name \
                             a Chromium or Chrome binary: `chromium = \"/path\"` here or MCP_CHROMIUM",
                        ));
                        ConsentDriver::Redirects
                    }
                },
                "command" => match c.command {
                    Some(argv) if !argv.get_ref().is_empty() => ConsentDriver::Command {
                        argv: argv.into_inner(),
                        timeout,
                    },
                    Some(argv) => {
                        errors.push(FileError::new(file, argv.span(), "`command` is empty"));
                        ConsentDriver::Redirects
                    }
                    None => {
                        errors.push(FileError::new(
                            file,
                            c.driver.span(),
                            "driver `command` needs `command = [\"program\", ...]`",
                        ));
                        ConsentDriver::Redirects
                    }
                },
                "manual" => ConsentDriver::Manual { timeout },
                other => {
                    let msg = format!("unknown consent driver `{other}`");
                    errors.push(
                        FileError::new(file, c.driver.span(), msg)
                            .with_help("drivers: redirects, form, browser, command, manual"),
                    );
                    ConsentDriver::Redirects
                }
            }
        }
    };
    if let Some(c) = &client
        && !["none", "client_secret_basic", "client_secret_post"].contains(&c.auth_method.as_str())
    {
        errors.push(FileError::new(
            file,
            0..0,
            format!(
                "unknown client auth_method `{}` (none, client_secret_basic, client_secret_post)",
                c.auth_method
            ),
        ));
    }
    if let Some(c) = &client_spans
        && url::Url::parse(c.get_ref()).is_err()
    {
        errors.push(FileError::new(file, c.span(), "redirect_uri must be an absolute URL"));
    }
    if let Some(r) = &spec.privileged_request {
        if serde_json::from_str::<serde_json::Value>(r.get_ref()).is_err() {
            errors.push(FileError::new(
                file,
                r.span(),
                "privileged_request must be a JSON-RPC request (JSON)",
            ));
        } else if spec.privileged_scope.is_none() {
            let why = "privileged_request needs privileged_scope: the scope it needs";
            errors.push(FileError::new(file, r.span(), why));
        }
    }
    if let Some(h) = &spec.state_handle {
        let json = |s: &Spanned<String>| serde_json::from_str::<serde_json::Value>(s.get_ref()).is_ok();
        if !json(&h.mint) {
            errors.push(FileError::new(
                file,
                h.mint.span(),
                "state_handle.mint must be a JSON-RPC request (JSON)",
            ));
        }
        if !h.pointer.get_ref().starts_with('/') {
            let why = "state_handle.pointer must be a JSON pointer (RFC 6901), e.g. /result/structuredContent/id";
            errors.push(FileError::new(file, h.pointer.span(), why));
        }
        // `{state_handle}` goes in quoted (a string) or bare (a number).
        let filled = h.request.get_ref().replace("{state_handle}", "0");
        let template_json = serde_json::from_str::<serde_json::Value>(&filled).is_ok();
        if !template_json || !h.request.get_ref().contains("{state_handle}") {
            let why = "state_handle.use must be a JSON-RPC request (JSON) with `{state_handle}` where the handle goes (in quotes for a string, bare for a number)";
            errors.push(FileError::new(file, h.request.span(), why));
        }
    }
    if let Some(p) = &spec.proxy {
        let url = p.upstream_authorization_endpoint.get_ref();
        let web = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
        if !web {
            let why = "proxy.upstream_authorization_endpoint must be an absolute http(s) URL";
            errors.push(FileError::new(file, p.upstream_authorization_endpoint.span(), why));
        }
    }
    // A shorter wait could not show a code outliving OAuth 2.1's recommended 10 minutes.
    if let Some(w) = &spec.code_wait_seconds
        && *w.get_ref() <= 600
    {
        errors.push(FileError::new(
            file,
            w.span(),
            "code_wait_seconds must be over 600: a code still valid sooner breaks no rule",
        ));
    }
    if let Some(r) = &spec.second_resource
        && url::Url::parse(r.get_ref()).is_err()
    {
        errors.push(FileError::new(
            file,
            r.span(),
            "second_resource must be an absolute URL",
        ));
    }
    if let Some(m) = &spec.mint_endpoint
        && url::Url::parse(m.get_ref()).is_err()
    {
        errors.push(FileError::new(file, m.span(), "mint_endpoint must be an absolute URL"));
    }
    let registration = match &spec.registration {
        None => Registration::default(),
        Some(r) => match r.get_ref().parse::<Registration>() {
            Ok(Registration::Preregistered) if client.is_none() => {
                let help = "add a [client] (client_id, redirect_uri), or choose another registration";
                errors.push(
                    FileError::new(file, r.span(), "registration `preregistered` needs a [client]").with_help(help),
                );
                Registration::default()
            }
            Ok(r) => r,
            Err(why) => {
                errors.push(FileError::new(file, r.span(), why));
                Registration::default()
            }
        },
    };
    let cimd = spec.cimd.map(|c| {
        if let Some(url) = &c.base_url
            && let Some(problem) = base_url_problem(url.get_ref())
        {
            errors.push(FileError::new(file, url.span(), problem));
        }
        DocumentHosting {
            https_ca: c.https_ca_dir,
            base_url: c.base_url.map(Spanned::into_inner),
            port: c.port,
            name: None,
        }
    });
    errors.extend(unknown_token_keys);
    if errors.is_empty() {
        Ok(TargetConfig {
            scope: spec.scope,
            narrow_scope: spec.narrow_scope,
            second_resource: spec.second_resource.map(Spanned::into_inner),
            privileged_request: spec.privileged_request.map(Spanned::into_inner),
            privileged_scope: spec.privileged_scope,
            broad_scope: spec.broad_scope,
            state_handle: spec.state_handle.map(|h| StateHandle {
                mint: h.mint.into_inner(),
                pointer: h.pointer.into_inner(),
                request: h.request.into_inner(),
            }),
            proxy: spec.proxy.map(|p| Proxy {
                upstream_authorization_endpoint: p.upstream_authorization_endpoint.into_inner(),
                fill_upstream_forms: p.fill_upstream_forms.unwrap_or(false),
            }),
            client,
            registration,
            cimd: cimd.unwrap_or_default(),
            consent,
            slow: false,
            strict: false,
            baseline: Default::default(),
            code_wait: spec.code_wait_seconds.map(|w| Duration::from_secs(w.into_inner())),
            token_wait: spec.token_wait_seconds.map(Duration::from_secs),
            mint_endpoint: spec.mint_endpoint.map(Spanned::into_inner),
            tokens,
            randomness: Default::default(),
        })
    } else {
        Err(DataErrors { errors })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> SourceFile {
        SourceFile {
            name: "target.toml".to_owned(),
            text: text.to_owned(),
        }
    }

    #[test]
    fn a_full_configuration_parses_and_reads_secrets_from_the_environment() {
        let text = r#"
scope = "mcp:tools"
code_wait_seconds = 700
[client]
client_id = "c1"
client_secret_env = "SECRET_VAR"
auth_method = "client_secret_post"
redirect_uri = "http://127.0.0.1:33418/callback"
[consent]
driver = "form"
fields = { username = "alice" }
fields_env = { password = "PASSWORD_VAR" }
submit = "approve"
"#;
        let env = |v: &str| match v {
            "SECRET_VAR" => Some("s3cr3t".to_owned()),
            "PASSWORD_VAR" => Some("pw".to_owned()),
            _ => None,
        };
        let config = parse(&file(text), &env).unwrap();
        assert_eq!(config.code_wait, Some(Duration::from_secs(700)));
        let client = config.client.unwrap();
        assert_eq!(client.secret.unwrap().expose(), "s3cr3t");
        assert_eq!(
            format!("{:?}", config.consent).matches("[redacted]").count(),
            2,
            "form values print redacted"
        );
    }

    #[test]
    fn problems_point_at_their_line() {
        let errors = parse(
            &file("[client]\nclient_id = \"c\"\nredirect_uri = \"x\"\ncolor = 1\n"),
            &|_| None,
        )
        .unwrap_err();
        crate::tests::support::snapshot_settings()
            .bind(|| insta::assert_snapshot!("config-unknown-key", errors.render(false)));
        let text = "code_wait_seconds = 60\n[client]\nclient_id = \"c\"\nredirect_uri = \"http://127.0.0.1:1/cb\"\nclient_secret_env = \"UNSET_VAR\"\n[consent]\ndriver = \"selenium\"\n";
        let errors = parse(&file(text), &|_| None).unwrap_err();
        crate::tests::support::snapshot_settings()
            .bind(|| insta::assert_snapshot!("config-missing-env-and-unknown-driver", errors.render(false)));
        let text = "[consent]\ndriver = \"browser\"\nchromium = \"/nonexistent/chromium\"\n";
        let errors = parse(&file(text), &|_| None).unwrap_err();
        crate::tests::support::snapshot_settings()
            .bind(|| insta::assert_snapshot!("config-browser-without-chromium", errors.render(false)));
        let text = "mint_endpoint = \"127.0.0.1:9400\"\n[tokens]\nvalid_env = \"UNSET_TOKEN\"\nstale_env = \"X\"\n";
        let errors = parse(&file(text), &|_| None).unwrap_err();
        crate::tests::support::snapshot_settings()
            .bind(|| insta::assert_snapshot!("config-bad-tokens", errors.render(false)));
        let text = "[state_handle]\nmint = \"not json\"\npointer = \"result\"\nuse = '{\"jsonrpc\":\"2.0\"}'\n";
        let errors = parse(&file(text), &|_| None).unwrap_err();
        crate::tests::support::snapshot_settings()
            .bind(|| insta::assert_snapshot!("config-bad-state-handle", errors.render(false)));
    }

    /// The README's example configuration is one a user can copy.
    #[test]
    fn the_readme_example_parses() {
        let readme = include_str!("../README.md");
        let start = readme
            .find("```toml\nscope = ")
            .expect("the README shows a configuration")
            + "```toml\n".len();
        let example = &readme[start..start + readme[start..].find("```").expect("the block ends")];
        let config = parse(&file(example), &|_| Some("from-the-environment".to_owned()));
        assert!(config.is_ok(), "{}", config.unwrap_err().render(false));
    }

    #[test]
    fn registration_names_a_way_and_preregistered_needs_a_client() {
        let config = parse(&file("registration = \"cimd\"\n"), &|_| None).unwrap();
        assert_eq!(config.registration, Registration::Cimd);
        let text = "registration = \"dcr\"\n[client]\nclient_id = \"c\"\nredirect_uri = \"http://127.0.0.1:1/cb\"\n";
        let config = parse(&file(text), &|_| None).unwrap();
        assert!(config.flow_client().is_none(), "dcr: the configured client waits");
        let auto = TargetConfig {
            registration: Registration::Auto,
            ..config
        };
        assert!(auto.flow_client().is_some(), "auto: a configured client is used");
        let errors = parse(&file("registration = \"preregistered\"\n"), &|_| None).unwrap_err();
        crate::tests::support::snapshot_settings()
            .bind(|| insta::assert_snapshot!("config-preregistered-without-client", errors.render(false)));
        let errors = parse(&file("registration = \"oidc\"\n"), &|_| None).unwrap_err();
        assert!(
            errors
                .render(false)
                .contains("unknown registration `oidc` (auto, cimd, dcr, preregistered)")
        );
    }

    #[test]
    fn supplied_tokens_are_read_from_the_environment_and_print_redacted() {
        let text = "[tokens]\nvalid_env = \"T1\"\nforeign_issuer_env = \"T2\"\n";
        let config = parse(&file(text), &|v| Some(format!("token-of-{v}"))).unwrap();
        assert_eq!(config.tokens[&TokenKind::Valid].expose(), "token-of-T1");
        assert_eq!(config.tokens[&TokenKind::ForeignIssuer].expose(), "token-of-T2");
        assert!(!format!("{config:?}").contains("token-of"), "tokens print redacted");
    }
}
