//! Which hosts a run contacts: the target's and those of the issuers it advertises (every
//! loopback name, for one on loopback), the configuration's own endpoints and `--allow-host`.
//! A URL on any other host is judged from the document that named it, never requested: a
//! public server's metadata pointing at `localhost` names an internal address, and the suite
//! would send credentials to its own machine. The run's client enforces the rule
//! ([`HostPolicy`]); discovery, the flows and the consent drivers ask it first, to say which
//! document pointed elsewhere.

use std::sync::{Arc, RwLock};

/// The names of loopback (a target on one of them may use the others).
pub const LOOPBACK: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];

/// The hosts a run may contact (compared without case).
#[derive(Debug, Clone, Default)]
pub struct Hosts(Vec<String>);

impl Hosts {
    pub fn new(hosts: impl IntoIterator<Item = String>) -> Self {
        Hosts(hosts.into_iter().collect())
    }

    /// The host of `url` (empty when it has none).
    pub fn host_of(url: &str) -> String {
        url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default()
    }

    pub fn allows(&self, url: &str) -> bool {
        let host = Self::host_of(url);
        !host.is_empty() && self.0.iter().any(|h| h.eq_ignore_ascii_case(&host))
    }
}

/// The hosts of one run, shared by its client and every session made from it; discovery
/// widens it with the issuers the target advertises. A client not bound to a run (a unit
/// test against wiremock) has no policy and contacts any host.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy(Option<Arc<RwLock<Hosts>>>);

impl HostPolicy {
    pub fn only(hosts: Hosts) -> Self {
        HostPolicy(Some(Arc::new(RwLock::new(hosts))))
    }

    /// Lets the run contact the host of `url` too (every loopback name, for one on loopback).
    pub fn allow_host_of(&self, url: &str) {
        let host = Hosts::host_of(url);
        let Some(hosts) = &self.0 else { return };
        if host.is_empty() {
            return;
        }
        let mut hosts = hosts.write().unwrap_or_else(|p| p.into_inner());
        let names = match LOOPBACK.contains(&host.as_str()) {
            true => LOOPBACK.map(String::from).to_vec(),
            false => vec![host],
        };
        for name in names {
            if !hosts.0.iter().any(|h| h.eq_ignore_ascii_case(&name)) {
                hosts.0.push(name);
            }
        }
    }

    pub fn allows(&self, url: &str) -> bool {
        match &self.0 {
            Some(hosts) => hosts.read().unwrap_or_else(|p| p.into_inner()).allows(url),
            None => true,
        }
    }
}

/// Whether `url` is on loopback: `localhost` (or a name under it, RFC 6761 §6.3) or a loopback
/// IP literal.
pub fn is_loopback(url: &url::Url) -> bool {
    let localhost = |d: &str| {
        let d = d.trim_end_matches('.').to_ascii_lowercase();
        d == "localhost" || d.ends_with(".localhost")
    };
    is_loopback_ip(url) || matches!(url.host(), Some(url::Host::Domain(d)) if localhost(d))
}

/// Whether `url`'s host is a loopback IP literal (OAuth 2.1 §8.4.2's port rule is for these,
/// not for `localhost`).
pub fn is_loopback_ip(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_allowed_by_its_host_alone() {
        let hosts = Hosts::new(["127.0.0.1".to_owned(), "AS.example".to_owned()]);
        assert!(hosts.allows("http://127.0.0.1:9/callback"));
        assert!(hosts.allows("https://as.example/token"));
        assert!(!hosts.allows("https://as.example.evil/token"));
        assert!(!hosts.allows("not a url"));
    }

    #[test]
    fn a_policy_is_shared_and_widened_by_its_holders() {
        let policy = HostPolicy::only(Hosts::new(["mcp.example".to_owned()]));
        let copy = policy.clone();
        assert!(!copy.allows("https://as.example/token"));
        policy.allow_host_of("https://as.example/issuer");
        assert!(copy.allows("https://as.example/token"));
        assert!(HostPolicy::default().allows("https://anywhere.example/"));
        // A loopback issuer brings every loopback name (its endpoints may use another).
        assert!(!copy.allows("http://127.0.0.1:9000/token"));
        policy.allow_host_of("http://localhost:9000");
        assert!(copy.allows("http://127.0.0.1:9000/token"));
    }
}
