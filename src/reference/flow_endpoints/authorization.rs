//! The authorization endpoint (OAuth 2.1 §4.1.1, §4.1.2.1), its consent hop and login form.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Extension, Form, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::*;

/// Parameters the reference knows; the rest are ignored (OAuth 2.1 §4.1.1), unless faulty.
pub(in crate::reference) const KNOWN_AUTHORIZATION_PARAMETERS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
    "resource",
    "prompt",
    "nonce",
];

/// Exact match (OAuth 2.1 §2.3.1), except the port of a loopback IP literal for a native
/// client (§8.4.2).
pub(in crate::reference) fn redirect_matches(s: &State, registered: &str, requested: &str, native: bool) -> bool {
    if registered == requested {
        return true;
    }
    if s.has(Fault::RedirectUriPrefixMatch) && requested.starts_with(registered) {
        return true;
    }
    let (Ok(r), Ok(q)) = (url::Url::parse(registered), url::Url::parse(requested)) else {
        return false;
    };
    let loopback_ip = crate::http::hosts::is_loopback_ip(&r);
    if !loopback_ip || !native || s.has(Fault::LoopbackPortExact) || r.scheme() != q.scheme() || r.host() != q.host() {
        return false;
    }
    if s.has(Fault::LoopbackPortVariantUnchecked) {
        return true;
    }
    // A parser resolves dot segments, drops userinfo, reads 127.1 as 127.0.0.1 and decodes
    // nothing consistently: the comparison deployed servers get wrong.
    if s.has(Fault::RedirectUriParsedComparison) {
        return (r.path(), r.query(), r.fragment()) == (q.path(), q.query(), q.fragment());
    }
    // RFC 8252 §7.3: only the port may differ; everything else is compared as text.
    around_port(registered) == around_port(requested)
}

/// The text of a URI before and after its port: `http://127.0.0.1:1234/cb?x` gives
/// (`http://127.0.0.1`, `/cb?x`). (The url crate normalises what must stay as sent.)
pub(in crate::reference) fn around_port(uri: &str) -> Option<(&str, &str)> {
    let start = uri.find("://")? + 3;
    let end = uri[start..].find(['/', '?', '#']).map_or(uri.len(), |i| start + i);
    let authority = &uri[start..end];
    let host_end = match authority.rfind(':') {
        // `[::1]` has colons of its own: a port follows the bracket.
        Some(i) if !authority[i..].contains(']') && authority[i + 1..].bytes().all(|b| b.is_ascii_digit()) => start + i,
        _ => end,
    };
    Some((&uri[..host_end], &uri[end..]))
}

pub(in crate::reference) async fn authorize(
    Extract(s): Extract<Arc<State>>,
    Extension(base): Extension<Base>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    // A URL client_id names a client metadata document: fetched and checked, it is the
    // client's registration (CIMD §4).
    let document = q.get("client_id").filter(|id| is_document_url(id) && s.serves_cimd());
    if let Some(client_id) = document {
        let requested = q.get("redirect_uri").map(String::as_str);
        let client = match s.has(Fault::CimdNotFetched) {
            // A fault: any URL client id is a public client, its document never fetched.
            true => Ok(RegisteredClient {
                redirect_uris: requested.into_iter().map(str::to_owned).collect(),
                secret: None,
                web: false,
                scopes: None,
            }),
            false => cimd::client(&s, client_id, requested).await,
        };
        match client {
            Ok(client) => {
                store(&s).clients.insert(client_id.clone(), client);
            }
            Err(why) => return error_page(&why),
        }
    }
    // Without a known client and a registered redirect URI nothing may redirect.
    let Some(client) = q.get("client_id").and_then(|id| store(&s).clients.get(id).cloned()) else {
        // A generic validation error handler redirects a missing client_id like any error.
        let missing = q.get("client_id").is_none_or(|id| id.is_empty());
        let redirects =
            s.has(Fault::UnknownClientErrorRedirect) || (missing && s.has(Fault::MissingClientErrorRedirect));
        if redirects && let Some(uri) = q.get("redirect_uri") {
            return error_redirect(
                &s,
                &base,
                uri,
                q.get("state").map(String::as_str),
                "unauthorized_client",
            );
        }
        return error_page("unknown client");
    };
    let Some(redirect_uri) = q.get("redirect_uri").cloned() else {
        return error_page("redirect_uri is required");
    };
    // A fault: a document's client may use any loopback redirect URI.
    let any_loopback = document.is_some()
        && s.has(Fault::CimdLoopbackRedirectUnchecked)
        && url::Url::parse(&redirect_uri).is_ok_and(|u| crate::http::hosts::is_loopback(&u));
    let registered = any_loopback
        || client
            .redirect_uris
            .iter()
            .any(|r| redirect_matches(&s, r, &redirect_uri, !client.web));
    if !registered {
        return error_page("redirect_uri is not registered for this client");
    }
    let state = q.get("state").cloned();
    let fail = |code: &str| error_redirect(&s, &base, &redirect_uri, state.as_deref(), code);
    if q.get("response_type").map(String::as_str) != Some("code") {
        let missing = q.get("response_type").is_none_or(|t| t.is_empty());
        if s.has(Fault::ErrorPageInsteadOfRedirect) || (missing && s.has(Fault::MissingResponseTypeErrorPage)) {
            return error_page("unsupported response_type");
        }
        if s.has(Fault::UnsupportedResponseTypeServerError) {
            return fail("server_error");
        }
        if s.varies(Variation::TokenResponseUnauthorizedClient) && q.get("response_type").is_some_and(|t| t == "token")
        {
            return fail("unauthorized_client");
        }
        return fail("unsupported_response_type");
    }
    if s.has(Fault::UnknownParameterRejected) && q.keys().any(|k| !KNOWN_AUTHORIZATION_PARAMETERS.contains(&k.as_str()))
    {
        return fail("invalid_request");
    }
    if s.has(Fault::ResourceParameterRejected) && q.contains_key("resource") {
        return fail("invalid_request");
    }
    // RFC 6749 §3.3: an unknown scope is refused here, unless the AS drops or grants it, or
    // refuses it on the consent page (legal variations).
    let mut scope = q.get("scope").cloned();
    let lenient = s.has(Fault::UnknownScopeGranted)
        || s.varies(Variation::UnknownScopeGranted)
        || s.varies(Variation::UnknownScopeRefusedOnPage);
    // RFC 7591 §2 `scope`: an AS may limit a client to the scopes it registered for (a client
    // that named none gets the basic one).
    let registered = client.scopes.as_deref().unwrap_or("mcp:tools");
    let beyond_registration = scope.as_deref().is_some_and(|asked| {
        asked
            .split(' ')
            .any(|t| !t.is_empty() && !registered.split(' ').any(|r| r == t))
    });
    if beyond_registration && s.varies(Variation::RegisteredScopesOnly) {
        return fail("invalid_scope");
    }
    if !scope.as_deref().is_none_or(|scope| known_scope(&s, scope)) && !lenient {
        if !s.varies(Variation::UnknownScopeDropped) {
            return fail("invalid_scope");
        }
        let known: Vec<&str> = (scope.as_deref().unwrap_or_default().split(' '))
            .filter(|t| known_scope(&s, t))
            .collect();
        scope = Some(known.join(" "));
    }
    // RFC 8707 §2: an absolute URI without fragment, and one this AS issues tokens for.
    if let Some(resource) = q.get("resource") {
        // MCP "Canonical Server URI": scheme and host compare case-insensitively (the url
        // crate lowercases both when it parses).
        let asked = url::Url::parse(resource).ok();
        let served = |r: String| match s.has(Fault::ResourceCaseSensitive) {
            true => *resource == r,
            false => asked
                .as_ref()
                .is_some_and(|a| url::Url::parse(&r).is_ok_and(|m| m == *a)),
        };
        let without_fragment = asked.as_ref().is_some_and(|u| u.fragment().is_none());
        // A test issuer serves any resource that can exist (RFC 6761: `.invalid` cannot).
        let any = s.any_resource
            && asked
                .as_ref()
                .is_some_and(|u| !u.host_str().unwrap_or("").ends_with(".invalid"));
        let usable = without_fragment && (any || served(s.mcp_url()) || served(s.second_resource()));
        if !usable && !s.has(Fault::AnyResourceAccepted) {
            return fail("invalid_target");
        }
    }
    // RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
    let challenge = q
        .get("code_challenge")
        .filter(|c| !c.is_empty() || s.has(Fault::EmptyChallengeAccepted))
        .cloned();
    if challenge.is_none() && !s.has(Fault::PkceOptional) {
        return fail("invalid_request");
    }
    // RFC 7636 §4.3: no method means plain.
    let default_method = if s.has(Fault::MissingMethodMeansS256) {
        "S256"
    } else {
        "plain"
    };
    let method = q
        .get("code_challenge_method")
        .cloned()
        .unwrap_or_else(|| default_method.to_owned());
    let method_ok = method == "S256" || s.has(Fault::AnyPkceMethodAccepted) || s.has(Fault::NonS256TakenAsPlain);
    if challenge.is_some() && !method_ok {
        return fail("invalid_request");
    }
    let grant = Grant {
        client_id: q["client_id"].clone(),
        redirect_uri: redirect_uri.clone(),
        challenge,
        method,
        scope,
        resource: q.get("resource").cloned(),
        used: false,
        issued: None,
    };
    let mut st = store(&s);
    let (txn, session) = (st.id("txn"), st.secret("session"));
    let issuer = base.issuer.clone();
    let csrf = st.id("csrf");
    st.consents.insert(
        txn.clone(),
        Pending {
            session: session.clone(),
            csrf,
            grant,
            redirect_uri,
            state,
            issuer,
        },
    );
    // The consent hop needs the session cookie: the consent driver must keep cookies.
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, format!("consent?txn={txn}")),
            (
                header::SET_COOKIE,
                format!("reference_session={session}; Path=/; HttpOnly"),
            ),
        ],
    )
        .into_response()
}

/// The user credentials of the reference's login form (`reference --login-form`).
pub const LOGIN_USER: &str = "conformance";
pub const LOGIN_PASSWORD: &str = "reference-password";

/// Every scope token is one this AS knows.
pub(in crate::reference) fn known_scope(s: &State, scope: &str) -> bool {
    scope
        .split(' ')
        .all(|t| t.is_empty() || s.scopes.iter().any(|k| k == t))
}

pub(in crate::reference) fn has_session(headers: &HeaderMap, pending: &Pending) -> bool {
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
    cookie
        .split(';')
        .any(|c| c.trim() == format!("reference_session={}", pending.session))
}

pub(in crate::reference) async fn consent(
    Extract(s): Extract<Arc<State>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let txn = q.get("txn").cloned().unwrap_or_default();
    // A page keeps the transaction for its submission.
    let page = s.login_form || s.upstream_origin.is_some();
    let pending = if page {
        store(&s).consents.get(&txn).cloned()
    } else {
        store(&s).consents.remove(&txn)
    };
    let Some(pending) = pending else {
        return error_page("unknown or finished authorization transaction");
    };
    if !has_session(&headers, &pending) {
        return error_page("the browser session was lost (no session cookie)");
    }
    let unknown = !pending
        .grant
        .scope
        .as_deref()
        .is_none_or(|scope| known_scope(&s, scope));
    if unknown && s.varies(Variation::UnknownScopeRefusedOnPage) {
        return error_page("invalid_scope: the requested scope is unknown");
    }
    // A proxy whose user signs in to it first (variation `proxy-login-page-first`).
    let signed_in = store(&s).signed_in.contains(&pending.session);
    let login_first = s.varies(Variation::ProxyLoginPageFirst) || s.has(Fault::ProxyLoginWithoutConsent);
    if s.upstream_origin.is_some() && login_first && !signed_in {
        return login_page(&txn, &pending);
    }
    // A fault: the proxy skips its own consent, and the upstream AS has the user's already.
    // Legal: a client the user approved before (its registry of approved clients).
    let approved =
        s.varies(Variation::ProxyRemembersConsent) && store(&s).approved_clients.contains(&pending.grant.client_id);
    let skips_consent = s.has(Fault::ProxyForwardsWithoutConsent) || s.has(Fault::ProxyLoginWithoutConsent);
    if s.upstream_origin.is_some() && (skips_consent || approved) {
        store(&s).consents.remove(&txn);
        return forward_upstream(&s, pending);
    }
    if page {
        return consent_page(&s, &txn, &pending);
    }
    complete(&s, pending)
}

/// The login form's submission: session, anti-forgery token, credentials, decision.
pub(in crate::reference) async fn login(
    Extract(s): Extract<Arc<State>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    // A proxy's own login page (variation `proxy-login-page-first`) keeps the transaction.
    let signing_in = field("stage") == "login";
    let pending = match signing_in {
        true => store(&s).consents.get(field("txn")).cloned(),
        false => store(&s).consents.remove(field("txn")),
    };
    let Some(pending) = pending else {
        return error_page("unknown or finished authorization transaction");
    };
    if !has_session(&headers, &pending) || field("csrf") != pending.csrf {
        return error_page("the form was not submitted from this browser session");
    }
    if signing_in {
        return signed_in(&s, field("txn"), &pending);
    }
    let credentials = field("username") == LOGIN_USER && field("password") == LOGIN_PASSWORD;
    if s.login_form && !credentials {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/html")],
            "<title>Sign-in failed</title>",
        )
            .into_response();
    }
    if field("decision") != "approve" {
        let base = Base {
            issuer: pending.issuer.clone(),
        };
        return error_redirect(
            &s,
            &base,
            &pending.redirect_uri,
            pending.state.as_deref(),
            "access_denied",
        );
    }
    store(&s).approved_clients.insert(pending.grant.client_id.clone());
    forward_upstream(&s, pending)
}

/// Issues the code and redirects to the client (consent given).
pub(in crate::reference) fn complete(s: &State, pending: Pending) -> Response {
    let code = {
        let mut st = store(s);
        if s.varies(Variation::RevokeEarlierGrants) {
            revoke_earlier_grants(&mut st, &pending.grant);
        }
        let code = st.secret("code");
        let grant = Grant {
            issued: Some(std::time::Instant::now()),
            ..pending.grant.clone()
        };
        st.codes.insert(code.clone(), grant);
        code
    };
    let mut params = vec![("code", code)];
    if let Some(state) = pending.state.filter(|_| !s.has(Fault::StateNotEchoed)) {
        params.push(("state", state));
    }
    if !s.has(Fault::IssMissing) {
        let iss = if s.has(Fault::IssMismatch) {
            format!("{}/", pending.issuer)
        } else {
            pending.issuer.clone()
        };
        params.push(("iss", iss));
    }
    redirect_to(s, &pending.redirect_uri, &params)
}

/// A new authorization replaces the client's earlier grants for the same resource: their
/// unredeemed codes, access tokens and refresh tokens stop working.
pub(in crate::reference) fn revoke_earlier_grants(st: &mut Store, grant: &Grant) {
    let same = |g: &Grant| g.client_id == grant.client_id && g.resource == grant.resource;
    st.codes.retain(|_, g| g.used || !same(g));
    let key = (grant.client_id.clone(), grant.resource.clone());
    for (jti, refresh) in st.held.remove(&key).unwrap_or_default() {
        st.revoked.insert(jti);
        if let Some(r) = refresh.and_then(|r| st.refresh_tokens.get_mut(&r)) {
            r.used = true;
        }
    }
}

pub(in crate::reference) fn error_redirect(
    s: &State,
    base: &Base,
    redirect_uri: &str,
    state: Option<&str>,
    code: &str,
) -> Response {
    let mut params = vec![("error", code.to_owned())];
    let dropped = s.has(Fault::StateNotEchoed) || s.has(Fault::StateDroppedOnErrors);
    if let Some(state) = state.filter(|_| !dropped) {
        params.push(("state", state.to_owned()));
    }
    if s.has(Fault::IssMismatchOnErrors) {
        params.push(("iss", format!("{}/", base.issuer)));
    } else if !s.has(Fault::IssMissing) && !s.has(Fault::IssMissingOnErrors) {
        params.push(("iss", base.issuer.clone()));
    }
    redirect_to(s, redirect_uri, &params)
}

pub(in crate::reference) fn redirect_to(s: &State, redirect_uri: &str, params: &[(&str, String)]) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return error_page("invalid redirect_uri"),
    };
    if s.has(Fault::StateUnencoded) {
        // String concatenation: `&`, `+` and `%` in the state break the query.
        let pairs: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let location = format!("{redirect_uri}?{}", pairs.join("&"));
        return (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
    }
    url.query_pairs_mut().extend_pairs(params);
    // Like Express (the ts-sdk peer), the body repeats the URL, code included: reports must
    // redact it there too.
    let body = format!("Found. Redirecting to {url}");
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())], body).into_response()
}
