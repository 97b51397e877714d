//! The three ways the run's client ID metadata documents are reachable: http on loopback
//! (the default, proven by the fault matrix), https with the run's loopback CA, and a public
//! base URL (here a loopback stand-in for the user's proxy), checked by the run fetching its
//! own document before any check relies on it.

use std::time::Duration;

use crate::case;
use crate::config::{DocumentHosting, TargetConfig};
use crate::discovery::Target;
use crate::http::{HttpClient, Request, redact::Redactor};
use crate::oauth::cimd::ca::LoopbackCa;
use crate::oauth::cimd::{DocumentHost, Hosting};
use crate::reference::{Options, Reference};
use crate::run;
use crate::spec::SpecVersion;
use crate::suite::Suite;
use crate::verdict::{Outcome, Verdict};

const TIMEOUT: Duration = Duration::from_secs(10);

/// The CIMD verdicts of a whole run against the reference under 2026-07-28, and how the
/// flows' client identified itself.
async fn cimd_run(reference: &Reference, cimd: DocumentHosting) -> (Vec<Verdict>, Option<String>) {
    let cases = case::load_embedded().expect("embedded cases load");
    let version = SpecVersion::V2026_07_28;
    let client = HttpClient::new(TIMEOUT, Redactor::default()).expect("client");
    let target = Target::new(&reference.mcp_url, version).expect("target");
    let config = TargetConfig {
        cimd,
        ..TargetConfig::default()
    };
    let suite = Suite::new(run::plan(&cases, version, None), client, target, config);
    let mut verdicts = suite.verdicts().await;
    verdicts.retain(|v| v.requirement.contains("cimd"));
    let mode = suite.ctx.client_mode().map(|m| m.registration.name().to_owned());
    (verdicts, mode)
}

/// Every CIMD verdict is `outcome`, but the SSRF guard's, which needs public documents
/// (`public`) and skips otherwise.
#[track_caller]
fn all(verdicts: &[Verdict], outcome: Outcome, public: bool) {
    assert!(verdicts.len() >= 10, "{} CIMD verdicts", verdicts.len());
    for v in verdicts {
        let expected = match v.requirement.as_str() {
            "as.cimd.ssrf-guard" if !public => Outcome::Skip,
            _ => outcome,
        };
        assert_eq!(v.outcome, expected, "{}: {}", v.requirement, v.message);
    }
}

/// https: the host's certificate chains to the CA kept in the directory (and to nothing
/// else), and an AS trusting that CA judges every CIMD check on https documents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_documents_chain_to_the_runs_loopback_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, created) = LoopbackCa::in_dir(dir.path()).expect("a CA");
    assert!(created);
    let (again, created) = LoopbackCa::in_dir(dir.path()).expect("the same CA");
    assert!(!created, "the CA lasts: an AS pointed at it before the run trusts it");
    let hosting = Hosting {
        tls: Some(again.server_config().expect("TLS")),
        ..Hosting::default()
    };
    let host = DocumentHost::start("http://127.0.0.1:9/cb", None, hosting)
        .await
        .expect("host");
    let url = host.urls().find(|(n, _)| n == "cimd_client").expect("valid").1;
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let trusting = HttpClient::trusting(TIMEOUT, Redactor::default(), vec![ca.root().expect("root")]).expect("client");
    let (_, answer) = trusting.send(&Request::get(&url)).await;
    assert_eq!(answer.expect("fetched over https").status, 200);
    let untrusting = HttpClient::new(TIMEOUT, Redactor::default()).expect("client");
    let (_, answer) = untrusting.send(&Request::get(&url)).await;
    assert!(answer.is_err(), "a client without the CA refuses the certificate");

    // A certificate that is not the key's is refused, saying so.
    let other = tempfile::tempdir().expect("tempdir");
    LoopbackCa::in_dir(other.path()).expect("another CA");
    let mismatched = tempfile::tempdir().expect("tempdir");
    for file in ["ca.pem", "ca-key.pem"] {
        let from = if file == "ca.pem" { other.path() } else { dir.path() };
        std::fs::copy(from.join(file), mismatched.path().join(file)).expect("copy");
    }
    let refused = LoopbackCa::in_dir(mismatched.path()).err().expect("a mismatch");
    assert!(refused.contains("is not the certificate of"), "{refused}");

    let options = Options {
        document_roots: vec![ca.root().expect("root")],
        ..Options::default()
    };
    let reference = Reference::start_with(&[], options).await.expect("reference");
    let https = DocumentHosting {
        https_ca: Some(dir.path().to_owned()),
        ..DocumentHosting::default()
    };
    let (verdicts, mode) = cimd_run(&reference, https).await;
    all(&verdicts, Outcome::Pass, false);
    assert_eq!(mode.as_deref(), Some("cimd"));
}

/// A public base URL: documents are named by it, the run first fetches its own through it,
/// and the AS fetches them there. Here the "proxy" is a loopback forwarder from
/// `/tenant/...` to the host's port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_behind_a_public_base_url_are_judged_once_the_run_reaches_itself() {
    let port = free_port();
    let proxy = forwarder(port).await;
    let guarded = Options::default().guarded();
    let reference = Reference::start_with(&[], guarded).await.expect("reference");
    let public = DocumentHosting {
        base_url: Some(format!("http://localhost:{proxy}/tenant")),
        port: Some(port),
        ..DocumentHosting::default()
    };
    let (verdicts, mode) = cimd_run(&reference, public).await;
    all(&verdicts, Outcome::Pass, true);
    assert_eq!(mode.as_deref(), Some("cimd"));
    let fetch = crate::tests::support::verdict(&verdicts, "as.cimd.fetch");
    assert!(
        fetch.evidence.iter().any(|e| e.request.url.contains(&format!(
            "client_id=http%3A%2F%2Flocalhost%3A{proxy}%2Ftenant%2Fcimd%2F"
        ))),
        "the client id is the public URL: {:?}",
        fetch.evidence.iter().map(|e| &e.request.url).collect::<Vec<_>>()
    );

    // A base URL that does not lead to the host: every CIMD check skips, saying why, and
    // `auto` falls back to DCR.
    let nowhere = DocumentHosting {
        base_url: Some(format!("http://localhost:{}/tenant", free_port())),
        port: Some(free_port()),
        ..DocumentHosting::default()
    };
    let (verdicts, mode) = cimd_run(&reference, nowhere).await;
    all(&verdicts, Outcome::Skip, true);
    let why = &crate::tests::support::verdict(&verdicts, "as.cimd.fetch").message;
    assert!(
        why.contains("cannot fetch its own client ID metadata document"),
        "{why}"
    );
    assert_eq!(mode.as_deref(), Some("dcr"));
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A loopback stand-in for a reverse proxy: `/tenant/<path>` is fetched from
/// `127.0.0.1:<to>/<path>` and answered as is. Its port.
async fn forwarder(to: u16) -> u16 {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let http = HttpClient::new(TIMEOUT, Redactor::default()).expect("client");
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let http = http.clone();
        async move {
            let path = uri.path().strip_prefix("/tenant").unwrap_or("/not-forwarded");
            let (_, answer) = http.send(&Request::get(format!("http://127.0.0.1:{to}{path}"))).await;
            match answer {
                Ok(r) => (axum::http::StatusCode::from_u16(r.status).unwrap_or_default(), r.body).into_response(),
                Err(_) => axum::http::StatusCode::BAD_GATEWAY.into_response(),
            }
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    port
}

use axum::response::IntoResponse;

/// An authorization server's fetch is evidence: against an AS without an SSRF guard, the
/// warning shows the fetch of the host's loopback address, as the host received it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fetch_that_breaks_a_rule_is_shown_as_the_host_received_it() {
    let unguarded = Reference::start_with(
        &[crate::reference::Fault::CimdSsrfUnguarded],
        Options::default().guarded(),
    )
    .await
    .expect("reference");
    let mut config = TargetConfig::default();
    crate::reference::name_documents_for_guard(&mut config);
    let (verdicts, _) = cimd_run(&unguarded, config.cimd).await;
    let v = crate::tests::support::verdict(&verdicts, "as.cimd.ssrf-guard");
    assert_eq!(v.outcome, Outcome::Warn, "{}", v.message);
    // The control's fetch (of the document named `localhost`) and the one that breaks it.
    let fetches: Vec<&crate::http::Exchange> = v.evidence.iter().filter(|e| e.received_by.is_some()).collect();
    assert!(
        fetches.iter().any(|e| e.request.url.starts_with("http://localhost:")),
        "{fetches:?}"
    );
    let fetch = fetches
        .iter()
        .find(|e| e.request.url.ends_with("/loopback.json"))
        .expect("the AS's fetch of the loopback name");
    assert!(
        fetch.request.url.starts_with("http://127.0.0.1:"),
        "{}",
        fetch.request.url
    );
    assert!(fetch.to_text().starts_with("(sent to the run's document host)\n> GET "));
    let curl = v.reproducer().expect("a reproducer");
    assert!(
        !curl.contains("/cimd/"),
        "the reproducer is a request the run sent: {curl}"
    );
}
