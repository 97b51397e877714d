//! A callback reported from outside (by a command or a person's browser), as an
//! observation: the redirect the user agent saw, and the callback's parameters as variables.

use std::collections::BTreeMap;

use crate::http::{HttpClient, Response};
use crate::observation::{Observation, Observed};

/// What a command or a person reported: a callback URL, nothing (the AS stopped on a page of
/// its own), or why it could not be driven.
pub(super) type Reported = Result<Option<String>, String>;

pub(super) fn reported_callback(client: &HttpClient, label: &str, reported: Reported, who: &str) -> Observation {
    let label = format!("{label} (callback reported by {who})");
    // What the user agent saw is a response: its credentials are the target's.
    if let Ok(Some(callback)) = &reported {
        client.redactor().learn_url(callback);
    }
    match reported {
        Err(why) => Observation::new(&label, Vec::new(), Observed::Error(why), BTreeMap::new()),
        // No HTTP exchange of ours: the observation is the redirect the user agent saw.
        Ok(Some(callback)) => match url::Url::parse(&callback) {
            Ok(url) => {
                let location = client.redactor().url(url.as_str());
                let response = Response {
                    status: 302,
                    headers: vec![("location".to_owned(), location)],
                    body: Vec::new(),
                };
                Observation::new(
                    &label,
                    Vec::new(),
                    Observed::Response(response),
                    callback_vars(&url, client),
                )
            }
            Err(e) => Observation::new(
                &label,
                Vec::new(),
                Observed::Error(format!(
                    "not a callback URL <{}>: {e}",
                    client.redactor().url(&callback)
                )),
                BTreeMap::new(),
            ),
        },
        Ok(None) => {
            let response = Response {
                status: 200,
                headers: Vec::new(),
                body: Vec::new(),
            };
            Observation::new(&label, Vec::new(), Observed::Response(response), BTreeMap::new())
        }
    }
}

pub(super) fn callback_vars(callback: &url::Url, client: &HttpClient) -> BTreeMap<String, String> {
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

pub(super) fn origin_of(url: &str) -> Option<String> {
    url::Url::parse(url).ok().map(|u| u.origin().ascii_serialization())
}
