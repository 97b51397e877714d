//! The real-implementation tier: each peer in `fixtures/peers/` is started with its own
//! `start.sh`, the suite runs against it in every spec version, and each verdict must equal
//! the one pinned in `fixtures/peers/pins/<peer>.toml`, where every fail and warn carries the
//! hand-verified evidence (what curl showed). A changed verdict fails with a readable diff.
//!
//! The peers need Node 20+ and npm, so plain `cargo test` leaves these tests out and
//! `.ci/run` runs them (`cargo test --test peers -- --ignored`). After a deliberate change,
//! `MCP_PEERS_UPDATE=1 cargo test --test peers -- --ignored` rewrites the verdicts and keeps
//! the notes; every new fail or warn then needs its note before the test passes again.
//! `MCP_PEERS_DEBUG=1` prints the message of every verdict that is not a pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use mcp_auth_conformance::case::{self, CaseSet};
use mcp_auth_conformance::config::{self, TargetConfig};
use mcp_auth_conformance::discovery::Target;
use mcp_auth_conformance::http::HttpClient;
use mcp_auth_conformance::http::redact::Redactor;
use mcp_auth_conformance::oauth::cimd::ca::LoopbackCa;
use mcp_auth_conformance::run;
use mcp_auth_conformance::spec::SpecVersion;
use mcp_auth_conformance::suite::Suite;
use mcp_auth_conformance::verdict::Outcome;

/// A peer set-up: its folder, the environment its `start.sh` gets, its MCP endpoint, and
/// optionally a target configuration (in its folder). Ports differ from the peers' defaults
/// so a copy a developer keeps running does not collide.
struct Peer {
    pins: &'static str,
    dir: &'static str,
    env: &'static [(&'static str, &'static str)],
    target: &'static str,
    config: Option<&'static str>,
    /// Client ID metadata documents over https: the run's loopback CA is made in the
    /// folder's `run/cimd-ca`, the peer trusts it (`OIDC_CIMD_CA`), the run serves its
    /// documents with it, named `https://localhost:3462` (the peer's SSRF guard allows that
    /// name only); only the versions that have CIMD (2025-11-25+) run.
    cimd: bool,
    /// The requirements its pins hold (empty: all): a peer there for some rules only.
    only: &'static [&'static str],
}

const TS_SDK: Peer = Peer {
    pins: "ts-sdk",
    dir: "ts-sdk",
    env: &[("MCP_PORT", "3160"), ("MCP_AUTH_PORT", "3161")],
    target: "http://localhost:3160/mcp",
    config: None,
    cimd: false,
    only: &[],
};

const TS_SDK_STRICT: Peer = Peer {
    pins: "ts-sdk-strict",
    dir: "ts-sdk",
    env: &[("MCP_PORT", "3160"), ("MCP_AUTH_PORT", "3161"), ("TS_SDK_STRICT", "1")],
    target: "http://localhost:3160/mcp",
    config: None,
    cimd: false,
    only: &[],
};

const OIDC_PROVIDER: Peer = Peer {
    pins: "oidc-provider",
    dir: "oidc-provider",
    env: &[("OIDC_AS_PORT", "3460"), ("OIDC_RS_PORT", "3461")],
    target: "http://127.0.0.1:3461/mcp",
    config: None,
    cimd: false,
    only: &[],
};

const OIDC_PROVIDER_CIMD: Peer = Peer {
    pins: "oidc-provider-cimd",
    dir: "oidc-provider",
    env: &[("OIDC_AS_PORT", "3460"), ("OIDC_RS_PORT", "3461")],
    target: "http://127.0.0.1:3461/mcp",
    config: None,
    cimd: true,
    only: &[],
};

const OIDC_PROVIDER_CONFIGURED: Peer = Peer {
    pins: "oidc-provider-configured",
    dir: "oidc-provider",
    env: &[("OIDC_AS_PORT", "3460"), ("OIDC_RS_PORT", "3461")],
    target: "http://127.0.0.1:3461/mcp",
    config: Some("target.toml"),
    cimd: false,
    only: &[],
};

/// FastMCP's OAuthProxy (PyPI fastmcp 4.2.3) in front of an oidc-provider upstream under one
/// static client id: a real MCP proxy, pinned for the proxy rules (its other verdicts are its
/// AS's and the MCP SDK's, pinned with the other peers).
const FASTMCP_PROXY: Peer = Peer {
    pins: "fastmcp-proxy",
    dir: "fastmcp-proxy",
    env: &[("OIDC_AS_PORT", "3470"), ("PROXY_PORT", "3471")],
    target: "http://127.0.0.1:3471/mcp",
    config: Some("target.toml"),
    cimd: false,
    only: mcp_auth_conformance::reference::PROXY_REQUIREMENTS,
};

/// The same with its consent screen off (`require_authorization_consent=False`, which FastMCP
/// documents as insecure): the proxy rules' known failures on a real proxy.
const FASTMCP_PROXY_NO_CONSENT: Peer = Peer {
    pins: "fastmcp-proxy-no-consent",
    env: &[("OIDC_AS_PORT", "3470"), ("PROXY_PORT", "3471"), ("CONSENT", "false")],
    ..FASTMCP_PROXY
};

/// django-oauth-toolkit 3.4.1 (PyPI) as a separate AS: Django's login form, its consent page,
/// one pre-registered public client (no DCR), PKCE required; the resource server is the Python
/// MCP SDK 2.3.0's, validating tokens by RFC 7662 introspection.
const DJANGO_OAUTH_TOOLKIT: Peer = Peer {
    pins: "django-oauth-toolkit",
    dir: "django-oauth-toolkit",
    env: &[("DOT_AS_PORT", "3480"), ("DOT_RS_PORT", "3481")],
    target: "http://127.0.0.1:3481/mcp",
    config: Some("target.toml"),
    cimd: false,
    only: &[],
};

/// better-auth 1.7.5 with its MCP plugin (npm): AS and MCP endpoint on one origin, open
/// dynamic registration (loopback http for native clients only), in memory; the login and
/// consent pages are the set-up's plain forms over better-auth's JSON API.
const BETTER_AUTH: Peer = Peer {
    pins: "better-auth",
    dir: "better-auth",
    env: &[("BA_PEER_PORT", "3490")],
    target: "http://127.0.0.1:3490/mcp",
    config: Some("target.toml"),
    cimd: false,
    only: &[],
};

/// Cloudflare's workers-oauth-provider 1.2.3 (npm) under Node, its Workers runtime shimmed:
/// AS and MCP endpoint on one origin, open dynamic registration, a consent page built with
/// its consent helpers, in memory.
const CLOUDFLARE_OAUTH: Peer = Peer {
    pins: "cloudflare-oauth",
    dir: "cloudflare-oauth",
    env: &[("CF_PEER_PORT", "3500")],
    target: "http://127.0.0.1:3500/mcp",
    config: Some("target.toml"),
    cimd: false,
    only: &[],
};

/// The pinned verdicts of one peer set-up: by spec version, requirement id -> outcome; and
/// the evidence of every fail or warn, by requirement id.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Pins {
    #[serde(default)]
    notes: BTreeMap<String, String>,
    #[serde(default)]
    verdicts: BTreeMap<String, BTreeMap<String, String>>,
}

fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/peers")
}

/// A started peer; stopped (by the PIDs its start.sh recorded) when dropped, panics included.
struct Running<'a>(&'a Peer);

impl<'a> Running<'a> {
    fn start(peer: &'a Peer) -> Running<'a> {
        let dir = peers_dir().join(peer.dir);
        let ca = peer.cimd.then(|| cimd_ca(peer).cert_path);
        let start = || {
            Command::new("bash")
                .arg(dir.join("start.sh"))
                .envs(peer.env.iter().copied())
                .envs(ca.iter().map(|path| ("OIDC_CIMD_CA", path)))
                .output()
                .expect("bash runs")
        };
        // Node servers started right after their predecessor stopped now and then fail to
        // come up (seen once in about 30 starts); one more try, after a clean stop.
        let mut out = start();
        if !out.status.success() {
            eprintln!(
                "{}/start.sh failed once:\n{}",
                peer.dir,
                String::from_utf8_lossy(&out.stderr)
            );
            let _ = Command::new("bash").arg(dir.join("stop.sh")).output();
            std::thread::sleep(Duration::from_secs(1));
            out = start();
        }
        assert!(
            out.status.success(),
            "{}/start.sh failed:\n{}",
            peer.dir,
            String::from_utf8_lossy(&out.stderr)
        );
        Running(peer)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(peers_dir().join(self.0.dir).join("stop.sh"))
            .output();
    }
}

/// The loopback CA of a CIMD set-up, kept in its folder's `run/` (made on first use).
fn cimd_ca(peer: &Peer) -> LoopbackCa {
    let dir = peers_dir().join(peer.dir).join("run/cimd-ca");
    LoopbackCa::in_dir(&dir).expect("the loopback CA").0
}

/// One run of the suite against the started peer: requirement id -> outcome.
async fn verdicts(cases: &CaseSet, peer: &Peer, version: SpecVersion) -> BTreeMap<String, String> {
    let mut config = match peer.config {
        Some(file) => config::load(&peers_dir().join(peer.dir).join(file)).expect("the peer's configuration loads"),
        None => TargetConfig::default(),
    };
    if peer.cimd {
        config.cimd.https_ca = Some(peers_dir().join(peer.dir).join("run/cimd-ca"));
        config.cimd.base_url = Some("https://localhost:3462".to_owned());
        config.cimd.port = Some(3462);
    }
    let client = HttpClient::new(Duration::from_secs(10), Redactor::default()).expect("client");
    let target = Target::new(peer.target, version).expect("target URL");
    let mut plan = run::plan(cases, version, None);
    plan.retain(|p| peer.only.is_empty() || peer.only.contains(&p.requirement.id.as_str()));
    Suite::new(plan, client, target, config)
        .verdicts()
        .await
        .into_iter()
        .map(|v| {
            if std::env::var_os("MCP_PEERS_DEBUG").is_some() && v.outcome.as_str() != "pass" {
                eprintln!(
                    "DEBUG {version} {} {}: {}",
                    v.requirement,
                    v.outcome.as_str(),
                    v.message.chars().take(400).collect::<String>()
                );
            }
            (v.requirement, v.outcome.as_str().to_owned())
        })
        .collect()
}

/// Runs `peers` one after another (they may share a folder and ports), each restarted for
/// every version (the ts-sdk AS rate-limits registrations per run of the server), and
/// compares with (or, with MCP_PEERS_UPDATE=1, rewrites) their pins.
async fn check(peers: &[&Peer]) {
    let cases = case::load_embedded().expect("embedded cases load");
    let mut problems = Vec::new();
    for peer in peers {
        let path = peers_dir().join("pins").join(format!("{}.toml", peer.pins));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut pins: Pins = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut seen = BTreeMap::new();
        let versions = SpecVersion::ALL.into_iter().filter(|v| *v != SpecVersion::Draft);
        for version in versions.filter(|v| !peer.cimd || *v >= SpecVersion::V2025_11_25) {
            let running = Running::start(peer);
            seen.insert(version.to_string(), verdicts(&cases, peer, version).await);
            drop(running);
        }
        if std::env::var_os("MCP_PEERS_UPDATE").is_some() {
            pins.verdicts = seen.clone();
            std::fs::write(&path, render(peer, &pins)).expect("pins are writable");
        }
        problems.extend(differences(peer.pins, &pins.verdicts, &seen));
        problems.extend(missing_notes(peer.pins, &pins));
    }
    // The README follows the new pins (the plain test may have read the old ones).
    if std::env::var_os("MCP_PEERS_UPDATE").is_some() {
        readme_known_results(true);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One line per requirement whose verdict moved, per version.
fn differences(
    peer: &str,
    pinned: &BTreeMap<String, BTreeMap<String, String>>,
    seen: &BTreeMap<String, BTreeMap<String, String>>,
) -> Vec<String> {
    let mut out = Vec::new();
    let none = BTreeMap::new();
    for (version, got) in seen {
        let want = pinned.get(version).unwrap_or(&none);
        let ids: std::collections::BTreeSet<&String> = want.keys().chain(got.keys()).collect();
        for id in ids {
            let (w, g) = (want.get(id), got.get(id));
            if w != g {
                let show = |o: Option<&String>| o.map_or("(none)", |s| s.as_str()).to_owned();
                out.push(format!("{peer} {version} {id}: pinned {}, now {}", show(w), show(g)));
            }
        }
    }
    out
}

/// Every fail or warn has its evidence; a note for a requirement that no longer fails or
/// warns anywhere is stale.
fn missing_notes(peer: &str, pins: &Pins) -> Vec<String> {
    let findings: std::collections::BTreeSet<&String> = pins
        .verdicts
        .values()
        .flat_map(|v| v.iter())
        .filter(|(_, o)| [Outcome::Fail, Outcome::Warn].iter().any(|f| f.as_str() == o.as_str()))
        .map(|(id, _)| id)
        .collect();
    let mut out: Vec<String> = findings
        .iter()
        .filter(|id| !pins.notes.contains_key(**id))
        .map(|id| format!("{peer} {id}: a fail or warn without a note of its hand-verified evidence"))
        .collect();
    out.extend(
        pins.notes
            .keys()
            .filter(|id| !findings.contains(id))
            .map(|id| format!("{peer} {id}: a note, but no fail or warn (stale)")),
    );
    out
}

fn render(peer: &Peer, pins: &Pins) -> String {
    let header = format!(
        "# Pinned verdicts of the suite against {} (fixtures/peers/{}), checked by\n\
         # `cargo test --test peers -- --ignored`. `verdicts` are rewritten by MCP_PEERS_UPDATE=1;\n\
         # `notes` are written by hand: the evidence (what curl showed) for every fail and warn.\n\n",
        peer.pins, peer.dir
    );
    header + &toml::to_string(pins).expect("pins serialize")
}

/// All pinned set-ups, in the order of the README's table.
const ALL: [&Peer; 10] = [
    &TS_SDK,
    &TS_SDK_STRICT,
    &OIDC_PROVIDER,
    &OIDC_PROVIDER_CONFIGURED,
    &OIDC_PROVIDER_CIMD,
    &FASTMCP_PROXY,
    &FASTMCP_PROXY_NO_CONSENT,
    &DJANGO_OAUTH_TOOLKIT,
    &BETTER_AUTH,
    &CLOUDFLARE_OAUTH,
];

fn load_pins(peer: &Peer) -> Pins {
    let path = peers_dir().join("pins").join(format!("{}.toml", peer.pins));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The README's "Known results": per set-up and version the verdict counts, then every
/// requirement that fails or warns somewhere, with the versions where it does.
fn known_results(pins: &[(&Peer, Pins)]) -> String {
    let mut out = String::from(
        "| set-up | 2025-03-26 | 2025-06-18 | 2025-11-25 | 2026-07-28 |\n| --- | --- | --- | --- | --- |\n",
    );
    for (peer, p) in pins {
        let counts: Vec<String> = ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"]
            .iter()
            .map(|version| match p.verdicts.get(*version) {
                Some(v) => {
                    let n = |o: &str| v.values().filter(|x| x.as_str() == o).count();
                    format!("{}/{}/{}/{}", n("pass"), n("fail"), n("warn"), n("skip"))
                }
                None => "(not run)".to_owned(),
            })
            .collect();
        out.push_str(&format!("| {} | {} |\n", peer.pins, counts.join(" | ")));
    }
    out.push_str("\nCounts are pass/fail/warn/skip. Where a requirement fails or warns:\n\n| requirement |");
    for (peer, _) in pins {
        out.push_str(&format!(" {} |", peer.pins));
    }
    out.push_str(&format!("\n| --- |{}\n", " --- |".repeat(pins.len())));
    let findings: std::collections::BTreeSet<&String> = pins.iter().flat_map(|(_, p)| p.notes.keys()).collect();
    for id in findings {
        out.push_str(&format!("| `{id}` |"));
        for (_, p) in pins {
            let mut cell: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (version, verdicts) in &p.verdicts {
                if let Some(o) = verdicts.get(id).filter(|o| *o == "fail" || *o == "warn") {
                    cell.entry(o.as_str()).or_default().push(&version[5..]);
                }
            }
            let text: Vec<String> = cell.iter().map(|(o, vs)| format!("{o} ({})", vs.join(", "))).collect();
            out.push_str(&format!(" {} |", text.join("; ")));
        }
        out.push('\n');
    }
    out
}

const KNOWN_START: &str = "<!-- known results: generated from fixtures/peers/pins -->\n";
const KNOWN_END: &str = "<!-- end of known results -->";

/// The pins are whole (every fail and warn has its evidence, no stale notes), and the
/// README's "Known results" are rendered from them. No Node needed: plain `cargo test`.
#[test]
fn pins_carry_their_evidence_and_the_readme_shows_them() {
    let pins: Vec<(&Peer, Pins)> = ALL.iter().map(|p| (*p, load_pins(p))).collect();
    let problems: Vec<String> = pins.iter().flat_map(|(peer, p)| missing_notes(peer.pins, p)).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let (shown, rendered) = readme_known_results(std::env::var_os("MCP_PEERS_UPDATE").is_some());
    assert_eq!(
        shown, rendered,
        "README's known results are stale: MCP_PEERS_UPDATE=1 cargo test --test peers"
    );
}

/// The README's known results as shown and as the pins render them; with `update`, the
/// README is rewritten to show the rendering.
fn readme_known_results(update: bool) -> (String, String) {
    let pins: Vec<(&Peer, Pins)> = ALL.iter().map(|p| (*p, load_pins(p))).collect();
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md");
    let (start, end) = (readme.find(KNOWN_START), readme.find(KNOWN_END));
    let (Some(start), Some(end)) = (start, end) else {
        panic!("README.md lacks the known-results markers");
    };
    let rendered = known_results(&pins);
    if update {
        let updated = format!("{}{rendered}{}", &readme[..start + KNOWN_START.len()], &readme[end..]);
        std::fs::write(&readme_path, updated).expect("README.md is writable");
        return (rendered.clone(), rendered);
    }
    (readme[start + KNOWN_START.len()..end].to_owned(), rendered)
}

#[test]
fn a_moved_verdict_and_a_finding_without_evidence_are_reported() {
    let version = |pairs: &[(&str, &str)]| {
        let v: BTreeMap<String, String> = pairs.iter().map(|(k, o)| (k.to_string(), o.to_string())).collect();
        BTreeMap::from([("2026-07-28".to_owned(), v)])
    };
    let pinned = version(&[("a", "pass"), ("b", "fail")]);
    let seen = version(&[("a", "fail"), ("b", "fail"), ("c", "skip")]);
    assert_eq!(
        differences("p", &pinned, &seen),
        [
            "p 2026-07-28 a: pinned pass, now fail",
            "p 2026-07-28 c: pinned (none), now skip"
        ]
    );
    let pins = Pins {
        notes: BTreeMap::from([("a".to_owned(), "curl: 200".to_owned())]),
        verdicts: version(&[("a", "pass"), ("b", "warn")]),
    };
    assert_eq!(
        missing_notes("p", &pins),
        [
            "p b: a fail or warn without a note of its hand-verified evidence",
            "p a: a note, but no fail or warn (stale)"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Node 20+ and npm; .ci/run runs it"]
async fn ts_sdk_verdicts_are_the_pinned_ones() {
    check(&[&TS_SDK, &TS_SDK_STRICT]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Node 20+ and npm; .ci/run runs it"]
async fn better_auth_verdicts_are_the_pinned_ones() {
    check(&[&BETTER_AUTH]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Node 20+ and npm; .ci/run runs it"]
async fn cloudflare_oauth_verdicts_are_the_pinned_ones() {
    check(&[&CLOUDFLARE_OAUTH]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python 3 with PyPI; .ci/run runs it"]
async fn django_oauth_toolkit_verdicts_are_the_pinned_ones() {
    check(&[&DJANGO_OAUTH_TOOLKIT]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Node 20+ and npm (and Python 3 with PyPI for FastMCP); .ci/run runs it"]
async fn oidc_provider_verdicts_are_the_pinned_ones() {
    // FastMCP's upstream is an oidc-provider from the same install: one after the other.
    check(&[
        &OIDC_PROVIDER,
        &OIDC_PROVIDER_CONFIGURED,
        &OIDC_PROVIDER_CIMD,
        &FASTMCP_PROXY,
        &FASTMCP_PROXY_NO_CONSENT,
    ])
    .await;
}
