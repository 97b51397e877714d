//! Client ID metadata documents from the suite's side: the host that serves them, what it
//! serves, and the loopback CA of its https mode.

pub mod ca;
mod catalogue;
mod host;

pub use host::{DocumentHost, Hosting};
