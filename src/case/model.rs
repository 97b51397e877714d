//! The validated case model the engine runs. Built from the TOML shapes in `validate.rs`.

use std::sync::Arc;

use serde_json::Value;

use crate::check::{Predicate, Subject};
use crate::token_kind::TokenKind;

use crate::spec::SpecVersion;

#[derive(Debug, Clone)]
pub struct Case {
    pub requirement: String,
    /// Restricts the case to some of the requirement's versions (None: all of them).
    pub versions: Option<Vec<SpecVersion>>,
    pub given: Vec<Expectation>,
    /// `where`: the expectations judge only the responses meeting these (each filters its
    /// own step's observations); a rule covering several responses judges those it covers
    /// (e.g. every 401 that carries an `error`), and none left is a skip.
    pub filter: Vec<Expectation>,
    pub expect: Vec<Expectation>,
    pub alternative: Option<Alternative>,
    /// `judge = "refusals"`: the expectations judge only the requests that issued nothing (a
    /// response without an access token); whether a request should have issued one is
    /// another requirement's verdict (one behaviour, one verdict).
    pub refusals_only: bool,
    /// `cases/rs-challenge.toml:12`, for messages.
    pub origin: String,
}

impl Case {
    /// Every step the case observes, each once, in order of first use.
    pub fn steps(&self) -> Vec<Step> {
        let mut steps: Vec<Step> = Vec::new();
        let alternative = self.alternative.iter().flat_map(|a| a.expect.iter());
        for e in self
            .given
            .iter()
            .chain(&self.filter)
            .chain(&self.expect)
            .chain(alternative)
        {
            if !steps.contains(&e.step) {
                steps.push(e.step.clone());
            }
        }
        steps
    }

    /// Holds a code or waits out a token: runs only with `--slow`.
    pub fn is_slow(&self) -> bool {
        self.steps().iter().any(|step| match step {
            Step::Token(Some(plan)) | Step::Refresh(Some(plan)) => plan.expire_code,
            // Slow where a token must be waited out (none supplied, no minting issuer).
            Step::Mcp(Some(overrides)) => overrides.token == Some(TokenKind::Expired),
            _ => false,
        })
    }
}

/// "MUST implement one of": when the case's expectations are broken but these hold, the
/// requirement is met by the other mechanism and the verdict is `skip` with `reason`.
#[derive(Debug, Clone)]
pub struct Alternative {
    pub expect: Vec<Expectation>,
    pub reason: String,
    /// `skip` (the other mechanism is used; default) or `pass` (another acceptable way of
    /// keeping the same requirement, e.g. "refused, or dropped").
    pub outcome: crate::verdict::Outcome,
}

#[derive(Debug, Clone)]
pub struct Expectation {
    pub step: Step,
    pub subject: Subject,
    pub predicate: Predicate,
    /// Judge only when the subject is present (e.g. an optional metadata member).
    pub optional: bool,
    /// A given's: what its skip says when it is not met (before the expectation's own line).
    pub unmet: Option<String>,
}

/// How the target is observed. Built-in steps are performed once per run and shared.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// POST the MCP endpoint with the version's first request and no credentials.
    McpUnauthenticated,
    /// Protected resource metadata, found by the version's discovery order.
    Prm,
    /// GET the `resource_metadata` URL from the 401 challenge.
    PrmFromHeader,
    /// The RFC 9728 well-known locations (path-inserted, then the version's fallbacks).
    PrmWellKnown,
    /// AS metadata for each issuer, by the version's probe order (one observation each).
    AsMetadata,
    /// Dynamic client registration (RFC 7591): the shared valid registration, or the case's
    /// variants of its body.
    Register(Option<Arc<Overrides>>),
    /// The authorization request, driven through consent to the redirect URI: the shared
    /// valid one, or the case's variants of its parameters (each a fresh request).
    Authorize(Option<Arc<Overrides>>),
    /// The token request redeeming a code: the shared valid one, or a private chain
    /// (authorization with its overrides, then the token request with its own).
    Token(Option<Arc<TokenPlan>>),
    /// The valid authorization code flow of a confidential client (shared).
    ConfidentialToken,
    /// The valid authorization code flow of a public client this run registered by DCR
    /// (shared): the shared token under `registration = dcr`, else a flow of its own.
    RegisteredToken,
    /// The valid authorization request of a client ID metadata document client (shared):
    /// `client_id` is the URL of the run's own document (`var:cimd.fetched` says whether the
    /// AS fetched it).
    CimdAuthorize,
    /// Refreshes with the shared token response's refresh token, then with the new one it
    /// gave, then replays the old one (observed; `var:refresh.rotated` says whether the first
    /// refresh gave a new one; `var:stage` is `reuse` once the replay was sent). With a
    /// plan: a private chain whose refresh request carries `[case.refresh]`'s changes.
    Refresh(Option<Arc<TokenPlan>>),
    /// The version's first MCP request with the shared flow's access token
    /// (`Authorization: Bearer {access_token}`): the shared valid one, or the case's variants
    /// (keys are header names, an array sends the header once per value; `query` is the
    /// query string).
    Mcp(Option<Arc<Overrides>>),
    /// A chain of the case's own that refreshes once (`var:revocation.before_status`), revokes
    /// the refresh token it got (RFC 7009; `var:revocation.outcome`), then refreshes with it
    /// (observed).
    RevokeRefresh,
    /// A chain of the case's own whose access token is sent to the MCP server, revoked, then
    /// sent again (observed; `var:revocation.before_status` is the first answer's status).
    RevokeAccess,
    /// A chain of the case's own whose code is redeemed twice (`var:repeat.first_status`,
    /// `var:replay.issued`), then the first redemption's refresh token used (observed).
    ReplayCode,
    /// Several sessions opened with the valid token (the version's first request, sent again):
    /// `var:sessions.unpredictable` says whether their ids could be guessed from one another.
    Sessions,
    /// A session opened with the valid token, then presented with another user's token
    /// (observed). Controls: `var:session_owner.owner_status` (its own user's token),
    /// `var:session_owner.unknown_status` (an id never issued) and
    /// `var:session_owner.other_alone_status` (the other token with no session).
    SessionOwner,
    /// An MCP proxy (config `[proxy]`): a client registered now sent to `/authorize`, walked
    /// to the upstream AS (`var:proxy_consent.end`: `page` when the proxy showed one first;
    /// `var:proxy_consent.cookie_flaws`: what the approval's new cookies lack). The page is
    /// observed.
    ProxyConsent,
    /// An MCP proxy: an authorization walked through the upstream AS, whose callback to the
    /// proxy is sent with an altered state, none, as it came and again
    /// (`var:proxy_callback.<altered|missing|genuine|replay>`; the replay is observed).
    ProxyCallback,
    /// A raw request of the case's own.
    Http(Arc<RequestTemplate>),
}

/// Changes to a valid request: `set` (null removes), `omit`, and `variants`, each a separate
/// request with its own extra changes. Values may hold placeholders (`{redirect_uri}`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Overrides {
    pub set: Vec<(String, Value)>,
    pub omit: Vec<String>,
    pub variants: Vec<Vec<(String, Value)>>,
    /// Token requests only: send the same request this many times; the last is observed.
    pub repeat: u32,
    /// Token requests only: send them as a GET with the parameters in the query string.
    pub query: bool,
    /// MCP requests only: the kind of token to send (default: the shared flow's valid one).
    pub token: Option<TokenKind>,
}

impl Overrides {
    /// The requests this describes: one per variant, or one.
    pub fn requests(&self) -> Vec<Vec<(String, Value)>> {
        if self.variants.is_empty() {
            return vec![self.set.clone()];
        }
        self.variants
            .iter()
            .map(|v| self.set.iter().chain(v).cloned().collect())
            .collect()
    }
}

impl Overrides {
    /// One set of changes per variant (`variants` folded into `set`), each otherwise this. A
    /// variant's own `repeat` (token requests) is its send count, not a parameter.
    pub fn each_variant(&self) -> Vec<Overrides> {
        self.requests()
            .into_iter()
            .map(|set| {
                let own = |(n, v): &(String, Value)| (n == "repeat").then(|| v.as_u64()).flatten();
                let repeat = set.iter().rev().find_map(own).map_or(self.repeat, |r| r as u32);
                Overrides {
                    set: set.into_iter().filter(|c| own(c).is_none()).collect(),
                    variants: Vec::new(),
                    repeat,
                    ..self.clone()
                }
            })
            .collect()
    }
}

impl TokenPlan {
    /// One chain per combination of the variants of its authorization, token and refresh
    /// requests (codes are single-use: each variant needs its own authorization).
    pub fn each_variant(&self) -> Vec<TokenPlan> {
        let mut plans = Vec::new();
        for authorize in self.authorize.each_variant() {
            for token in self.token.each_variant() {
                for refresh in self.refresh.each_variant() {
                    plans.push(TokenPlan {
                        authorize: authorize.clone(),
                        token: token.clone(),
                        refresh,
                        ..self.clone()
                    });
                }
            }
        }
        plans
    }

    /// Whether any of its requests has variants (each chain's label then names its changes).
    pub fn has_variants(&self) -> bool {
        [&self.authorize, &self.token, &self.refresh]
            .iter()
            .any(|o| !o.variants.is_empty())
    }
}

/// A private authorization + token (+ refresh) chain.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TokenPlan {
    pub authorize: Overrides,
    pub token: Overrides,
    /// Step `refresh` only: changes to the refresh request that follows the token request.
    pub refresh: Overrides,
    pub client: ClientKind,
    /// false: no authorization first; the valid request is then a client_credentials one.
    pub authorization: bool,
    /// Hold the code past its expected lifetime before redeeming it (a slow check).
    pub expire_code: bool,
}

/// Which client a private chain runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientKind {
    /// The run's client (registered public client, or the configured one).
    #[default]
    Default,
    /// A confidential client (client_secret_basic) registered on demand.
    Confidential,
    /// That confidential client presenting a wrong secret.
    ConfidentialWrongSecret,
    /// That confidential client presenting a wrong secret in the body (`client_secret_post`).
    ConfidentialPostWrongSecret,
}

impl Step {
    pub const BUILT_IN: [(&'static str, Step); 20] = [
        ("mcp_unauthenticated", Step::McpUnauthenticated),
        ("prm", Step::Prm),
        ("prm_from_header", Step::PrmFromHeader),
        ("prm_well_known", Step::PrmWellKnown),
        ("as_metadata", Step::AsMetadata),
        ("register", Step::Register(None)),
        ("authorize", Step::Authorize(None)),
        ("token", Step::Token(None)),
        ("refresh", Step::Refresh(None)),
        ("confidential_token", Step::ConfidentialToken),
        ("registered_token", Step::RegisteredToken),
        ("cimd_authorize", Step::CimdAuthorize),
        ("revoke_refresh", Step::RevokeRefresh),
        ("revoke_access", Step::RevokeAccess),
        ("sessions", Step::Sessions),
        ("session_owner", Step::SessionOwner),
        ("replay_code", Step::ReplayCode),
        ("proxy_consent", Step::ProxyConsent),
        ("proxy_callback", Step::ProxyCallback),
        ("mcp", Step::Mcp(None)),
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Step::Http(_) => "http",
            Step::Register(Some(_)) => "register",
            Step::Authorize(Some(_)) => "authorize",
            Step::Token(Some(_)) => "token",
            Step::Refresh(Some(_)) => "refresh",
            Step::Mcp(Some(_)) => "mcp",
            built_in => Step::BUILT_IN
                .iter()
                .find(|(_, s)| s == built_in)
                .map(|(n, _)| *n)
                .unwrap_or("http"),
        }
    }
}

/// A raw request; `{target}` and `{origin}` in the URL are replaced at run time.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestTemplate {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}
