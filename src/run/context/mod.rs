//! What a run shares: the client, the target, discovery (each document fetched once) and the
//! run's OAuth, and the dispatch of each step to what observes it.

mod mcp;
mod proxy;
mod revocation;
mod session_owner;
mod sessions;
mod state;
mod steps;

pub use steps::Context;
