//! The drivers a configuration names, and dispatch to each.

use std::time::Duration;

use super::browser::{BrowserSettings, drive_browser};
use super::command::run_command;
use super::follow::follow;
use super::manual::wait_for_browser;
use super::reported::reported_callback;
use crate::http::HttpClient;
use crate::http::redact::Secret;
use crate::observation::Observation;

#[derive(Debug, Clone, Default)]
pub enum ConsentDriver {
    #[default]
    Redirects,
    Form(FormSettings),
    /// `argv` plus the authorization URL; stdout's last line is the callback URL, or nothing
    /// (exit 0) when the authorization server stopped on a page of its own.
    Command {
        argv: Vec<String>,
        timeout: Duration,
    },
    Manual {
        timeout: Duration,
    },
    /// Headless Chromium: runs the pages' scripts, fills fields and presses buttons.
    Browser(BrowserSettings),
}

#[derive(Debug, Clone, Default)]
pub struct FormSettings {
    /// Field values to fill in (secrets: passwords come from the environment).
    pub fields: Vec<(String, Secret)>,
    /// The buttons to press, by name, value or text: on each page, the first of them it has
    /// (none: the form's first submit button).
    pub submit: Vec<String>,
    /// Origins whose pages are never filled: a proxy's upstream AS (its login is not the
    /// target's; config `[proxy] fill_upstream_forms` allows it).
    pub refused_origins: Vec<String>,
}

/// Carries the authorization URL `start` to the callback with `driver`.
pub async fn drive(
    driver: &ConsentDriver,
    client: &HttpClient,
    label: &str,
    start: &str,
    redirect_uri: &str,
    listener: Option<&std::net::TcpListener>,
) -> Observation {
    match driver {
        ConsentDriver::Redirects => follow(client, label, start, redirect_uri, None).await,
        ConsentDriver::Form(form) => follow(client, label, start, redirect_uri, Some(form)).await,
        ConsentDriver::Command { argv, timeout } => {
            let reported = run_command(argv, start, *timeout).await;
            reported_callback(client, label, reported, "the command driver")
        }
        ConsentDriver::Manual { timeout } => {
            let reported = wait_for_browser(start, redirect_uri, listener, *timeout).await;
            reported_callback(client, label, reported, "the browser")
        }
        ConsentDriver::Browser(settings) => drive_browser(settings, client, label, start, redirect_uri).await,
    }
}
