//! The run's shared OAuth control: one registration, authorization, token and refresh (and
//! the confidential client's token), made once and judged by every case that names them.

use std::sync::Arc;

use crate::case::{Overrides, TokenPlan};
use crate::config::Registration;
use crate::oauth::flow::Attempt;
use crate::oauth::requests::Client;
use crate::observation::{Observation, Observed};

use super::*;

impl Grants {
    /// The shared registration (the control of the DCR checks). It asks for every scope the
    /// run requests; an AS that refuses to register scopes it does not list (oidc-provider
    /// does) gets a second request naming only those it lists. An AS that refuses the loopback
    /// redirect URI of a client that does not say what it is (OIDC Registration §2: such a
    /// client is `web`; better-auth takes loopback http from `native` clients only) gets the
    /// same request as a native application, which the run's client is.
    pub(crate) async fn registration(&self) -> Observations {
        let init = || async {
            let flow = match self.flow().await {
                Ok(flow) => flow,
                Err(why) => return Arc::new(vec![Observation::skipped("registration", why)]),
            };
            let (all, listed) = self.wanted_scopes().await;
            let named = |scopes: &[String]| (!scopes.is_empty()).then(|| scopes.join(" "));
            let mut how = RegisteredAs {
                scope: named(&all),
                native: false,
            };
            let mut obs = flow.register("registration", &self.body_as(&how)).await;
            let again = |obs: &mut Observation, next: Observation| {
                let earlier = std::mem::take(&mut obs.exchanges);
                *obs = next;
                obs.exchanges.splice(0..0, earlier);
            };
            if refused(&obs) && listed != all {
                how.scope = named(&listed);
                again(&mut obs, flow.register("registration", &self.body_as(&how)).await);
            }
            let untyped = self.body_as(&how).get("application_type").is_none();
            if untyped && refused_redirect_uri(&obs) {
                let native = RegisteredAs {
                    native: true,
                    ..how.clone()
                };
                let next = flow
                    .register("registration as a native application", &self.body_as(&native))
                    .await;
                if !refused(&next) {
                    how = native;
                }
                again(&mut obs, next);
            }
            let _ = self.registered_as.set(how);
            Arc::new(vec![obs])
        };
        self.registration.get_or_init(init).await.clone()
    }

    /// The client every shared flow uses: the configured one, the run's document client
    /// (`{cimd_client}`) or the one the shared registration created (`registration`).
    pub(crate) async fn oauth_client(&self) -> Result<Client, Unavailable> {
        match self.client_mode().await.registration {
            Registration::Preregistered => self.configured_client(),
            Registration::Cimd => {
                let (_, client) = self.document_client("cimd_client").await?;
                Ok(client)
            }
            Registration::Auto | Registration::Dcr => self.dcr_client().await,
        }
    }

    /// The client the shared registration created.
    pub(crate) async fn dcr_client(&self) -> Result<Client, Unavailable> {
        let registration = self.registration().await;
        let obs = &registration[0];
        let response = match &obs.observed {
            Observed::Response(r) => r,
            other => return Err(Unavailable::from_observed("no client", other)),
        };
        serde_json::from_slice::<serde_json::Value>(&response.body)
            .ok()
            .filter(|_| matches!(response.status, 200 | 201))
            .and_then(|doc| Client::from_registration(&doc, &self.redirect_uri))
            .ok_or_else(|| {
                Unavailable::skip(format!(
                    "no client: the registration was answered {} without a client_id",
                    response.status
                ))
            })
    }

    pub(crate) async fn authorization(&self) -> &(Observations, Attempt) {
        let init = || async {
            // On a document client, the CIMD control is that request (a second one could
            // count the first one's fetch as its own).
            if self.client_mode().await.registration == Registration::Cimd {
                return self.cimd_authorization().await.clone();
            }
            let attempt = self.attempt("shared authorization");
            let obs = match self.flow_and_client().await {
                Ok((flow, client)) => {
                    flow.authorize("authorization request", &client, &attempt, &[], &[])
                        .await
                }
                Err(why) => why.observation("authorization request"),
            };
            (Arc::new(vec![obs]), attempt)
        };
        self.authorization.get_or_init(init).await
    }

    /// A confidential client (client_secret_basic), registered once, on demand; it also asks
    /// for client_credentials when the AS advertises that grant.
    pub(crate) async fn confidential_client(&self) -> Result<Client, Unavailable> {
        let init = || async {
            let flow = self.flow().await?;
            let method = flow
                .server
                .secret_method()
                .ok_or("no confidential client: the AS advertises no client_secret_basic or client_secret_post")?;
            let mut body = self.registration_body().await;
            body["token_endpoint_auth_method"] = serde_json::json!(method);
            if flow
                .server
                .grant_types_supported
                .iter()
                .any(|g| g == "client_credentials")
            {
                body["grant_types"] = serde_json::json!(["authorization_code", "refresh_token", "client_credentials"]);
            }
            let obs = flow.register("confidential registration", &body).await;
            let client = self.registered_client(&obs, "no confidential client")?;
            if client.secret.is_none() {
                return Err(Unavailable::skip(
                    "no confidential client: the registration issued no client_secret",
                ));
            }
            Ok(client)
        };
        self.confidential_client.get_or_init(init).await.clone()
    }

    pub(crate) async fn confidential_token(&self) -> Observations {
        let init = || async {
            let obs = match (self.flow().await, self.confidential_client().await) {
                (Ok(flow), Ok(client)) => {
                    let _lease = self.confidential_lease.lock().await;
                    let label = "authorization request of the confidential client";
                    let attempt = self.attempt(label);
                    let authorization = flow.authorize(label, &client, &attempt, &[], &[]).await;
                    flow.redeem(
                        "confidential token request",
                        &client,
                        &attempt,
                        authorization,
                        &Overrides::default(),
                    )
                    .await
                }
                (Err(why), _) => Observation::skipped("confidential token request", why),
                (_, Err(why)) => why.observation("confidential token request"),
            };
            Arc::new(vec![obs])
        };
        self.confidential_token.get_or_init(init).await.clone()
    }

    /// The valid flow of the client the shared registration created: the shared token under
    /// `registration = dcr`; else a flow of its own on that client, which no other flow uses.
    pub(crate) async fn registered_token(&self) -> Observations {
        if matches!(
            self.client_mode().await.registration,
            Registration::Auto | Registration::Dcr
        ) {
            return self.token().await;
        }
        let init = || async {
            let label = "token request (registered client)";
            let obs = match (self.flow().await, self.dcr_client().await) {
                (Ok(flow), Ok(client)) => {
                    let attempt = self.attempt(label);
                    let authorization = flow
                        .authorize("authorization request (registered client)", &client, &attempt, &[], &[])
                        .await;
                    flow.redeem(label, &client, &attempt, authorization, &Overrides::default())
                        .await
                }
                (Err(why), _) => Observation::skipped(label, why),
                (_, Err(why)) => why.observation(label),
            };
            Arc::new(vec![obs])
        };
        self.registered_token.get_or_init(init).await.clone()
    }

    /// A second client (for code-binding checks): a document client under
    /// `registration = cimd`, else registered once, on demand.
    pub(crate) async fn second_client(&self) -> Result<String, Unavailable> {
        let init = || async {
            if self.client_mode().await.registration == Registration::Cimd {
                let (_, client) = self.document_client("cimd_second_client").await?;
                return Ok(client.client_id);
            }
            let flow = self.flow().await?;
            let obs = flow
                .register("second registration", &self.registration_body().await)
                .await;
            self.registered_client(&obs, "no second client").map(|c| c.client_id)
        };
        self.second_client.get_or_init(init).await.clone()
    }

    /// The refresh control (and rotation check): a refresh and its replay, on a grant of its
    /// own. Never on the shared token's grant: an AS may revoke a grant's access tokens when
    /// its refresh token is used (OAuth 2.1 §4.3), and other cases use the shared token.
    pub(crate) async fn refresh(&self) -> Observations {
        let init = || async {
            let plan = TokenPlan {
                authorization: true,
                ..TokenPlan::default()
            };
            let (token, _lease) = self
                .private_chain(&plan, ChainEnd::RefreshableToken, "shared refresh")
                .await;
            let refresh_token = token.response().filter(|r| r.status == 200).and_then(|r| {
                let doc: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
                doc.get("refresh_token")?.as_str().map(str::to_owned)
            });
            let obs = match (refresh_token, self.chain_flow_and_client().await) {
                (Some(rt), Ok((flow, client))) => {
                    let mut refreshed = flow.refresh(&client, &rt).await;
                    let mut exchanges = token.exchanges;
                    exchanges.append(&mut refreshed.exchanges);
                    Observation { exchanges, ..refreshed }
                }
                (None, _) if !matches!(token.observed, Observed::Response(_)) => {
                    unanswered("refresh token replay", &token.observed)
                }
                (None, _) => Observation::skipped("refresh token replay", "the token response has no refresh_token"),
                (_, Err(why)) => why.observation("refresh token replay"),
            };
            Arc::new(vec![obs])
        };
        self.refresh.get_or_init(init).await.clone()
    }

    pub(crate) async fn token(&self) -> Observations {
        let init = || async {
            let (authorization, attempt) = self.authorization().await;
            let obs = match self.flow_and_client().await {
                Ok((flow, client)) => {
                    let overrides = Overrides::default();
                    flow.redeem("token request", &client, attempt, authorization[0].clone(), &overrides)
                        .await
                }
                Err(why) => why.observation("token request"),
            };
            Arc::new(vec![obs])
        };
        self.token.get_or_init(init).await.clone()
    }

    /// The valid authorization request of the run's client ID metadata document client
    /// (`{cimd_client}`): the control of the CIMD checks, what `registration = auto` tries
    /// before it runs the flows on documents, and under `registration = cimd` the shared
    /// authorization. Its own client, so no lease.
    pub(crate) async fn cimd_authorization(&self) -> &(Observations, Attempt) {
        let init = || async {
            let label = "authorization request (client ID metadata document)";
            let attempt = self.attempt("cimd");
            let obs = match self.document_client("cimd_client").await {
                Ok((flow, client)) => flow.authorize(label, &client, &attempt, &[], &[]).await,
                Err(why) => Observation::skipped(label, why),
            };
            (Arc::new(vec![obs]), attempt)
        };
        self.cimd_authorization.get_or_init(init).await
    }
}

/// A registration answered 400.
fn refused(obs: &Observation) -> bool {
    obs.response().is_some_and(|r| r.status == 400)
}

/// A registration refused for its redirect URI (RFC 7591 §3.2.2's `invalid_redirect_uri`).
fn refused_redirect_uri(obs: &Observation) -> bool {
    obs.response().is_some_and(|r| {
        r.status == 400
            && serde_json::from_slice::<serde_json::Value>(&r.body)
                .is_ok_and(|doc| doc["error"] == "invalid_redirect_uri")
    })
}
