//! The embedded reference target: a conformant MCP resource server and its authorization
//! server (axum, 127.0.0.1, ephemeral ports), each breakable by [`Fault`] switches.
//!
//! The RS serves `/mcp` and its PRM; the AS has an issuer with a path (`<origin>/as`), so
//! RFC 8414 path insertion is exercised. The RS origin also serves 2025-03-26 style AS
//! metadata (there the MCP server's origin is the authorization base URL).

mod authorization_server;
mod faults;
mod flow_endpoints;
mod resource_server;
mod server;
mod signing;
mod state_handles;
mod upstream;
mod variations;

pub use faults::{Fault, Form};
pub use flow_endpoints::{LOGIN_PASSWORD, LOGIN_USER};
pub use server::{Options, Reference, name_documents_for_guard};
pub use variations::Variation;

/// The requirements only an MCP proxy has (a reference with [`Options::proxy`] keeps them;
/// without, their checks skip: the target is not declared a proxy).
pub const PROXY_REQUIREMENTS: &[&str] = &[
    "as.authz.consent-proxy",
    "as.authz.consent-page-hardening",
    "as.authz.proxy-state-single-use",
];

// The servers' shared state, for the handlers in the modules above.
use server::State;
