//! Walking an MCP proxy's authorization chain (MCP Confused Deputy Problem): whether it stops
//! for the user before it hands over to the upstream AS, what its consent sets, and where the
//! upstream AS sends the browser back. Nothing past the upstream's answer is requested unless
//! asked, so the run holds the proxy's callback URL before the proxy sees it.

use super::consent::{FormSettings, MAX_HOPS, submit_form};
use crate::http::{Exchange, HttpClient, Request, Response};

/// Forms one walk submits at most: a proxy's login and consent, and the upstream's.
const MAX_FORMS: usize = 6;

/// Where a walk ended.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    /// A page for the user (200, HTML, with a form) that the walk did not submit.
    Page,
    /// A redirect to the upstream AS's origin (not followed), resolved.
    Upstream(String),
    /// The upstream AS sending the browser back (not followed): the proxy's callback URL.
    Returning(String),
    /// A redirect to the client's redirect URI (never requested); `code`: it carries one.
    Callback { code: bool },
    /// Any other answer (its status).
    Other(u16),
    /// No usable answer.
    Failed(String),
}

/// A walk's exchanges and where it ended; with the consent page met before the upstream AS
/// (the last page on the proxy's side that asks consent for the client: a login page does
/// not), and the cookies its approval set.
#[derive(Debug)]
pub struct Walked {
    pub exchanges: Vec<Exchange>,
    pub end: End,
    /// The last response seen.
    pub last: Option<Response>,
    /// Whether any page for the user (200, HTML, a form with a button) came on the proxy's side.
    pub paged: bool,
    /// The consent page: the last page on the proxy's side asking consent for the client.
    pub consent: Option<Response>,
    /// Whether the consent page was submitted (the `form` settings passed it).
    pub approved: bool,
    /// The `Set-Cookie` lines of the answers to the approval, up to the next page or the
    /// upstream AS.
    pub approval_cookies: Vec<String>,
}

/// How to walk.
pub struct Walk<'a> {
    /// A client with a cookie jar: the browser.
    pub session: &'a HttpClient,
    /// The client's redirect URI: a redirect to its origin ends the walk.
    pub redirect_uri: &'a str,
    /// The upstream AS's authorization endpoint: a redirect to its origin is the hand-over.
    pub upstream: &'a str,
    /// What names the client on a consent page (its client_id, client_name, redirect URI).
    pub client_marks: &'a [String],
    /// Submit pages with these settings (the `form` consent driver's); else a page ends it.
    /// The upstream's pages get the configured fields only where the settings allow it.
    pub form: Option<&'a FormSettings>,
    /// Follow into the upstream AS, ending when it sends the browser back to the proxy; else
    /// a redirect (or a form) to it ends the walk.
    pub through_upstream: bool,
}

/// Whether `a` and `b` are the same endpoint: scheme, host, port and path.
fn same_endpoint(a: &url::Url, b: &url::Url) -> bool {
    a.origin() == b.origin() && a.path() == b.path()
}

impl Walk<'_> {
    /// Walks from `start` (a GET).
    pub async fn from(&self, start: &str) -> Walked {
        let mut walked = Walked {
            exchanges: Vec::new(),
            end: End::Failed(format!("no answer after {MAX_HOPS} hops (a redirect loop?)")),
            last: None,
            paged: false,
            consent: None,
            approved: false,
            approval_cookies: Vec::new(),
        };
        let Ok(upstream) = url::Url::parse(self.upstream) else {
            walked.end = End::Failed(format!("the upstream endpoint <{}> is not a URL", self.upstream));
            return walked;
        };
        let in_upstream = |u: &url::Url| u.origin() == upstream.origin();
        let callback = url::Url::parse(self.redirect_uri).ok().map(|u| u.origin());
        // The proxy's own callback, as it told the upstream AS (its `redirect_uri`): the
        // upstream's way back, past any hop of its own (a federated login's).
        let mut proxy_callback: Option<url::Url> = None;
        let mut url = start.to_owned();
        let mut request = Request::get(&url);
        // `collecting`: the approval's answers are being read (until a page or the upstream).
        let (mut forms, mut submitted_consent, mut collecting) = (0, false, false);
        for _ in 0..MAX_HOPS {
            let (exchange, result) = self.session.send(&request).await;
            walked.exchanges.push(exchange);
            let response = match result {
                Ok(r) => r,
                Err(e) => {
                    walked.end = End::Failed(e.to_string());
                    return walked;
                }
            };
            let here = url::Url::parse(&url).ok();
            let upstream_side = here.as_ref().is_some_and(in_upstream);
            if std::mem::take(&mut submitted_consent) {
                walked.approved = true;
                collecting = true;
            }
            if !upstream_side && collecting {
                walked
                    .approval_cookies
                    .extend(response.header_values("set-cookie").map(str::to_owned));
            }
            walked.last = Some(response.clone());
            let location = response.header_values("location").next().map(str::to_owned);
            let next = match (response.status, location) {
                (300..=399, Some(location)) => here.as_ref().and_then(|h| h.join(&location).ok()),
                _ => None,
            };
            let Some(next) = next else {
                collecting = false;
                let page = for_the_user(&response);
                let consent = page && !upstream_side && asks_consent(&response, self.client_marks);
                if page && !upstream_side {
                    walked.paged = true;
                }
                if consent {
                    walked.consent = Some(response.clone());
                    // A consent page shown again (or after a login) is approved anew.
                    walked.approved = false;
                    walked.approval_cookies.clear();
                }
                let submission = match (page, self.form) {
                    (true, Some(form)) if forms < MAX_FORMS => submit_form(&response, &url, form),
                    _ => None,
                };
                match submission {
                    // A form that posts to the upstream AS hands over, as a redirect does.
                    Some(Ok(next))
                        if !self.through_upstream
                            && !upstream_side
                            && url::Url::parse(&next.url).is_ok_and(|u| in_upstream(&u)) =>
                    {
                        walked.end = End::Upstream(next.url.clone());
                    }
                    Some(Ok(next)) if self.session.hosts().allows(&next.url) => {
                        forms += 1;
                        submitted_consent = consent;
                        url = next.url.clone();
                        request = next;
                        continue;
                    }
                    Some(Ok(next)) => {
                        walked.end =
                            End::Failed(format!("the form posts to {}, outside the hosts of this run", next.url));
                    }
                    Some(Err(why)) => walked.end = End::Failed(why),
                    None if page => walked.end = End::Page,
                    None => walked.end = End::Other(response.status),
                }
                return walked;
            };
            if in_upstream(&next) && !upstream_side {
                collecting = false;
                let told = next.query_pairs().find(|(n, _)| n == "redirect_uri");
                proxy_callback = proxy_callback.or_else(|| told.and_then(|(_, v)| url::Url::parse(&v).ok()));
            }
            let returning = match &proxy_callback {
                Some(told) => same_endpoint(&next, told),
                None => upstream_side && !in_upstream(&next),
            };
            walked.end = if Some(next.origin()) == callback {
                let code = next.query_pairs().any(|(name, _)| name == "code");
                End::Callback { code }
            } else if in_upstream(&next) && !upstream_side && !self.through_upstream {
                End::Upstream(next.to_string())
            } else if returning && self.through_upstream {
                End::Returning(next.to_string())
            } else if !self.session.hosts().allows(next.as_str()) {
                End::Failed(format!(
                    "the chain redirected to {}, outside the hosts of this run",
                    next.origin().ascii_serialization()
                ))
            } else {
                url = next.to_string();
                request = Request::get(&url);
                continue;
            };
            return walked;
        }
        walked
    }
}

/// Whether a page asks the user to consent to this client: a decision (two buttons or more,
/// Allow and Deny) or a form that is no login (no password field), naming the client by one
/// of `marks` (its client_id, client_name, redirect URI) in the text it shows (MCP Security
/// Best Practices, Consent UI Requirements: "Clearly identify the requesting MCP client by
/// name", "Show the registered `redirect_uri`"); or a decision with no password field that
/// names none. A login page ("Sign in to continue to <client>", one button) is none, and
/// neither is what a script carries (an embedded JSON blob).
fn asks_consent(response: &Response, marks: &[String]) -> bool {
    let text = String::from_utf8_lossy(&response.body);
    let doc = scraper::Html::parse_document(&text);
    let select = |css: &str| scraper::Selector::parse(css).expect("a valid selector");
    // Enough text for any page that names its client; a page is capped at 1 MiB anyway.
    let shown = super::consent::shown_text(doc.root_element(), 64 * 1024);
    let names = marks.iter().any(|m| !m.is_empty() && shown.contains(m.as_str()));
    let login = doc.select(&select("input[type=password]")).next().is_some();
    let decision = doc.select(&select("form button, form input[type=submit]")).count() >= 2;
    (decision && names) || (!login && (names || decision))
}

/// Whether an answer is a page for the user to act on: 200, HTML, a form with a button to
/// press, and no script that submits it (an auto-posting interstitial hands over without the
/// user; a handler bound with jQuery's `.submit(function ...)` submits nothing by itself).
fn for_the_user(response: &Response) -> bool {
    if response.status != 200 || response.media_type().is_none_or(|m| m != "text/html") {
        return false;
    }
    let text = String::from_utf8_lossy(&response.body);
    let doc = scraper::Html::parse_document(&text);
    let select = |css: &str| scraper::Selector::parse(css).expect("a valid selector");
    let button = doc
        .select(&select("form button, form input[type=submit], form input[type=image]"))
        .next()
        .is_some();
    let submits = |code: &str| code.contains(".submit()") || code.contains(".requestSubmit(");
    let scripted = doc.select(&select("script")).any(|s| s.text().any(submits))
        || doc
            .select(&select("[onload]"))
            .any(|e| e.value().attr("onload").is_some_and(submits));
    button && !scripted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(body: &str) -> Response {
        Response {
            status: 200,
            headers: vec![("content-type".to_owned(), "text/html".to_owned())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_consent_page_is_a_decision_or_no_login_and_names_the_client_where_a_person_sees_it() {
        let marks = ["client-1".to_owned(), "mcp-auth-conformance".to_owned()];
        let consent = r#"<p>Allow <b>mcp-auth-conformance</b>?</p><form method="post"><button>Deny</button><button>Allow</button></form>"#;
        assert!(asks_consent(&html(consent), &marks));
        let unnamed =
            r#"<p>Allow this application?</p><form method="post"><button>Deny</button><button>Allow</button></form>"#;
        assert!(asks_consent(&html(unnamed), &marks), "a decision");
        let login = r#"<p>Sign in to continue to mcp-auth-conformance</p><form method="post"><input name="u"><input name="p" type="password"><button>Sign in</button></form>"#;
        assert!(!asks_consent(&html(login), &marks), "a login page");
        let blob = r#"<form method="post"><input name="p" type="password"><button>Sign in</button></form><script id="__NEXT_DATA__">{"client_id":"client-1"}</script>"#;
        assert!(!asks_consent(&html(blob), &marks), "a script's data is not shown");
        let combined = r#"<p>mcp-auth-conformance asks</p><form method="post"><input name="p" type="password"><button>Deny</button><button>Approve</button></form>"#;
        assert!(asks_consent(&html(combined), &marks), "sign in and decide on one page");
    }

    #[test]
    fn a_page_for_the_user_has_a_button_and_submits_itself_never() {
        let jquery = r#"<form id="f" method="post"><button>Allow</button></form><script>$('#f').submit(function(){ return true; });</script>"#;
        assert!(for_the_user(&html(jquery)), "binding a handler submits nothing");
        let consent = r#"<form method="post"><button name="decision" value="approve">Allow</button></form>"#;
        assert!(for_the_user(&html(consent)));
        let no_button = r#"<form method="post" action="/go"><input type="hidden" name="x"></form>"#;
        assert!(!for_the_user(&html(no_button)));
        let auto_post = r#"<body onload="document.forms[0].submit()"><form method="post"><input type="submit" value="Continue"></form></body>"#;
        assert!(!for_the_user(&html(auto_post)));
        let scripted = r#"<form id="f" method="post"><button>Go</button></form><script>document.getElementById('f').submit();</script>"#;
        assert!(!for_the_user(&html(scripted)));
        assert!(!for_the_user(&html("<p>Redirecting...</p>")));
    }
}
