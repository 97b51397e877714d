//! HTTP as the suite sees it: requests as values, one client that records every exchange
//! (redacted) as evidence, and nothing about cases or requirements.

mod client;
mod exchange;
pub mod hosts;
pub mod jsonrpc;
pub mod redact;
pub mod sse;

pub use client::{HttpClient, HttpError, Request, Response};
pub use exchange::{Exchange, RecordedRequest, RecordedResponse};
pub use hosts::{HostPolicy, Hosts};
