//! One fault switch per requirement: each makes the reference target break exactly the
//! requirement(s) it names. The fault matrix test proves every check can fail.

use crate::spec::SpecVersion;

macro_rules! faults {
    ($( $variant:ident = $id:literal, [$($req:literal),+ $(,)?], $version:expr, $form:ident, $what:literal; )+) => {
        /// A deliberate defect of the reference target.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Fault { $( #[doc = $what] $variant, )+ }

        impl Fault {
            pub const ALL: &'static [Fault] = &[$(Fault::$variant),+];

            /// The id used by `reference --fault <ID>`.
            pub fn id(self) -> &'static str {
                match self { $(Fault::$variant => $id,)+ }
            }

            /// The requirements this fault breaks (and no others) under [`Fault::version`].
            pub fn requirements(self) -> &'static [&'static str] {
                match self { $(Fault::$variant => &[$($req),+],)+ }
            }

            /// The spec version under which the fault is proven.
            pub fn version(self) -> SpecVersion {
                match self { $(Fault::$variant => $version,)+ }
            }

            pub fn description(self) -> &'static str {
                match self { $(Fault::$variant => $what,)+ }
            }

            /// Whether the fault breaks its rule the way deployed servers do.
            pub fn form(self) -> Form {
                match self { $(Fault::$variant => Form::$form,)+ }
            }

            /// Whether the fault is one of an MCP proxy: the reference then runs as one.
            pub fn needs_proxy(self) -> bool {
                self.requirements().iter().any(|r| crate::reference::PROXY_REQUIREMENTS.contains(r))
            }
        }
    };
}

/// How a fault breaks its rule. A check proven only against the blunt form is not proven:
/// every MUST has a realistic fault too (a test holds it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Everywhere the check looks, in the plainest way: what the check was written for.
    Blunt,
    /// As deployed servers break it: on some responses or inputs only (error paths, an
    /// omitted parameter, one client kind), by a near-miss comparison, or as a named server
    /// was seen to (the research catalogue's FAIL column).
    Realistic,
}

const LATEST: SpecVersion = SpecVersion::LATEST;

faults! {
    UnauthenticatedAccepted = "unauthenticated-accepted", ["rs.challenge.401-no-token"], LATEST, Blunt,
        "the MCP endpoint answers 200 to a request without credentials";
    NoTokenRedirectsToLogin = "no-token-redirects-to-login", ["rs.challenge.401-no-token"], LATEST, Realistic,
        "a request without credentials is redirected (302) to a login page, as a web framework's session guard does";
    NoWwwAuthenticate = "no-www-authenticate", ["rs.challenge.www-authenticate-present"], LATEST, Blunt,
        "the 401 carries no WWW-Authenticate header";
    BadToken401Bare = "bad-token-401-bare",
        ["rs.challenge.www-authenticate-present", "rs.token.invalid-401-keeps-resource-metadata"], LATEST, Realistic,
        "a token the server cannot read gets a bare 401 (the no-token 401 has its challenge), as token middleware often answers";
    BadTokenChallengeRepeatsError = "bad-token-challenge-repeats-error", ["rs.challenge.param-uniqueness"], LATEST, Realistic,
        "the bad-token challenge appends error=\"invalid_token\" to a challenge that already has it";
    MalformedWwwAuthenticate = "malformed-www-authenticate", ["rs.challenge.www-authenticate-present"], LATEST, Realistic,
        "the 401 challenge misses the comma between two auth-params";
    BadTokenBareBearer = "bad-token-bare-bearer",
        ["rs.challenge.bearer-scheme", "rs.token.invalid-token-error-code", "rs.token.invalid-401-keeps-resource-metadata"], LATEST, Realistic,
        "a token the server cannot read gets `WWW-Authenticate: Bearer` and nothing more (a generic rejection path)";
    BasicChallengeOnly = "basic-challenge-only", ["rs.challenge.bearer-scheme"], LATEST, Realistic,
        "the 401 offers only a Basic challenge (resource_metadata rides on it)";
    ErrorWithoutCredentials = "error-without-credentials", ["rs.challenge.no-error-without-credentials"], LATEST, Blunt,
        "the 401 to a request without credentials says error=\"invalid_token\"";
    NoScopeOn401 = "no-scope-on-401", ["rs.challenge.scope-on-401"], LATEST, Blunt,
        "the 401 challenge has no scope parameter";
    DuplicateChallengeParam = "duplicate-challenge-param", ["rs.challenge.param-uniqueness"], LATEST, Blunt,
        "the Bearer challenge repeats its scope parameter";
    NoResourceMetadata = "no-resource-metadata", ["rs.discovery.www-authenticate-resource-metadata"], LATEST, Blunt,
        "the 401 challenge has no resource_metadata (PRM still at the well-known URL)";
    NoResourceMetadata0618 = "no-resource-metadata-2025-06-18", ["rs.discovery.www-authenticate-resource-metadata"], SpecVersion::V2025_06_18, Realistic,
        "as no-resource-metadata, under 2025-06-18 where the header is the only way to the PRM";
    RelativeResourceMetadata = "relative-resource-metadata", ["rs.discovery.resource-metadata-url-valid"], LATEST, Realistic,
        "resource_metadata is a relative reference";
    NoPrm = "no-prm", ["rs.prm.implemented", "rs.discovery.prm-well-known", "rs.discovery.www-authenticate-resource-metadata"], LATEST, Blunt,
        "no resource_metadata and no PRM at any well-known location";
    OfflineAccessInChallenge = "offline-access-in-challenge", ["rs.challenge.no-offline-access"], LATEST, Blunt,
        "the 401 challenge asks for offline_access";
    PrmRequiresToken = "prm-requires-token",
        ["rs.prm.no-auth-required", "rs.prm.implemented", "rs.discovery.prm-well-known", "rs.discovery.resource-metadata-url-valid"], LATEST, Realistic,
        "PRM is answered 401 without a token (so it is also not found by any route)";
    PrmWrongContentType = "prm-wrong-content-type", ["rs.prm.http-shape"], LATEST, Realistic,
        "PRM is served as text/plain";
    PrmMissingResource = "prm-missing-resource", ["rs.prm.resource-required", "rs.prm.resource-matches-server"], LATEST, Realistic,
        "PRM has no resource member";
    PrmResourceTrailingSlash = "prm-resource-trailing-slash", ["rs.prm.resource-matches-server"], LATEST, Realistic,
        "PRM resource is the MCP URL with a trailing slash";
    PrmNoAuthorizationServers = "prm-no-authorization-servers", ["rs.prm.authorization-servers"], LATEST, Realistic,
        "PRM authorization_servers is empty";
    PrmFieldWrongType = "prm-field-wrong-type", ["rs.prm.optional-fields-typed"], LATEST, Blunt,
        "PRM resource_name is a number";
    PrmBearerQuery = "prm-bearer-query", ["rs.prm.bearer-methods"], LATEST, Realistic,
        "PRM bearer_methods_supported advertises query";
    PrmNoScopesSupported = "prm-no-scopes-supported", ["rs.prm.scopes-supported"], LATEST, Blunt,
        "PRM has no scopes_supported";
    AsMetadataMissing = "as-metadata-missing", ["as.discovery.metadata-provided", "rs.prm.authorization-servers-are-issuers"], LATEST, Blunt,
        "the AS publishes no metadata";
    AsMetadataOidcAppendOnly = "as-metadata-oidc-append-only", ["as.discovery.metadata-provided", "rs.prm.authorization-servers-are-issuers"], SpecVersion::V2025_06_18, Realistic,
        "AS metadata only at <issuer>/.well-known/openid-configuration, which 2025-06-18 clients never try";
    AsMetadataHtml = "as-metadata-html", ["as.metadata.http-shape"], LATEST, Realistic,
        "AS metadata is served as text/html";
    IssuerTrailingSlash = "issuer-trailing-slash", ["as.metadata.issuer-matches-url", "rs.prm.authorization-servers-are-issuers"], LATEST, Realistic,
        "AS metadata issuer has a trailing slash the PRM entry lacks";
    IssuerWithQuery = "issuer-with-query", ["as.metadata.issuer-format"], LATEST, Realistic,
        "the issuer (in PRM and metadata alike) has a query component";
    NoTokenEndpoint = "no-token-endpoint", ["as.metadata.required-fields"], LATEST, Blunt,
        "AS metadata has no token_endpoint";
    NoResponseTypesSupported = "no-response-types-supported", ["as.metadata.required-fields", "as.metadata.response-types-code"], LATEST, Realistic,
        "hand-written AS metadata leaves out response_types_supported (REQUIRED by RFC 8414)";
    NoCodeResponseType = "no-code-response-type", ["as.metadata.response-types-code"], LATEST, Blunt,
        "response_types_supported lacks code";
    NoPkceMethods = "no-pkce-methods", ["as.metadata.pkce-advertised"], LATEST, Realistic,
        "AS metadata has no code_challenge_methods_supported";
    PkceMethodsEmpty = "pkce-methods-empty", ["as.metadata.pkce-advertised", "as.metadata.pkce-s256"], LATEST, Realistic,
        "code_challenge_methods_supported is an empty array";
    RevocationEndpointHttp = "revocation-endpoint-http", ["as.metadata.endpoint-urls-https"], LATEST, Realistic,
        "revocation_endpoint is the backend's plain http URL, leaked from behind the proxy (the other endpoints are right)";
    RefreshRevocationIgnored = "refresh-revocation-ignored", ["as.token.revocation-refresh-token"], LATEST, Realistic,
        "the revocation endpoint answers 200 to a refresh token and leaves it usable";
    AccessRevocationIgnored = "access-revocation-ignored", ["as.token.revocation-access-token"], LATEST, Realistic,
        "a revoked access token keeps working at the resource server until it expires (the revocation is answered 200 and recorded nowhere the RS looks)";
    RefreshRevocationUnsupported = "refresh-revocation-unsupported", ["as.token.revocation-refresh-token"], LATEST, Realistic,
        "the revocation endpoint revokes access tokens only: a refresh token gets 400 unsupported_token_type";
    IntrospectionUnauthenticated = "introspection-unauthenticated", ["as.token.introspection-authenticated"], LATEST, Realistic,
        "the introspection endpoint answers anyone, no client authentication asked (a token-scanning oracle)";
    PlainPkceOnly = "plain-pkce-only", ["as.metadata.pkce-s256"], LATEST, Realistic,
        "code_challenge_methods_supported is [\"plain\"]";
    HttpEndpoint = "http-endpoint", ["as.metadata.endpoint-urls-https"], LATEST, Blunt,
        "token_endpoint is plain http on a non-loopback host";
    ImplicitGrant = "implicit-grant", ["as.metadata.grant-types"], LATEST, Blunt,
        "grant_types_supported lists implicit";
    RegistrationRefusesJson = "registration-refuses-json", ["as.dcr.json-only", "as.dcr.success-201"], LATEST, Realistic,
        "the registration endpoint takes form posts only: a JSON request gets 415";
    RegistrationEchoesOnlyClientId = "registration-echoes-only-client-id", ["as.dcr.success-201"], LATEST, Realistic,
        "a registration is answered with the client_id (and secret) only, not the metadata registered";
    SecretExpiryMillis = "secret-expiry-millis", ["as.dcr.secret-expiry"], LATEST, Realistic,
        "client_secret_expires_at is in milliseconds (Date.now() + 30 days), not seconds";
    OnlyFirstRedirectUriChecked = "only-first-redirect-uri-checked", ["as.redirect.registered-https-or-loopback"], LATEST, Realistic,
        "registration validates the first redirect URI only: a plain http one second in the list is registered";
    RedirectLocalhostPrefix = "redirect-localhost-prefix", ["as.redirect.registered-https-or-loopback"], LATEST, Realistic,
        "registration takes any URI starting with http://localhost or http://127.0.0.1 as loopback (http://localhost.client.example too)";
    FragmentCheckMissesEmpty = "fragment-check-misses-empty", ["as.redirect.no-fragment-registered"], LATEST, Realistic,
        "registration refuses a redirect URI with a fragment, but not one ending in an empty fragment (`#`)";
    SchemeDenylistJavascriptOnly = "scheme-denylist-javascript-only", ["as.dcr.invalid-redirect-uri"], LATEST, Realistic,
        "registration refuses javascript: redirect URIs only: data: and file: ones are registered";
    RegistrationAcceptsBadRedirectUri = "registration-accepts-bad-redirect-uri", ["as.dcr.invalid-redirect-uri", "as.redirect.no-fragment-registered"], LATEST, Blunt,
        "registration accepts malformed redirect URIs (fragment, javascript:, relative)";
    RegistrationAcceptsHttpForWebClients = "registration-accepts-http-for-web-clients", ["as.redirect.registered-https-or-loopback"], LATEST, Realistic,
        "a web client may register a plain http redirect URI on a public host (OpenID Connect's rule, not MCP's); a native one may not";
    RegistrationAcceptsHttpRedirectUri = "registration-accepts-http-redirect-uri", ["as.redirect.registered-https-or-loopback"], LATEST, Blunt,
        "registration accepts plain http redirect URIs on public hosts";
    RegistrationAcceptsInconsistentMetadata = "registration-accepts-inconsistent-metadata", ["as.dcr.invalid-client-metadata"], LATEST, Blunt,
        "registration accepts unknown auth methods and inconsistent grant and response types";
    RegistrationRejectsUnknownMetadata = "registration-rejects-unknown-metadata", ["as.dcr.ignore-unknown-metadata"], LATEST, Realistic,
        "registration refuses metadata members it does not know";
    SecretWithoutExpiry = "secret-without-expiry", ["as.dcr.secret-expiry"], LATEST, Realistic,
        "a registration that issues client_secret gives no client_secret_expires_at";
    RegisteredClientUnknown = "registered-client-unknown", ["as.dcr.registered-client-usable"], LATEST, Realistic,
        "the client_id a registration returns is unknown to the authorization endpoint";
    StateDroppedOnErrors = "state-dropped-on-errors", ["as.authz.state-echo"], LATEST, Realistic,
        "error redirects carry no state (success redirects do)";
    StateNotEchoed = "state-not-echoed", ["as.authz.state-echo"], LATEST, Blunt,
        "authorization responses drop the state parameter";
    IssMissing = "iss-missing", ["as.authz.iss-required-when-advertised", "as.authz.iss-param"], LATEST, Blunt,
        "authorization responses carry no iss although the metadata advertises it";
    IssMissingOnErrors = "iss-missing-on-errors", ["as.authz.iss-required-when-advertised", "as.authz.iss-param"], LATEST, Realistic,
        "error redirects carry no iss (success redirects do, and the metadata advertises it)";
    IssMismatchOnErrors = "iss-mismatch-on-errors", ["as.authz.iss-equals-issuer"], LATEST, Realistic,
        "error redirects carry iss with a trailing slash the issuer lacks (success redirects are exact)";
    StateUnencoded = "state-unencoded", ["as.authz.state-echo"], LATEST, Realistic,
        "redirects are built by string concatenation: a state holding `+`, `%` or `&` comes back changed";
    IssFlagMissing = "iss-flag-missing", ["as.metadata.iss-flag"], LATEST, Realistic,
        "authorization responses carry iss, the metadata does not advertise it";
    CimdFlagAsString = "cimd-flag-as-string", ["as.metadata.cimd-flag"], LATEST, Realistic,
        "the metadata says client_id_metadata_document_supported: \"true\" (a string)";
    CimdNotFetched = "cimd-not-fetched", ["as.cimd.fetch"], LATEST, Blunt,
        "a URL client_id is taken as a public client without its document being fetched (whatever redirect_uri it asks for)";
    CimdClientIdLoose = "cimd-client-id-loose", ["as.cimd.client-id-must-match"], LATEST, Realistic,
        "a document's client_id is compared with its URL ignoring a trailing slash and letter case";
    CimdLoopbackRedirectUnchecked = "cimd-loopback-redirect-unchecked", ["as.cimd.redirect-uri-in-document", "as.redirect.exact-match"], LATEST, Realistic,
        "a document's client may use any loopback redirect_uri, listed or not (a native-app shortcut)";
    CimdRedirectUrisOptional = "cimd-redirect-uris-optional", ["as.cimd.valid-json-required-fields"], LATEST, Realistic,
        "a document without redirect_uris is accepted, and its client may use the redirect_uri it asks for";
    CimdErrorsCached = "cimd-errors-cached", ["as.cimd.no-cache-of-errors"], LATEST, Realistic,
        "a client id whose document was refused (a 404, an invalid document) is refused again for five minutes without a fetch";
    CimdAnySize = "cimd-any-size", ["as.cimd.size-limit"], LATEST, Blunt,
        "documents are read and accepted whatever their size (a 5 MiB one included)";
    CimdUrlShapeUnchecked = "cimd-url-shape-unchecked", ["as.cimd.url-shape"], LATEST, Realistic,
        "a client id URL is fetched whatever its form: a fragment, userinfo, dot segments or no path pass";
    CimdSharedSecretAccepted = "cimd-shared-secret-accepted", ["as.cimd.no-shared-secret"], LATEST, Realistic,
        "a document naming a shared-secret method or carrying a client_secret is taken as a public client";
    CimdSsrfUnguarded = "cimd-ssrf-unguarded", ["as.cimd.ssrf-guard"], LATEST, Realistic,
        "documents are fetched from any host, the AS's own loopback address included (no SSRF guard)";
    PublicAuthUnadvertised = "public-auth-unadvertised", ["as.metadata.public-client-auth"], LATEST, Blunt,
        "the metadata lists only client_secret_basic and client_secret_post, yet public clients are served";
    AudienceNotLimited = "audience-not-limited", ["as.token.audience-bound"], LATEST, Blunt,
        "access tokens name the issuer as a second audience beside the resource asked for";
    LongLivedTokens = "long-lived-tokens", ["as.token.short-lived"], LATEST, Blunt,
        "access tokens live 30 days (expires_in 2592000)";
    IssMismatch = "iss-mismatch", ["as.authz.iss-equals-issuer"], LATEST, Realistic,
        "iss in authorization responses has a trailing slash the issuer lacks";
    PkceOptional = "pkce-optional", ["as.authz.pkce-required", "as.pkce.downgrade"], LATEST, Realistic,
        "an authorization request without code_challenge gets a code";
    EmptyChallengeAccepted = "empty-challenge-accepted", ["as.authz.pkce-required"], LATEST, Realistic,
        "an empty code_challenge counts as one (the key is present): the code is issued, bound to the empty challenge";
    AnyPkceMethodAccepted = "any-pkce-method-accepted", ["as.authz.pkce-unsupported-method"], LATEST, Blunt,
        "unsupported code_challenge_method values are accepted (as plain)";
    NonS256TakenAsPlain = "non-s256-taken-as-plain", ["as.authz.pkce-unsupported-method"], LATEST, Realistic,
        "the metadata lists S256 and plain, and every method but S256 is verified as plain (S512 included)";
    MissingMethodMeansS256 = "missing-method-means-s256", ["as.authz.pkce-method-default-plain"], LATEST, Realistic,
        "a code_challenge without method is taken as S256";
    MissingResponseTypeErrorPage = "missing-response-type-error-page", ["as.authz.error-redirect-format"], LATEST, Realistic,
        "a missing or empty response_type gets a 400 page (a validation layer), an unsupported one an error redirect";
    ErrorPageInsteadOfRedirect = "error-page-instead-of-redirect", ["as.authz.error-redirect-format"], LATEST, Realistic,
        "an unsupported response_type gets an error page instead of an error redirect";
    LoopbackPortExact = "loopback-port-exact", ["as.redirect.loopback-any-port"], LATEST, Realistic,
        "a loopback redirect URI must also match the registered port";
    LoopbackPortTokenExact = "loopback-port-token-exact", ["as.redirect.loopback-any-port"], LATEST, Realistic,
        "the authorization endpoint takes any loopback port, the token endpoint compares redirect_uri with the registered URI, port included";
    LoopbackPortVariantUnchecked = "loopback-port-variant-unchecked", ["as.redirect.exact-match"], LATEST, Blunt,
        "a loopback redirect URI with another port is accepted whatever its path and query";
    RedirectUriParsedComparison = "redirect-uri-parsed-comparison", ["as.redirect.exact-match"], LATEST, Realistic,
        "loopback redirect URIs are compared after URL parsing: dot segments resolved, userinfo ignored, 127.1 read as 127.0.0.1";
    RedirectUriPrefixMatch = "redirect-uri-prefix-match", ["as.redirect.exact-match"], LATEST, Realistic,
        "redirect_uri is accepted when a registered URI is a prefix of it";
    VerifierNotCompared = "verifier-not-compared", ["as.pkce.wrong-verifier"], LATEST, Realistic,
        "the token endpoint does not compare code_verifier with the challenge";
    PkcePlainFallback = "pkce-plain-fallback", ["as.pkce.wrong-verifier"], LATEST, Realistic,
        "an S256-bound code also redeems with the challenge itself as verifier (a fallback to plain when S256 fails)";
    VerifierOptional = "verifier-optional", ["as.pkce.missing-verifier"], LATEST, Blunt,
        "the token endpoint redeems a PKCE-bound code without code_verifier";
    CodeReusable = "code-reusable", ["as.code.single-use"], LATEST, Realistic,
        "an authorization code can be redeemed again";
    CodeNeverExpires = "code-never-expires", ["as.code.lifetime"], LATEST, Blunt,
        "authorization codes never expire";
    TokenRedirectUriPortIgnored = "token-redirect-uri-port-ignored", ["as.code.redirect-uri-binding"], LATEST, Realistic,
        "the token endpoint compares redirect_uri as the authorization endpoint matches loopback URIs: any port";
    EmptyVerifierSkipsPkce = "empty-verifier-skips-pkce", ["as.pkce.missing-verifier"], LATEST, Realistic,
        "an empty code_verifier skips the PKCE check (`if (code_verifier) verify()`)";
    WrongVerifierInvalidRequest = "wrong-verifier-invalid-request", ["as.token.error-shape"], LATEST, Realistic,
        "a wrong code_verifier is refused with invalid_request instead of invalid_grant";
    InvalidClientBearerChallenge = "invalid-client-bearer-challenge", ["as.token.invalid-client-401"], LATEST, Realistic,
        "a failed Basic client authentication gets 401 with a Bearer challenge (copied from the resource server)";
    RepeatedParameterLastWins = "repeated-parameter-last-wins", ["as.token.invalid-request"], LATEST, Realistic,
        "a token request repeating a parameter is served with the last value (a form parser's default)";
    TokenIgnoresRedirectUri = "token-ignores-redirect-uri", ["as.code.redirect-uri-binding"], LATEST, Blunt,
        "the token endpoint does not compare redirect_uri with the authorization request's";
    TokenResponseWithoutAccessToken = "token-response-without-access-token", ["as.token.success-shape"], LATEST, Blunt,
        "the token response names the token `token` instead of `access_token`";
    TokenTypeNotBearer = "token-type-not-bearer", ["as.token.token-type-bearer"], LATEST, Realistic,
        "token_type is `JWT` (the token's format, not its type)";
    TokenResponseNoCache = "token-response-no-cache", ["as.token.no-store"], LATEST, Realistic,
        "token responses say Cache-Control: no-cache (not no-store)";
    TokenResponseTextHtml = "token-response-text-html", ["as.token.success-shape"], LATEST, Realistic,
        "token responses carry their JSON as text/html (Express's res.send of a string)";
    RefreshWithoutNoStore = "refresh-without-no-store", ["as.token.no-store"], LATEST, Realistic,
        "refresh-grant responses say Cache-Control: max-age=300 (the code grant's say no-store)";
    TokenResponseCacheable = "token-response-cacheable", ["as.token.no-store"], LATEST, Blunt,
        "token responses say Cache-Control: max-age=300";
    CodeReplayServerError = "code-replay-server-error", ["as.token.error-shape"], LATEST, Realistic,
        "a code redeemed again is refused with 500 server_error (as the TypeScript SDK's demo AS does)";
    UnsupportedResponseTypeServerError = "unsupported-response-type-server-error", ["as.authz.error-redirect-format"], LATEST, Realistic,
        "an unsupported response_type is answered by an error redirect saying server_error";
    RefreshReplayServerError = "refresh-replay-server-error", ["as.token.error-shape"], LATEST, Realistic,
        "a refresh token used again (rotated out) is refused with 500 server_error";
    InvalidGrantAnswered401 = "invalid-grant-401", ["as.token.error-shape"], LATEST, Realistic,
        "a refused grant (unknown code, wrong verifier, redirect_uri mismatch) is answered 401, not 400";
    TokenErrorUnregisteredCode = "token-error-unregistered-code", ["as.token.error-shape"], LATEST, Blunt,
        "an unknown code is answered with the unregistered error code `code_not_found`";
    UnsupportedGrantAnsweredInvalidRequest = "unsupported-grant-answered-invalid-request", ["as.token.unsupported-grant-type"], LATEST, Realistic,
        "the password grant is answered invalid_request instead of unsupported_grant_type";
    TokenIgnoresResource = "token-ignores-resource", ["as.token.invalid-target"], LATEST, Blunt,
        "the token endpoint issues tokens for a resource the authorization did not cover";
    RefreshNotRotated = "refresh-not-rotated", ["as.refresh.rotation-public"], LATEST, Realistic,
        "refreshing returns the same refresh token, which stays valid";
    RefreshOldTokenKept = "refresh-old-token-kept", ["as.refresh.rotation-public"], LATEST, Realistic,
        "refreshing returns a new refresh token, but the old one stays valid, also after the new one is used (better-auth 1.7.5's answer)";
    RefreshNotBoundToClient = "refresh-not-bound-to-client", ["as.refresh.client-binding"], LATEST, Realistic,
        "a refresh token works for any client that presents it";
    RefreshScopeUnchecked = "refresh-scope-unchecked", ["as.refresh.scope-no-expansion", "as.token.invalid-scope"], LATEST, Realistic,
        "a refresh grants whatever scope it asks for";
    CodeNotBoundToClient = "code-not-bound-to-client", ["as.code.client-binding"], LATEST, Realistic,
        "a code is redeemed for any client that presents it";
    TokenAcceptsGet = "token-accepts-get", ["as.token.post-only"], LATEST, Realistic,
        "the token endpoint answers a GET with tokens";
    InvalidClientAnswered400 = "invalid-client-answered-400", ["as.token.invalid-client-401"], LATEST, Blunt,
        "a failed Basic client authentication is answered 400 without a challenge";
    ClientCredentialsRefused = "client-credentials-refused", ["as.token.client-credentials-advertised"], LATEST, Blunt,
        "client_credentials is advertised but refused";
    PublicClientsOnly = "public-clients-only", ["meta.oauth21-public-and-confidential"], LATEST, Realistic,
        "the AS serves public clients only: its metadata lists the auth method none alone and registration refuses any other";
    PostSecretUnchecked = "post-secret-unchecked", ["meta.oauth21-public-and-confidential"], LATEST, Realistic,
        "a client_secret sent in the body (client_secret_post) is not compared: any secret authenticates";
    ConfidentialAuthenticationBroken = "confidential-authentication-broken", ["meta.oauth21-public-and-confidential"], LATEST, Blunt,
        "confidential clients are registered but never authenticated, even with the right secret";
    UnknownScopeGranted = "unknown-scope-granted", ["as.authz.invalid-scope"], LATEST, Blunt,
        "an unknown scope is granted as requested";
    UnknownParameterRejected = "unknown-parameter-rejected", ["as.authz.unknown-params-ignored"], LATEST, Realistic,
        "an authorization request with an unknown parameter is refused";
    MissingClientErrorRedirect = "missing-client-error-redirect", ["as.redirect.no-redirect-on-bad-client"], LATEST, Realistic,
        "a missing or empty client_id gets an error redirect to the redirect_uri the request names (an unknown one gets a page)";
    ResourceParameterRejected = "resource-parameter-rejected", ["as.authz.unknown-params-ignored"], SpecVersion::V2025_03_26, Realistic,
        "an AS that knows nothing of RFC 8707 refuses an authorization request carrying resource (2025-03-26 clients send none)";
    UnknownClientErrorRedirect = "unknown-client-error-redirect", ["as.redirect.no-redirect-on-bad-client"], LATEST, Realistic,
        "an unknown client_id gets an error redirect to the redirect_uri it names";
    MissingGrantTypeAnsweredUnsupported = "missing-grant-type-answered-unsupported", ["as.token.invalid-request"], LATEST, Blunt,
        "a token request without grant_type is answered unsupported_grant_type";
    SecretForPublicClients = "secret-for-public-clients", ["as.dcr.public-no-secret"], LATEST, Blunt,
        "a public-client registration (auth method none) is given a client_secret";
    ResourceCaseSensitive = "resource-case-sensitive", ["as.authz.resource-case-tolerant"], LATEST, Blunt,
        "a resource differing from the server's URI only in the case of scheme or host is invalid_target";
    AnyResourceAccepted = "any-resource-accepted", ["as.authz.resource-invalid-target"], LATEST, Blunt,
        "the authorization endpoint accepts any resource value, fragments and foreign ones included";
    NativeLocalhostRejected = "native-localhost-rejected", ["as.dcr.application-type-native"], LATEST, Blunt,
        "a native client may not register a localhost redirect URI";
    VerifierFormatUnchecked = "verifier-format-unchecked", ["as.pkce.verifier-format"], LATEST, Blunt,
        "a code_verifier shorter than 43 characters is accepted when it matches";
    ValidTokenRefused = "valid-token-refused", ["rs.token.valid-accepted"], LATEST, Blunt,
        "the MCP endpoint refuses every token, even valid ones";
    SecretExpiryNull = "secret-expiry-null", ["as.dcr.secret-expiry"], LATEST, Realistic,
        "an issued client_secret comes with client_secret_expires_at: null";
    ValidTokenServerError = "valid-token-server-error", ["rs.token.valid-accepted"], LATEST, Realistic,
        "a request with a valid token is answered 500 (a token check that fails on the server)";
    LowercaseBearerServerError = "lowercase-bearer-server-error", ["rs.token.scheme-case-insensitive"], LATEST, Realistic,
        "`Authorization: bearer ...` (lower case) is answered 500, not served";
    SchemeCaseSensitive = "scheme-case-sensitive", ["rs.token.scheme-case-insensitive"], LATEST, Realistic,
        "only the exact scheme spelling `Bearer` is accepted";
    AnyTokenAccepted = "any-token-accepted",
        ["rs.token.invalid-401", "rs.token.expired-401", "rs.token.audience", "rs.token.foreign-issuer",
         "rs.token.not-yet-valid", "as.token.revocation-access-token"], LATEST, Blunt,
        "any bearer token is accepted, garbage included";
    ReplayKeepsTokens = "replay-keeps-tokens", ["as.code.replay-revokes-tokens"], LATEST, Realistic,
        "a replayed code is refused, but the tokens of its first redemption keep working";
    SequentialSessionIds = "sequential-session-ids", ["rs.session.id-unpredictable"], SpecVersion::V2025_11_25, Realistic,
        "session ids count up (`session-1`, `session-2`...)";
    SequentialStateHandles = "sequential-state-handles", ["rs.session.id-unpredictable"], LATEST, Realistic,
        "state handles count up (`cart-1`, `cart-2`...)";
    StateHandleNotBound = "state-handle-not-bound", ["rs.session.bound-to-user"], LATEST, Realistic,
        "a state handle serves whoever presents it with any valid token";
    StateHandleAuthenticates = "state-handle-authenticates", ["rs.token.every-request"], LATEST, Realistic,
        "a request using a state handle that exists needs no token";
    ProxyForwardsWithoutConsent = "proxy-forwards-without-consent", ["as.authz.consent-proxy"], LATEST, Realistic,
        "the proxy sends a never-approved client straight on to the upstream AS, where its static client id already holds the user's consent";
    ProxyLoginWithoutConsent = "proxy-login-without-consent", ["as.authz.consent-proxy"], LATEST, Realistic,
        "the proxy has its user sign in (a login page naming no client), then sends the never-approved client on to the upstream AS under its static client id";
    ConsentPageFrameable = "consent-page-frameable", ["as.authz.consent-page-hardening"], LATEST, Realistic,
        "the proxy's consent page has a CSP of `default-src 'self'` (which does not govern framing) and no X-Frame-Options";
    ConsentCookieWeak = "consent-cookie-weak", ["as.authz.consent-page-hardening"], LATEST, Realistic,
        "the cookie the proxy sets on approval has no `__Host-` prefix, no Secure and no SameSite (`mcp_consent=...; Path=/; HttpOnly`)";
    ProxyCallbackStateUnchecked = "proxy-callback-state-unchecked", ["as.authz.proxy-state-single-use"], LATEST, Realistic,
        "the proxy's upstream callback takes any state, or none, and completes the browser session's latest authorization";
    ProxyCallbackStateReusable = "proxy-callback-state-reusable", ["as.authz.proxy-state-single-use"], LATEST, Realistic,
        "the proxy's upstream callback keeps a state after use: a later callback with it and a fresh upstream code completes its authorization again";
    ProxyCallbackNotBound = "proxy-callback-not-bound", ["as.authz.proxy-state-single-use"], LATEST, Realistic,
        "the proxy stores upstream states server-side only: its callback takes one from any browser, without the cookies it was stored with";
    SessionNotBoundToUser = "session-not-bound-to-user", ["rs.session.bound-to-user"], SpecVersion::V2025_11_25, Realistic,
        "a session serves whoever presents its id with any valid token (sessions are not bound to their user)";
    SessionAuthenticates = "session-authenticates", ["rs.token.every-request"], SpecVersion::V2025_11_25, Realistic,
        "a request with a known Mcp-Session-Id and no token is served";
    AnyAudienceAccepted = "any-audience-accepted", ["rs.token.audience"], LATEST, Realistic,
        "tokens its AS issued for another resource are accepted";
    NotBeforeIgnored = "not-before-ignored", ["rs.token.not-yet-valid"], LATEST, Realistic,
        "nbf is not checked: a token not yet valid is accepted (JWT libraries that leave nbf off by default)";
    PrivilegeNotEnforced = "privilege-not-enforced", ["rs.scope.insufficient-403"], LATEST, Blunt,
        "scopes are not enforced: the privileged tool runs for a token without its scope";
    InsufficientScopeAnswered401 = "insufficient-scope-answered-401", ["rs.scope.insufficient-403"], LATEST, Realistic,
        "a token without the needed scope gets 401 invalid_token instead of 403";
    InsufficientScopeWithoutErrorCode = "insufficient-scope-without-error-code", ["rs.scope.insufficient-error-code"], LATEST, Blunt,
        "the 403 challenge has no error=\"insufficient_scope\"";
    InsufficientScopeWithoutScope = "insufficient-scope-without-scope", ["rs.scope.insufficient-scope-param"], LATEST, Blunt,
        "the 403 challenge does not say which scope is needed";
    InsufficientScopeRootResourceMetadata = "insufficient-scope-root-resource-metadata", ["rs.scope.insufficient-resource-metadata"], LATEST, Realistic,
        "the 403 challenge points at the origin's root PRM location (nothing there) while the 401 points at the path-inserted one";
    InsufficientScopeWithoutResourceMetadata = "insufficient-scope-without-resource-metadata", ["rs.scope.insufficient-resource-metadata"], LATEST, Blunt,
        "the 403 challenge drops resource_metadata";
    ScopeHierarchyIgnored = "scope-hierarchy-ignored", ["rs.scope.hierarchy"], LATEST, Realistic,
        "a token holding mcp:admin alone is refused what needs mcp:tools, which mcp:admin implies";
    ScopesOneAtATime = "scopes-one-at-a-time", ["rs.scope.step-up"], LATEST, Realistic,
        "the privileged call also needs mcp:audit, named only in the 403 to a token that already holds mcp:admin";
    PrivilegedScopeNeverGranted = "privileged-scope-never-granted", ["rs.scope.step-up"], LATEST, Blunt,
        "the AS leaves mcp:admin out of every grant, so stepping up never works";
    ExpiredTokenAccepted = "expired-token-accepted", ["rs.token.expired-401"], LATEST, Realistic,
        "access tokens are accepted after they expire";
    AnySchemeAccepted = "any-scheme-accepted", ["rs.token.invalid-401"], LATEST, Blunt,
        "the token is taken from an Authorization header of any scheme (`Token ...`)";
    InsufficientScopeOffersOfflineAccess = "insufficient-scope-offers-offline-access", ["rs.challenge.no-offline-access"], LATEST, Realistic,
        "the 403 challenge asks for offline_access beside the scope the call needs (the 401's is right)";
    PrmOffersOfflineAccess = "prm-offers-offline-access", ["rs.challenge.no-offline-access"], LATEST, Realistic,
        "PRM scopes_supported lists offline_access (copied from the AS's scopes)";
    PrmScopesString = "prm-scopes-string", ["rs.prm.optional-fields-typed", "rs.prm.scopes-supported"], LATEST, Realistic,
        "PRM scopes_supported is a space-separated string (OAuth's scope syntax), not an array";
    PrmScopesMissChallenge = "prm-scopes-miss-challenge", ["rs.prm.scopes-cover-challenge"], LATEST, Blunt,
        "PRM scopes_supported lists mcp:read while the 401 challenge asks for mcp:tools";
    PublicPlainHttp = "public-plain-http", ["rs.transport.https", "rs.discovery.www-authenticate-resource-metadata", "as.metadata.issuer-format", "as.metadata.endpoint-urls-https"], LATEST, Realistic,
        "both servers answer under public names (mcp.reference.test, as.reference.test) over plain http, and the 401 has no resource_metadata (the PRM is at the well-known URL)";
    PublicPlainHttp0326 = "public-plain-http-2025-03-26", ["rs.transport.https", "as.metadata.issuer-format", "as.metadata.endpoint-urls-https"], SpecVersion::V2025_03_26, Realistic,
        "as public-plain-http, in 2025-03-26 (no PRM): the MCP server itself is reached over plain http under a public name";
    SignedMetadataUnsigned = "signed-metadata-unsigned", ["rs.prm.signed-metadata"], LATEST, Realistic,
        "the PRM's signed_metadata is an Unsecured JWS (alg none, empty signature)";
    SignedMetadataWithoutIss = "signed-metadata-without-iss", ["rs.prm.signed-metadata"], LATEST, Blunt,
        "the PRM's signed_metadata has no iss claim";
    SignedMetadataResourceDiffers = "signed-metadata-resource-differs", ["rs.prm.resource-matches-server"], LATEST, Realistic,
        "the PRM's signed_metadata names the origin as its resource while the plain resource is the MCP URL";
    ForeignIssuerAccepted = "foreign-issuer-accepted", ["rs.token.foreign-issuer"], LATEST, Realistic,
        "tokens signed with the trusted key are accepted whatever their iss";
    AlgNoneAccepted = "alg-none-accepted", ["rs.token.invalid-401"], LATEST, Realistic,
        "unsigned JWTs (alg: none) are accepted with the claims they carry, as a library trusting the token's header does";
    BadSignatureAccepted = "bad-signature-accepted", ["rs.token.invalid-401"], LATEST, Realistic,
        "JWT signatures are not verified";
    EmptySignatureAccepted = "empty-signature-accepted", ["rs.token.invalid-401"], LATEST, Realistic,
        "a JWT whose signature part is empty is taken unverified (its header still says ES256)";
    EmbeddedJwkTrusted = "embedded-jwk-trusted", ["rs.token.invalid-401"], LATEST, Realistic,
        "a JWT is verified with the key in its own jwk header, so anyone's key signs for the issuer (CVE-2018-0114)";
    BadTokenServerError = "bad-token-server-error",
        ["rs.token.invalid-401", "rs.token.expired-401", "rs.token.audience", "rs.token.foreign-issuer",
         "rs.token.not-yet-valid"], LATEST, Realistic,
        "a token that fails validation gets 500 (as the ts-sdk example's verifier causes)";
    ErrorDescriptionWithQuote = "error-description-with-quote", ["rs.challenge.error-chars"], LATEST, Realistic,
        "error_description holds a (backslash-escaped) double quote";
    BadTokenWithoutErrorCode = "bad-token-without-error-code", ["rs.token.invalid-token-error-code"], LATEST, Blunt,
        "a bad token gets a 401 challenge without error=\"invalid_token\"";
    BadTokenWithoutResourceMetadata = "bad-token-without-resource-metadata", ["rs.token.invalid-401-keeps-resource-metadata"], LATEST, Blunt,
        "the 401 challenge for a bad token drops resource_metadata";
    SseQueryTokenAccepted = "sse-query-token-accepted", ["rs.token.query-string-rejected"], LATEST, Realistic,
        "the GET that opens a stream takes access_token from the query (POST does not)";
    QueryTokenAccepted = "query-token-accepted", ["rs.token.query-string-rejected"], LATEST, Realistic,
        "an access_token in the query string is accepted";
    TwoTokenMethodsAccepted = "two-token-methods-accepted", ["rs.token.two-methods-400"], LATEST, Blunt,
        "a token sent both in the header and the query (or in two headers) is not refused";
    RootMetadataMissing0326 = "root-metadata-missing-2025-03-26", ["as.discovery.03-26-root-metadata"], SpecVersion::V2025_03_26, Blunt,
        "no AS metadata at the MCP server's origin (2025-03-26 location)";
    ProtocolVersionHeaderNotFound = "protocol-version-header-404", ["as.discovery.03-26-protocol-version-header", "as.discovery.03-26-root-metadata"], SpecVersion::V2025_03_26, Realistic,
        "the origin's AS metadata is routed on MCP-Protocol-Version: with the header it is 404";
    ProtocolVersionHeaderRejected = "protocol-version-header-rejected", ["as.discovery.03-26-protocol-version-header", "as.discovery.03-26-root-metadata"], SpecVersion::V2025_03_26, Blunt,
        "the origin's AS metadata answers 400 when MCP-Protocol-Version is sent";
}

impl std::str::FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::ALL
            .iter()
            .copied()
            .find(|f| f.id() == s)
            .ok_or_else(|| format!("unknown fault `{s}` (see `reference --list-faults`)"))
    }
}
