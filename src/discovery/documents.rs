//! The built-in observation steps: the unauthenticated MCP request, protected resource metadata
//! (RFC 9728) and authorization server metadata (RFC 8414, OpenID Connect Discovery), each by
//! the discovery rules of the selected spec version. The engine performs each once per run.

use std::collections::BTreeMap;

use crate::check::www_authenticate;
use crate::http::hosts::{Hosts, LOOPBACK};
use crate::http::{HttpClient, Request, Response};
use crate::observation::{Observation, Observed};
use crate::spec::SpecVersion;

const PRM_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
const OAUTH_WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
const OIDC_WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// The MCP endpoint under test, exactly as the user gave it (compared byte for byte).
#[derive(Debug, Clone)]
pub struct Target {
    pub mcp_url: String,
    pub url: url::Url,
    pub version: SpecVersion,
    /// Hosts beyond the target's (and its advertised issuers') that the user lets the run
    /// contact (`--allow-host`).
    pub extra_hosts: Vec<String>,
}

impl Target {
    pub fn new(mcp_url: &str, version: SpecVersion) -> Result<Target, String> {
        let url = url::Url::parse(mcp_url).map_err(|e| format!("invalid target URL `{mcp_url}`: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
            return Err(format!(
                "invalid target URL `{mcp_url}`: expected an absolute http(s) URL"
            ));
        }
        Ok(Target {
            mcp_url: mcp_url.to_owned(),
            url,
            version,
            extra_hosts: Vec::new(),
        })
    }

    /// Whether a URL the target named may be fetched: on the target's host (any loopback
    /// name for a loopback target) or a host the user allowed; else why not. A document
    /// pointing elsewhere gets a verdict, never a request.
    pub fn may_contact(&self, url: &str) -> Result<(), String> {
        if self.hosts().allows(url) {
            Ok(())
        } else {
            let host = Hosts::host_of(url);
            Err(format!(
                "<{url}> is on host `{host}`, which this run does not contact (the target's host, with \
                 every loopback name for a loopback target, and its advertised issuers' only; \
                 --allow-host {host} allows it)"
            ))
        }
    }

    /// The hosts of the target itself: its own (every loopback name, for a loopback target)
    /// and those the user allowed.
    pub fn hosts(&self) -> Hosts {
        let own = self.url.host_str().unwrap_or_default().to_owned();
        let loopback = LOOPBACK
            .iter()
            .filter(|_| LOOPBACK.contains(&own.as_str()))
            .map(|h| h.to_string());
        Hosts::new(
            std::iter::once(own.clone())
                .chain(loopback)
                .chain(self.extra_hosts.iter().cloned()),
        )
    }

    /// `scheme://host[:port]`, without a trailing slash.
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }

    /// Placeholders every case can use.
    pub fn globals(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("target".to_owned(), self.mcp_url.clone()),
            ("origin".to_owned(), self.origin()),
            ("target_case_changed".to_owned(), upper_scheme_and_host(&self.mcp_url)),
        ])
    }
}

/// `HTTPS://MCP.EXAMPLE.COM/mcp` for `https://mcp.example.com/mcp`: the same URI to anyone who
/// compares scheme and host case-insensitively (RFC 3986 §6.2.2.1); the path keeps its case.
fn upper_scheme_and_host(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    format!("{}://{}{tail}", scheme.to_uppercase(), authority.to_uppercase())
}

/// The first request a client of `version` sends (JSON-RPC over Streamable HTTP).
pub fn first_request(target: &Target) -> Request {
    let v = target.version.protocol_version();
    let body = if target.version >= SpecVersion::V2026_07_28 {
        // 2026-07-28 is stateless: no initialize; the version and capabilities ride on every
        // request, in `_meta` and in headers (basic/index.mdx, transports/streamable-http.mdx).
        format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":"{v}","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#
        )
    } else {
        format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"{v}","capabilities":{{}},"clientInfo":{{"name":"mcp-auth-conformance","version":"{}"}}}}}}"#,
            env!("CARGO_PKG_VERSION")
        )
    };
    let request = Request::post(&target.mcp_url, "application/json", body)
        .header("Accept", "application/json, text/event-stream");
    if target.version >= SpecVersion::V2026_07_28 {
        request
            .header("MCP-Protocol-Version", v)
            .header("Mcp-Method", "server/discover")
    } else {
        request
    }
}

pub async fn mcp_unauthenticated(client: &HttpClient, target: &Target) -> Observation {
    let (exchange, result) = client.send(&first_request(target)).await;
    let observed = match result {
        Ok(r) => Observed::Response(r),
        Err(e) => Observed::Error(e.to_string()),
    };
    Observation {
        label: "unauthenticated MCP request".to_owned(),
        exchanges: vec![exchange],
        observed,
        vars: BTreeMap::from([("mcp_url".to_owned(), target.mcp_url.clone())]),
    }
}

/// The `resource_metadata` URL a client can use from the 401, or why there is none.
pub fn resource_metadata_url(unauthenticated: &Observation) -> Result<String, String> {
    let response = match &unauthenticated.observed {
        Observed::Response(r) => r,
        Observed::Skipped(why) | Observed::Error(why) => return Err(why.clone()),
    };
    if response.status != 401 {
        return Err(format!("the unauthenticated request got {}, not 401", response.status));
    }
    let challenges = www_authenticate::parse_lines(response.header_values("www-authenticate"))
        .map_err(|e| format!("WWW-Authenticate does not parse ({})", e.message))?;
    let value = pointer(&challenges).ok_or("the 401 challenge has no resource_metadata")?;
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(value.to_owned()),
        _ => Err(format!("resource_metadata <{value}> is not an absolute http(s) URL")),
    }
}

/// The `resource_metadata` parameter of a 401 challenge, as sent (valid or not).
pub fn resource_metadata_param(unauthenticated: &Observation) -> Option<String> {
    let response = unauthenticated.response().filter(|r| r.status == 401)?;
    let challenges = www_authenticate::parse_lines(response.header_values("www-authenticate")).ok()?;
    pointer(&challenges).map(str::to_owned)
}

/// RFC 9728 §5.1: the parameter may ride on any scheme's challenge; Bearer's is preferred.
fn pointer(challenges: &[www_authenticate::Challenge]) -> Option<&str> {
    challenges
        .iter()
        .filter(|c| c.is("bearer"))
        .chain(challenges.iter())
        .find_map(|c| c.param("resource_metadata"))
}

pub async fn prm_from_header(client: &HttpClient, target: &Target, unauthenticated: &Observation) -> Observation {
    let label = "PRM from resource_metadata";
    match resource_metadata_url(unauthenticated).and_then(|url| target.may_contact(&url).map(|()| url)) {
        Ok(url) => probe(client, label, &[url], is_json_object).await,
        Err(why) => Observation::skipped(label, why),
    }
}

/// RFC 9728 §3.1: the well-known string goes between the host and the resource's path.
pub fn prm_well_known_urls(target: &Target) -> Vec<String> {
    let origin = target.origin();
    let path = match target.url.path() {
        "/" => "",
        p => p,
    };
    let query = target.url.query().map(|q| format!("?{q}")).unwrap_or_default();
    let inserted = format!("{origin}{PRM_WELL_KNOWN}{path}{query}");
    let root = format!("{origin}{PRM_WELL_KNOWN}");
    // 2025-11-25+ clients fall back to the root location (SEP-985); 2025-06-18 names only
    // the RFC 9728 location.
    if target.version >= SpecVersion::V2025_11_25 && inserted != root {
        vec![inserted, root]
    } else {
        vec![inserted]
    }
}

pub async fn prm_well_known(client: &HttpClient, target: &Target) -> Observation {
    let label = "PRM at the well-known location";
    if target.version < SpecVersion::V2025_06_18 {
        return Observation::skipped(label, "2025-03-26 has no protected resource metadata");
    }
    probe(client, label, &prm_well_known_urls(target), is_json_object).await
}

/// PRM: the challenge's URL first, then the well-known locations.
pub async fn prm(client: &HttpClient, target: &Target, unauthenticated: &Observation) -> Observation {
    let label = "protected resource metadata";
    if target.version < SpecVersion::V2025_06_18 {
        return Observation::skipped(label, "2025-03-26 has no protected resource metadata");
    }
    // Whether the server publishes PRM at all is judged on every location RFC 9728 and the
    // version define; whether a client of the version can find it is the header's own check.
    let from_header = resource_metadata_url(unauthenticated).ok();
    let mut urls: Vec<String> = from_header
        .filter(|u| target.may_contact(u).is_ok())
        .into_iter()
        .collect();
    for url in prm_well_known_urls(target) {
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    let mut obs = probe(client, label, &urls, is_json_object).await;
    if let Some(exchange) = obs.exchanges.last().filter(|_| obs.response().is_some()) {
        obs.vars
            .insert("prm_url".to_owned(), client.redactor().url(&exchange.request.url));
    }
    // `{challenge_scope}`: what the 401 asks for, to compare with scopes_supported; without
    // offline_access, which asks for refresh tokens rather than access to the resource (its
    // place in a challenge is rs.challenge.no-offline-access's concern).
    let challenges = unauthenticated
        .response()
        .and_then(|r| www_authenticate::parse_lines(r.header_values("www-authenticate")).ok());
    let scope = challenges
        .as_ref()
        .and_then(|cs| cs.iter().find(|c| c.is("bearer"))?.param("scope").map(str::to_owned));
    if let Some(scope) = scope {
        let resource_scopes: Vec<&str> = scope.split(' ').filter(|s| *s != "offline_access").collect();
        obs.vars.insert("challenge_scope".to_owned(), resource_scopes.join(" "));
    }
    obs
}

/// The metadata URLs for an issuer, in the version's order.
pub fn as_metadata_urls(issuer: &url::Url, version: SpecVersion) -> Vec<String> {
    let origin = issuer.origin().ascii_serialization();
    // RFC 8414 §3.1 and OIDC Discovery §4: a terminating "/" is removed first.
    let path = issuer.path().trim_end_matches('/');
    let query = issuer.query().map(|q| format!("?{q}")).unwrap_or_default();
    let oauth = format!("{origin}{OAUTH_WELL_KNOWN}{path}{query}");
    if version < SpecVersion::V2025_11_25 {
        return vec![oauth];
    }
    let oidc_inserted = format!("{origin}{OIDC_WELL_KNOWN}{path}{query}");
    if path.is_empty() {
        return vec![oauth, oidc_inserted];
    }
    let oidc_appended = format!("{origin}{path}{OIDC_WELL_KNOWN}{query}");
    vec![oauth, oidc_inserted, oidc_appended]
}

/// AS metadata: one observation per issuer in the PRM (2025-06-18+), or the MCP server's
/// origin (2025-03-26, where the MCP server's origin is the authorization base URL).
pub async fn as_metadata(client: &HttpClient, target: &Target, prm: &Observation) -> Vec<Observation> {
    if target.version == SpecVersion::V2025_03_26 {
        let issuer = target.origin();
        let urls = [format!("{issuer}{OAUTH_WELL_KNOWN}")];
        // 2025-03-26 clients send their protocol version during discovery.
        let headers = [("MCP-Protocol-Version", "2025-03-26")];
        let mut obs = probe_with(
            client,
            &format!("AS metadata for {issuer}"),
            &urls,
            &headers,
            is_json_object,
        )
        .await;
        obs.vars.insert("issuer".to_owned(), issuer);
        return vec![obs];
    }
    let issuers = match authorization_servers(prm) {
        Ok(issuers) => issuers,
        Err(why) => return vec![Observation::skipped("AS metadata", why)],
    };
    // An issuer the target advertises is one of its hosts.
    for issuer in &issuers {
        client.hosts().allow_host_of(issuer);
    }
    let lookups = issuers.into_iter().map(|issuer| async move {
        let label = format!("AS metadata for {issuer}");
        let mut obs = match url::Url::parse(&issuer) {
            Ok(url) if url.has_host() => {
                probe(client, &label, &as_metadata_urls(&url, target.version), is_json_object).await
            }
            _ => Observation::skipped(label, format!("<{issuer}> is not an absolute URL")),
        };
        obs.vars.insert("issuer".to_owned(), issuer);
        obs
    });
    futures::future::join_all(lookups).await
}

fn authorization_servers(prm: &Observation) -> Result<Vec<String>, String> {
    let response = match &prm.observed {
        Observed::Response(r) if is_json_object(r) => r,
        Observed::Skipped(why) | Observed::Error(why) => {
            return Err(format!("no PRM document: {why}"));
        }
        Observed::Response(_) => return Err("no PRM document was found".to_owned()),
    };
    let doc: serde_json::Value = serde_json::from_slice(&response.body).map_err(|e| e.to_string())?;
    let issuers: Vec<String> = doc
        .get("authorization_servers")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if issuers.is_empty() {
        return Err("the PRM document lists no authorization_servers".to_owned());
    }
    Ok(issuers)
}

/// A metadata document: 200 with a JSON object (the media type is judged by its own check).
fn is_json_object(r: &Response) -> bool {
    r.status == 200 && serde_json::from_slice::<serde_json::Value>(&r.body).is_ok_and(|v| v.is_object())
}

/// Tries `urls` in order and keeps the first accepted response. When none is accepted the
/// first answer other than 404 stands (else the last 404), and the label lists everything tried.
async fn probe(client: &HttpClient, label: &str, urls: &[String], accept: fn(&Response) -> bool) -> Observation {
    probe_with(client, label, urls, &[], accept).await
}

async fn probe_with(
    client: &HttpClient,
    label: &str,
    urls: &[String],
    headers: &[(&str, &str)],
    accept: fn(&Response) -> bool,
) -> Observation {
    let mut exchanges = Vec::new();
    let mut last = None;
    let mut error = None;
    for url in urls {
        let request = headers.iter().fold(Request::get(url), |r, (n, v)| r.header(n, v));
        let (exchange, result) = client.send(&request).await;
        exchanges.push(exchange);
        match result {
            Ok(r) if accept(&r) => {
                return Observation {
                    label: label.to_owned(),
                    exchanges,
                    observed: Observed::Response(r),
                    vars: BTreeMap::new(),
                };
            }
            // Nothing found: the most telling answer stands, the first that is not a 404
            // (a 401 or 500 says more than a later "not here").
            Ok(r) => {
                if last.as_ref().is_none_or(|l: &Response| l.status == 404) {
                    last = Some(r);
                }
            }
            Err(e) => {
                error.get_or_insert(e.to_string());
            }
        }
    }
    let summary = |e: &crate::http::Exchange| {
        let mut e = e.clone();
        e.redact(client.redactor());
        e.summary()
    };
    let tried: Vec<String> = exchanges.iter().map(summary).collect();
    let label = format!("{label} (tried {})", tried.join("; "));
    let observed = match (error, last) {
        (Some(e), _) => Observed::Error(e),
        (None, Some(r)) => Observed::Response(r),
        (None, None) => Observed::Skipped("no URL to try".to_owned()),
    };
    Observation {
        label,
        exchanges,
        observed,
        vars: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str, v: SpecVersion) -> Target {
        Target::new(url, v).unwrap()
    }

    #[test]
    fn case_changed_target_keeps_the_path() {
        assert_eq!(
            upper_scheme_and_host("https://mcp.example.com:8443/Api/mcp?x=y"),
            "HTTPS://MCP.EXAMPLE.COM:8443/Api/mcp?x=y"
        );
        assert_eq!(upper_scheme_and_host("http://127.0.0.1:1"), "HTTP://127.0.0.1:1");
    }

    #[test]
    fn prm_urls_insert_the_path() {
        let t = target("https://h/public/mcp", SpecVersion::V2025_11_25);
        assert_eq!(
            prm_well_known_urls(&t),
            [
                "https://h/.well-known/oauth-protected-resource/public/mcp",
                "https://h/.well-known/oauth-protected-resource"
            ]
        );
        let t = target("https://h/public/mcp", SpecVersion::V2025_06_18);
        assert_eq!(
            prm_well_known_urls(&t),
            ["https://h/.well-known/oauth-protected-resource/public/mcp"]
        );
        let t = target("https://h:8443/", SpecVersion::V2026_07_28);
        assert_eq!(
            prm_well_known_urls(&t),
            ["https://h:8443/.well-known/oauth-protected-resource"]
        );
    }

    #[test]
    fn as_urls_follow_the_version() {
        let with_path = url::Url::parse("https://a/t1/").unwrap();
        assert_eq!(
            as_metadata_urls(&with_path, SpecVersion::V2026_07_28),
            [
                "https://a/.well-known/oauth-authorization-server/t1",
                "https://a/.well-known/openid-configuration/t1",
                "https://a/t1/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            as_metadata_urls(&with_path, SpecVersion::V2025_06_18),
            ["https://a/.well-known/oauth-authorization-server/t1"]
        );
        // ts-sdk's issuer `http://localhost:3101/`: the terminating slash goes first.
        let root = url::Url::parse("http://localhost:3101/").unwrap();
        assert_eq!(
            as_metadata_urls(&root, SpecVersion::V2025_11_25),
            [
                "http://localhost:3101/.well-known/oauth-authorization-server",
                "http://localhost:3101/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn target_must_be_absolute_http() {
        assert!(Target::new("localhost:3000/mcp", SpecVersion::LATEST).is_err());
        assert!(Target::new("/mcp", SpecVersion::LATEST).is_err());
        assert_eq!(
            target("http://127.0.0.1:9/mcp", SpecVersion::LATEST).origin(),
            "http://127.0.0.1:9"
        );
    }
}
