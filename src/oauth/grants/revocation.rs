//! The chains the token lifecycle steps spend: a token response of the case's own, with the
//! flow and client that got it (to revoke or refresh with), holding the client's lease.

use crate::case::{Overrides, TokenPlan};
use crate::oauth::flow::Flow;
use crate::oauth::requests::Client;
use crate::observation::Observation;

use super::*;

/// A chain's token response and what revokes it.
pub(crate) struct Revocable<'a> {
    pub flow: Flow<'a>,
    pub client: Client,
    pub token: Observation,
    pub lease: Lease<'a>,
}

impl Grants {
    /// A token response of a chain of the case's own (`end`: refreshable or not; `repeat`:
    /// the token request sent that often, the last observed), on the chain client; or why
    /// there is none. `revokes`: the step needs the revocation endpoint (looked for before any
    /// token is spent). Skipped where the chain client is the shared flows' (a
    /// configured client): revoking or replaying may end the grant every other case uses.
    pub(crate) async fn revocable(
        &self,
        end: ChainEnd,
        repeat: u32,
        revokes: bool,
        purpose: &str,
    ) -> Result<Revocable<'_>, Observation> {
        let label = "token lifecycle request";
        let (flow, client) = self
            .chain_flow_and_client()
            .await
            .map_err(|why| why.observation(label))?;
        if revokes {
            flow.reachable("revocation_endpoint", flow.server.revocation_endpoint.as_ref())
                .map_err(|why| Observation::skipped(label, why))?;
        }
        if self
            .oauth_client()
            .await
            .is_ok_and(|shared| shared.client_id == client.client_id)
        {
            let why = "the private chains run on the shared flows' client (a configured one): revoking or replaying \
                       its tokens could end the grant every other case uses";
            return Err(Observation::skipped(label, why));
        }
        let plan = TokenPlan {
            authorization: true,
            token: Overrides {
                repeat,
                ..Overrides::default()
            },
            ..TokenPlan::default()
        };
        let (token, lease) = self.private_chain(&plan, end, purpose).await;
        Ok(Revocable {
            flow,
            client,
            token,
            lease,
        })
    }
}
