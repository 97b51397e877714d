//! The steps of an MCP proxy (config `[proxy]`: a server that sends its users on to a
//! third-party AS under one static client id; MCP Confused Deputy Problem, and the Security
//! Best Practices' Required Protections for it).
//! - `proxy_consent`: a client registered now, never approved, is sent to `/authorize`; the
//!   walk stops at the upstream AS. Did the proxy show a page first (its consent), and what
//!   did its approval set (the `form` driver submits it)?
//! - `proxy_callback`: authorizations walked through the upstream AS, each held where the
//!   upstream sends the browser back; the proxy's callback is then sent with an altered
//!   `state`, with none, from another browser, again after it was served, and with that spent
//!   state and a fresh upstream code. Each but the replay has the callback as it came sent
//!   after it as its control (the replay's comes before it).

use std::collections::BTreeMap;

use crate::check::consent_cookie_flaws;
use crate::oauth::consent::{ConsentDriver, FormSettings};
use crate::oauth::flow::{Attempt, Flow};
use crate::oauth::proxy::{End, Walk, Walked};
use crate::oauth::requests::{self, Client};
use crate::observation::{Observation, Observed};

use super::Context;
use super::state::unknown_like;

/// Why a run has no proxy checks.
const NOT_A_PROXY: &str = "the target is not declared an MCP proxy (config [proxy] upstream_authorization_endpoint)";

impl Context {
    /// Step `proxy_consent` (`var:proxy_consent.end`, `var:proxy_consent.cookie_flaws`).
    pub(super) async fn proxy_consent(&self) -> Observation {
        let label = "a never-approved client's authorization request, up to the upstream AS";
        let (upstream, form) = match self.proxy_setup() {
            Ok(setup) => setup,
            Err(why) => return Observation::skipped(label, why),
        };
        // A client of its own, registered now: the proxy cannot have its consent yet.
        let flow = match self.grants.flow().await {
            Ok(flow) => flow,
            Err(why) => return Observation::skipped(label, why),
        };
        let registration = flow
            .register(
                "never-approved client registration",
                &self.grants.registration_body().await,
            )
            .await;
        let client = match self.grants.registered_client(&registration, "no never-approved client") {
            Ok(client) => client,
            Err(why) => {
                return Observation {
                    exchanges: registration.exchanges,
                    ..why.observation(label)
                };
            }
        };
        let start = match authorization_url(&flow, &client, &upstream, self.client.redactor(), "proxy consent") {
            Ok(url) => url,
            Err(why) => return Observation::skipped(label, why),
        };
        let session = match self.client.session() {
            Ok(s) => s,
            Err(e) => return Observation::skipped(label, e.to_string()),
        };
        let walk = Walk {
            session: &session,
            redirect_uri: &client.redirect_uri,
            upstream: &upstream,
            form: form.as_ref(),
            through_upstream: false,
        };
        let walked = walk.from(&start).await;
        let end = consent_end(&walked, &client.client_id);
        let mut vars = BTreeMap::from([("proxy_consent.end".to_owned(), end)]);
        if walked.approved {
            let flaws = consent_cookie_flaws(&walked.approval_cookies, &walked.cookies_before);
            vars.insert("proxy_consent.cookie_flaws".to_owned(), flaws);
        }
        let mut exchanges = registration.exchanges;
        exchanges.extend(walked.exchanges);
        // The page (the last before the upstream: the consent page, where a login page comes
        // first) is what the hardening rule judges; without one, where the walk ended.
        let observed = match (walked.page, walked.last, walked.end) {
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
    /// upstream AS and held where it sends the browser back; then the variant and, as its
    /// control, the callback as it came (served, unless the variant took its place).
    /// `var:proxy_callback.<variant>`: `served` when an answer leads to the client's redirect
    /// URI with a code; `var:proxy_callback.controls`: `held`, or which did not and why.
    pub(super) async fn proxy_callback(&self) -> Observation {
        let label = "the proxy's callback from the upstream AS, tampered with and replayed";
        let (upstream, form) = match self.proxy_setup() {
            Ok(setup) => setup,
            Err(why) => return Observation::skipped(label, why),
        };
        let (flow, client) = match self.grants.flow_and_client().await {
            Ok(pair) => pair,
            Err(why) => return why.observation(label),
        };
        // The browser: one cookie jar for every authorization, as a user's.
        let (browser, other_browser) = match (self.client.session(), self.client.session()) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return Observation::skipped(label, e.to_string()),
        };
        let through = Walk {
            session: &browser,
            redirect_uri: &client.redirect_uri,
            upstream: &upstream,
            form: form.as_ref(),
            through_upstream: true,
        };
        // The callback's answers are followed to where they lead, never into a form or upstream.
        let answer = |session| Walk {
            session,
            form: None,
            through_upstream: false,
            ..through
        };
        let (mut exchanges, mut vars, mut unmet) = (Vec::new(), BTreeMap::new(), Vec::new());
        let mut last = None;
        // The replay's state, spent: `reused` presents it with a fresh upstream code.
        let mut spent: Option<String> = None;
        for variant in CallbackVariant::ALL {
            let name = variant.name();
            let start = match authorization_url(&flow, &client, &upstream, self.client.redactor(), name) {
                Ok(url) => url,
                Err(why) => return Observation::skipped(label, why),
            };
            let walked = through.from(&start).await;
            exchanges.extend(walked.exchanges);
            let returning = match walked.end {
                End::Returning(url) => url,
                End::Page => {
                    let why =
                        "the authorization stopped at a page: the `form` consent driver passes it (config [consent])";
                    return with(label, exchanges, Observed::Skipped(why.to_owned()), BTreeMap::new());
                }
                End::Failed(why) => return with(label, exchanges, Observed::Error(why), BTreeMap::new()),
                end => {
                    let why = format!(
                        "the authorization did not come back from the upstream AS ({})",
                        outcome(&end)
                    );
                    return with(label, exchanges, Observed::Skipped(why), BTreeMap::new());
                }
            };
            let Some(state) = query_param(&returning, "state") else {
                let why = "the upstream AS sent the browser back without a state: nothing to alter or replay";
                return with(label, exchanges, Observed::Skipped(why.to_owned()), BTreeMap::new());
            };
            let tampered = match variant {
                CallbackVariant::Altered => Some(with_state(&returning, Some(&unknown_like(&state)))),
                CallbackVariant::Missing => Some(with_state(&returning, None)),
                CallbackVariant::Reused => spent.as_deref().map(|old| with_state(&returning, Some(old))),
                CallbackVariant::OtherBrowser | CallbackVariant::Replay => Some(returning.clone()),
            };
            let Some(tampered) = tampered else {
                let why = "not sent: no spent state to present (the replay's control failed)";
                unmet.push(format!("{name}: {why}"));
                vars.insert(format!("proxy_callback.{name}"), why.to_owned());
                continue;
            };
            let session = match variant {
                CallbackVariant::OtherBrowser => &other_browser,
                _ => &browser,
            };
            // The replay's control comes first: the state is spent by the genuine callback.
            let replay = variant == CallbackVariant::Replay;
            let control = match replay {
                true => Some(answer(&browser).from(&returning).await),
                false => None,
            };
            let sent = answer(session).from(&tampered).await;
            let control = match control {
                Some(control) => control,
                None if sent.end == (End::Callback { code: true }) => {
                    exchanges.extend(sent.exchanges);
                    vars.insert(format!("proxy_callback.{name}"), outcome(&sent.end));
                    last = sent.last;
                    continue;
                }
                None => answer(&browser).from(&returning).await,
            };
            let (verdict, genuine) = (outcome(&sent.end), outcome(&control.end));
            if replay {
                exchanges.extend(control.exchanges);
                exchanges.extend(sent.exchanges);
            } else {
                exchanges.extend(sent.exchanges);
                exchanges.extend(control.exchanges);
            }
            if !verdict.starts_with("refused") && verdict != "served" {
                unmet.push(format!("{name}: {verdict}"));
            } else if genuine != "served" {
                unmet.push(format!("{name}: the genuine callback was {genuine}"));
            }
            if replay && genuine == "served" {
                spent = Some(state);
            }
            vars.insert(format!("proxy_callback.{name}"), verdict);
            last = sent.last;
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
        with(label, exchanges, observed, vars)
    }

    /// The upstream AS's authorization endpoint and the form settings to pass pages with, or
    /// why the proxy steps cannot run.
    fn proxy_setup(&self) -> Result<(String, Option<FormSettings>), String> {
        let proxy = self.config.proxy.as_ref().ok_or(NOT_A_PROXY)?;
        let form = match &self.config.consent {
            ConsentDriver::Redirects => None,
            ConsentDriver::Form(form) => Some(form.clone()),
            ConsentDriver::Command { .. } | ConsentDriver::Manual { .. } => {
                return Err(
                    "the proxy checks walk the chain themselves: they need the `redirects` or `form` consent driver"
                        .to_owned(),
                );
            }
        };
        Ok((proxy.upstream_authorization_endpoint.clone(), form))
    }
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

/// The valid authorization request of `client`, as a URL (a fresh attempt for `purpose`), or
/// why there is none.
fn authorization_url(
    flow: &Flow<'_>,
    client: &Client,
    upstream: &str,
    redactor: &crate::http::redact::Redactor,
    purpose: &str,
) -> Result<String, String> {
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

/// How a never-approved client's walk went: `page` (the proxy stopped for the user first),
/// `forwarded` (on to the upstream AS under another client id: the proxy's static one),
/// `passthrough` (under the client's own id: a proxy without a static client id, whom the
/// rule does not address, like the TypeScript SDK's ProxyOAuthServerProvider), else what the
/// answer led to.
fn consent_end(walked: &Walked, client_id: &str) -> String {
    if walked.page.is_some() {
        return "page".to_owned();
    }
    let End::Upstream(location) = &walked.end else {
        return outcome(&walked.end);
    };
    match query_param(location, "client_id").as_deref() == Some(client_id) {
        true => "passthrough".to_owned(),
        false => "forwarded".to_owned(),
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

fn with(
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
            page: page.then_some(html),
            approved: false,
            approval_cookies: Vec::new(),
            cookies_before: Default::default(),
        }
    }

    #[test]
    fn only_a_static_client_id_upstream_is_forwarding() {
        let upstream = "https://up.example/authorize?client_id=static-proxy&state=x";
        let to = |url: &str| End::Upstream(url.to_owned());
        assert_eq!(consent_end(&walked(to(upstream), upstream, false), "c1"), "forwarded");
        assert_eq!(consent_end(&walked(to(upstream), upstream, true), "c1"), "page");
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
