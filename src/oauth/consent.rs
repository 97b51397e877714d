//! Consent drivers: how the suite carries an authorization request to the redirect URI with
//! nobody at the keyboard.
//! - `redirects` follows the authorization server's redirects with a cookie jar, within the
//!   hosts of the run, until one points at the redirect URI's origin (the callback, which is
//!   recorded, never requested);
//! - `form` does the same and also submits login/consent forms with configured values;
//! - `command` runs a program with the authorization URL; it prints the callback URL;
//! - `manual` prints the URL and waits for the browser on the loopback redirect URI.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::check::{Observation, Observed};
use crate::http::redact::Secret;
use crate::http::{Hosts, HttpClient, Request, Response};

#[derive(Debug, Clone, Default)]
pub enum ConsentDriver {
    #[default]
    Redirects,
    Form(FormSettings),
    /// `argv` plus the authorization URL; stdout's last line is the callback URL, or nothing
    /// (exit 0) when the authorization server stopped on a page of its own.
    Command {
        argv: Vec<String>,
        timeout: Duration,
    },
    Manual {
        timeout: Duration,
    },
}

#[derive(Debug, Clone, Default)]
pub struct FormSettings {
    /// Field values to fill in (secrets: passwords come from the environment).
    pub fields: Vec<(String, Secret)>,
    /// The name or value of the button to press (default: the form's first submit button).
    pub submit: Option<String>,
}

/// Forms submitted in one chain at most: login, consent, and a spare.
const MAX_FORMS: usize = 3;

/// Carries the authorization URL `start` to the callback with `driver`.
pub async fn drive(
    driver: &ConsentDriver,
    client: &HttpClient,
    label: &str,
    start: &str,
    redirect_uri: &str,
    allowed_hosts: &Hosts,
    listener: Option<&std::net::TcpListener>,
) -> Observation {
    match driver {
        ConsentDriver::Redirects => follow(client, label, start, redirect_uri, allowed_hosts, None).await,
        ConsentDriver::Form(form) => follow(client, label, start, redirect_uri, allowed_hosts, Some(form)).await,
        ConsentDriver::Command { argv, timeout } => {
            let reported = run_command(argv, start, *timeout).await;
            reported_callback(client, label, reported, "the command driver")
        }
        ConsentDriver::Manual { timeout } => {
            let reported = wait_for_browser(start, redirect_uri, listener, *timeout).await;
            reported_callback(client, label, reported, "the browser")
        }
    }
}

/// More hops than any real login/consent chain takes; a loop ends here.
pub const MAX_HOPS: usize = 20;

/// Follows `start` (an authorization URL). The observation's response is the last one seen:
/// the redirect to the callback, or the page where the chain ended. Vars: `callback` (the
/// callback URL, redacted), `callback.<param>` for each parameter, `hops`. With `form`,
/// a page with a form is submitted instead of ending the chain.
async fn follow(
    client: &HttpClient,
    label: &str,
    start: &str,
    redirect_uri: &str,
    allowed_hosts: &Hosts,
    form: Option<&FormSettings>,
) -> Observation {
    let session = match client.session() {
        Ok(s) => s,
        Err(e) => return observation(label, Vec::new(), Observed::Error(e.to_string()), BTreeMap::new()),
    };
    let callback_origin = origin_of(redirect_uri);
    let mut url = start.to_owned();
    let mut request = Request::get(&url);
    let mut forms = 0;
    let mut exchanges = Vec::new();
    for hop in 0..MAX_HOPS {
        let (exchange, result) = session.send(&request).await;
        exchanges.push(exchange);
        let response = match result {
            Ok(r) => r,
            Err(e) => return observation(label, exchanges, Observed::Error(e.to_string()), BTreeMap::new()),
        };
        let location = response.header_values("location").next().map(str::to_owned);
        let next = match (response.status, location) {
            (300..=399, Some(location)) => match url::Url::parse(&url).and_then(|base| base.join(&location)) {
                Ok(next) => next,
                Err(e) => {
                    let why = format!("unusable Location <{location}>: {e}");
                    return observation(label, exchanges, Observed::Error(why), BTreeMap::new());
                }
            },
            _ => {
                let submission = form
                    .filter(|_| forms < MAX_FORMS)
                    .and_then(|f| submit_form(&response, &url, f, client));
                match submission {
                    Some(Ok(next)) if allowed_hosts.allows(&next.url) => {
                        forms += 1;
                        url = next.url.clone();
                        request = next;
                        continue;
                    }
                    Some(Ok(next)) => {
                        let why = format!("the form posts to {}, outside the hosts of this run", next.url);
                        return observation(label, exchanges, Observed::Error(why), BTreeMap::new());
                    }
                    Some(Err(why)) => return observation(label, exchanges, Observed::Error(why), BTreeMap::new()),
                    None => return ended(label, exchanges, response),
                }
            }
        };
        if Some(next.origin().ascii_serialization()) == callback_origin {
            let mut vars = callback_vars(&next, client);
            vars.insert("hops".to_owned(), (hop + 1).to_string());
            return observation(label, exchanges, Observed::Response(response), vars);
        }
        let host = next.host_str().unwrap_or("").to_owned();
        if !allowed_hosts.allows(next.as_str()) {
            let why = format!("the authorization chain redirected to {host}, outside the hosts of this run");
            return observation(label, exchanges, Observed::Error(why), BTreeMap::new());
        }
        url = next.to_string();
        request = Request::get(&url);
    }
    let why = format!("no callback after {MAX_HOPS} redirects (a redirect loop?)");
    observation(label, exchanges, Observed::Error(why), BTreeMap::new())
}

/// The chain ended without reaching the callback: an error page (judged by the case), or a
/// page that needs a person (then nobody can tell: `error`, never a false `fail`).
fn ended(label: &str, exchanges: Vec<crate::http::Exchange>, response: Response) -> Observation {
    if let Some(title) = interaction_page(&response) {
        let why = format!(
            "interaction required: the authorization endpoint showed a page the `redirects` consent driver cannot pass (title: {title:?})"
        );
        return observation(label, exchanges, Observed::Error(why), BTreeMap::new());
    }
    observation(label, exchanges, Observed::Response(response), BTreeMap::new())
}

/// A successful HTML page with a form (login, consent): its title.
fn interaction_page(response: &Response) -> Option<String> {
    let html = response.media_type().is_some_and(|m| m == "text/html");
    if response.status != 200 || !html {
        return None;
    }
    let text = String::from_utf8_lossy(&response.body);
    let doc = scraper::Html::parse_document(&text);
    let form = scraper::Selector::parse("form").ok()?;
    doc.select(&form).next()?;
    let title = scraper::Selector::parse("title").ok()?;
    let title = doc
        .select(&title)
        .next()
        .map(|t| t.text().collect::<String>().trim().to_owned());
    Some(title.unwrap_or_default())
}

/// The request that submits the page's form with `settings` (hidden fields kept), or None
/// when the page has no form. Err when it has one the settings cannot fill.
fn submit_form(
    response: &Response,
    page_url: &str,
    settings: &FormSettings,
    client: &HttpClient,
) -> Option<Result<Request, String>> {
    interaction_page(response)?;
    let text = String::from_utf8_lossy(&response.body);
    let doc = scraper::Html::parse_document(&text);
    let select = |css: &str| scraper::Selector::parse(css).ok();
    let form = doc.select(&select("form")?).next()?;
    let mut fields: Vec<(String, String)> = Vec::new();
    for input in form.select(&select("input[name]")?) {
        let kind = input.value().attr("type").unwrap_or("text").to_ascii_lowercase();
        if matches!(kind.as_str(), "submit" | "button" | "image" | "reset") {
            continue;
        }
        let name = input.value().attr("name").unwrap_or_default().to_owned();
        fields.push((name, input.value().attr("value").unwrap_or_default().to_owned()));
    }
    for (name, value) in &settings.fields {
        client.redactor().register(value);
        match fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value.expose().to_owned(),
            None => fields.push((name.clone(), value.expose().to_owned())),
        }
    }
    // The button to press: the configured one by name or value, else the first submit.
    let buttons: Vec<_> = form.select(&select("button, input[type=submit]")?).collect();
    let wanted = settings.submit.as_deref();
    let button = buttons.iter().find(|b| {
        let (name, value) = (b.value().attr("name"), b.value().attr("value"));
        wanted.is_none_or(|w| name == Some(w) || value == Some(w) || b.text().any(|t| t.trim() == w))
    });
    if let (Some(w), None) = (wanted, button) {
        return Some(Err(format!(
            "interaction required: the form has no button `{w}` to press"
        )));
    }
    if let Some((Some(name), value)) = button.map(|b| (b.value().attr("name"), b.value().attr("value").unwrap_or(""))) {
        fields.push((name.to_owned(), value.to_owned()));
    }
    let action = form.value().attr("action").unwrap_or("");
    let target = match url::Url::parse(page_url).and_then(|base| base.join(action)) {
        Ok(t) => t,
        Err(e) => return Some(Err(format!("unusable form action <{action}>: {e}"))),
    };
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&fields)
        .finish();
    let method = form.value().attr("method").unwrap_or("get").to_ascii_uppercase();
    Some(Ok(if method == "POST" {
        Request::post(target.as_str(), "application/x-www-form-urlencoded", body)
    } else {
        let mut target = target;
        target.set_query(Some(&body));
        Request::get(target.as_str())
    }))
}

/// What a command or a person reported: a callback URL, nothing (the AS stopped on a page of
/// its own), or why it could not be driven.
type Reported = Result<Option<String>, String>;

fn reported_callback(client: &HttpClient, label: &str, reported: Reported, who: &str) -> Observation {
    let label = format!("{label} (callback reported by {who})");
    match reported {
        Err(why) => observation(&label, Vec::new(), Observed::Error(why), BTreeMap::new()),
        // No HTTP exchange of ours: the observation is the redirect the user agent saw.
        Ok(Some(callback)) => match url::Url::parse(&callback) {
            Ok(url) => {
                let location = client.redactor().url(url.as_str());
                let response = Response {
                    status: 302,
                    headers: vec![("location".to_owned(), location)],
                    body: Vec::new(),
                };
                observation(
                    &label,
                    Vec::new(),
                    Observed::Response(response),
                    callback_vars(&url, client),
                )
            }
            Err(e) => observation(
                &label,
                Vec::new(),
                Observed::Error(format!("not a callback URL <{callback}>: {e}")),
                BTreeMap::new(),
            ),
        },
        Ok(None) => {
            let response = Response {
                status: 200,
                headers: Vec::new(),
                body: Vec::new(),
            };
            observation(&label, Vec::new(), Observed::Response(response), BTreeMap::new())
        }
    }
}

async fn run_command(argv: &[String], url: &str, timeout: Duration) -> Reported {
    let (program, args) = argv.split_first().ok_or("the consent command is empty")?;
    let child = tokio::process::Command::new(program)
        .args(args)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(timeout, child).await {
        Err(_) => {
            return Err(format!(
                "the consent command gave no answer within {} s",
                timeout.as_secs()
            ));
        }
        Ok(Err(e)) => return Err(format!("cannot run the consent command `{program}`: {e}")),
        Ok(Ok(output)) => output,
    };
    if !output.status.success() {
        return Err(format!("the consent command failed ({})", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned))
}

/// Prints the URL for a person and waits for the browser's request to the redirect URI.
async fn wait_for_browser(
    url: &str,
    redirect_uri: &str,
    listener: Option<&std::net::TcpListener>,
    timeout: Duration,
) -> Reported {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = listener.ok_or("the manual driver needs the loopback redirect port, which could not be bound")?;
    let listener = listener.try_clone().map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
    eprintln!(
        "\nOpen this URL in a browser and complete the authorization ({} s):\n  {url}\n",
        timeout.as_secs()
    );
    let accept = async {
        let (mut stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let mut head = vec![0u8; 8192];
        let n = stream.read(&mut head).await.map_err(|e| e.to_string())?;
        let head = String::from_utf8_lossy(&head[..n]).into_owned();
        let target = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let page = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nAuthorization received; you can close this window.\n";
        let _ = stream.write_all(page.as_bytes()).await;
        Ok::<_, String>(target)
    };
    let target = tokio::time::timeout(timeout, accept)
        .await
        .map_err(|_| format!("no browser reached the redirect URI within {} s", timeout.as_secs()))??;
    let origin = origin_of(redirect_uri).ok_or("invalid redirect URI")?;
    Ok(Some(format!("{origin}{target}")))
}

fn callback_vars(callback: &url::Url, client: &HttpClient) -> BTreeMap<String, String> {
    let redactor = client.redactor();
    let mut vars = BTreeMap::new();
    vars.insert("callback".to_owned(), redactor.url(callback.as_str()));
    // Parameters come in the query (response_mode=query, the default for `code`) or in the
    // fragment (the default for `token` and other implicit types, even for their errors).
    let fragment = callback.fragment().map(|f| url::form_urlencoded::parse(f.as_bytes()));
    for (name, value) in callback.query_pairs().chain(fragment.into_iter().flatten()) {
        let name = format!("callback.{name}");
        vars.entry(name).or_insert_with(|| value.into_owned());
    }
    vars
}

fn origin_of(url: &str) -> Option<String> {
    url::Url::parse(url).ok().map(|u| u.origin().ascii_serialization())
}

fn observation(
    label: &str,
    exchanges: Vec<crate::http::Exchange>,
    observed: Observed,
    vars: BTreeMap<String, String>,
) -> Observation {
    Observation {
        label: label.to_owned(),
        exchanges,
        observed,
        vars,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::http::redact::Redactor;

    fn client() -> HttpClient {
        HttpClient::new(Duration::from_secs(5), Redactor::default()).unwrap()
    }

    const CALLBACK: &str = "http://127.0.0.1:9/callback";

    fn loopback() -> Hosts {
        Hosts::new(["127.0.0.1".to_owned()])
    }

    /// The redirects driver from `<server>/authorize` to [`CALLBACK`].
    async fn follow_authorize(s: &MockServer) -> Observation {
        let url = format!("{}/authorize", s.uri());
        follow(&client(), "authz", &url, CALLBACK, &loopback(), None).await
    }

    async fn get(server: &MockServer, at: &str, response: ResponseTemplate) {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(response)
            .mount(server)
            .await;
    }

    fn redirect(to: &str) -> ResponseTemplate {
        ResponseTemplate::new(302).append_header("Location", to)
    }

    /// oidc-provider and the reference target set a session cookie, then need it back.
    #[tokio::test]
    async fn cookies_are_kept_across_hops_and_relative_locations_resolved() {
        let s = MockServer::start().await;
        let set = redirect("consent?txn=1").append_header("Set-Cookie", "sid=abc; Path=/; HttpOnly");
        get(&s, "/as/authorize", set).await;
        Mock::given(method("GET"))
            .and(path("/as/consent"))
            .and(header("cookie", "sid=abc"))
            .respond_with(redirect(&format!("{CALLBACK}?code=c0de&state=st")))
            .mount(&s)
            .await;
        let obs = follow(
            &client(),
            "authz",
            &format!("{}/as/authorize", s.uri()),
            CALLBACK,
            &loopback(),
            None,
        )
        .await;
        assert!(matches!(obs.observed, Observed::Response(_)), "{:?}", obs.observed);
        assert_eq!(obs.vars["callback.code"], "c0de");
        assert_eq!(obs.vars["callback.state"], "st");
        assert_eq!(obs.vars["hops"], "2");
        assert_eq!(obs.exchanges.len(), 2);
        let cookie = obs.exchanges[1]
            .request
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("cookie"));
        assert!(
            cookie.is_none_or(|(_, v)| v == "[redacted]"),
            "cookies never reach the evidence"
        );
    }

    #[tokio::test]
    async fn a_login_form_is_interaction_required_with_its_title() {
        let s = MockServer::start().await;
        let page = "<html><head><title>Sign in to Example</title></head><body><form method=post><input name=password type=password></form></body></html>";
        get(
            &s,
            "/authorize",
            ResponseTemplate::new(200).set_body_raw(page, "text/html; charset=utf-8"),
        )
        .await;
        let obs = follow_authorize(&s).await;
        match &obs.observed {
            Observed::Error(why) => assert!(
                why.contains("interaction required") && why.contains("Sign in to Example"),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn an_error_page_is_judged_not_an_error() {
        let s = MockServer::start().await;
        let page = "<!doctype html><title>Error</title><p>invalid redirect_uri</p>";
        get(
            &s,
            "/authorize",
            ResponseTemplate::new(400).set_body_raw(page, "text/html"),
        )
        .await;
        let obs = follow_authorize(&s).await;
        assert!(matches!(&obs.observed, Observed::Response(r) if r.status == 400));
        assert!(!obs.vars.contains_key("callback"));
    }

    #[tokio::test]
    async fn a_redirect_loop_ends() {
        let s = MockServer::start().await;
        get(&s, "/authorize", redirect("/authorize")).await;
        let obs = follow_authorize(&s).await;
        assert!(matches!(&obs.observed, Observed::Error(why) if why.contains("no callback after 20 redirects")));
        assert_eq!(obs.exchanges.len(), MAX_HOPS);
    }

    #[tokio::test]
    async fn a_redirect_off_the_run_s_hosts_is_not_followed() {
        let s = MockServer::start().await;
        get(&s, "/authorize", redirect("https://login.example.com/sso")).await;
        let obs = follow_authorize(&s).await;
        assert!(matches!(&obs.observed, Observed::Error(why) if why.contains("login.example.com, outside the hosts")));
        assert_eq!(obs.exchanges.len(), 1, "nothing was sent to login.example.com");
    }

    /// ts-sdk 1.32.2 answers an unregistered redirect_uri (the registered one plus a fragment)
    /// with an error redirect *to that unregistered URI*: the driver reports it as a callback,
    /// which `as.redirect.exact-match` then fails (confirmed by curl, see the closing note).
    #[tokio::test]
    async fn an_error_redirect_to_the_requested_uri_counts_as_a_callback() {
        let s = MockServer::start().await;
        let to =
            format!("{CALLBACK}?error=invalid_request&error_description=Unregistered+redirect_uri&state=s1#fragment");
        get(&s, "/authorize", redirect(&to)).await;
        let obs = follow(
            &client(),
            "authz",
            &format!("{}/authorize", s.uri()),
            &format!("{CALLBACK}#fragment"),
            &loopback(),
            None,
        )
        .await;
        assert_eq!(obs.vars["callback.error"], "invalid_request");
        assert!(obs.vars.contains_key("callback"));
    }

    /// oidc-provider answers `response_type=token` with its error in the fragment (the
    /// default response mode of implicit types): the error is read from there too.
    #[test]
    fn callback_parameters_come_from_query_and_fragment() {
        let client = client();
        let url = url::Url::parse("http://127.0.0.1:9/cb?state=s#error=unsupported_response_type&state=other").unwrap();
        let vars = callback_vars(&url, &client);
        assert_eq!(vars["callback.error"], "unsupported_response_type");
        assert_eq!(vars["callback.state"], "s", "the query wins over the fragment");
        let url = url::Url::parse("http://127.0.0.1:9/cb?code=abc&state=s").unwrap();
        assert_eq!(
            callback_vars(&url, &client)["callback"],
            "http://127.0.0.1:9/cb?code=[redacted]&state=s"
        );
    }

    fn sh(script: &str) -> ConsentDriver {
        let argv = ["sh", "-c", script, "sh"].map(String::from).to_vec();
        ConsentDriver::Command {
            argv,
            timeout: Duration::from_secs(2),
        }
    }

    async fn with(driver: &ConsentDriver, listener: Option<&std::net::TcpListener>) -> Observation {
        drive(
            driver,
            &client(),
            "authz",
            "https://as.example/authorize?x=1",
            CALLBACK,
            &loopback(),
            listener,
        )
        .await
    }

    #[tokio::test]
    async fn the_command_driver_reads_the_callback_the_program_prints() {
        // The program gets the authorization URL as its last argument.
        let obs = with(
            &sh(r#"echo "visiting $1" >&2; echo; echo "http://127.0.0.1:9/callback?code=c1&state=s1""#),
            None,
        )
        .await;
        assert_eq!(obs.vars["callback.code"], "c1");
        assert!(obs.label.contains("reported by the command driver"));
        let stopped = with(&sh("true"), None).await;
        assert!(matches!(&stopped.observed, Observed::Response(r) if r.status == 200));
        assert!(
            !stopped.vars.contains_key("callback"),
            "nothing printed: the AS stopped on its own page"
        );
        let failed = with(&sh("exit 3"), None).await;
        assert!(matches!(&failed.observed, Observed::Error(why) if why.contains("the consent command failed")));
        let slow = with(&sh("sleep 5"), None).await;
        assert!(matches!(&slow.observed, Observed::Error(why) if why.contains("no answer within 2 s")));
    }

    #[tokio::test]
    async fn the_manual_driver_waits_for_the_browser_on_the_redirect_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let redirect_uri = format!("http://127.0.0.1:{port}/callback");
        let driver = ConsentDriver::Manual {
            timeout: Duration::from_secs(5),
        };
        let browser = tokio::spawn(async move {
            // The "browser" arrives once the driver listens; retry until it does.
            for _ in 0..50 {
                let url = format!("http://127.0.0.1:{port}/callback?code=m1&state=s2");
                if reqwest::get(&url).await.is_ok() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        let obs = drive(
            &driver,
            &client(),
            "authz",
            "https://as.example/a",
            &redirect_uri,
            &loopback(),
            Some(&listener),
        )
        .await;
        browser.await.unwrap();
        assert_eq!(
            obs.vars.get("callback.code").map(String::as_str),
            Some("m1"),
            "{:?}",
            obs.observed
        );
        let quiet = ConsentDriver::Manual {
            timeout: Duration::from_millis(200),
        };
        let none = drive(
            &quiet,
            &client(),
            "authz",
            "https://as.example/a",
            &redirect_uri,
            &loopback(),
            Some(&listener),
        )
        .await;
        assert!(matches!(&none.observed, Observed::Error(why) if why.contains("no browser reached the redirect URI")));
    }
}
