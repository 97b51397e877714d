//! The `browser` consent driver: headless Chromium carries the authorization request, runs the
//! pages' scripts, fills the configured fields and presses the configured buttons, until the
//! browser is sent to the redirect URI's origin. That request is intercepted and recorded, never
//! sent; so is any request outside the run's hosts (refused, as the other drivers refuse).
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
const SETTLE: Duration = Duration::from_millis(1000);
const SETTLE_PLAIN: Duration = Duration::from_millis(200);

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
    /// The page the browser stayed on; `timed_out` when it never settled.
    Page {
        page: Response,
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
        End::Page { page: shown, timed_out } => {
            let screenshot = save_screenshot(&page, settings, label).await;
            judged_page(client, label, shown, timed_out, settings.timeout, screenshot)
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
    for (method, params) in [("Fetch.enable", intercept), ("Page.enable", json!({}))] {
        if let Err(why) = page.call(method, params).await {
            return End::Failed(format!("the browser: {why}"));
        }
    }
    // Two loops side by side: the page's requests are let through (or not) while the driver
    // acts on the page; a command to a page waiting for a request is answered only once it is.
    tokio::select! {
        end = intercept_requests(page, client, redirect_uri) => end,
        end = act(page, settings, start) => end,
        _ = tokio::time::sleep(settings.timeout) => match shown_page(page).await {
            Some(shown) => End::Page { page: shown, timed_out: true },
            None => End::Failed(format!("the browser reached no callback within {} s", settings.timeout.as_secs())),
        },
    }
}

/// Lets the page's requests through, within the run's hosts, until one goes to the callback
/// (recorded, never sent) or the page itself is sent elsewhere; answers the page's dialogs.
async fn intercept_requests(page: &Page<'_>, client: &HttpClient, redirect_uri: &str) -> End {
    let callback_origin = origin_of(redirect_uri);
    let mut events = page.events.lock().await;
    while let Some(event) = events.recv().await {
        // An alert, a confirmation or a "leave this page?" stops the page's script, and the
        // driver's with it: answered as a person going on would answer it.
        if event["method"] == "Page.javascriptDialogOpening" {
            let _ = page
                .call("Page.handleJavaScriptDialog", json!({ "accept": true }))
                .await;
            continue;
        }
        if event["method"] != "Fetch.requestPaused" {
            continue;
        }
        let params = &event["params"];
        let url = params["request"]["url"].as_str().unwrap_or_default().to_owned();
        let refuse = |reason: &str| json!({ "requestId": params["requestId"], "errorReason": reason });
        if origin_of(&url).is_some() && origin_of(&url) == callback_origin {
            let _ = page.call("Fetch.failRequest", refuse("Aborted")).await;
            return End::Callback(url);
        }
        if !client.hosts().allows(&url) {
            let _ = page.call("Fetch.failRequest", refuse("BlockedByClient")).await;
            let document = params["resourceType"] == "Document" && params["frameId"].as_str() == Some(&page.target);
            if document {
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
    if !error.is_empty() {
        return End::Failed(format!("the browser could not open the authorization URL: {error}"));
    }
    let args = |last: &Value| {
        json!({
            "fields": settings.form.fields.iter().map(|(k, v)| [k.as_str(), v.expose()]).collect::<Vec<_>>(),
            "submit": settings.form.submit,
            "refused": settings.form.refused_origins,
            "last": last,
        })
    };
    let mut last_view = Value::Null;
    let mut presses = 0;
    let mut still_since = Instant::now();
    loop {
        // A request let through means the page is still moving.
        if tokio::time::timeout(TICK, page.activity.notified()).await.is_ok() {
            still_since = Instant::now();
            continue;
        }
        let step = page
            .evaluate(&format!("({ACT})({})", args(&last_view)))
            .await
            .unwrap_or(Value::Null);
        match step["state"].as_str() {
            Some("pressed") if presses < MAX_PRESSES => {
                presses += 1;
                last_view = step["view"].clone();
                still_since = Instant::now();
            }
            Some("idle" | "pressed") if still_since.elapsed() > settle(&step) => {
                if let Some(shown) = shown_page(page).await {
                    return End::Page {
                        page: shown,
                        timed_out: false,
                    };
                }
            }
            Some("idle" | "pressed") => {}
            // Loading, or between documents.
            _ => still_since = Instant::now(),
        }
    }
}

fn settle(step: &Value) -> Duration {
    if step["plain"] == true { SETTLE_PLAIN } else { SETTLE }
}

/// The page as it stands: its navigation's status, its type and its rendered HTML.
async fn shown_page(page: &Page<'_>) -> Option<Response> {
    let expression = "({ status: performance.getEntriesByType('navigation')[0]?.responseStatus || 200, \
                      type: document.contentType, html: document.documentElement?.outerHTML || '' })";
    let shown = page.evaluate(expression).await.ok()?;
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

/// A page the chain stopped at: one for a person is `interaction required` (described, with
/// the lines most likely to pass it); any other (an error page) is the case's to judge.
fn judged_page(
    client: &HttpClient,
    label: &str,
    shown: Response,
    timed_out: bool,
    timeout: Duration,
    screenshot: Option<String>,
) -> Observation {
    let label = format!("{label} (page shown in the browser)");
    let saved = screenshot
        .map(|path| format!("; screenshot: {path}"))
        .unwrap_or_default();
    let page = super::page::for_a_person(&shown);
    let hint = page
        .as_ref()
        .map(|p| format!("; {}", p.hint("browser")))
        .unwrap_or_default();
    let why = match (&page, timed_out) {
        (_, true) => {
            let what = page
                .as_ref()
                .map(|p| p.describe())
                .unwrap_or_else(|| format!("title: {:?}", super::page::title_of(&shown)));
            Some(format!(
                "interaction required: the browser reached no callback within {} s, at a page ({what}){hint}{saved}",
                timeout.as_secs()
            ))
        }
        (Some(page), false) => Some(format!(
            "interaction required: the authorization endpoint showed a page the `browser` consent driver cannot pass ({}){hint}{saved}",
            page.describe()
        )),
        // An error page: the case's to judge.
        (None, false) => None,
    };
    if let Some(why) = why {
        return Observation::new(&label, Vec::new(), Observed::Error(why), BTreeMap::new());
    }
    let shown = Response {
        body: client
            .redactor()
            .text(&String::from_utf8_lossy(&shown.body))
            .into_bytes(),
        ..shown
    };
    Observation::new(&label, Vec::new(), Observed::Response(shown), BTreeMap::new())
}

/// With `--save-failure-screenshots DIR`, the page as the browser shows it, as a PNG file
/// named after the step; its path, or None.
async fn save_screenshot(page: &Page<'_>, settings: &BrowserSettings, label: &str) -> Option<String> {
    let dir = settings.screenshots.as_ref()?;
    let shot = page
        .call("Page.captureScreenshot", json!({ "format": "png" }))
        .await
        .ok()?;
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
