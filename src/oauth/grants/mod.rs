//! The run's OAuth, built on what discovery found: the authorization server, the shared
//! registration, authorization, token and refresh (the control of every negative case), each
//! case's private chains on a client of their own, the scopes the flows ask for, the token
//! broker of the resource-server checks, and the placeholders a flow fills in.

mod chains;
mod client_mode;
mod clients;
mod placeholders;
mod revocation;
mod scopes;
mod shared;
mod state;
mod tokens;

pub(crate) use chains::{ChainEnd, unanswered};
pub use client_mode::ClientMode;
pub(crate) use clients::Unavailable;
pub use placeholders::redirect_variants;
pub(crate) use revocation::Revocable;
pub use state::Grants;

// One `Grants` in eight files: each file sees the others' items (`use super::*`).
use chains::*;
use placeholders::*;
use state::RegisteredAs;

use crate::observation::Observations;
