//! The reference authorization server's flow endpoints: registration (RFC 7591), client ID
//! metadata documents, authorization
//! with a cookie-gated consent hop, and token (OAuth 2.1 §4.1, RFC 7636). Mounted under the
//! AS issuer's path and, for 2025-03-26, at the MCP server's origin.

mod authorization;
mod cimd;
mod proxy;
mod registration;
mod revocation;
mod routes;
mod scripted_login;
mod store;
mod token;

pub use authorization::{LOGIN_PASSWORD, LOGIN_USER};
pub(super) use proxy::upstream_code;
pub(super) use routes::router;
pub(super) use store::{Base, Store, new_store, remember_issued};

// One module in five files: each file sees the reference's state and the others' items
// (`use super::*`), as the single file did.
use super::{Fault, State, Variation};
use authorization::*;
use cimd::*;
use proxy::*;
use registration::*;
use revocation::*;
use routes::*;
use store::*;
use token::*;
