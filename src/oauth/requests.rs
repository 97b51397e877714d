//! The valid requests of a flow, as values, and the overrides cases apply to them.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::case::expand_placeholders;
use crate::http::Request;
use crate::http::redact::Secret;
use crate::spec::SpecVersion;

/// What a flow needs from the authorization server's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthServer {
    /// The issuer the metadata URL was built from (its host bounds where flows may go).
    pub issuer: String,
    /// The metadata's own `issuer` member (RFC 9207 compares `iss` with it).
    pub metadata_issuer: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub registration_endpoint: Option<String>,
    /// RFC 7009.
    pub revocation_endpoint: Option<String>,
    /// RFC 7662.
    pub introspection_endpoint: Option<String>,
    pub grant_types_supported: Vec<String>,
    /// None when absent (RFC 8414 §2 default: client_secret_basic).
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    pub scopes_supported: Vec<String>,
    /// `client_id_metadata_document_supported` is `true` (the boolean).
    pub cimd_supported: bool,
}

impl AuthServer {
    /// The shared-secret method a confidential client should use: Basic when advertised (or
    /// nothing is advertised, the RFC 8414 default), else post.
    pub fn secret_method(&self) -> Option<&'static str> {
        match &self.token_endpoint_auth_methods_supported {
            None => Some("client_secret_basic"),
            Some(methods) if methods.iter().any(|m| m == "client_secret_basic") => Some("client_secret_basic"),
            Some(methods) if methods.iter().any(|m| m == "client_secret_post") => Some("client_secret_post"),
            Some(_) => None,
        }
    }

    pub fn from_metadata(issuer: &str, doc: &Value) -> Self {
        let text = |name: &str| doc.get(name).and_then(Value::as_str).map(str::to_owned);
        let list = |name: &str| {
            doc.get(name)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|g| g.as_str().map(str::to_owned)).collect())
        };
        AuthServer {
            issuer: issuer.to_owned(),
            metadata_issuer: text("issuer"),
            authorization_endpoint: text("authorization_endpoint"),
            token_endpoint: text("token_endpoint"),
            registration_endpoint: text("registration_endpoint"),
            revocation_endpoint: text("revocation_endpoint"),
            introspection_endpoint: text("introspection_endpoint"),
            grant_types_supported: list("grant_types_supported").unwrap_or_default(),
            token_endpoint_auth_methods_supported: list("token_endpoint_auth_methods_supported"),
            scopes_supported: list("scopes_supported").unwrap_or_default(),
            cimd_supported: doc.get("client_id_metadata_document_supported") == Some(&Value::Bool(true)),
        }
    }
}

/// The client the flows run as.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub secret: Option<Secret>,
    /// `none`, `client_secret_basic` or `client_secret_post` (RFC 7591 §2).
    pub auth_method: String,
    pub redirect_uri: String,
    /// What the registration answered for `application_type` (OIDC Registration), if anything.
    pub application_type: Option<String>,
    /// Registered by this run (RFC 7591), not configured.
    pub registered: bool,
}

impl Client {
    /// The client from a registration response (RFC 7591 §3.2.1).
    pub fn from_registration(doc: &Value, redirect_uri: &str) -> Option<Client> {
        let client_id = doc.get("client_id")?.as_str()?.to_owned();
        let secret = doc.get("client_secret").and_then(Value::as_str).map(Secret::new);
        let default_method = if secret.is_some() {
            "client_secret_basic"
        } else {
            "none"
        };
        let auth_method = doc
            .get("token_endpoint_auth_method")
            .and_then(Value::as_str)
            .unwrap_or(default_method)
            .to_owned();
        Some(Client {
            client_id,
            secret,
            auth_method,
            redirect_uri: redirect_uri.to_owned(),
            application_type: doc.get("application_type").and_then(Value::as_str).map(str::to_owned),
            registered: true,
        })
    }
}

/// A public native client with a loopback redirect URI, as MCP clients register.
pub fn registration_body(redirect_uri: &str, version: SpecVersion) -> Value {
    let mut body = json!({
        "client_name": "mcp-auth-conformance",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    });
    if version >= SpecVersion::V2026_07_28 {
        // 2026-07-28 clients MUST send application_type (SEP-837).
        body["application_type"] = json!("native");
    }
    body
}

/// Applies `set` (null removes) and `omit` to a JSON body; strings get placeholders filled.
pub fn change_json(body: &mut Value, set: &[(String, Value)], omit: &[String], vars: &BTreeMap<String, String>) {
    let Some(fields) = body.as_object_mut() else { return };
    for name in omit {
        fields.remove(name);
    }
    for (name, value) in set {
        match value {
            Value::Null => {
                fields.remove(name);
            }
            v => {
                fields.insert(name.clone(), fill_json(v, vars));
            }
        }
    }
}

fn fill_json(v: &Value, vars: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(expand_placeholders(s, vars)),
        Value::Array(items) => Value::Array(items.iter().map(|i| fill_json(i, vars)).collect()),
        other => other.clone(),
    }
}

/// Applies `set` (null removes) and `omit` to form or query parameters, keeping their order.
pub fn change_params(
    params: &mut Vec<(String, String)>,
    set: &[(String, Value)],
    omit: &[String],
    vars: &BTreeMap<String, String>,
) {
    params.retain(|(name, _)| !omit.contains(name));
    for (name, value) in set {
        // An array sends the parameter once per value (a repeated parameter).
        if let Value::Array(values) = value {
            params.retain(|(n, _)| n != name);
            for v in values.iter().filter_map(Value::as_str) {
                params.push((name.clone(), expand_placeholders(v, vars)));
            }
            continue;
        }
        let value = match value {
            Value::Null => None,
            // Trimmed: `"{scope} extra"` with no scope must not start with a space.
            Value::String(s) => Some(expand_placeholders(s, vars).trim().to_owned()),
            other => Some(other.to_string()),
        };
        match (params.iter().position(|(n, _)| n == name), value) {
            (Some(i), Some(v)) => params[i].1 = v,
            (Some(i), None) => {
                params.remove(i);
            }
            (None, Some(v)) => params.push((name.clone(), v)),
            (None, None) => {}
        }
    }
}

/// The valid authorization request (OAuth 2.1 §4.1.1, RFC 7636, RFC 8707).
pub fn authorization_params(
    client: &Client,
    state: &str,
    challenge: &str,
    scope: Option<&str>,
    resource: Option<&str>,
) -> Vec<(String, String)> {
    let mut params = vec![
        ("response_type".to_owned(), "code".to_owned()),
        ("client_id".to_owned(), client.client_id.clone()),
        ("redirect_uri".to_owned(), client.redirect_uri.clone()),
        ("state".to_owned(), state.to_owned()),
        ("code_challenge".to_owned(), challenge.to_owned()),
        ("code_challenge_method".to_owned(), "S256".to_owned()),
    ];
    if let Some(scope) = scope {
        params.push(("scope".to_owned(), scope.to_owned()));
        // OIDC Core §11: offline_access is ignored unless consent is asked for; an OAuth AS
        // ignores the parameter it does not know (RFC 6749 §3.1).
        if scope.split_whitespace().any(|s| s == "offline_access") {
            params.push(("prompt".to_owned(), "consent".to_owned()));
        }
    }
    if let Some(resource) = resource {
        params.push(("resource".to_owned(), resource.to_owned()));
    }
    params
}

/// `endpoint` with `params` added to its query (keeping any query it has).
pub fn with_query(endpoint: &str, params: &[(String, String)]) -> Result<String, String> {
    let mut url = url::Url::parse(endpoint).map_err(|e| format!("invalid endpoint URL `{endpoint}`: {e}"))?;
    url.query_pairs_mut().extend_pairs(params);
    Ok(url.to_string())
}

/// The valid token request redeeming `code` (OAuth 2.1 §4.1.3).
pub fn token_params(client: &Client, code: &str, verifier: &str, resource: Option<&str>) -> Vec<(String, String)> {
    let mut params = vec![
        ("grant_type".to_owned(), "authorization_code".to_owned()),
        ("code".to_owned(), code.to_owned()),
        ("redirect_uri".to_owned(), client.redirect_uri.clone()),
        ("client_id".to_owned(), client.client_id.clone()),
        ("code_verifier".to_owned(), verifier.to_owned()),
    ];
    if let Some(resource) = resource {
        params.push(("resource".to_owned(), resource.to_owned()));
    }
    params
}

/// A form POST to the token endpoint with the client's authentication (RFC 6749 §2.3.1):
/// exactly one method per request (OAuth 2.1 §2.4), so with Basic the body does not repeat
/// the client's own `client_id` (a case that sets another one keeps it).
pub fn token_request(endpoint: &str, client: &Client, mut params: Vec<(String, String)>) -> Request {
    let basic = match (&client.secret, client.auth_method.as_str()) {
        (Some(secret), "client_secret_basic") => {
            params.retain(|(name, value)| !(name == "client_id" && *value == client.client_id));
            // RFC 6749 §2.3.1: both parts form-encoded before base64.
            let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", enc(&client.client_id), enc(secret.expose()));
            Some(format!("Basic {}", STANDARD.encode(pair)))
        }
        (Some(secret), "client_secret_post") => {
            params.push(("client_secret".to_owned(), secret.expose().to_owned()));
            None
        }
        _ => None,
    };
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    let request =
        Request::post(endpoint, "application/x-www-form-urlencoded", body).header("Accept", "application/json");
    match basic {
        Some(value) => request.header("Authorization", &value),
        None => request,
    }
}

/// The same token request as a GET: its form parameters in the query string, no body (for
/// the POST-only rule, OAuth 2.1 §3.2).
pub fn as_get(request: Request) -> Request {
    let query = request.body.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
    let separator = if request.url.contains('?') { '&' } else { '?' };
    Request {
        method: "GET".to_owned(),
        url: format!("{}{separator}{query}", request.url),
        headers: request
            .headers
            .into_iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("content-type"))
            .collect(),
        body: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_set_omit_and_fill() {
        let mut params = vec![("a".to_owned(), "1".to_owned()), ("b".to_owned(), "2".to_owned())];
        let vars = BTreeMap::from([("redirect_uri".to_owned(), "http://127.0.0.1:9/cb".to_owned())]);
        let set = vec![
            ("a".to_owned(), json!("{redirect_uri}/")),
            ("b".to_owned(), Value::Null),
            ("c".to_owned(), json!(3)),
        ];
        change_params(&mut params, &set, &[], &vars);
        assert_eq!(
            params,
            [
                ("a".to_owned(), "http://127.0.0.1:9/cb/".to_owned()),
                ("c".to_owned(), "3".to_owned())
            ]
        );

        let mut body = json!({"redirect_uris": ["x"], "token_endpoint_auth_method": "none"});
        change_json(
            &mut body,
            &[("redirect_uris".to_owned(), json!(["{redirect_uri}#f"]))],
            &["token_endpoint_auth_method".to_owned()],
            &vars,
        );
        assert_eq!(body, json!({"redirect_uris": ["http://127.0.0.1:9/cb#f"]}));
    }

    #[test]
    fn offline_access_asks_for_consent() {
        let client = Client::from_registration(&json!({"client_id": "c"}), "http://127.0.0.1:9/cb").unwrap();
        let prompt = |scope| {
            authorization_params(&client, "s", "c", Some(scope), None)
                .into_iter()
                .find(|(n, _)| n == "prompt")
                .map(|(_, v)| v)
        };
        assert_eq!(prompt("offline_access mcp").as_deref(), Some("consent"));
        assert_eq!(prompt("mcp"), None);
    }

    #[test]
    fn basic_authentication_form_encodes_first() {
        let client = Client {
            client_id: "a b".to_owned(),
            secret: Some(Secret::new("p:w")),
            auth_method: "client_secret_basic".to_owned(),
            redirect_uri: "http://127.0.0.1:9/cb".to_owned(),
            application_type: None,
            registered: false,
        };
        let request = token_request("https://as/token", &client, vec![]);
        let auth = request.headers.iter().find(|(n, _)| n == "Authorization").unwrap();
        assert_eq!(auth.1, format!("Basic {}", STANDARD.encode("a+b:p%3Aw")));
    }

    /// One authentication method per request: with Basic, the body does not carry the
    /// client's id again; another id a case sets on purpose stays.
    #[test]
    fn basic_authentication_is_the_only_client_authentication() {
        let client = Client {
            client_id: "conf".to_owned(),
            secret: Some(Secret::new("s")),
            auth_method: "client_secret_basic".to_owned(),
            redirect_uri: "http://127.0.0.1:9/cb".to_owned(),
            application_type: None,
            registered: false,
        };
        let params = |id: &str| {
            vec![
                ("grant_type".to_owned(), "x".to_owned()),
                ("client_id".to_owned(), id.to_owned()),
            ]
        };
        let body = |r: Request| String::from_utf8(r.body.unwrap()).unwrap();
        assert_eq!(
            body(token_request("https://as/token", &client, params("conf"))),
            "grant_type=x"
        );
        assert_eq!(
            body(token_request("https://as/token", &client, params("other"))),
            "grant_type=x&client_id=other"
        );
        let public = Client {
            secret: None,
            auth_method: "none".to_owned(),
            ..client
        };
        assert_eq!(
            body(token_request("https://as/token", &public, params("conf"))),
            "grant_type=x&client_id=conf"
        );
    }
}
