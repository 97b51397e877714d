//! What a step observed: the one type between the producers (discovery, the OAuth flows, the
//! run's MCP and raw requests) and the judge.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::http::{Exchange, Response};

/// A step's observations, shared by every case that judges them.
pub type Observations = Arc<Vec<Observation>>;

/// What one step saw: a response to judge, or why there is none.
#[derive(Debug, Clone)]
pub struct Observation {
    /// What was observed, for messages: "AS metadata for http://h/as".
    pub label: String,
    /// Every exchange made to get here, in order: the evidence (redacted by its verdict).
    pub exchanges: Vec<Exchange>,
    pub observed: Observed,
    /// Placeholder values for expectations, e.g. `issuer`, `resource_metadata`.
    pub vars: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub enum Observed {
    Response(Response),
    /// Nothing to observe, with the reason (a precondition elsewhere was not met).
    Skipped(String),
    /// Could not observe: timeout, connection refused, body too large.
    Error(String),
}

impl Observation {
    pub fn new(
        label: &str,
        exchanges: Vec<crate::http::Exchange>,
        observed: Observed,
        vars: BTreeMap<String, String>,
    ) -> Self {
        Observation {
            label: label.to_owned(),
            exchanges,
            observed,
            vars,
        }
    }

    pub fn skipped(label: impl Into<String>, reason: impl Into<String>) -> Self {
        Observation {
            label: label.into(),
            exchanges: Vec::new(),
            observed: Observed::Skipped(reason.into()),
            vars: BTreeMap::new(),
        }
    }

    pub fn response(&self) -> Option<&Response> {
        match &self.observed {
            Observed::Response(r) => Some(r),
            _ => None,
        }
    }

    /// A success carrying an access token: the request was not refused.
    pub fn issued_token(&self) -> bool {
        self.response().is_some_and(|r| {
            (200..300).contains(&r.status)
                && serde_json::from_slice::<serde_json::Value>(&r.body)
                    .is_ok_and(|doc| doc.get("access_token").is_some())
        })
    }
}
