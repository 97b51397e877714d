//! Consent drivers: how the suite carries an authorization request to the redirect URI with
//! nobody at the keyboard.
//! - `redirects` follows the authorization server's redirects with a cookie jar, within the
//!   hosts of the run, until one points at the redirect URI's origin (the callback, which is
//!   recorded, never requested);
//! - `form` does the same and also submits login/consent forms with configured values;
//! - `command` runs a program with the authorization URL; it prints the callback URL;
//! - `manual` prints the URL and waits for the browser on the loopback redirect URI;
//! - `browser` drives headless Chromium through pages built by script.

mod browser;
mod command;
mod driver;
mod follow;
mod manual;
mod page;
mod reported;
#[cfg(test)]
mod tests;

pub use browser::{BrowserSettings, find_chromium};
pub use driver::{ConsentDriver, FormSettings, drive};
pub use follow::MAX_HOPS;
pub(crate) use follow::submit_form;
pub(crate) use page::shown_text;
