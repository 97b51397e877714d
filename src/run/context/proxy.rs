//! The steps of an MCP proxy (config `[proxy]`: a server that sends its users on to a
//! third-party AS under one static client id; MCP Confused Deputy Problem, and the Security
//! Best Practices' Required Protections for it). Each registers a client of its own (DCR), so
//! no other case's grant depends on what they do, and walks the chain itself.
//! - `proxy_consent`: the new client, never approved, is sent to `/authorize`; the walk stops
//!   at the upstream AS. Did a consent page of the proxy's own (a decision on the client) come first,
//!   and what did its approval set (the `form` driver submits it)?
//! - `proxy_callback`: authorizations walked through the upstream AS, each in a browser (a
//!   cookie jar) of its own and held where the upstream sends the browser back; the proxy's
//!   callback is then sent with an altered `state`, with none, from another user's browser,
//!   again after it was served (the control: served first), and, in the browser it belongs
//!   to, that spent state with a fresh upstream code.

use std::collections::BTreeMap;

use crate::check::consent_cookie_flaws;
use crate::http::HttpClient;
use crate::oauth::consent::{ConsentDriver, FormSettings};
use crate::oauth::flow::{Attempt, Flow};
use crate::oauth::proxy::{End, Walk, Walked};
use crate::oauth::requests::{self, Client};
use crate::observation::{Observation, Observed};

use super::Context;
use super::state::unknown_like;

/// Why a run has no proxy checks.
const NOT_A_PROXY: &str = "the target is not declared an MCP proxy (config [proxy] upstream_authorization_endpoint)";

/// What a proxy step runs on: the upstream endpoint, the form settings, a flow and a client
/// registered for the step, and what names that client on a page.
struct ProxySetup<'a> {
    upstream: String,
    form: Option<FormSettings>,
    flow: Flow<'a>,
    client: Client,
    marks: Vec<String>,
}

impl Context {
    /// Step `proxy_consent` (`var:proxy_consent.end`, `var:proxy_consent.cookie_flaws`).
    pub(super) async fn proxy_consent(&self) -> Observation {
        let label = "a never-approved client's authorization request, up to the upstream AS";
        let (setup, registration) = match self.proxy_setup(label).await {
            Ok(setup) => setup,
            Err(obs) => return obs,
        };
        let start = match authorization_url(&setup, self.client.redactor(), "proxy consent") {
            Ok(url) => url,
            Err(why) => return Observation::skipped(label, why),
        };
        let session = match self.client.session() {
            Ok(s) => s,
            Err(e) => return Observation::skipped(label, e.to_string()),
        };
        let walked = setup.walk(&session, false).from(&start).await;
        let end = consent_end(&walked, &setup.client.client_id);
        let mut vars = BTreeMap::from([("proxy_consent.end".to_owned(), end)]);
        if walked.approved {
            let plain_loopback =
                url::Url::parse(&start).is_ok_and(|u| u.scheme() == "http" && crate::http::hosts::is_loopback(&u));
            let flaws = consent_cookie_flaws(&walked.approval_cookies, plain_loopback);
            vars.insert("proxy_consent.cookie_flaws".to_owned(), flaws);
        }
        let mut exchanges = registration;
        exchanges.extend(walked.exchanges);
        // The consent page is what the hardening rule judges; without one, where the walk
        // ended.
        let observed = match (walked.consent, walked.last, walked.end) {
            (Some(page), _, _) => Observed::Response(page),
            (None, _, End::Failed(why)) => Observed::Error(why),
            (None, Some(last), _) => Observed::Response(last),
            (None, None, _) => Observed::Error("no answer".to_owned()),
        };
        Observation {
            label: label.to_owned(),
            exchanges,
            observed,
            vars,
        }
    }

    /// Step `proxy_callback`: per variant, an authorization of its own walked through the
    /// upstream AS and held where it sends the browser back, then the variant.
    /// `var:proxy_callback.<variant>`: `served` when an answer leads to the client's redirect
    /// URI with a code, `refused...` or `answered <status>` otherwise, `no answer: ...`;
    /// `var:proxy_callback.controls`: `held` when the replay's genuine callback was served (the
    /// held callback URLs work) and every variant got an answer, else why not.
    pub(super) async fn proxy_callback(&self) -> Observation {
        let label = "the proxy's callback from the upstream AS, tampered with and replayed";
        let (setup, mut exchanges) = match self.proxy_setup(label).await {
            Ok(setup) => setup,
            Err(obs) => return obs,
        };
        let mut browsers = Vec::new();
        for _ in CallbackVariant::ALL {
            match self.client.session() {
                Ok(browser) => browsers.push(browser),
                Err(e) => return Observation::skipped(label, e.to_string()),
            }
        }
        let (mut vars, mut unmet) = (BTreeMap::new(), Vec::new());
        let mut last = None;
        // The replay's callback, served: `reused` presents its state again, from its browser.
        let mut spent: Option<(String, &HttpClient)> = None;
        let mut control = None;
        // Unspent where the proxy keeps the rule: the altered variant's genuine state (its
        // browser's pending one) and the missing variant's upstream code. Sent together at
        // the end, they show whether the proxy ties an upstream code to its state (PKCE
        // towards the upstream): then a spent state with a fresh code is refused either way.
        let (mut pending_state, mut unspent_code): (Option<String>, Option<String>) = (None, None);
        for (i, variant) in CallbackVariant::ALL.into_iter().enumerate() {
            let (name, browser) = (variant.name(), &browsers[i]);
            let start = match authorization_url(&setup, self.client.redactor(), name) {
                Ok(url) => url,
                Err(why) => return Observation::skipped(label, why),
            };
            let walked = setup.walk(browser, true).from(&start).await;
            exchanges.extend(walked.exchanges);
            let returning = match walked.end {
                End::Returning(url) => url,
                End::Page => {
                    let why = "the authorization stopped at a page the consent driver did not pass (config [consent]; the \
                               upstream's pages get the configured fields only with [proxy] fill_upstream_forms = true)";
                    return Observation::new(label, exchanges, Observed::Skipped(why.to_owned()), BTreeMap::new());
                }
                End::Failed(why) => return Observation::new(label, exchanges, Observed::Error(why), BTreeMap::new()),
                end => {
                    let why = format!(
                        "the authorization did not come back from the upstream AS ({})",
                        outcome(&end)
                    );
                    return Observation::new(label, exchanges, Observed::Skipped(why), BTreeMap::new());
                }
            };
            let Some(state) = query_param(&returning, "state") else {
                let why = "the upstream AS sent the browser back without a state: nothing to alter or replay";
                return Observation::new(label, exchanges, Observed::Skipped(why.to_owned()), BTreeMap::new());
            };
            // The answers are followed to where they lead, never into a form or upstream.
            let send = async |browser: &HttpClient, url: &str| send_answer(&setup, browser, url).await;
            let sent = match variant {
                CallbackVariant::Altered => {
                    pending_state = Some(state.clone());
                    send(browser, &with_state(&returning, Some(&unknown_like(&state)))).await
                }
                CallbackVariant::Missing => {
                    unspent_code = Some(returning.clone());
                    send(browser, &with_state(&returning, None)).await
                }
                // Another user's browser, with a session of its own at the proxy (the
                // altered variant's).
                CallbackVariant::OtherBrowser => send(&browsers[0], &returning).await,
                CallbackVariant::Replay => {
                    let genuine = send(browser, &returning).await;
                    exchanges.extend(genuine.exchanges);
                    control = Some(outcome(&genuine.end));
                    if genuine.end == (End::Callback { code: true }) {
                        spent = Some((state.clone(), browser));
                    }
                    send(browser, &returning).await
                }
                CallbackVariant::Reused => match &spent {
                    Some((old, owner)) => send(owner, &with_state(&returning, Some(old))).await,
                    None => {
                        let why = "not sent: the replay's genuine callback was not served";
                        vars.insert(format!("proxy_callback.{name}"), why.to_owned());
                        continue;
                    }
                },
            };
            exchanges.extend(sent.exchanges);
            let answer = outcome(&sent.end);
            if answer.starts_with("no answer") {
                unmet.push(format!("{name}: {answer}"));
            }
            vars.insert(format!("proxy_callback.{name}"), answer);
            last = sent.last;
        }
        // The binding control: a refused reuse counts only where codes are not tied to states.
        let reuse_refused = vars
            .get("proxy_callback.reused")
            .is_some_and(|v| v != "served" && !v.starts_with("not"));
        if let (true, Some(state), Some(code_url)) = (reuse_refused, pending_state, unspent_code) {
            let crossed = send_answer(&setup, &browsers[0], &with_state(&code_url, Some(&state))).await;
            exchanges.extend(crossed.exchanges);
            if crossed.end != (End::Callback { code: true }) {
                let why = format!(
                    "not judged: a pending state with another authorization's upstream code was {} too, so the proxy \
                     ties codes to states (PKCE towards the upstream) and a spent state with a fresh code is refused \
                     either way",
                    outcome(&crossed.end)
                );
                vars.insert("proxy_callback.reused".to_owned(), why);
            }
        }
        match control.as_deref() {
            Some("served") => {}
            Some(other) => unmet.push(format!("the genuine callback (before the replay) was {other}")),
            None => unmet.push("the genuine callback was not sent".to_owned()),
        }
        // A code for a tampered callback needs no control: it is the breach.
        let served = vars.values().any(|v| v == "served");
        let controls = match unmet.is_empty() || served {
            true => "held".to_owned(),
            false => unmet.join("; "),
        };
        vars.insert("proxy_callback.controls".to_owned(), controls);
        let observed = match last {
            Some(response) => Observed::Response(response),
            None => Observed::Error("the last callback got no answer".to_owned()),
        };
        Observation::new(label, exchanges, observed, vars)
    }

    /// What the proxy steps run on, with the registration's exchanges; or the observation
    /// (labelled `label`) of why they cannot run.
    async fn proxy_setup(&self, label: &str) -> Result<(ProxySetup<'_>, Vec<crate::http::Exchange>), Observation> {
        let proxy = self
            .config
            .proxy
            .as_ref()
            .ok_or_else(|| Observation::skipped(label, NOT_A_PROXY))?;
        let form = match &self.config.consent {
            ConsentDriver::Redirects => None,
            ConsentDriver::Form(form) => Some(form.clone()),
            ConsentDriver::Command { .. } | ConsentDriver::Manual { .. } | ConsentDriver::Browser(_) => {
                let why =
                    "the proxy checks walk the chain themselves: they need the `redirects` or `form` consent driver";
                return Err(Observation::skipped(label, why));
            }
        };
        let flow = self
            .grants
            .flow()
            .await
            .map_err(|why| Observation::skipped(label, why))?;
        // A client of its own, registered now: never approved, and no other case's grant is
        // touched by what the step does with it (an AS may revoke a client's earlier grants
        // when it authorizes again).
        let body = self.grants.registration_body().await;
        let registration = flow.register("the proxy step's own client registration", &body).await;
        let client = match self
            .grants
            .registered_client(&registration, "no client of the step's own")
        {
            Ok(client) => client,
            Err(why) => {
                return Err(Observation {
                    exchanges: registration.exchanges,
                    ..why.observation(label)
                });
            }
        };
        let name = body.get("client_name").and_then(|n| n.as_str()).unwrap_or_default();
        let marks = vec![client.client_id.clone(), name.to_owned(), client.redirect_uri.clone()];
        let setup = ProxySetup {
            upstream: proxy.upstream_authorization_endpoint.clone(),
            form,
            flow,
            client,
            marks,
        };
        Ok((setup, registration.exchanges))
    }
}

impl ProxySetup<'_> {
    /// A walk in `browser` that fills pages as configured; `through_upstream`: on past the
    /// upstream AS to its way back.
    fn walk<'w>(&'w self, browser: &'w HttpClient, through_upstream: bool) -> Walk<'w> {
        Walk {
            session: browser,
            redirect_uri: &self.client.redirect_uri,
            upstream: &self.upstream,
            client_marks: &self.marks,
            form: self.form.as_ref(),
            through_upstream,
        }
    }

    /// A walk of the proxy's answers to a callback: followed, never into a form or upstream.
    fn answers<'w>(&'w self, browser: &'w HttpClient) -> Walk<'w> {
        Walk {
            form: None,
            ..self.walk(browser, false)
        }
    }
}

/// The proxy's answer to a callback, followed to where it leads.
async fn send_answer(setup: &ProxySetup<'_>, browser: &HttpClient, url: &str) -> Walked {
    setup.answers(browser).from(url).await
}

/// What step `proxy_callback` does to a callback from the upstream AS (MCP Security Best
/// Practices, OAuth State Parameter Validation): each a refusal the proxy owes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum CallbackVariant {
    /// Another state of the same shape, never issued ("does not match").
    Altered,
    /// No state ("missing").
    Missing,
    /// Sent from another browser, without the cookies the state was stored with ("matches the
    /// stored value in the callback request's cookies or ... cookie-based session").
    OtherBrowser,
    /// Sent again after it was served ("single-use").
    Replay,
    /// The replayed (spent) state with a fresh upstream code: single use, whatever the
    /// upstream AS does with a spent code.
    Reused,
}

impl CallbackVariant {
    const ALL: [CallbackVariant; 5] = [
        CallbackVariant::Altered,
        CallbackVariant::Missing,
        CallbackVariant::OtherBrowser,
        CallbackVariant::Replay,
        CallbackVariant::Reused,
    ];

    fn name(self) -> &'static str {
        match self {
            CallbackVariant::Altered => "altered",
            CallbackVariant::Missing => "missing",
            CallbackVariant::OtherBrowser => "other_browser",
            CallbackVariant::Replay => "replay",
            CallbackVariant::Reused => "reused",
        }
    }
}

/// The valid authorization request of the step's client, as a URL (a fresh attempt for
/// `purpose`), or why there is none.
fn authorization_url(
    setup: &ProxySetup<'_>,
    redactor: &crate::http::redact::Redactor,
    purpose: &str,
) -> Result<String, String> {
    let (flow, client, upstream) = (&setup.flow, &setup.client, setup.upstream.as_str());
    let endpoint = flow.reachable("authorization_endpoint", flow.server.authorization_endpoint.as_ref())?;
    // The walk tells the upstream AS from the proxy by origin.
    let origin = |u: &str| url::Url::parse(u).ok().map(|u| u.origin());
    if origin(endpoint) == origin(upstream) {
        return Err(format!(
            "the upstream authorization endpoint <{upstream}> shares the proxy's origin: the walk cannot tell them apart"
        ));
    }
    let attempt = Attempt::new(flow.randomness, &format!("{} {purpose}", flow.purpose), redactor);
    let challenge = crate::oauth::pkce::s256(attempt.verifier.expose());
    let params = requests::authorization_params(
        client,
        &attempt.state,
        &challenge,
        flow.scope.as_deref(),
        flow.resource.as_deref(),
    );
    requests::with_query(endpoint, &params)
}

/// How a never-approved client's walk went: `consent` (a page of the proxy's asking consent
/// for the client came before the upstream AS), `forwarded` (on to the upstream AS under
/// another client id, the proxy's static one, with no page at all), `forwarded after a page
/// asking no consent` (a login page, say), `passthrough` (under the client's own id: a proxy without a
/// static client id, which the rule does not address, like the TypeScript SDK's
/// ProxyOAuthServerProvider), `a page asking no consent` (where the walk stopped: a login page
/// the driver did not pass), else what the answer led to.
fn consent_end(walked: &Walked, client_id: &str) -> String {
    if walked.consent.is_some() {
        return "consent".to_owned();
    }
    let location = match &walked.end {
        End::Upstream(location) => location,
        End::Page => return "a page asking no consent".to_owned(),
        end => return outcome(end),
    };
    match (
        query_param(location, "client_id").as_deref() == Some(client_id),
        walked.paged,
    ) {
        (true, _) => "passthrough".to_owned(),
        (false, false) => "forwarded".to_owned(),
        (false, true) => "forwarded after a page asking no consent".to_owned(),
    }
}

/// What an answer to the proxy led to: `served` (the client's redirect URI with a code),
/// `refused` (an error redirect, a page, a 4xx, the upstream again) or what else.
fn outcome(end: &End) -> String {
    match end {
        End::Callback { code: true } => "served".to_owned(),
        End::Callback { code: false } | End::Page | End::Upstream(_) => "refused".to_owned(),
        End::Other(status @ 400..=499) => format!("refused ({status})"),
        End::Other(status) => format!("answered {status}"),
        End::Returning(_) => "sent back from the upstream AS".to_owned(),
        End::Failed(why) => format!("no answer: {why}"),
    }
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    url.query_pairs().find(|(n, _)| n == name).map(|(_, v)| v.into_owned())
}

/// `url` with its `state` replaced by `state`, or removed.
fn with_state(url: &str, state: Option<&str>) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_owned();
    };
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(n, _)| n != "state")
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let mut query = parsed.query_pairs_mut();
    query.clear().extend_pairs(pairs);
    if let Some(state) = state {
        query.append_pair("state", state);
    }
    drop(query);
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walked(end: End, location: &str, page: bool) -> Walked {
        let redirect = crate::http::Response {
            status: 302,
            headers: vec![("location".to_owned(), location.to_owned())],
            body: Vec::new(),
        };
        let html = crate::http::Response {
            status: 200,
            headers: vec![("content-type".to_owned(), "text/html".to_owned())],
            body: b"<form></form>".to_vec(),
        };
        Walked {
            exchanges: Vec::new(),
            end,
            last: Some(redirect),
            paged: page,
            consent: page.then_some(html),
            approved: false,
            approval_cookies: Vec::new(),
        }
    }

    #[test]
    fn only_a_static_client_id_upstream_is_forwarding() {
        let upstream = "https://up.example/authorize?client_id=static-proxy&state=x";
        let to = |url: &str| End::Upstream(url.to_owned());
        assert_eq!(consent_end(&walked(to(upstream), upstream, false), "c1"), "forwarded");
        assert_eq!(consent_end(&walked(to(upstream), upstream, true), "c1"), "consent");
        let mut login_only = walked(to(upstream), upstream, true);
        login_only.consent = None;
        assert_eq!(
            consent_end(&login_only, "c1"),
            "forwarded after a page asking no consent"
        );
        // The client's own id passed through: no static client id, no confused deputy.
        let own = "https://up.example/authorize?client_id=c1&state=x";
        assert_eq!(consent_end(&walked(to(own), own, false), "c1"), "passthrough");
        let coded = walked(End::Callback { code: true }, "http://127.0.0.1:1/cb?code=x", false);
        assert_eq!(consent_end(&coded, "c1"), "served");
        let refused = walked(End::Other(400), "", false);
        assert_eq!(consent_end(&refused, "c1"), "refused (400)");
    }

    #[test]
    fn the_state_is_replaced_or_removed_and_the_rest_kept() {
        let url = "http://127.0.0.1:1/as/callback?code=c%2B1&state=s1";
        assert_eq!(
            with_state(url, Some("s2")),
            "http://127.0.0.1:1/as/callback?code=c%2B1&state=s2"
        );
        assert_eq!(with_state(url, None), "http://127.0.0.1:1/as/callback?code=c%2B1");
    }
}
