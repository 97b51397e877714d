//! Consent drivers: how the suite carries an authorization request to the redirect URI with
//! nobody at the keyboard. `redirects` follows the authorization server's redirects with a
//! cookie jar, within the hosts of the run, until one points at the redirect URI's origin
//! (the callback, which is recorded, never requested).

use std::collections::BTreeMap;

use crate::check::{Observation, Observed};
use crate::http::{HttpClient, Request, Response};

/// More hops than any real login/consent chain takes; a loop ends here.
pub const MAX_HOPS: usize = 20;

/// Drives `start` (an authorization URL). The observation's response is the last one seen:
/// the redirect to the callback, or the page where the chain ended. Vars: `callback` (the
/// callback URL, redacted), `callback.<param>` for each query parameter, `hops`.
pub async fn follow_redirects(
    client: &HttpClient,
    label: &str,
    start: &str,
    redirect_uri: &str,
    allowed_hosts: &[String],
) -> Observation {
    let session = match client.session() {
        Ok(s) => s,
        Err(e) => return observation(label, Vec::new(), Observed::Error(e.to_string()), BTreeMap::new()),
    };
    let callback_origin = origin_of(redirect_uri);
    let mut url = start.to_owned();
    let mut exchanges = Vec::new();
    for hop in 0..MAX_HOPS {
        let (exchange, result) = session.send(&Request::get(&url)).await;
        exchanges.push(exchange);
        let response = match result {
            Ok(r) => r,
            Err(e) => return observation(label, exchanges, Observed::Error(e.to_string()), BTreeMap::new()),
        };
        let location = response.header_values("location").next().map(str::to_owned);
        let next = match (response.status, location) {
            (300..=399, Some(location)) => match url::Url::parse(&url).and_then(|base| base.join(&location)) {
                Ok(next) => next,
                Err(e) => {
                    let why = format!("unusable Location <{location}>: {e}");
                    return observation(label, exchanges, Observed::Error(why), BTreeMap::new());
                }
            },
            _ => return ended(label, exchanges, response),
        };
        if Some(next.origin().ascii_serialization()) == callback_origin {
            let mut vars = callback_vars(&next, client);
            vars.insert("hops".to_owned(), (hop + 1).to_string());
            return observation(label, exchanges, Observed::Response(response), vars);
        }
        let host = next.host_str().unwrap_or("").to_owned();
        if !allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
            let why = format!("the authorization chain redirected to {host}, outside the hosts of this run");
            return observation(label, exchanges, Observed::Error(why), BTreeMap::new());
        }
        url = next.to_string();
    }
    let why = format!("no callback after {MAX_HOPS} redirects (a redirect loop?)");
    observation(label, exchanges, Observed::Error(why), BTreeMap::new())
}

/// The chain ended without reaching the callback: an error page (judged by the case), or a
/// page that needs a person (then nobody can tell: `error`, never a false `fail`).
fn ended(label: &str, exchanges: Vec<crate::http::Exchange>, response: Response) -> Observation {
    if let Some(title) = interaction_page(&response) {
        let why = format!(
            "interaction required: the authorization endpoint showed a page the `redirects` consent driver cannot pass (title: {title:?})"
        );
        return observation(label, exchanges, Observed::Error(why), BTreeMap::new());
    }
    observation(label, exchanges, Observed::Response(response), BTreeMap::new())
}

/// A successful HTML page with a form (login, consent): its title.
fn interaction_page(response: &Response) -> Option<String> {
    let html = response.media_type().is_some_and(|m| m == "text/html");
    if response.status != 200 || !html {
        return None;
    }
    let text = String::from_utf8_lossy(&response.body);
    let doc = scraper::Html::parse_document(&text);
    let form = scraper::Selector::parse("form").ok()?;
    doc.select(&form).next()?;
    let title = scraper::Selector::parse("title").ok()?;
    let title = doc
        .select(&title)
        .next()
        .map(|t| t.text().collect::<String>().trim().to_owned());
    Some(title.unwrap_or_default())
}

fn callback_vars(callback: &url::Url, client: &HttpClient) -> BTreeMap<String, String> {
    let redactor = client.redactor();
    let mut vars = BTreeMap::new();
    vars.insert("callback".to_owned(), redactor.url(callback.as_str()));
    // Parameters come in the query (response_mode=query, the default for `code`) or in the
    // fragment (the default for `token` and other implicit types, even for their errors).
    let fragment = callback.fragment().map(|f| url::form_urlencoded::parse(f.as_bytes()));
    for (name, value) in callback.query_pairs().chain(fragment.into_iter().flatten()) {
        let name = format!("callback.{name}");
        vars.entry(name).or_insert_with(|| value.into_owned());
    }
    vars
}

fn origin_of(url: &str) -> Option<String> {
    url::Url::parse(url).ok().map(|u| u.origin().ascii_serialization())
}

fn observation(
    label: &str,
    exchanges: Vec<crate::http::Exchange>,
    observed: Observed,
    vars: BTreeMap<String, String>,
) -> Observation {
    Observation {
        label: label.to_owned(),
        exchanges,
        observed,
        vars,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::http::redact::Redactor;

    /// oidc-provider answers `response_type=token` with its error in the fragment (the
    /// default response mode of implicit types): the error is read from there too.
    #[test]
    fn callback_parameters_come_from_query_and_fragment() {
        let client = HttpClient::new(Duration::from_secs(1), Redactor::default()).unwrap();
        let url = url::Url::parse("http://127.0.0.1:9/cb?state=s#error=unsupported_response_type&state=other").unwrap();
        let vars = callback_vars(&url, &client);
        assert_eq!(vars["callback.error"], "unsupported_response_type");
        assert_eq!(vars["callback.state"], "s", "the query wins over the fragment");
        let url = url::Url::parse("http://127.0.0.1:9/cb?code=abc&state=s").unwrap();
        assert_eq!(
            callback_vars(&url, &client)["callback"],
            "http://127.0.0.1:9/cb?code=[redacted]&state=s"
        );
    }
}
