//! Headless Chromium over the DevTools protocol (CDP): launched with a profile in a temporary
//! directory, spoken to as JSON over its WebSocket.
//!
//! Why by hand and not a CDP crate (chromiumoxide): the driver sends eight commands and reads
//! one event; the crate compiles the whole generated protocol for them, about 90 s more per
//! build on CI's two cores, and CI builds twice (clippy, tests). The wire format is JSON
//! messages with an `id` (answers) or a `method` (events), routed here by session.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// How long Chromium may take to start listening, and to answer one command.
const START_TIMEOUT: Duration = Duration::from_secs(20);
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// Flags for a quiet headless browser on a closed network: no first-run pages, no background
/// connections to Google's services (refused here, many at a time), no GPU.
const FLAGS: [&str; 15] = [
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-quic",
    "--password-store=basic",
    "--remote-debugging-port=0",
    // Crash reports would be written outside the profile (Debian's wrapper turns them on).
    "--disable-crash-reporter",
    "--disable-breakpad",
    // Cross-site frames in the page's own process, where its request interception sees them.
    "--disable-site-isolation-trials",
    "--disable-features=IsolateOrigins,site-per-process",
];

/// Where Chromium is, in order: the configured path, `MCP_CHROMIUM`, then the usual names on
/// `PATH`. A bare name (`chromium`) is looked up on `PATH`.
pub fn find_chromium(configured: Option<&Path>) -> Option<PathBuf> {
    let named = configured.map(Path::to_owned).or_else(|| {
        std::env::var_os("MCP_CHROMIUM")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    });
    let on_path = |names: &[&Path]| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
            .find(|candidate| candidate.is_file())
    };
    match named {
        Some(name) if name.components().count() == 1 && !name.is_file() => on_path(&[&name]).or(Some(name)),
        Some(path) => Some(path),
        None => on_path(&["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"].map(Path::new)),
    }
}

type Answer = Result<Value, String>;

/// The routing shared by the connection's reader and the callers.
#[derive(Default)]
struct Routes {
    answers: HashMap<u64, oneshot::Sender<Answer>>,
    sessions: HashMap<String, mpsc::UnboundedSender<Value>>,
}

/// A running Chromium. Dropping it kills the browser (its whole process group) and removes
/// its profile.
pub struct Chromium {
    out: mpsc::UnboundedSender<String>,
    routes: Arc<Mutex<Routes>>,
    next_id: AtomicU64,
    child: std::process::Child,
    // Dropped after the browser is killed (field order): nothing writes to it any more.
    profile: tempfile::TempDir,
}

impl Chromium {
    pub async fn launch(executable: &Path) -> Result<Chromium, String> {
        let profile = tempfile::Builder::new()
            .prefix("mcp-auth-browser-")
            .tempdir()
            .map_err(|e| format!("cannot make the browser's profile directory: {e}"))?;
        let mut command = std::process::Command::new(executable);
        command
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // Its own process group, so the renderers and the zygote die with it.
            command.process_group(0);
            // And it dies with the run, even one killed by a signal (no Drop runs then).
            #[cfg(target_os = "linux")]
            // SAFETY: prctl is async-signal-safe and touches no memory of ours.
            unsafe {
                command.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } == 0 {
                // Chromium refuses to run as root with its sandbox (CI containers run as root).
                command.arg("--no-sandbox");
            }
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start Chromium ({}): {e}", executable.display()))?;
        let mut chromium = Chromium {
            out: mpsc::unbounded_channel().0,
            routes: Arc::default(),
            next_id: AtomicU64::new(1),
            child,
            profile,
        };
        let url = chromium.devtools_url().await?;
        let (socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .map_err(|e| format!("cannot reach Chromium's DevTools at {url}: {e}"))?;
        let (mut sink, mut stream) = socket.split();
        let (out, mut queue) = mpsc::unbounded_channel::<String>();
        chromium.out = out;
        tokio::spawn(async move {
            while let Some(text) = queue.recv().await {
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
        });
        let routes = chromium.routes.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else { continue };
                let Ok(value) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                route(&routes, value);
            }
            // The browser is gone: every caller still waiting hears it now.
            let mut routes = routes.lock().unwrap_or_else(|p| p.into_inner());
            routes.answers.clear();
            routes.sessions.clear();
        });
        Ok(chromium)
    }

    /// Chromium writes the port it listens on and the browser's path to `DevToolsActivePort`
    /// in its profile once it is ready.
    async fn devtools_url(&mut self) -> Result<String, String> {
        let file = self.profile.path().join("DevToolsActivePort");
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(text) = std::fs::read_to_string(&file)
                && let [port, path, ..] = text.lines().collect::<Vec<_>>()[..]
            {
                return Ok(format!("ws://127.0.0.1:{port}{path}"));
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("Chromium exited at start ({status})"));
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("Chromium did not start within {} s", START_TIMEOUT.as_secs()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends `method` (to a page's `session`, else to the browser) and waits for its answer.
    pub async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Answer {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let (tx, rx) = oneshot::channel();
        self.lock().answers.insert(id, tx);
        if self.out.send(message.to_string()).is_err() {
            return Err("the browser has closed".to_owned());
        }
        match tokio::time::timeout(CALL_TIMEOUT, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err("the browser has closed".to_owned()),
            Err(_) => {
                self.lock().answers.remove(&id);
                Err(format!(
                    "the browser did not answer {method} within {} s",
                    CALL_TIMEOUT.as_secs()
                ))
            }
        }
    }

    /// A page in a browser context of its own (its own cookies and storage, as a private
    /// window has), with its events.
    pub async fn new_page(&self) -> Result<Page<'_>, String> {
        let context = self
            .call(None, "Target.createBrowserContext", json!({ "disposeOnDetach": true }))
            .await?["browserContextId"]
            .clone();
        let target = self
            .call(
                None,
                "Target.createTarget",
                json!({ "url": "about:blank", "browserContextId": context }),
            )
            .await?["targetId"]
            .clone();
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target, "flatten": true }),
            )
            .await?;
        let session = attached["sessionId"].as_str().unwrap_or_default().to_owned();
        let (tx, events) = mpsc::unbounded_channel();
        self.lock().sessions.insert(session.clone(), tx);
        Ok(Page {
            browser: self,
            session,
            target: target.as_str().unwrap_or_default().to_owned(),
            context,
            events: tokio::sync::Mutex::new(events),
            activity: tokio::sync::Notify::new(),
            under_way: Mutex::default(),
            document_status: AtomicU64::new(0),
            world: Mutex::new(None),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An answer to its caller, an event to its page's session.
fn route(routes: &Mutex<Routes>, value: Value) {
    let mut routes = routes.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(id) = value["id"].as_u64() {
        if let Some(caller) = routes.answers.remove(&id) {
            let answer = match value.get("error") {
                Some(error) => Err(error["message"].as_str().unwrap_or("error").to_owned()),
                None => Ok(value["result"].clone()),
            };
            let _ = caller.send(answer);
        }
    } else if let Some(session) = value["sessionId"].as_str()
        && let Some(page) = routes.sessions.get(session)
    {
        let _ = page.send(value);
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: kill has no memory preconditions; the group is the one we started.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One page (tab) in a browser context of its own; closing the page disposes of the context.
pub struct Page<'a> {
    browser: &'a Chromium,
    session: String,
    pub target: String,
    context: Value,
    /// The page's events (`method`, `params`), in order.
    pub events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Value>>,
    /// Told when a request of the page's is let through (or finishes).
    pub activity: tokio::sync::Notify,
    /// The current document's requests under way, and when each started.
    under_way: Mutex<HashMap<String, std::time::Instant>>,
    /// The status of the current document's response (0: none yet).
    document_status: AtomicU64,
    /// The isolated world the driver's scripts run in, for the current document.
    world: Mutex<Option<i64>>,
}

impl Page<'_> {
    pub async fn call(&self, method: &str, params: Value) -> Answer {
        self.browser.call(Some(&self.session), method, params).await
    }

    /// The value of `expression` run in a world of its own beside the page's (same document,
    /// separate JavaScript: the page's scripts can neither read what it is given nor change
    /// the functions it calls).
    pub async fn evaluate_isolated(&self, expression: &str) -> Answer {
        let world = *self.world.lock().unwrap_or_else(|p| p.into_inner());
        let world = match world {
            Some(id) => id,
            None => {
                let params = json!({ "frameId": self.target, "worldName": "mcp-auth-conformance" });
                let created = self.call("Page.createIsolatedWorld", params).await?;
                let id = created["executionContextId"].as_i64().ok_or("no isolated world")?;
                *self.world.lock().unwrap_or_else(|p| p.into_inner()) = Some(id);
                id
            }
        };
        let params = json!({ "expression": expression, "returnByValue": true, "contextId": world });
        let result = self.call("Runtime.evaluate", params).await;
        // The world went with its document: a new one for the next document.
        if result.is_err() {
            *self.world.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        let result = result?;
        match result.get("exceptionDetails") {
            Some(e) => Err(e["exception"]["description"]
                .as_str()
                .or(e["text"].as_str())
                .unwrap_or("exception")
                .to_owned()),
            None => Ok(result["result"]["value"].clone()),
        }
    }

    /// A request started; a new document drops what the last one had under way.
    pub fn request_started(&self, id: String, new_document: bool) {
        let mut under_way = self.under_way.lock().unwrap_or_else(|p| p.into_inner());
        if new_document {
            under_way.clear();
            self.document_status.store(0, Ordering::Relaxed);
        }
        under_way.insert(id, std::time::Instant::now());
    }

    pub fn request_ended(&self, id: &str) {
        self.under_way.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }

    /// Requests under way for a while (`ages`: a quick one, a page's poll, moves nothing), but
    /// not for longer (a long poll, an event stream, a stalled image: waiting on them would wait
    /// out every time limit).
    pub fn under_way(&self, ages: std::ops::Range<Duration>) -> usize {
        let under_way = self.under_way.lock().unwrap_or_else(|p| p.into_inner());
        under_way
            .values()
            .filter(|started| ages.contains(&started.elapsed()))
            .count()
    }

    pub fn set_document_status(&self, status: u64) {
        self.document_status.store(status, Ordering::Relaxed);
    }

    pub fn document_status(&self) -> u64 {
        self.document_status.load(Ordering::Relaxed)
    }

    pub async fn close(self) {
        self.browser.lock().sessions.remove(&self.session);
        let _ = self
            .browser
            .call(
                None,
                "Target.disposeBrowserContext",
                json!({ "browserContextId": self.context }),
            )
            .await;
    }
}
