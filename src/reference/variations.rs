//! Legal variations: behaviours the specs allow that our reference does not show by default.
//! Each is the twin of a fault: the variation matrix proves that no check fails a server
//! that behaves this way, as the fault matrix proves each check fails a server that breaks it.

macro_rules! variations {
    ($( $variant:ident = $id:literal, [$($skip:literal),* $(,)?], $what:literal, $allowed_by:literal; )+) => {
        /// A behaviour the specs allow, switchable in the reference target.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Variation { $( #[doc = $what] $variant, )+ }

        impl Variation {
            pub const ALL: &'static [Variation] = &[$(Variation::$variant),+];

            /// The id used by `reference --variation <ID>`.
            pub fn id(self) -> &'static str {
                match self { $(Variation::$variant => $id,)+ }
            }

            /// Checks that cannot observe their requirement on such a server (or find a MAY
            /// behaviour not shown): a pass may become a skip, and only these.
            pub fn skips(self) -> &'static [&'static str] {
                match self { $(Variation::$variant => &[$($skip),*],)+ }
            }

            pub fn description(self) -> &'static str {
                match self { $(Variation::$variant => $what,)+ }
            }

            /// The text that allows it (quoted where a sentence says so).
            pub fn allowed_by(self) -> &'static str {
                match self { $(Variation::$variant => $allowed_by,)+ }
            }
        }
    };
}

variations! {
    RevokeOnRefresh = "revoke-on-refresh", [],
        "using a refresh token revokes the access token issued with it",
        "OAuth 2.1 §4.3: the AS may revoke the old tokens of a grant on refresh (RFC 6749 §6: \"The authorization server MAY revoke the old refresh token after issuing a new refresh token\")";
    RevokeEarlierGrants = "revoke-earlier-grants", [],
        "a client that authorizes again loses its earlier grants for that resource: unredeemed codes, access and refresh tokens",
        "OAuth 2.1 §4.1.3 and RFC 9700 §4.14: the AS may revoke tokens previously issued on a grant; oidc-provider does it by default (a grant per client and user)";
    NoRefreshTokens = "no-refresh-tokens", ["as.token.invalid-scope", "as.refresh.rotation-public", "as.refresh.client-binding", "as.refresh.scope-no-expansion", "as.token.revocation-refresh-token", "as.code.replay-revokes-tokens"],
        "token responses carry no refresh token",
        "OAuth 2.1 §3.2.3: \"refresh_token: OPTIONAL.\"";
    RefreshOnlyForOfflineAccess = "refresh-only-for-offline-access", [],
        "a refresh token only for a grant that includes offline_access (which the AS advertises)",
        "OAuth 2.1 §3.2.3: \"refresh_token: OPTIONAL.\" (OpenID Connect Core §11: offline_access asks for one)";
    RefreshGraceUntilSuccessorUsed = "refresh-grace-until-successor-used", [],
        "a public client's replaced refresh token stays valid until its successor is first used, so a client whose refresh response was lost can retry (Cloudflare workers-oauth-provider's answer)",
        "OAuth 2.1 §4.3.1 describes rotation (\"The previous refresh token is invalidated\") without saying when; the FAPI 2.0 Security Profile asks an AS that rotates for this: \"shall not use refresh token rotation unless, in the case a response with a new refresh token is not received and stored by the client, retrying the request (with the previous refresh token) will succeed\"";
    ConfidentialRefreshNotRotated = "confidential-refresh-not-rotated", [],
        "a confidential client's refresh token stays valid after use (no rotation)",
        "OAuth 2.1 §4.3.1: rotation (or sender-constraining) is required \"for public clients\" only";
    UnknownScopeDropped = "unknown-scope-dropped", [],
        "a scope the AS does not know is dropped from the grant (the token response's scope says so)",
        "OAuth 2.1 §1.4.1: \"The authorization server MAY fully or partially ignore the scope requested by the client\"";
    UnknownScopeGranted = "unknown-scope-granted", ["as.authz.invalid-scope"],
        "a scope the AS does not know is granted and named in the token response's scope",
        "RFC 6749 §3.3: the AS grants scope \"based on the authorization server policy\"; the token response names it";
    UnknownScopeRefusedOnPage = "unknown-scope-refused-on-page", [],
        "an unknown scope is refused on the consent page (400, an error page naming invalid_scope), no error redirect",
        "OAuth 2.1 §4.1.2.1 states the error redirect without an RFC 2119 keyword; a refusal shown to the user issues no code";
    OneClientAuthentication = "one-client-authentication", [],
        "a token request with Basic authentication and a client_id in the body is refused (400, invalid_request)",
        "OAuth 2.1 §2.4: \"The client MUST NOT use more than one authentication method in each request\" (read strictly, by this AS)";
    RegisteredScopesOnly = "registered-scopes-only", [],
        "a client gets only scopes it registered for (RFC 7591 scope; none registered: the basic one); beyond them, invalid_scope",
        "RFC 7591 §2: scope is the list of scopes \"that the client can use when requesting access tokens\"";
    RegistrationRefusesUnlistedScopes = "registration-refuses-unlisted-scopes", [],
        "a registration naming a scope the AS metadata does not list is refused (400, invalid_client_metadata)",
        "RFC 7591 §3.2.2: invalid_client_metadata \"The value of one of the client metadata fields is invalid\" (oidc-provider does this)";
    InvalidClientAlways401 = "invalid-client-always-401", [],
        "failed client authentication is 401 also when the client did not use the Authorization header",
        "RFC 6749 §5.2: \"The authorization server MAY return an HTTP 401 (Unauthorized) status code\"";
    NativeLoopbackOnly = "native-loopback-only", [],
        "http loopback redirect URIs are registered for native clients only: a registration without application_type (a web client) is refused with invalid_redirect_uri (better-auth's answer)",
        "OpenID Connect Registration §2: application_type \"The default, if omitted, is web\"; \"Native Clients MUST only register redirect_uris using custom URI schemes or loopback URLs using the http scheme\", web clients \"MUST NOT use localhost as the hostname\" (RFC 7591 §3.2.2: invalid_redirect_uri)";
    WebDefaultRegistration = "web-default-registration", [],
        "a registration without application_type is a web client: no loopback port flexibility",
        "OpenID Connect Registration §2: application_type \"The default, if omitted, is web.\"";
    OpaqueAccessTokens = "opaque-access-tokens", ["as.token.audience-bound", "rs.session.bound-to-user", "rs.token.expired-401", "rs.token.not-yet-valid", "rs.token.foreign-issuer"],
        "access tokens are opaque strings the resource server looks up, not JWTs (a test issuer's minted JWTs are not among them)",
        "RFC 6749 §1.4: \"The string is usually opaque to the client.\" (RFC 9068 JWTs are optional)";
    CimdCacheFloor = "cimd-cache-floor", [],
        "a valid client metadata document is reused for 30 s whatever its Cache-Control says (oidc-provider's default floor)",
        "CIMD draft-00 §4.4: \"The authorization server SHOULD respect HTTP cache headers [RFC9111] when caching client metadata, but MAY define its own upper and/or lower bounds on an acceptable cache lifetime as well.\"";
    CimdHttpsOnly = "cimd-https-only", ["as.metadata.cimd-flag", "as.cimd.fetch", "as.cimd.client-id-must-match", "as.cimd.redirect-uri-in-document", "as.cimd.valid-json-required-fields", "as.cimd.url-shape", "as.cimd.no-shared-secret", "as.cimd.ssrf-guard", "as.cimd.no-cache-of-errors", "as.cimd.size-limit"],
        "client ID metadata documents over https only: the run's http documents on loopback are refused unfetched (registration auto falls back to DCR)",
        "CIMD draft-00 §3: \"Client identifier URLs MUST have an \\\"https\\\" scheme\" (the loopback http allowance is the draft's development mode, not a duty)";
    NoCimd = "no-cimd", ["as.metadata.cimd-flag", "as.cimd.fetch", "as.cimd.client-id-must-match", "as.cimd.redirect-uri-in-document", "as.cimd.valid-json-required-fields", "as.cimd.url-shape", "as.cimd.no-shared-secret", "as.cimd.ssrf-guard", "as.cimd.no-cache-of-errors", "as.cimd.size-limit"],
        "no client ID metadata documents: a URL client_id is an unknown client, and the metadata does not advertise them",
        "MCP 2025-11-25 Authorization: \"MCP clients and authorization servers SHOULD support OAuth Client ID Metadata Documents\" (pre-registration and DCR remain)";
    NoSessions = "no-sessions", [],
        "the MCP server never assigns an Mcp-Session-Id (stateless)",
        "MCP Streamable HTTP: \"A server using the Streamable HTTP transport MAY assign a session ID at initialization time\"";
    ExtraMetadataMembers = "extra-metadata-members", [],
        "PRM and AS metadata carry members no RFC defines",
        "RFC 9728 §2 and RFC 8414 §2: \"Additional ... metadata parameters MAY also be used.\"";
    SeveralAuthorizationServers = "several-authorization-servers", [],
        "the PRM lists a second authorization server (with its own metadata) after the first",
        "RFC 9728 §2: authorization_servers is \"a list of OAuth authorization server issuer identifiers\"; MCP: the client selects one";
    PrmAtRoot = "prm-at-root", [],
        "the PRM lives at the root well-known URL only, and the challenge points there",
        "RFC 9728 §5.1: the resource_metadata URL locates the document; MCP 2025-11-25: clients try the path-inserted URL, then the root";
    CloseIdleConnections = "close-idle-connections", [],
        "both servers close a keep-alive connection soon after each response, without Connection: close",
        "RFC 9112 §9.5: \"A client, server, or proxy MAY close the transport connection at any time.\"";
    SseStaysOpen = "sse-stays-open", [],
        "MCP POSTs are answered with an SSE stream that stays open after the JSON-RPC response",
        "MCP Streamable HTTP: the server MUST return text/event-stream or application/json; it only SHOULD close the stream after the response";
    RegistrationAcceptsForm = "registration-accepts-form", [],
        "the registration endpoint takes a form-encoded body as well as JSON",
        "RFC 7591 §3.1: the endpoint \"MUST accept HTTP POST messages with request parameters encoded in the entity body using the application/json format\"; nothing forbids accepting more";
    RegistrationAnswers200 = "registration-answers-200", [],
        "a successful registration is answered 200 instead of 201",
        "RFC 7591 §3.2.1 describes the 201 without a requirement keyword; the MUST there is to return the registered metadata";
    RedirectUriOptionalAtToken = "redirect-uri-optional-at-token", [],
        "a token request without redirect_uri is served (one that sends it must send the authorization request's)",
        "OAuth 2.1 §10.2: \"A client following only the OAuth 2.1 recommendations will not send the redirect_uri in the token request\"; the AS must only allow and enforce it when sent";
    ValidatesMcpHeaders = "validates-mcp-headers", [],
        "a POST carrying Mcp-Method (a 2026-07-28 client) whose Mcp-Method, Mcp-Name or MCP-Protocol-Version disagrees with its body is refused: 400, JSON-RPC error -32020",
        "MCP 2026-07-28 Streamable HTTP, Server Validation: \"Servers that process the request body MUST reject requests where the values specified in the headers do not match the corresponding values in the request body.\"";
    NoSignedMetadata = "no-signed-metadata", ["rs.prm.signed-metadata"],
        "the PRM offers no signed_metadata",
        "RFC 9728 §2.2: \"metadata values MAY also be provided as a signed_metadata value\"";
    SessionRefusalInBand = "session-refusal-in-band", [],
        "another user's session id is refused in band: 200 with a JSON-RPC error, not 404",
        "MCP Security Best Practices: servers SHOULD bind session ids to the user, no form of refusal named (SDK transports leave binding to the application, which answers in JSON-RPC)";
    RequiresInitialized = "requires-initialized", [],
        "a request in a session before the client's notifications/initialized gets a JSON-RPC error",
        "MCP Lifecycle: \"the client MUST send an initialized notification\" before normal operations (the Python SDK refuses requests before it)";
    ShortRateLimit = "short-rate-limit", [],
        "the first token and registration requests are answered 429 with Retry-After: 1",
        "RFC 6585 §4: 429 \"MAY include a Retry-After header\"; RFC 9110 §10.2.3";
    ProxyLoginPageFirst = "proxy-login-page-first", [],
        "an MCP proxy (the reference runs as one) whose user signs in to it first: a login page without framing protection, setting a plain session cookie, then the consent page",
        "MCP Security Best Practices, Consent UI Requirements: the framing duty is the consent page's (\"The MCP-level consent page MUST: ... Prevent iframing\"), and the cookie duties are those of cookies that \"track consent decisions\"";
    ProxyRemembersConsent = "proxy-remembers-consent", [],
        "an MCP proxy (the reference runs as one) that remembers each client its user approved and sends it on to the upstream AS without asking again",
        "MCP Security Best Practices, Per-Client Consent Storage: proxies \"MUST: Maintain a registry of approved `client_id` values per user; Check this registry before initiating the third-party authorization flow\"";
    TokenResponseUnauthorizedClient = "token-response-unauthorized-client", [],
        "response_type=token is refused with unauthorized_client: an AS that keeps the implicit grant for other clients (django-oauth-toolkit's answer)",
        "RFC 6749 §4.1.2.1: unauthorized_client, \"The client is not authorized to request an authorization code using this method\", is one of the codes the error redirect may carry";
    PasswordGrantForOtherClients = "password-grant-for-other-clients", ["as.token.unsupported-grant-type", "as.metadata.grant-types"],
        "the AS lists the password grant in its metadata and checks a password request's credentials first: bad ones are invalid_grant (oauthlib's order, django-oauth-toolkit's answer)",
        "RFC 6749 §5.2: invalid_grant covers invalid \"resource owner credentials\"; the RFC sets no order for a request's checks, and listing the grant is information only (as.metadata.grant-types, MAY)";
    IntrospectionRefusedEmpty = "introspection-refused-empty", [],
        "an introspection request without client credentials is refused with an empty 403 (django-oauth-toolkit's answer)",
        "RFC 7662 §2.1: the endpoint \"MUST also require some form of authorization\"; how it refuses is not prescribed (§2.3 names 401 for failed client authentication, and RFC 6750's 403 for a token without the privileges)";
}

impl std::str::FromStr for Variation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Variation::ALL
            .iter()
            .copied()
            .find(|v| v.id() == s)
            .ok_or_else(|| format!("unknown variation `{s}` (see `reference --list-variations`)"))
    }
}

#[cfg(test)]
mod tests {
    use super::Variation;

    #[test]
    fn ids_are_unique_and_each_says_what_allows_it() {
        let ids: std::collections::BTreeSet<&str> = Variation::ALL.iter().map(|v| v.id()).collect();
        assert_eq!(ids.len(), Variation::ALL.len());
        assert!(Variation::ALL.len() >= 15, "the matrix needs at least 15 variations");
        assert!(Variation::ALL.iter().all(|v| !v.allowed_by().is_empty()));
    }
}
