//! The AS as an MCP proxy ([`crate::reference::Options::proxy`]): its own consent page for
//! each authorization, then the upstream AS under one static client id, then its callback,
//! which completes the authorization the upstream `state` names (MCP Security Best
//! Practices, Confused Deputy Problem: Required Protections).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::reference::upstream;
use crate::report::html::escape;

/// The consent page: which client asks, for what, and where the tokens go; a login form too
/// under `--login-form`. Framing is forbidden (unless faulty).
pub(in crate::reference) fn consent_page(s: &State, txn: &str, pending: &Pending) -> Response {
    let login = match s.login_form {
        true => {
            "<label>User <input name=\"username\"></label>\
                 <label>Password <input name=\"password\" type=\"password\"></label>"
        }
        false => "",
    };
    let scope = pending.grant.scope.as_deref().unwrap_or("(none)");
    // Deny comes first: a driver must press the button it was told to.
    let html = if s.login_script {
        scripted_login::page(txn, pending)
    } else {
        format!(
            "<!doctype html><html><head><title>Sign in to the reference AS</title></head><body>\
         <p>The MCP client <b>{client}</b> asks for <b>{scope}</b>; its tokens go to <b>{redirect}</b>.</p>\
         <form method=\"post\" action=\"consent\">\
         <input type=\"hidden\" name=\"txn\" value=\"{txn}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{login}\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button></form></body></html>",
            client = escape(&pending.grant.client_id),
            scope = escape(scope),
            redirect = escape(&pending.redirect_uri),
            txn = escape(txn),
            csrf = escape(&pending.csrf),
        )
    };
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    if s.upstream_origin.is_some() {
        let headers = response.headers_mut();
        if s.has(Fault::ConsentPageFrameable) {
            // `default-src` does not govern framing (CSP 3 §6.4.2).
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'".parse().expect("a header value"),
            );
        } else {
            headers.insert(header::X_FRAME_OPTIONS, "DENY".parse().expect("a header value"));
            let policy = "frame-ancestors 'none'".parse().expect("a header value");
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
    }
    response
}

/// The proxy's own login page (variation `proxy-login-page-first`): no consent, so the
/// framing duties of a consent page are not its.
pub(in crate::reference) fn login_page(txn: &str, pending: &Pending) -> Response {
    let html = format!(
        "<!doctype html><html><head><title>Sign in to the MCP proxy</title></head><body>\
         <form method=\"post\" action=\"consent\">\
         <input type=\"hidden\" name=\"txn\" value=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"stage\" value=\"login\">\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Sign in</button></form></body></html>",
        escape(txn),
        escape(&pending.csrf),
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// Signed in to the proxy: a session cookie of its own (no consent cookie), then the consent
/// page.
pub(in crate::reference) fn signed_in(s: &State, txn: &str, pending: &Pending) -> Response {
    let sid = {
        let mut st = store(s);
        st.signed_in.insert(pending.session.clone());
        st.secret("proxy-sid")
    };
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, format!("consent?txn={txn}")),
            (header::SET_COOKIE, format!("proxy_sid={sid}; Path=/")),
        ],
    )
        .into_response()
}

/// Consent given: the authorization goes on at the upstream AS, its `state` stored only now
/// and a consent cookie set just before the redirect (not before approval).
pub(in crate::reference) fn forward_upstream(s: &State, pending: Pending) -> Response {
    let Some(upstream) = &s.upstream_origin else {
        return complete(s, pending);
    };
    // The callback under the mount this authorization came through.
    let mount = pending
        .issuer
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    let callback = format!("{mount}/callback");
    let (state, consent) = {
        let mut st = store(s);
        let state = st.id("upstream-state");
        st.latest_upstream.insert(pending.session.clone(), state.clone());
        st.upstream_states.insert(state.clone(), pending);
        (state, st.secret("consent"))
    };
    let mut location = url::Url::parse(&format!("{upstream}{}", upstream::AUTHORIZE)).expect("the upstream is a URL");
    location.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", upstream::STATIC_CLIENT_ID),
        ("redirect_uri", &callback),
        ("state", &state),
    ]);
    let cookie = match s.has(Fault::ConsentCookieWeak) {
        true => format!("mcp_consent={consent}; Path=/; HttpOnly"),
        false => format!("__Host-mcp_consent={consent}; Path=/; Secure; HttpOnly; SameSite=Lax"),
    };
    (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string()), (header::SET_COOKIE, cookie)],
    )
        .into_response()
}

/// A code the upstream AS issued (single use at the proxy's callback).
pub(in crate::reference) fn upstream_code(s: &State) -> String {
    let mut st = store(s);
    let code = st.secret("upstream-code");
    st.upstream_codes.insert(code.clone());
    code
}

/// The proxy's callback from the upstream AS: the `state` must be one it stored for this
/// browser session, and is spent; the upstream code too.
pub(in crate::reference) async fn callback(
    Extract(s): Extract<Arc<State>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let state = q.get("state").cloned().unwrap_or_default();
    let pending = {
        let mut st = store(&s);
        // A state stored for this browser session (unless faulty) and an unspent upstream
        // code: neither is spent by a request that lacks the other.
        let fresh = |st: &mut Store, state: &str| {
            let code = q.get("code").filter(|c| st.upstream_codes.contains(*c))?;
            let stored = st.upstream_states.get(state)?;
            if !has_session(&headers, stored) && !s.has(Fault::ProxyCallbackNotBound) {
                return None;
            }
            let pending = match s.has(Fault::ProxyCallbackStateReusable) {
                true => st.upstream_states.get(state).cloned()?,
                false => st.upstream_states.remove(state)?,
            };
            st.upstream_codes.remove(code);
            Some(pending)
        };
        match fresh(&mut st, &state) {
            Some(pending) => Some(pending),
            // A fault: any state, or none, stands for the browser session's latest.
            None if s.has(Fault::ProxyCallbackStateUnchecked) => {
                let latest = session_cookie(&headers).and_then(|session| st.latest_upstream.get(&session).cloned());
                latest.and_then(|latest| fresh(&mut st, &latest))
            }
            None => None,
        }
    };
    match pending {
        Some(pending) => complete(&s, pending),
        None => error_page("invalid_request: unknown, used or mismatched state at the proxy callback"),
    }
}

/// The browser session's id, from its cookie.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    let cookie = headers.get(header::COOKIE)?.to_str().ok()?;
    cookie
        .split(';')
        .find_map(|c| c.trim().strip_prefix("reference_session="))
        .map(str::to_owned)
}
