//! What the flows remember: clients, pending consents, codes, refresh tokens, sessions.

use std::collections::HashMap;
use std::sync::Mutex;

use super::*;
use crate::oauth::pkce;

/// Where a set of flow endpoints lives and which issuer it speaks for.
#[derive(Debug, Clone)]
pub(in crate::reference) struct Base {
    pub(in crate::reference) issuer: String,
}

/// Clients, pending consents and codes, shared by every mount.
#[derive(Debug)]
pub(in crate::reference) struct Store {
    pub(in crate::reference) clients: HashMap<String, RegisteredClient>,
    pub(in crate::reference) consents: HashMap<String, Pending>,
    pub(in crate::reference) codes: HashMap<String, Grant>,
    /// Refresh token -> (client, scope, resource, already used).
    pub(in crate::reference) refresh_tokens: HashMap<String, Refresh>,

    /// MCP session ids the resource server handed out (Streamable HTTP, up to 2025-11-25),
    /// each with the user (`sub`) it was opened for.
    pub(in crate::reference) sessions: HashMap<String, String>,
    /// The sessions whose client sent `notifications/initialized` (variation
    /// `requires-initialized`).
    pub(in crate::reference) initialized: std::collections::HashSet<String>,
    /// State handles (2026-07-28 carts) and the user each was minted for.
    pub(in crate::reference) handles: HashMap<String, String>,
    /// Opaque access tokens and what they grant (variation `opaque-access-tokens`).
    pub(in crate::reference) opaque: HashMap<String, crate::reference::signing::Claims>,
    /// Access tokens (by `jti`) revoked before they expire (variation `revoke-on-refresh`).
    pub(in crate::reference) revoked: std::collections::HashSet<String>,
    /// What each client holds for each resource: access tokens (`jti`) and refresh tokens
    /// (variation `revoke-earlier-grants`).
    pub(in crate::reference) held: HashMap<ClientResource, Vec<HeldTokens>>,
    /// What each redeemed code issued (revoked if the code is replayed).
    pub(in crate::reference) code_tokens: HashMap<String, HeldTokens>,
    /// Client metadata documents by client id, and when each was fetched (variation
    /// `cimd-cache-floor` reuses them).
    pub(in crate::reference) cimd_cache: HashMap<String, (RegisteredClient, std::time::Instant)>,
    /// When each client id's document was last refused (only a fault reads it).
    pub(in crate::reference) cimd_refused: HashMap<String, std::time::Instant>,
    /// A proxy's upstream `state` values, each with the authorization it continues.
    pub(in crate::reference) upstream_states: HashMap<String, Pending>,
    /// Each browser session's latest upstream `state` (only a fault reads it).
    pub(in crate::reference) latest_upstream: HashMap<String, String>,
    /// Browser sessions signed in to the proxy (variation `proxy-login-page-first`).
    pub(in crate::reference) signed_in: std::collections::HashSet<String>,
    /// Clients the user approved at the proxy (variation `proxy-remembers-consent`).
    pub(in crate::reference) approved_clients: std::collections::HashSet<String>,
    /// Codes the upstream AS issued and its proxy has not yet redeemed.
    pub(in crate::reference) upstream_codes: std::collections::HashSet<String>,
    pub(in crate::reference) next: u64,
    /// Where ids and secrets come from (seeded under `run --seed`).
    pub(in crate::reference) rng: rand::rngs::StdRng,
    /// Every secret handed out (codes, tokens, client secrets, session cookies), so tests
    /// can prove no report ever shows one.
    pub(in crate::reference) issued: Vec<String>,
}

/// A client id and the resource its grant is for.
pub(in crate::reference) type ClientResource = (String, Option<String>);

/// An access token's `jti` and the refresh token issued with it.
pub(in crate::reference) type HeldTokens = (String, Option<String>);

#[derive(Debug, Clone)]
pub(in crate::reference) struct RegisteredClient {
    pub(in crate::reference) redirect_uris: Vec<String>,
    pub(in crate::reference) secret: Option<String>,
    /// Registered as (or defaulting to) a web application: no loopback port flexibility.
    pub(in crate::reference) web: bool,
    /// The scopes it registered for (RFC 7591 `scope`), if any.
    pub(in crate::reference) scopes: Option<String>,
}

/// An authorization request waiting for consent (bound to the browser session cookie).
#[derive(Debug, Clone)]
pub(in crate::reference) struct Pending {
    pub(in crate::reference) session: String,
    /// Anti-forgery token of the login form (reference `--login-form`).
    pub(in crate::reference) csrf: String,
    pub(in crate::reference) grant: Grant,
    pub(in crate::reference) redirect_uri: String,
    pub(in crate::reference) state: Option<String>,
    pub(in crate::reference) issuer: String,
}

#[derive(Debug, Clone)]
pub(in crate::reference) struct Refresh {
    pub(in crate::reference) client_id: String,
    pub(in crate::reference) scope: Option<String>,
    pub(in crate::reference) resource: Option<String>,
    pub(in crate::reference) used: bool,
    /// The access token issued with it (revoked on use under `revoke-on-refresh`).
    pub(in crate::reference) access_jti: String,
    /// The refresh token it replaced, which dies when it is first used under
    /// `refresh-grace-until-successor-used`.
    pub(in crate::reference) predecessor: Option<String>,
}

#[derive(Debug, Clone)]
pub(in crate::reference) struct Grant {
    pub(in crate::reference) client_id: String,
    pub(in crate::reference) redirect_uri: String,
    pub(in crate::reference) challenge: Option<String>,
    pub(in crate::reference) method: String,
    pub(in crate::reference) scope: Option<String>,
    /// RFC 8707: the resource the authorization was for.
    pub(in crate::reference) resource: Option<String>,
    pub(in crate::reference) used: bool,
    /// When the code was issued (None while consent is pending).
    pub(in crate::reference) issued: Option<std::time::Instant>,
}

impl Store {
    pub(in crate::reference) fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}-{}-{}", self.next, pkce::random(&mut self.rng, 12))
    }

    /// A new secret value, remembered in `issued`.
    pub(in crate::reference) fn secret(&mut self, prefix: &str) -> String {
        let value = self.id(prefix);
        self.issued.push(value.clone());
        value
    }
}

pub(in crate::reference) fn store(s: &State) -> std::sync::MutexGuard<'_, Store> {
    s.store.lock().unwrap_or_else(|p| p.into_inner())
}

pub(in crate::reference) fn new_store(rng: rand::rngs::StdRng) -> Mutex<Store> {
    Mutex::new(Store {
        cimd_cache: HashMap::new(),
        cimd_refused: HashMap::new(),
        clients: HashMap::new(),
        consents: HashMap::new(),
        codes: HashMap::new(),
        refresh_tokens: HashMap::new(),
        sessions: Default::default(),
        initialized: Default::default(),
        handles: HashMap::new(),
        opaque: HashMap::new(),
        revoked: Default::default(),
        held: HashMap::new(),
        code_tokens: HashMap::new(),
        upstream_states: HashMap::new(),
        latest_upstream: HashMap::new(),
        upstream_codes: Default::default(),
        approved_clients: Default::default(),
        signed_in: Default::default(),
        next: 0,
        rng,
        issued: Vec::new(),
    })
}

impl Store {
    pub(in crate::reference) fn issued(&self) -> Vec<String> {
        self.issued.clone()
    }

    /// A session id for `user`: random, unless `sequential` (fault sequential-session-ids).
    pub(in crate::reference) fn new_session(&mut self, sequential: bool, user: &str) -> String {
        let id = self.state_id("session", sequential);
        self.sessions.insert(id.clone(), user.to_owned());
        id
    }

    /// An id for state a user keeps (a session, a handle), remembered as issued: random, or
    /// counting up where `sequential`.
    fn state_id(&mut self, prefix: &str, sequential: bool) -> String {
        let id = match sequential {
            true => {
                self.next += 1;
                format!("{prefix}-{}", self.next)
            }
            false => self.id(prefix),
        };
        self.issued.push(id.clone());
        id
    }

    pub(in crate::reference) fn has_session(&self, id: &str) -> bool {
        self.sessions.contains_key(id)
    }

    /// A state handle for `user`: random, unless `sequential` (fault sequential-state-handles).
    pub(in crate::reference) fn new_handle(&mut self, sequential: bool, user: &str) -> String {
        let id = self.state_id("cart", sequential);
        self.handles.insert(id.clone(), user.to_owned());
        id
    }

    /// The user a session was opened for; None: no such session.
    pub(in crate::reference) fn session_user(&self, id: &str) -> Option<&str> {
        self.sessions.get(id).map(String::as_str)
    }

    /// What an opaque access token grants, if this AS issued it.
    pub(in crate::reference) fn opaque(&self, token: &str) -> Option<crate::reference::signing::Claims> {
        self.opaque.get(token).cloned()
    }

    pub(in crate::reference) fn revoked(&self, jti: &str) -> bool {
        self.revoked.contains(jti)
    }
}

/// Records a secret issued outside the flows (a minted token), for redaction audits.
pub(in crate::reference) fn remember_issued(s: &State, secret: &str) {
    store(s).issued.push(secret.to_owned());
}
