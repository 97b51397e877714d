//! Each discovery document fetched once per run, by whichever case needs it first, and
//! shared by every case and by the OAuth flows built on it.

use std::sync::Arc;

use tokio::sync::OnceCell;

use super::documents::{self, Target};
use crate::http::HttpClient;
use crate::observation::{Observation, Observations, Observed};

pub struct Discovered {
    pub client: HttpClient,
    pub target: Target,
    unauthenticated: OnceCell<Observations>,
    prm: OnceCell<Observations>,
    prm_from_header: OnceCell<Observations>,
    prm_well_known: OnceCell<Observations>,
    as_metadata: OnceCell<Observations>,
}

impl Discovered {
    pub fn new(client: HttpClient, target: Target) -> Self {
        Discovered {
            client,
            target,
            unauthenticated: OnceCell::new(),
            prm: OnceCell::new(),
            prm_from_header: OnceCell::new(),
            prm_well_known: OnceCell::new(),
            as_metadata: OnceCell::new(),
        }
    }

    /// The version's first MCP request, without credentials.
    pub async fn unauthenticated(&self) -> Observations {
        let init = || async { one(documents::mcp_unauthenticated(&self.client, &self.target).await) };
        self.unauthenticated.get_or_init(init).await.clone()
    }

    /// Protected resource metadata, by the version's discovery order.
    pub async fn prm(&self) -> Observations {
        let unauth = self.unauthenticated().await;
        let init = || async { one(documents::prm(&self.client, &self.target, &unauth[0]).await) };
        self.prm.get_or_init(init).await.clone()
    }

    /// The PRM at the 401 challenge's `resource_metadata` URL.
    pub async fn prm_from_header(&self) -> Observations {
        let unauth = self.unauthenticated().await;
        let init = || async { one(documents::prm_from_header(&self.client, &self.target, &unauth[0]).await) };
        self.prm_from_header.get_or_init(init).await.clone()
    }

    /// The PRM at the RFC 9728 well-known locations.
    pub async fn prm_well_known(&self) -> Observations {
        let init = || async { one(documents::prm_well_known(&self.client, &self.target).await) };
        self.prm_well_known.get_or_init(init).await.clone()
    }

    /// AS metadata: one observation per issuer the PRM advertises (2025-06-18+), or the MCP
    /// server's own (2025-03-26).
    pub async fn as_metadata(&self) -> Observations {
        let prm = self.prm().await;
        let init = || async { Arc::new(documents::as_metadata(&self.client, &self.target, &prm[0]).await) };
        self.as_metadata.get_or_init(init).await.clone()
    }

    /// The target's own first exchange, to tell "unreachable" from "broke a rule".
    pub async fn reachability(&self) -> Result<(), String> {
        match &self.unauthenticated().await[0].observed {
            Observed::Error(e) => Err(e.clone()),
            _ => Ok(()),
        }
    }
}

fn one(observation: Observation) -> Observations {
    Arc::new(vec![observation])
}
