//! The `browser` consent driver: headless Chromium carries the authorization request, runs the
//! pages' scripts, fills the configured fields and presses the configured buttons, until the
//! browser is sent to the redirect URI's origin. That request is intercepted and recorded, never
//! sent; any request outside the run's hosts is refused, as the other drivers refuse (but for
//! a page's WebSockets, which the interception does not see).
//!
//! One Chromium serves a run: each authorization gets a browser context of its own (cookies
//! and storage, as a private window), disposed of when it ends.

mod cdp;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::OnceCell;
use tokio::time::Instant;

pub use cdp::find_chromium;
use cdp::{Chromium, Page};

use super::driver::FormSettings;
use super::reported::{origin_of, reported_callback};
use crate::http::{HttpClient, Response};
use crate::observation::{Observation, Observed};

/// The script run in the page at each step (fill, press).
const ACT: &str = include_str!("act.js");

/// How often the driver looks at the page, and how long a page must stay still (no request,
/// nothing to fill or press) before it is judged as it is: an error page, or one it cannot pass.
/// A page without script or form cannot change by itself: it is judged sooner.
const TICK: Duration = Duration::from_millis(50);
const SETTLE: Duration = Duration::from_millis(2000);
const SETTLE_PLAIN: Duration = Duration::from_millis(200);

/// A request under way keeps a page moving from `SLOW` (a sign-in's request takes seconds; a
/// page's polls are quick) up to `PATIENCE` (a long poll or an event stream never ends).
const SLOW: Duration = Duration::from_millis(300);
const PATIENCE: Duration = Duration::from_secs(5);

/// How long the page may take to be read at the time limit (a page busy in a script).
const LAST_LOOK: Duration = Duration::from_secs(2);

/// Buttons pressed in one authorization at most: a two-step login, consent, and spares.
const MAX_PRESSES: usize = 8;

#[derive(Debug, Clone)]
pub struct BrowserSettings {
    /// Fields (keys: a label, name, id, or CSS selector) and the buttons to press (by text,
    /// name, value or id, the first the page shows; none: the filled form's submit button).
    pub form: FormSettings,
    pub timeout: Duration,
    pub executable: PathBuf,
    /// `run --save-failure-screenshots DIR`: where a page the driver could not pass is saved.
    pub screenshots: Option<PathBuf>,
    shared: SharedBrowser,
}

/// The run's one Chromium, started at first use.
#[derive(Clone, Default)]
struct SharedBrowser {
    browser: Arc<OnceCell<Result<Chromium, String>>>,
    screenshots_taken: Arc<AtomicUsize>,
}

impl std::fmt::Debug for SharedBrowser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.browser.initialized() {
            "Chromium (started)"
        } else {
            "Chromium (not started)"
        })
    }
}

impl BrowserSettings {
    pub fn new(form: FormSettings, timeout: Duration, executable: PathBuf) -> Self {
        BrowserSettings {
            form,
            timeout,
            executable,
            screenshots: None,
            shared: SharedBrowser::default(),
        }
    }

    async fn chromium(&self) -> Result<&Chromium, String> {
        let started = self
            .shared
            .browser
            .get_or_init(|| Chromium::launch(&self.executable))
            .await;
        started.as_ref().map_err(Clone::clone)
    }
}

/// How an authorization in the browser ended.
enum End {
    Callback(String),
    /// The page the browser stayed on: it asks for input (`person`), or it never settled
    /// (`timed_out`); else the authorization server's answer.
    Page {
        page: Response,
        person: bool,
        timed_out: bool,
    },
    Failed(String),
}

/// Carries `start` through the browser to the callback.
pub(super) async fn drive_browser(
    settings: &BrowserSettings,
    client: &HttpClient,
    label: &str,
    start: &str,
    redirect_uri: &str,
) -> Observation {
    let chromium = match settings.chromium().await {
        Ok(chromium) => chromium,
        Err(why) => return reported_callback(client, label, Err(why), "the browser driver"),
    };
    let page = match chromium.new_page().await {
        Ok(page) => page,
        Err(why) => return reported_callback(client, label, Err(format!("the browser: {why}")), "the browser driver"),
    };
    let end = walk(&page, settings, client, start, redirect_uri).await;
    let observation = match end {
        End::Callback(callback) => reported_callback(client, label, Ok(Some(callback)), "the browser driver"),
        End::Failed(why) => reported_callback(client, label, Err(why), "the browser driver"),
        End::Page {
            page: shown,
            person,
            timed_out,
        } => {
            let label = format!("{label} (page shown in the browser)");
            match interaction_required(&shown, person, timed_out, settings.timeout) {
                // The page is kept for the user only where the driver could not pass it.
                Some(why) => {
                    let saved = save_screenshot(&page, settings, &label).await;
                    let why = match saved {
                        Some(path) => format!("{why}; screenshot: {path}"),
                        None => why,
                    };
                    Observation::new(&label, Vec::new(), Observed::Error(why), BTreeMap::new())
                }
                None => {
                    let body = client.redactor().text(&String::from_utf8_lossy(&shown.body));
                    let shown = Response {
                        body: body.into_bytes(),
                        ..shown
                    };
                    Observation::new(&label, Vec::new(), Observed::Response(shown), BTreeMap::new())
                }
            }
        }
    };
    page.close().await;
    observation
}

async fn walk(
    page: &Page<'_>,
    settings: &BrowserSettings,
    client: &HttpClient,
    start: &str,
    redirect_uri: &str,
) -> End {
    let intercept = json!({ "patterns": [{ "urlPattern": "*", "requestStage": "Request" }] });
    // Not confined: a page's WebSockets (the interception does not see them, nor does
    // Network.setBlockedURLs stop them in Chromium 156).
    let setup = [
        ("Fetch.enable", intercept),
        ("Page.enable", json!({})),
        ("Network.enable", json!({})),
    ];
    for (method, params) in setup {
        if let Err(why) = page.call(method, params).await {
            return End::Failed(format!("the browser: {why}"));
        }
    }
    // Two loops side by side: the page's requests are let through (or not) while the driver
    // acts on the page; a command to a page waiting for a request is answered only once it is.
    tokio::select! {
        end = intercept_requests(page, client, redirect_uri) => end,
        end = act(page, settings, start) => end,
        _ = tokio::time::sleep(settings.timeout) => {
            // A page busy in a script answers late, if at all: the time limit holds.
            match tokio::time::timeout(LAST_LOOK, shown_page(page)).await {
                Ok(Some(shown)) => End::Page { page: shown, person: false, timed_out: true },
                _ => End::Failed(format!("the browser reached no callback within {} s", settings.timeout.as_secs())),
            }
        }
    }
}

/// Lets the page's requests through, within the run's hosts, until the page is sent to the
/// callback (recorded, never sent) or elsewhere; answers the page's dialogs; keeps the current
/// page's requests under way (a page waiting for one is still moving) and its status.
async fn intercept_requests(page: &Page<'_>, client: &HttpClient, redirect_uri: &str) -> End {
    let callback_origin = origin_of(redirect_uri);
    let main_frame = |params: &Value| params["frameId"].as_str() == Some(&page.target);
    let mut events = page.events.lock().await;
    while let Some(event) = events.recv().await {
        let params = &event["params"];
        let id = params["requestId"].to_string();
        match event["method"].as_str().unwrap_or_default() {
            // An alert, a confirmation or a "leave this page?" stops the page's script, and the
            // driver's with it: answered as a person going on would answer it.
            "Page.javascriptDialogOpening" => {
                let _ = page
                    .call("Page.handleJavaScriptDialog", json!({ "accept": true }))
                    .await;
            }
            "Network.requestWillBeSent" => {
                page.request_started(id, params["type"] == "Document" && main_frame(params));
                continue;
            }
            "Network.loadingFinished" | "Network.loadingFailed" => {
                page.request_ended(&id);
                continue;
            }
            "Network.responseReceived" if params["type"] == "Document" && main_frame(params) => {
                page.set_document_status(params["response"]["status"].as_u64().unwrap_or(0));
                continue;
            }
            "Fetch.requestPaused" => {
                let request = &params["request"];
                let mut url = request["url"].as_str().unwrap_or_default().to_owned();
                // The fragment is reported apart (implicit responses and their errors use it).
                url.push_str(request["urlFragment"].as_str().unwrap_or_default());
                let refuse = |reason: &str| json!({ "requestId": params["requestId"], "errorReason": reason });
                let document = params["resourceType"] == "Document";
                let to_callback = origin_of(&url).is_some() && origin_of(&url) == callback_origin;
                if to_callback && document {
                    let _ = page.call("Fetch.failRequest", refuse("Aborted")).await;
                    return End::Callback(url);
                }
                if to_callback || !client.hosts().allows(&url) {
                    let _ = page.call("Fetch.failRequest", refuse("BlockedByClient")).await;
                    if document && !to_callback && main_frame(params) {
                        let host = url::Url::parse(&url).ok().and_then(|u| u.host_str().map(str::to_owned));
                        let host = host.unwrap_or(url);
                        return End::Failed(format!(
                            "the authorization chain went to {host}, outside the hosts of this run"
                        ));
                    }
                    continue;
                }
                let _ = page
                    .call("Fetch.continueRequest", json!({ "requestId": params["requestId"] }))
                    .await;
                // A page's own requests keep it moving while under way (see `act`); a new
                // page starts the wait anew.
                if !document {
                    continue;
                }
            }
            _ => continue,
        }
        page.activity.notify_one();
    }
    End::Failed("the browser has closed".to_owned())
}

/// Opens `start`, then fills and presses what the page shows until it stays still; the page
/// as it then is.
async fn act(page: &Page<'_>, settings: &BrowserSettings, start: &str) -> End {
    let error = match page.call("Page.navigate", json!({ "url": start })).await {
        Ok(answer) => answer["errorText"].as_str().unwrap_or_default().to_owned(),
        Err(why) => why,
    };
    if error.contains("ERR_ABORTED") || error.contains("BLOCKED_BY_CLIENT") {
        // Stopped by the interception, which ends the walk.
        return std::future::pending().await;
    }
    // An error status with an empty body: Chromium shows a page of its own, judged below.
    if !error.is_empty() && !error.contains("ERR_HTTP_RESPONSE_CODE_FAILURE") {
        return End::Failed(format!("the browser could not open the authorization URL: {error}"));
    }
    let args = |last: &Value, may_press: bool| {
        json!({
            "fields": settings.form.fields.iter().map(|(k, v)| [k.as_str(), v.expose()]).collect::<Vec<_>>(),
            "submit": settings.form.submit,
            "refusing": super::page::REFUSING,
            "refused": settings.form.refused_origins,
            "last": last,
            "mayPress": may_press,
        })
    };
    let mut last_view = Value::Null;
    let mut presses = 0;
    let mut still_since = Instant::now();
    loop {
        // A new page, or a request under way (not a long poll's), means the page is moving.
        if tokio::time::timeout(TICK, page.activity.notified()).await.is_ok() {
            still_since = Instant::now();
            continue;
        }
        if page.under_way(SLOW..PATIENCE) > 0 {
            still_since = Instant::now();
        }
        let expression = format!("({ACT})({})", args(&last_view, presses < MAX_PRESSES));
        let step = page.evaluate_isolated(&expression).await.unwrap_or(Value::Null);
        match step["state"].as_str() {
            Some("pressed") => {
                presses += 1;
                last_view = step["view"].clone();
                still_since = Instant::now();
            }
            Some("error") => {
                // An error status with nothing to show is the answer, as the status alone.
                let status = page.document_status();
                if let Ok(status @ 400..=599) = u16::try_from(status) {
                    let answer = Response {
                        status,
                        headers: Vec::new(),
                        body: Vec::new(),
                    };
                    return End::Page {
                        page: answer,
                        person: false,
                        timed_out: false,
                    };
                }
                let text = step["text"]
                    .as_str()
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                return End::Failed(format!("the browser could not load a page of the chain: {text}"));
            }
            Some("idle") if step["moving"] != true && still_since.elapsed() > settle(&step) => {
                if let Some(shown) = shown_page(page).await {
                    let person = step["person"] == true;
                    return End::Page {
                        page: shown,
                        person,
                        timed_out: false,
                    };
                }
            }
            Some("idle") => {}
            // Loading, filled, or between documents.
            _ => still_since = Instant::now(),
        }
    }
}

fn settle(step: &Value) -> Duration {
    if step["plain"] == true { SETTLE_PLAIN } else { SETTLE }
}

/// The page as it stands: its navigation's status, its type, and its HTML (rendered: the
/// page's own scripts have run), or its text for any other type (Chromium shows JSON and text
/// in a viewer of its own).
async fn shown_page(page: &Page<'_>) -> Option<Response> {
    let expression = "({ status: performance.getEntriesByType('navigation')[0]?.responseStatus || 200, \
                      type: document.contentType, \
                      html: document.contentType === 'text/html' ? document.documentElement?.outerHTML || '' \
                                                                 : document.body?.innerText || '' })";
    let shown = page.evaluate_isolated(expression).await.ok()?;
    Some(Response {
        status: shown["status"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(200),
        headers: vec![(
            "content-type".to_owned(),
            shown["type"].as_str().unwrap_or("text/html").to_owned(),
        )],
        body: shown["html"].as_str().unwrap_or_default().as_bytes().to_vec(),
    })
}

/// Why a page the chain stopped at is `interaction required`: it asks for input, or never
/// settled; None for the authorization server's answer (an error page: the case's to judge).
/// Described, with the lines most likely to pass it.
fn interaction_required(shown: &Response, person: bool, timed_out: bool, timeout: Duration) -> Option<String> {
    let page = super::page::for_a_person(shown);
    let what = match &page {
        Some(page) => page.describe(),
        None => format!("title: {:?}", super::page::title_of(shown)),
    };
    let hint = page
        .as_ref()
        .map(|p| format!("; {}", p.hint("browser")))
        .unwrap_or_default();
    if timed_out {
        let secs = timeout.as_secs();
        return Some(format!(
            "interaction required: the browser reached no callback within {secs} s, at a page ({what}){hint}"
        ));
    }
    (page.is_some() || person).then(|| {
        format!("interaction required: the authorization endpoint showed a page the `browser` consent driver cannot pass ({what}){hint}")
    })
}

/// With `--save-failure-screenshots DIR`, the page as the browser shows it, as a PNG file
/// named after the step; its path, or None.
async fn save_screenshot(page: &Page<'_>, settings: &BrowserSettings, label: &str) -> Option<String> {
    let dir = settings.screenshots.as_ref()?;
    let capture = page.call("Page.captureScreenshot", json!({ "format": "png" }));
    let shot = tokio::time::timeout(LAST_LOOK, capture).await.ok()?.ok()?;
    let png = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, shot["data"].as_str()?).ok()?;
    let n = settings.shared.screenshots_taken.fetch_add(1, Ordering::Relaxed) + 1;
    let name: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let path = dir.join(format!("{n:03}-{}.png", name.trim_matches('-')));
    std::fs::create_dir_all(dir).ok()?;
    std::fs::write(&path, png).ok()?;
    Some(path.display().to_string())
}

#[cfg(test)]
mod tests;
