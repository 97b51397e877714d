//! The hostile-target matrix: a raw TCP server (no HTTP library, so it can break HTTP itself)
//! answers the MCP request with a proper 401 challenge and breaks one thing per mode, mostly
//! at the PRM the challenge points to. For each mode the whole suite must finish within its
//! time limit, judge the broken exchange `error` (or the right `fail`) and leave unrelated
//! checks alone.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::spec::SpecVersion;
use crate::tests::support::{run_against, verdict};
use crate::verdict::{Outcome, Verdict};

const PRM_PATH: &str = "/.well-known/oauth-protected-resource/mcp";
/// Each exchange's deadline in these runs; a run must end well within a few of them.
const TIMEOUT: Duration = Duration::from_secs(2);
const RUN_LIMIT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    ResetMidResponse,
    HeadersNeverFinish,
    TrickleBody,
    GigabyteBody,
    GzipBomb,
    RedirectLoop,
    RedirectOffHost,
    TenThousandChallenges,
    MegabyteHeader,
    InvalidUtf8,
    ControlCharsInChallenge,
    DeepJson,
    Http10CloseDelimited,
    BadChunkSize,
    ForeignEndpoints,
}

/// Serves `mode` on 127.0.0.1 until the test ends; the MCP endpoint's URL.
async fn start(mode: Mode) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let url = format!("{origin}/mcp");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(answer(socket, mode, origin.clone()));
        }
    });
    url
}

async fn answer(mut socket: TcpStream, mode: Mode, origin: String) {
    let Some(path) = request_path(&mut socket).await else {
        return;
    };
    let _ = respond(&mut socket, mode, &origin, &path).await;
}

/// Reads the request head (capped) and returns its path.
async fn request_path(socket: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace().nth(1).map(str::to_owned)
}

async fn respond(socket: &mut TcpStream, mode: Mode, origin: &str, path: &str) -> std::io::Result<()> {
    let prm_url = format!("{origin}{PRM_PATH}");
    if path.starts_with("/mcp") {
        let challenge = format!("WWW-Authenticate: Bearer resource_metadata=\"{prm_url}\"\r\n");
        let mut head = String::from("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n");
        match mode {
            Mode::TenThousandChallenges => head.push_str(&challenge.repeat(10_000)),
            Mode::ControlCharsInChallenge => head.push_str(&format!(
                "WWW-Authenticate: Bearer realm=\"a\u{1}b\", resource_metadata=\"{prm_url}\"\r\n"
            )),
            _ => head.push_str(&challenge),
        }
        head.push_str("\r\n");
        return socket.write_all(head.as_bytes()).await;
    }
    let prm = format!(r#"{{"resource":"{origin}/mcp","authorization_servers":["{origin}"]}}"#);
    let json_head = |len: usize| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
        )
    };
    if path != PRM_PATH {
        if mode == Mode::ForeignEndpoints && path == "/.well-known/oauth-authorization-server" {
            let doc = format!(
                r#"{{"issuer":"{origin}","authorization_endpoint":"javascript:alert(1)","token_endpoint":"file:///etc/passwd","registration_endpoint":"http://registration.example.test/register","response_types_supported":["code"],"code_challenge_methods_supported":["S256"]}}"#
            );
            return socket
                .write_all(format!("{}{doc}", json_head(doc.len())).as_bytes())
                .await;
        }
        return socket
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await;
    }
    match mode {
        Mode::ResetMidResponse => {
            socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"res")
                .await?;
            // SO_LINGER 0: closing sends RST, not FIN. (Deprecated because a non-zero linger
            // blocks the thread on drop; a zero one returns at once.)
            #[allow(deprecated)]
            socket.set_linger(Some(Duration::ZERO))?;
            Ok(())
        }
        Mode::HeadersNeverFinish => {
            socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
                .await?;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
        Mode::TrickleBody => {
            socket.write_all(json_head(prm.len()).as_bytes()).await?;
            for byte in prm.as_bytes() {
                socket.write_all(&[*byte]).await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Ok(())
        }
        Mode::GigabyteBody => {
            socket.write_all(json_head(1 << 30).as_bytes()).await?;
            let chunk = vec![b' '; 64 * 1024];
            for _ in 0..(1 << 14) {
                socket.write_all(&chunk).await?;
            }
            Ok(())
        }
        Mode::GzipBomb => {
            // Content-Encoding the client never asked for: judged raw, never inflated.
            let bomb = gzip_of_zeros();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bomb.len()
            );
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(&bomb).await
        }
        Mode::RedirectLoop => {
            let head =
                format!("HTTP/1.1 302 Found\r\nLocation: {prm_url}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            socket.write_all(head.as_bytes()).await
        }
        Mode::RedirectOffHost => {
            let head = "HTTP/1.1 302 Found\r\nLocation: http://elsewhere.example.test/prm\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            socket.write_all(head.as_bytes()).await
        }
        Mode::MegabyteHeader => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nX-Padding: {}\r\nConnection: close\r\n",
                "a".repeat(1 << 20)
            );
            socket.write_all(head.as_bytes()).await?;
            // The rest of an ordinary head, without its status line.
            let rest = json_head(prm.len()).replacen("HTTP/1.1 200 OK\r\n", "", 1);
            socket.write_all(rest.as_bytes()).await?;
            socket.write_all(prm.as_bytes()).await
        }
        Mode::InvalidUtf8 => {
            let mut body = prm.clone().into_bytes();
            body.splice(2..2, [0xff, 0xfe]);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Bad: \u{7f}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(&body).await
        }
        Mode::DeepJson => {
            let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
            socket.write_all(json_head(body.len()).as_bytes()).await?;
            socket.write_all(body.as_bytes()).await
        }
        Mode::Http10CloseDelimited => {
            // HTTP/1.0, no Content-Length: the body ends when the connection closes.
            socket
                .write_all(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n")
                .await?;
            socket.write_all(prm.as_bytes()).await
        }
        Mode::BadChunkSize => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(b"zz\r\n{}\r\n0\r\n\r\n").await
        }
        Mode::ControlCharsInChallenge | Mode::TenThousandChallenges | Mode::ForeignEndpoints => {
            socket.write_all(json_head(prm.len()).as_bytes()).await?;
            socket.write_all(prm.as_bytes()).await
        }
    }
}

/// Bytes that start like gzip. The client is built without reqwest's decompression features,
/// so no Content-Encoding is ever inflated (no bomb can go off): they are judged as they came.
fn gzip_of_zeros() -> Vec<u8> {
    let mut bytes = vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];
    bytes.extend(std::iter::repeat_n(0u8, 1024));
    bytes
}

/// Runs the suite (2025-06-18: PRM is required) against `mode` and returns the verdicts and
/// how long the run took.
async fn run(mode: Mode) -> (Vec<Verdict>, Duration) {
    let url = start(mode).await;
    let started = Instant::now();
    let verdicts = run_against(&url, SpecVersion::V2025_06_18, TIMEOUT).await;
    (verdicts, started.elapsed())
}

fn outcome(verdicts: &[Verdict], id: &str) -> Outcome {
    verdict(verdicts, id).outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_mode_ends_in_time_with_verdicts_on_what_it_breaks() {
    use Mode::*;
    let broken_prm = [
        ResetMidResponse,
        HeadersNeverFinish,
        TrickleBody,
        GigabyteBody,
        GzipBomb,
        RedirectLoop,
        RedirectOffHost,
        MegabyteHeader,
        InvalidUtf8,
        DeepJson,
        BadChunkSize,
    ];
    let runs = futures::future::join_all(broken_prm.iter().map(|&m| async move { (m, run(m).await) })).await;
    let mut problems = Vec::new();
    for (mode, (verdicts, took)) in runs {
        if took > RUN_LIMIT {
            problems.push(format!("{mode:?}: the run took {took:?}"));
        }
        // Unrelated: the 401 and its challenge stay judged as they are.
        if outcome(&verdicts, "rs.challenge.401-no-token") != Outcome::Pass {
            problems.push(format!("{mode:?}: the 401 check did not pass"));
        }
        // The broken PRM is never a pass: an error (could not tell) or a fail (a bad answer).
        let prm = outcome(&verdicts, "rs.prm.implemented");
        if !matches!(prm, Outcome::Error | Outcome::Fail) {
            let message = &verdict(&verdicts, "rs.prm.implemented").message;
            problems.push(format!("{mode:?}: rs.prm.implemented is {prm:?}: {message}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_challenge_is_judged_and_the_rest_goes_on() {
    let (verdicts, took) = run(Mode::TenThousandChallenges).await;
    assert!(took < RUN_LIMIT, "{took:?}");
    // Ten thousand header lines exceed what the client parses: the request errs, so every
    // check on it is an error, never a pass.
    let v = verdict(&verdicts, "rs.challenge.401-no-token");
    assert_eq!(v.outcome, Outcome::Error, "{}", v.message);
    assert!(v.message.contains("too large"), "{}", v.message);
    // A control character in a header value is not HTTP (RFC 9110 §5.5): the client refuses
    // the response, so what needed it errs, saying why.
    let (verdicts, took) = run(Mode::ControlCharsInChallenge).await;
    assert!(took < RUN_LIMIT, "{took:?}");
    let v = verdict(&verdicts, "rs.challenge.401-no-token");
    assert_eq!(v.outcome, Outcome::Error, "{}", v.message);
    assert!(v.message.contains("invalid HTTP header parsed"), "{}", v.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_delimited_http_1_0_answer_is_read_whole() {
    let (verdicts, _) = run(Mode::Http10CloseDelimited).await;
    assert_eq!(outcome(&verdicts, "rs.prm.implemented"), Outcome::Pass);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_on_other_schemes_and_hosts_are_judged_never_called() {
    let (verdicts, took) = run(Mode::ForeignEndpoints).await;
    assert!(took < RUN_LIMIT, "{took:?}");
    for v in &verdicts {
        for e in &v.evidence {
            let url = &e.request.url;
            assert!(
                url.starts_with("http://127.0.0.1:"),
                "{}: requested {url}",
                v.requirement
            );
        }
    }
    assert_ne!(outcome(&verdicts, "as.metadata.endpoint-urls-https"), Outcome::Pass);
}

/// A TLS server whose certificate no platform trusts: every exchange is an error naming the
/// certificate, unless the run trusts its CA (`--ca-cert`); then the checks proceed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_an_error_unless_its_ca_is_trusted() {
    use std::sync::Arc;

    use crate::config::TargetConfig;
    use crate::discovery::Target;
    use crate::http::{HttpClient, redact::Redactor};
    use crate::run;
    use crate::suite::Suite;

    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("a certificate");
    let cert = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("https://{}/mcp", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let mut buf = [0u8; 8192];
                let _ = tls.read(&mut buf).await;
                let reply = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    let cases = crate::case::load_embedded().expect("embedded cases load");
    let plan = run::plan(&cases, SpecVersion::V2025_03_26, Some("rs.challenge.401-no-token"));
    let run_with = async |roots: Vec<rustls::pki_types::CertificateDer<'static>>| {
        let client = HttpClient::trusting(TIMEOUT, Redactor::default(), roots).expect("client");
        let target = Target::new(&url, SpecVersion::V2025_03_26).expect("target");
        Suite::new(plan.clone(), client, target, TargetConfig::default())
            .verdicts()
            .await
    };
    let untrusted = run_with(Vec::new()).await;
    assert_eq!(untrusted[0].outcome, Outcome::Error, "{}", untrusted[0].message);
    assert!(untrusted[0].message.contains("certificate"), "{}", untrusted[0].message);
    let trusted = run_with(vec![cert]).await;
    assert_eq!(trusted[0].outcome, Outcome::Pass, "{}", trusted[0].message);
}
