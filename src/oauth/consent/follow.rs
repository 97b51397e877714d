//! The `redirects` and `form` drivers: follow the authorization server's redirects with a
//! cookie jar within the run's hosts, submitting login and consent forms (`form`) on the way.

use std::collections::BTreeMap;

use super::driver::FormSettings;
use super::reported::{callback_vars, origin_of};
use crate::http::{HttpClient, Request, Response};
use crate::observation::{Observation, Observed};

/// Forms submitted in one chain at most: login, consent, and a spare.
const MAX_FORMS: usize = 3;

/// More hops than any real login/consent chain takes; a loop ends here.
pub const MAX_HOPS: usize = 20;

/// Follows `start` (an authorization URL). The observation's response is the last one seen:
/// the redirect to the callback, or the page where the chain ended. Vars: `callback` (the
/// callback URL, redacted), `callback.<param>` for each parameter, `hops`. With `form`,
/// a page with a form is submitted instead of ending the chain.
pub(super) async fn follow(
    client: &HttpClient,
    label: &str,
    start: &str,
    redirect_uri: &str,
    form: Option<&FormSettings>,
) -> Observation {
    let session = match client.session() {
        Ok(s) => s,
        Err(e) => return Observation::new(label, Vec::new(), Observed::Error(e.to_string()), BTreeMap::new()),
    };
    let callback_origin = origin_of(redirect_uri);
    let mut url = start.to_owned();
    let mut request = Request::get(&url);
    let mut forms = 0;
    let mut exchanges = Vec::new();
    for hop in 0..MAX_HOPS {
        let (exchange, result) = session.send(&request).await;
        exchanges.push(exchange);
        let response = match result {
            Ok(r) => r,
            Err(e) => return Observation::new(label, exchanges, Observed::Error(e.to_string()), BTreeMap::new()),
        };
        let location = response.header_values("location").next().map(str::to_owned);
        let next = match (response.status, location) {
            (300..=399, Some(location)) => match url::Url::parse(&url).and_then(|base| base.join(&location)) {
                Ok(next) => next,
                Err(e) => {
                    let why = format!("unusable Location <{location}>: {e}");
                    return Observation::new(label, exchanges, Observed::Error(why), BTreeMap::new());
                }
            },
            _ => {
                let submission = form
                    .filter(|_| forms < MAX_FORMS)
                    .and_then(|f| submit_form(&response, &url, f));
                match submission {
                    Some(Ok(next)) if client.hosts().allows(&next.url) => {
                        forms += 1;
                        url = next.url.clone();
                        request = next;
                        continue;
                    }
                    Some(Ok(next)) => {
                        let why = format!("the form posts to {}, outside the hosts of this run", next.url);
                        return Observation::new(label, exchanges, Observed::Error(why), BTreeMap::new());
                    }
                    Some(Err(why)) => return Observation::new(label, exchanges, Observed::Error(why), BTreeMap::new()),
                    None => {
                        let driver = if form.is_some() { "form" } else { "redirects" };
                        return ended(label, exchanges, response, driver);
                    }
                }
            }
        };
        if Some(next.origin().ascii_serialization()) == callback_origin {
            let mut vars = callback_vars(&next, client);
            vars.insert("hops".to_owned(), (hop + 1).to_string());
            return Observation::new(label, exchanges, Observed::Response(response), vars);
        }
        let host = next.host_str().unwrap_or("").to_owned();
        if !client.hosts().allows(next.as_str()) {
            let why = format!("the authorization chain redirected to {host}, outside the hosts of this run");
            return Observation::new(label, exchanges, Observed::Error(why), BTreeMap::new());
        }
        url = next.to_string();
        request = Request::get(&url);
    }
    let why = format!("no callback after {MAX_HOPS} redirects (a redirect loop?)");
    Observation::new(label, exchanges, Observed::Error(why), BTreeMap::new())
}

/// The chain ended without reaching the callback: an error page (judged by the case), or a
/// page that needs a person (then nobody can tell: `error`, never a false `fail`), described
/// with the configuration most likely to pass it.
fn ended(label: &str, exchanges: Vec<crate::http::Exchange>, response: Response, driver: &str) -> Observation {
    if let Some(page) = super::page::for_a_person(&response) {
        let why = format!(
            "interaction required: the authorization endpoint showed a page the `{driver}` consent driver cannot pass ({}); {}",
            page.describe(),
            page.hint(driver)
        );
        return Observation::new(label, exchanges, Observed::Error(why), BTreeMap::new());
    }
    Observation::new(label, exchanges, Observed::Response(response), BTreeMap::new())
}

/// A successful HTML page with a form (login, consent).
fn interaction_page(response: &Response) -> Option<()> {
    let page = super::page::for_a_person(response)?;
    (!page.forms.is_empty()).then_some(())
}

/// The request that submits the page's form with `settings` (hidden fields kept), or None
/// when the page has no form. Err when it has one the settings cannot fill.
pub(crate) fn submit_form(
    response: &Response,
    page_url: &str,
    settings: &FormSettings,
) -> Option<Result<Request, String>> {
    interaction_page(response)?;
    let text = String::from_utf8_lossy(&response.body);
    let doc = scraper::Html::parse_document(&text);
    let select = |css: &str| scraper::Selector::parse(css).ok();
    let form = doc.select(&select("form")?).next()?;
    let mut fields: Vec<(String, String)> = Vec::new();
    for input in form.select(&select("input[name]")?) {
        let kind = input.value().attr("type").unwrap_or("text").to_ascii_lowercase();
        if matches!(kind.as_str(), "submit" | "button" | "image" | "reset") {
            continue;
        }
        let name = input.value().attr("name").unwrap_or_default().to_owned();
        fields.push((name, input.value().attr("value").unwrap_or_default().to_owned()));
    }
    let action = form.value().attr("action").unwrap_or("");
    let target = match url::Url::parse(page_url).and_then(|base| base.join(action)) {
        Ok(t) => t,
        Err(e) => return Some(Err(format!("unusable form action <{action}>: {e}"))),
    };
    // The configured values go only where they are for: never to a refused origin, nor from
    // a page of one (its own fields and buttons are submitted as they are).
    let origin = |u: &url::Url| u.origin().ascii_serialization();
    let page_origin = url::Url::parse(page_url).map(|u| origin(&u)).unwrap_or_default();
    let refused =
        settings.refused_origins.contains(&origin(&target)) || settings.refused_origins.contains(&page_origin);
    for (name, value) in settings.fields.iter().filter(|_| !refused) {
        match fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value.expose().to_owned(),
            None => fields.push((name.clone(), value.expose().to_owned())),
        }
    }
    // The button to press: the first configured one the form has (by name, value or text),
    // else its first submit button that does not refuse.
    let buttons: Vec<_> = form.select(&select("button, input[type=submit]")?).collect();
    let matches = |b: &&scraper::ElementRef, w: &str| {
        let (name, value) = (b.value().attr("name"), b.value().attr("value"));
        name == Some(w) || value == Some(w) || b.text().collect::<String>().trim() == w
    };
    let refuses = |b: &&scraper::ElementRef| {
        let text = b.text().collect::<String>().to_lowercase();
        let value = b.value().attr("value").unwrap_or_default().to_lowercase();
        super::page::REFUSING
            .iter()
            .any(|w| text.contains(w) || value.contains(w))
    };
    let button = match settings.submit.as_slice() {
        // Never a refusal unless asked for ("Deny" often comes first).
        [] => buttons.iter().find(|b| !refuses(b)),
        wanted => wanted.iter().find_map(|w| buttons.iter().find(|b| matches(b, w))),
    };
    if let (false, None) = (settings.submit.is_empty(), button) {
        let w = settings.submit.join("` or `");
        let labels: Vec<String> = super::page::for_a_person(response)
            .map(|page| {
                page.forms
                    .into_iter()
                    .flat_map(|f| f.buttons)
                    .map(|b| format!("{b:?}"))
                    .collect()
            })
            .unwrap_or_default();
        return Some(Err(format!(
            "interaction required: the form has no button `{w}` to press (its buttons: {})",
            labels.join(", ")
        )));
    }

    if let Some((Some(name), value)) = button.map(|b| (b.value().attr("name"), b.value().attr("value").unwrap_or(""))) {
        fields.push((name.to_owned(), value.to_owned()));
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&fields)
        .finish();
    let method = form.value().attr("method").unwrap_or("get").to_ascii_uppercase();
    Some(Ok(if method == "POST" {
        Request::post(target.as_str(), "application/x-www-form-urlencoded", body)
    } else {
        let mut target = target;
        target.set_query(Some(&body));
        Request::get(target.as_str())
    }))
}
