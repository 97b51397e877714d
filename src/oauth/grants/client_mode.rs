//! How the flows' client identifies itself (`registration`): the configured client, one of
//! the run's client ID metadata documents, or a client registered by DCR; `auto` decided once,
//! and the clients of each way.

use crate::config::Registration;
use crate::oauth::flow::Flow;
use crate::oauth::requests::Client;
use crate::observation::Observed;
use crate::spec::SpecVersion;

use super::*;

/// The way the flows' client identifies itself (never `auto`), and why `auto` chose it.
#[derive(Debug, Clone)]
pub struct ClientMode {
    pub registration: Registration,
    pub why: Option<String>,
}

impl Grants {
    pub(crate) async fn client_mode(&self) -> &ClientMode {
        // Boxed, as Context::observe is: the choice may run a whole authorization, and every
        // flow awaits it; nested, the future types outgrow the compiler's layout query depth.
        self.mode.get_or_init(|| Box::pin(self.choose_mode())).await
    }

    /// The way the flows' client identified itself, once a flow has asked (the report says).
    pub fn chosen_mode(&self) -> Option<&ClientMode> {
        self.mode.get()
    }

    async fn choose_mode(&self) -> ClientMode {
        let auto = |registration, why: &str| ClientMode {
            registration,
            why: Some(why.to_owned()),
        };
        match self.config.registration {
            Registration::Auto => {}
            fixed => {
                // The CIMD control comes first, as under `auto`: a flow naming the document
                // before it could be served from an AS's cache, and the control see no fetch.
                if fixed == Registration::Cimd {
                    self.cimd_authorization().await;
                }
                return ClientMode {
                    registration: fixed,
                    why: None,
                };
            }
        }
        if self.config.client.is_some() {
            return auto(Registration::Preregistered, "a client is configured");
        }
        if self.discovered.target.version < SpecVersion::V2025_11_25 {
            return auto(
                Registration::Dcr,
                "client ID metadata documents arrive with MCP 2025-11-25",
            );
        }
        match self.auth_server().await {
            Ok(server) if server.cimd_supported => {}
            Ok(_) => {
                let why = "the AS does not advertise client_id_metadata_document_supported";
                return auto(Registration::Dcr, why);
            }
            Err(why) => return auto(Registration::Dcr, why),
        }
        if let Err(why) = self.document_client("cimd_client").await {
            return auto(Registration::Dcr, &why);
        }
        // Advertised is not accepted: an AS may refuse the run's documents (http ones, or
        // ones on loopback). The control request tells.
        let (control, _) = self.cimd_authorization().await;
        let obs = &control[0];
        let var = |name: &str| obs.vars.get(name).map(String::as_str);
        if let Observed::Skipped(why) | Observed::Error(why) = &obs.observed {
            let why = format!("the CIMD control request got no answer ({why})");
            return auto(Registration::Dcr, &why);
        }
        match (var("cimd.fetched"), var("callback.code")) {
            (Some("true"), Some(_)) => auto(
                Registration::Cimd,
                "the AS accepts the run's client ID metadata documents",
            ),
            (Some("true"), None) => auto(
                Registration::Dcr,
                "the AS fetched the run's client ID metadata document but issued no code for it",
            ),
            _ => auto(
                Registration::Dcr,
                "the AS advertises client ID metadata documents but did not fetch the run's \
                 (many take https ones only: see --cimd-https)",
            ),
        }
    }

    /// A flow for the run's document clients, and the document client `name`
    /// (`cimd_client`...). Without a public base URL the documents are on this machine's
    /// loopback: an AS elsewhere cannot fetch them, and would fetch its own loopback instead
    /// (a request to an internal address the suite must not make it send), so then there is
    /// none.
    pub(crate) async fn document_client(&self, name: &str) -> Result<(Flow<'_>, Client), String> {
        let flow = self.flow().await?;
        self.cimd_host().await?;
        let local = url::Url::parse(&flow.server.issuer).is_ok_and(|u| crate::http::hosts::is_loopback(&u));
        if !local && self.config.cimd.base_url.is_none() {
            return Err(format!(
                "the run's client ID metadata documents are on loopback, which the AS at <{}> \
                 cannot reach",
                flow.server.issuer
            ));
        }
        let document = flow.cimd.and_then(|host| host.urls().find(|(n, _)| n == name));
        let Some((_, client_id)) = document else {
            return Err(format!("the run serves no client ID metadata document `{name}`"));
        };
        let client = Client {
            client_id,
            secret: None,
            auth_method: "none".to_owned(),
            redirect_uri: self.redirect_uri.clone(),
            // What the run's documents say (catalogue.rs).
            application_type: Some("native".to_owned()),
            registered: false,
        };
        Ok((flow, client))
    }

    /// The configured client, as the flows use it.
    pub(crate) fn configured_client(&self) -> Result<Client, Unavailable> {
        let c = self
            .config
            .client
            .as_ref()
            .ok_or("no client: registration `preregistered` needs a [client] in the configuration")?;
        Ok(Client {
            client_id: c.client_id.clone(),
            secret: c.secret.clone(),
            auth_method: c.auth_method.clone(),
            redirect_uri: c.redirect_uri.clone(),
            application_type: None,
            registered: false,
        })
    }
}
