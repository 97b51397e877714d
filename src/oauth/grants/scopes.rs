//! Which scopes the flows ask for, and the low-scope plan of the scope checks.

use std::collections::BTreeMap;

use crate::check::www_authenticate;
use crate::discovery;

use super::*;

impl Grants {
    /// The scope the flows ask for: configured, else discovered.
    pub(crate) async fn requested_scope(&self) -> Option<String> {
        match &self.config.scope {
            Some(scope) => Some(scope.clone()),
            None => self.scope().await,
        }
    }

    /// The scope to ask for: the 401 challenge's `scope`, else the PRM's `scopes_supported`
    /// (the order MCP 2025-11-25+ clients follow), else none.
    pub(crate) async fn scope(&self) -> Option<String> {
        let unauth = self.discovered.unauthenticated().await;
        let from_challenge = unauth[0].response().and_then(|r| {
            let challenges = www_authenticate::parse_lines(r.header_values("www-authenticate")).ok()?;
            challenges
                .iter()
                .find(|c| c.is("bearer"))?
                .param("scope")
                .map(str::to_owned)
        });
        if from_challenge.is_some() {
            return from_challenge;
        }
        let scopes = self.prm_scopes().await;
        (!scopes.is_empty()).then(|| scopes.join(" "))
    }

    /// The PRM's `scopes_supported` (fetching the PRM if no case has yet, so the answer never
    /// depends on which case ran first).
    pub(crate) async fn prm_scopes(&self) -> Vec<String> {
        let prm = self.discovered.prm().await;
        let doc = prm[0]
            .response()
            .and_then(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok());
        let scopes = doc
            .as_ref()
            .and_then(|d| d.get("scopes_supported")?.as_array().cloned());
        scopes
            .unwrap_or_default()
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    }

    /// The scope placeholders: `{scope}`, `{narrow_scope}`, `{scope_beyond_narrow}`, and
    /// where the suite chose the narrow scope itself, `{privileged_request}` and
    /// `{privileged_scope}` with `{narrow_scope_chosen}`.
    pub(crate) async fn scope_plan(&self) -> &BTreeMap<String, String> {
        let init = || async {
            let scope = self.requested_scope().await;
            let mut vars = BTreeMap::new();
            let mut narrow = self.config.narrow_scope.clone();
            if self.config.privileged_request.is_none() {
                if narrow.is_none()
                    && let Some(chosen) = self.unasked_scope(scope.as_deref()).await
                {
                    vars.insert("narrow_scope_chosen".to_owned(), chosen.clone());
                    narrow = Some(chosen);
                }
                // A narrow token without some scope the server asks for lacks what every
                // request needs: the version's first request is then the privileged one.
                let granted: Vec<&str> = narrow.as_deref().unwrap_or_default().split_whitespace().collect();
                let missing: Vec<&str> = (scope.as_deref().unwrap_or_default().split_whitespace())
                    .filter(|s| narrow.is_some() && !granted.contains(s))
                    .collect();
                if !missing.is_empty() {
                    let first = discovery::first_request(&self.discovered.target)
                        .body
                        .unwrap_or_default();
                    let first = String::from_utf8_lossy(&first).into_owned();
                    vars.insert("privileged_request".to_owned(), first);
                    vars.insert("privileged_scope".to_owned(), missing.join(" "));
                }
            }
            vars.extend(scope_placeholders(scope.as_deref(), narrow.as_deref()));
            vars
        };
        self.scope_plan.get_or_init(init).await
    }

    /// A scope the AS advertises that the server does not ask for (neither in its challenge
    /// nor in its PRM), other than offline_access (which asks for refresh tokens, not access).
    /// None where the server asks for nothing: then any scope might be the one it needs.
    pub(crate) async fn unasked_scope(&self, scope: Option<&str>) -> Option<String> {
        let server = self.auth_server().await.as_ref().ok()?;
        let mut asked = self.prm_scopes().await;
        asked.extend(scope.unwrap_or_default().split_whitespace().map(str::to_owned));
        if asked.is_empty() {
            return None;
        }
        server
            .scopes_supported
            .iter()
            .find(|s| *s != "offline_access" && !asked.contains(s))
            .cloned()
    }
}
