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
