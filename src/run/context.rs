//! What a run shares: the client, the target, and each built-in step's observations, made
//! once (on first use, by whichever case needs them first) and shared by every case.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::case::{RequestTemplate, Step, expand_placeholders};
use crate::check::{Observation, Observed};
use crate::discovery::{self, Target};
use crate::http::{HttpClient, Request};

pub type Observations = Arc<Vec<Observation>>;

pub struct Context {
    pub client: HttpClient,
    pub target: Target,
    unauthenticated: OnceCell<Observations>,
    prm: OnceCell<Observations>,
    prm_from_header: OnceCell<Observations>,
    prm_well_known: OnceCell<Observations>,
    as_metadata: OnceCell<Observations>,
}

impl Context {
    pub fn new(client: HttpClient, target: Target) -> Self {
        Context {
            client,
            target,
            unauthenticated: OnceCell::new(),
            prm: OnceCell::new(),
            prm_from_header: OnceCell::new(),
            prm_well_known: OnceCell::new(),
            as_metadata: OnceCell::new(),
        }
    }

    pub fn globals(&self) -> BTreeMap<String, String> {
        self.target.globals()
    }

    pub async fn observe(&self, step: &Step) -> Observations {
        let (c, t) = (&self.client, &self.target);
        let one = |o: Observation| Arc::new(vec![o]);
        match step {
            Step::McpUnauthenticated => self.unauthenticated().await,
            Step::Prm => self.prm().await,
            Step::PrmFromHeader => {
                let unauth = self.unauthenticated().await;
                let init = || async { one(discovery::prm_from_header(c, &unauth[0]).await) };
                self.prm_from_header.get_or_init(init).await.clone()
            }
            Step::PrmWellKnown => {
                let init = || async { one(discovery::prm_well_known(c, t).await) };
                self.prm_well_known.get_or_init(init).await.clone()
            }
            Step::AsMetadata => {
                let prm = self.prm().await;
                let init = || async { Arc::new(discovery::as_metadata(c, t, &prm[0]).await) };
                self.as_metadata.get_or_init(init).await.clone()
            }
            Step::Http(template) => one(self.raw(template).await),
        }
    }

    async fn prm(&self) -> Observations {
        let unauth = self.unauthenticated().await;
        let init = || async {
            Arc::new(vec![
                discovery::prm(&self.client, &self.target, &unauth[0]).await,
            ])
        };
        self.prm.get_or_init(init).await.clone()
    }

    async fn unauthenticated(&self) -> Observations {
        let init = || async {
            Arc::new(vec![
                discovery::mcp_unauthenticated(&self.client, &self.target).await,
            ])
        };
        self.unauthenticated.get_or_init(init).await.clone()
    }

    /// The target's own first exchange, to tell "unreachable" from "broke a rule".
    pub async fn reachability(&self) -> Result<(), String> {
        match &self.unauthenticated().await[0].observed {
            Observed::Error(e) => Err(e.clone()),
            _ => Ok(()),
        }
    }

    async fn raw(&self, template: &RequestTemplate) -> Observation {
        let globals = self.globals();
        let fill = |s: &str| expand_placeholders(s, &globals);
        let request = Request {
            method: template.method.clone(),
            url: fill(&template.url),
            headers: template
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), fill(v)))
                .collect(),
            body: template.body.as_deref().map(|b| fill(b).into_bytes()),
        };
        let (exchange, result) = self.client.send(&request).await;
        Observation {
            label: format!("{} {}", request.method, exchange.request.url),
            exchanges: vec![exchange],
            observed: match result {
                Ok(r) => Observed::Response(r),
                Err(e) => Observed::Error(e.to_string()),
            },
            vars: BTreeMap::new(),
        }
    }
}
