//! The chains the token lifecycle steps spend: a token response of the case's own, with the
//! flow and client that got it (to revoke or refresh with), holding the client's lease.

use crate::case::TokenPlan;
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
    /// there is none.
    pub(crate) async fn revocable(
        &self,
        end: ChainEnd,
        repeat: u32,
        purpose: &str,
    ) -> Result<Revocable<'_>, Observation> {
        let plan = TokenPlan {
            authorization: true,
            token: crate::case::Overrides {
                repeat,
                ..Default::default()
            },
            ..TokenPlan::default()
        };
        let (token, lease) = self.private_chain(&plan, end, purpose).await;
        let (flow, client) = self
            .chain_flow_and_client()
            .await
            .map_err(|why| why.observation("revocation request"))?;
        Ok(Revocable {
            flow,
            client,
            token,
            lease,
        })
    }
}
