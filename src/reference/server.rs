//! Starting the reference target: its options, the servers' shared state, and the handle a
//! test or the CLI holds while it runs.

use serde_json::json;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::oauth::consent::{ConsentDriver, FormSettings};
use tokio::sync::oneshot;

use super::{Fault, LOGIN_USER, Variation, authorization_server, flow_endpoints, resource_server, signing, upstream};

/// How the reference target behaves apart from its faults.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Consent shows a login form (user `conformance`, password `reference-password`).
    pub login_form: bool,
    /// That login form is built by script, in two steps (`reference --login-form=script`):
    /// only the `browser` consent driver passes it. Implies `login_form`.
    pub login_script: bool,
    /// The AS is an MCP proxy to an upstream AS of its own (a third server) under one static
    /// client id: its consent page comes first, then the upstream, then its callback. A
    /// proxy's fault or variation implies it.
    pub proxy: bool,
    /// How long a code lives (default 60 s); tests shorten it to prove the slow lifetime check.
    pub code_lifetime: Option<std::time::Duration>,
    /// How long an access token lives (default 3600 s); tests shorten it for the expiry check.
    pub token_lifetime: Option<std::time::Duration>,
    /// Legal behaviours to show (`reference --variation`): the variation matrix.
    pub variations: Vec<Variation>,
    /// The AS issues tokens for any resource (`reference --issuer-only`: an issuer other
    /// servers trust), not only for its own two.
    pub any_resource: bool,
    /// The AS listens on this port (default: an ephemeral one).
    pub as_port: Option<u16>,
    /// The scopes the AS knows, space-separated (default `mcp:tools mcp:admin offline_access`).
    pub scopes: Option<String>,
    /// `run --seed`: the ids it hands out and (unless `as_port` is set) its ports come from the
    /// seed, so two seeded runs see the same URLs and client ids.
    pub randomness: crate::seed::Randomness,
    /// CA certificates the AS trusts, besides the platform's, when it fetches client
    /// metadata documents (the run's loopback CA, `run --cimd-https`).
    pub document_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// Where the AS fetches client metadata documents from when not empty: an SSRF guard
    /// with an allowance for these hosts. Empty: any (a test AS, loopback included).
    pub document_hosts: Vec<String>,
}

/// The one host name the reference's SSRF guard lets through when it is on
/// ([`Options::guarded`]).
pub const DOCUMENT_HOST: &str = "localhost";

impl Options {
    /// These options with the reference's SSRF guard on: client metadata documents are
    /// fetched from [`DOCUMENT_HOST`] only.
    pub fn guarded(self) -> Options {
        Options {
            document_hosts: vec![DOCUMENT_HOST.to_owned()],
            ..self
        }
    }
}

/// Names a run's documents as a guarded reference lets through: `http://localhost:<port>`
/// (not a loopback IP address, to it), so `as.cimd.ssrf-guard` is judged by the same host
/// named 127.0.0.1 going unfetched.
pub fn name_documents_for_guard(config: &mut crate::config::TargetConfig) {
    config.cimd.name = Some(DOCUMENT_HOST.to_owned());
}

/// What the handlers of both servers know.
#[derive(Debug)]
pub(crate) struct State {
    pub(super) faults: HashSet<Fault>,
    pub(super) variations: HashSet<Variation>,
    pub(super) rs_origin: String,
    pub(super) as_origin: String,
    pub(super) store: std::sync::Mutex<flow_endpoints::Store>,
    /// Consent needs a login form (exercises the `form` consent driver).
    pub(super) login_form: bool,
    /// The login form is built by script (exercises the `browser` consent driver).
    pub(super) login_script: bool,
    /// The origin of the upstream AS, where the AS is a proxy to one ([`Options::proxy`]).
    pub(super) upstream_origin: Option<String>,
    pub(super) code_lifetime: std::time::Duration,
    pub(super) token_lifetime: std::time::Duration,
    pub(super) any_resource: bool,
    /// The scopes the AS grants, and those its metadata lists.
    pub(super) scopes: Vec<String>,
    pub(super) advertised_scopes: Vec<String>,
    /// Endpoints already throttled once (variation `short-rate-limit`).
    pub(super) throttled: std::sync::Mutex<HashSet<&'static str>>,
    /// Signs the access tokens; its public key is the AS's JWKS.
    pub(super) signer: signing::Signer,
    /// Fetches client metadata documents: made once (loading trust roots takes milliseconds).
    pub(super) documents: std::sync::OnceLock<crate::http::HttpClient>,
    pub(super) document_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    pub(super) document_hosts: Vec<String>,
}

impl State {
    pub(super) fn has(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }

    pub(super) fn varies(&self, variation: Variation) -> bool {
        self.variations.contains(&variation)
    }

    /// Whether the AS accepts client ID metadata documents (all but variation `no-cimd`).
    pub(super) fn serves_cimd(&self) -> bool {
        !self.varies(Variation::NoCimd)
    }

    pub(super) fn mcp_url(&self) -> String {
        format!("{}/mcp", self.rs_origin)
    }

    /// Another resource this AS issues tokens for (a second MCP server, not served here): the
    /// audience of tokens this server must refuse.
    pub(super) fn second_resource(&self) -> String {
        format!("{}/other/mcp", self.rs_origin)
    }

    /// The scopes the AS metadata lists: offline_access too where only it brings a refresh
    /// token.
    pub(super) fn listed_scopes(&self) -> Vec<String> {
        let mut scopes = self.advertised_scopes.clone();
        if self.varies(Variation::RefreshOnlyForOfflineAccess) {
            scopes.push("offline_access".to_owned());
        }
        scopes
    }

    /// The PRM's `authorization_servers`: the issuer, and a second one where it varies.
    pub(super) fn authorization_servers(&self) -> Vec<String> {
        let mut issuers = vec![self.issuer()];
        if self.varies(Variation::SeveralAuthorizationServers) {
            issuers.push(self.second_issuer());
        }
        issuers
    }

    /// A second authorization server on the same origin (variation
    /// `several-authorization-servers`): metadata and flow endpoints of its own.
    pub(super) fn second_issuer(&self) -> String {
        format!("{}/as2", self.as_origin)
    }

    /// `short-rate-limit`: the first request to `endpoint` is throttled (429, Retry-After: 1).
    pub(super) fn throttles(&self, endpoint: &'static str) -> bool {
        self.varies(Variation::ShortRateLimit)
            && self
                .throttled
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(endpoint)
    }

    pub(super) fn issuer(&self) -> String {
        let issuer = format!("{}/as", self.as_origin);
        if self.has(Fault::IssuerWithQuery) {
            format!("{issuer}?tenant=1")
        } else {
            issuer
        }
    }

    /// An issuer nobody trusts, whose tokens the minting endpoint signs with the trusted key
    /// (so only an `iss` check refuses them).
    pub(super) fn foreign_issuer(&self) -> String {
        format!("{}/foreign-as", self.as_origin)
    }

    /// An access token's claims: for `resource` (RFC 8707; its `aud`), living `lifetime`.
    pub(super) fn claims(
        &self,
        jti: String,
        client_id: &str,
        scope: Option<String>,
        resource: Option<String>,
        lifetime: std::time::Duration,
    ) -> signing::Claims {
        let now = signing::now();
        // Without a resource, the MCP server this AS serves (a test issuer serves none).
        let resource = resource.or_else(|| (!self.any_resource).then(|| self.mcp_url()));
        signing::Claims {
            iss: self.issuer(),
            sub: LOGIN_USER.to_owned(),
            // Limited to the resource, unless faulty: then the issuer too.
            aud: resource.map(|r| match self.has(Fault::AudienceNotLimited) {
                true => signing::Audience::Many(vec![r, self.issuer()]),
                false => signing::Audience::One(r),
            }),
            client_id: client_id.to_owned(),
            scope,
            iat: now,
            nbf: None,
            exp: now + lifetime.as_secs(),
            jti,
        }
    }
}

/// Fault public-plain-http's names for the resource server and the AS (RFC 6761 `.test`: never
/// a real host).
const PUBLIC_RS_NAME: &str = "mcp.reference.test";
const PUBLIC_AS_NAME: &str = "as.reference.test";

/// A running reference target; stops when dropped.
pub struct Reference {
    pub mcp_url: String,
    pub issuer: String,
    /// Another resource its AS serves (config `second_resource` for a run against it).
    pub second_resource: String,
    /// Where the suite gets the tokens no flow gives (config `mint_endpoint`).
    pub mint_endpoint: String,
    /// The public keys of its access tokens.
    pub jwks_uri: String,
    resolves: Vec<(String, std::net::IpAddr)>,
    state: Arc<State>,
    _stop: Vec<oneshot::Sender<()>>,
}

impl Reference {
    /// Binds both servers on 127.0.0.1 ephemeral ports and serves them on the current runtime.
    pub async fn start(faults: &[Fault]) -> std::io::Result<Reference> {
        Self::start_with(faults, Options::default()).await
    }

    /// As [`Reference::start`], with the options of the `reference` command.
    pub async fn start_with(faults: &[Fault], options: Options) -> std::io::Result<Reference> {
        let seeded = options.randomness;
        let rs_listener = bind(seeded.port("reference resource server")).await?;
        let as_listener = match options.as_port {
            Some(port) => TcpListener::bind(("127.0.0.1", port)).await?,
            None => bind(seeded.port("reference authorization server")).await?,
        };
        let (rs_addr, as_addr) = (rs_listener.local_addr()?, as_listener.local_addr()?);
        let proxy = options.proxy
            || faults.iter().any(|f| f.needs_proxy())
            || options.variations.contains(&Variation::ProxyRemembersConsent)
            || options.variations.contains(&Variation::ProxyLoginPageFirst);
        let upstream_listener = match proxy {
            true => Some(bind(seeded.port("reference upstream authorization server")).await?),
            false => None,
        };
        let upstream_origin = match &upstream_listener {
            Some(l) => Some(format!("http://{}", l.local_addr()?)),
            None => None,
        };
        // Fault public-plain-http: both servers under public names, still plain http (a run
        // reaches them with `--resolve`, as `resolves` says).
        let public = faults.contains(&Fault::PublicPlainHttp) || faults.contains(&Fault::PublicPlainHttp0326);
        let origin = |addr: SocketAddr, name: &str| match public {
            true => format!("http://{name}:{}", addr.port()),
            false => format!("http://{addr}"),
        };
        let resolves = match public {
            true => vec![
                (PUBLIC_RS_NAME.to_owned(), rs_addr.ip()),
                (PUBLIC_AS_NAME.to_owned(), as_addr.ip()),
            ],
            false => Vec::new(),
        };
        let state = Arc::new(State {
            faults: faults.iter().copied().collect(),
            variations: options.variations.iter().copied().collect(),
            rs_origin: origin(rs_addr, PUBLIC_RS_NAME),
            as_origin: origin(as_addr, PUBLIC_AS_NAME),
            store: flow_endpoints::new_store(seeded.rng("reference ids")),
            login_form: options.login_form || options.login_script,
            login_script: options.login_script,
            upstream_origin,
            code_lifetime: options.code_lifetime.unwrap_or(std::time::Duration::from_secs(60)),
            token_lifetime: options.token_lifetime.unwrap_or(std::time::Duration::from_secs(3600)),
            any_resource: options.any_resource,
            scopes: words(
                options
                    .scopes
                    .as_deref()
                    .unwrap_or("mcp:tools mcp:admin offline_access"),
            ),
            advertised_scopes: words(options.scopes.as_deref().unwrap_or("mcp:tools")),
            throttled: Default::default(),
            signer: signing::Signer::generate("reference-1"),
            documents: std::sync::OnceLock::new(),
            document_roots: options.document_roots.clone(),
            document_hosts: options.document_hosts.clone(),
        });
        let mcp_url = state.mcp_url();
        let issuer = state.issuer();
        let second_resource = state.second_resource();
        let mint_endpoint = format!("{}/as/mint", state.as_origin);
        let jwks_uri = format!("{}/as/jwks", state.as_origin);
        let close_idle = state.varies(Variation::CloseIdleConnections);
        let mut stop = vec![
            serve(rs_listener, resource_server::router(state.clone()), close_idle),
            serve(as_listener, authorization_server::router(state.clone()), close_idle),
        ];
        if let Some(listener) = upstream_listener {
            stop.push(serve(listener, upstream::router(state.clone()), close_idle));
        }
        Ok(Reference {
            mcp_url,
            issuer,
            second_resource,
            mint_endpoint,
            jwks_uri,
            resolves,
            state,
            _stop: stop,
        })
    }

    /// The names a run must resolve itself to reach this target (`run --resolve`): none,
    /// unless fault public-plain-http gave its servers public names.
    pub fn resolves(&self) -> &[(String, std::net::IpAddr)] {
        &self.resolves
    }

    /// Fills what a run against this target needs and a black box cannot discover (unless
    /// configured): its AS's second resource, the privileged call and its minting endpoint.
    pub fn fill_config(&self, config: &mut crate::config::TargetConfig) {
        config.mint_endpoint.get_or_insert_with(|| self.mint_endpoint.clone());
        config
            .second_resource
            .get_or_insert_with(|| self.second_resource.clone());
        let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": resource_server::PRIVILEGED_TOOL, "arguments": {}}});
        config.privileged_request.get_or_insert_with(|| call.to_string());
        config
            .privileged_scope
            .get_or_insert_with(|| resource_server::PRIVILEGED_SCOPE.to_owned());
        config.state_handle.get_or_insert_with(super::state_handles::config);
        // A proxy: where its upstream AS authorizes, and a driver that passes its consent page.
        if let Some(upstream) = &self.state.upstream_origin {
            config.proxy.get_or_insert_with(|| crate::config::Proxy {
                upstream_authorization_endpoint: format!("{upstream}{}", upstream::AUTHORIZE),
                fill_upstream_forms: false,
            });
            if matches!(config.consent, ConsentDriver::Redirects) {
                config.consent = ConsentDriver::Form(FormSettings {
                    fields: Vec::new(),
                    submit: vec!["approve".to_owned()],
                    refused_origins: Vec::new(),
                });
            }
        }
        // Its scope hierarchy: the privileged scope implies the basic one.
        config
            .broad_scope
            .get_or_insert_with(|| resource_server::PRIVILEGED_SCOPE.to_owned());
    }

    /// Every secret the target has issued so far (for redaction audits).
    pub fn issued_secrets(&self) -> Vec<String> {
        self.state.store.lock().unwrap_or_else(|p| p.into_inner()).issued()
    }
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

/// A listener on 127.0.0.1:`port`; a seeded port that is taken gives way to a free one (the
/// run goes on; only its URLs differ from another run with that seed), saying so.
async fn bind(port: u16) -> std::io::Result<TcpListener> {
    match TcpListener::bind(("127.0.0.1", port)).await {
        Err(e) if port != 0 => {
            eprintln!("note: port {port} (from --seed) is taken ({e}); the reference uses another");
            TcpListener::bind("127.0.0.1:0").await
        }
        bound => bound,
    }
}

fn serve(listener: TcpListener, router: axum::Router, close_idle: bool) -> oneshot::Sender<()> {
    let (tx, rx) = oneshot::channel::<()>();
    if close_idle {
        tokio::spawn(serve_closing_idle(listener, router, rx));
        return tx;
    }
    tokio::spawn(async move {
        let shutdown = async {
            let _ = rx.await;
        };
        // A serve error ends this server only; the run then sees connection errors.
        let _ = axum::serve(listener, router).with_graceful_shutdown(shutdown).await;
    });
    tx
}

/// How long a keep-alive connection may sit idle under `close-idle-connections`.
const IDLE_CLOSE: std::time::Duration = std::time::Duration::from_millis(20);

/// Serves each connection itself and drops it once it has been idle for [`IDLE_CLOSE`] after
/// an answer, with no request in progress, without a `Connection: close` (RFC 9112 §9.5 lets a server close
/// at any time). A client that reuses such a connection sees it closed under its request.
async fn serve_closing_idle(listener: TcpListener, router: axum::Router, mut stop: oneshot::Receiver<()>) {
    use hyper_util::rt::TokioIo;
    use std::sync::atomic::{AtomicUsize, Ordering};
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = &mut stop => return,
        };
        // Requests begun and answered on this connection.
        let counts = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
        let counter = counts.clone();
        let router = router.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let router = router.clone();
            let counter = counter.clone();
            counter.0.fetch_add(1, Ordering::SeqCst);
            async move {
                let response = tower::ServiceExt::oneshot(router, request.map(axum::body::Body::new)).await;
                counter.1.fetch_add(1, Ordering::SeqCst);
                response
            }
        });
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let mut idle_since = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    _ = connection.as_mut() => return,
                    _ = tokio::time::sleep(IDLE_CLOSE / 4) => {
                        let (begun, answered) = (counts.0.load(Ordering::SeqCst), counts.1.load(Ordering::SeqCst));
                        // Idle: after an answer, with no request in progress.
                        if answered == 0 || begun > answered {
                            idle_since = tokio::time::Instant::now();
                        } else if idle_since.elapsed() >= IDLE_CLOSE {
                            return; // dropped: the socket closes, unannounced
                        }
                    }
                }
            }
        });
    }
}
