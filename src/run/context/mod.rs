//! What a run shares: the client, the target, and each built-in step's observations, made
//! once (on first use, by whichever case needs them first) and shared by every case.

mod chains;
mod clients;
mod mcp;
mod placeholders;
mod scopes;
mod shared;
mod steps;
mod tokens;

#[cfg(test)]
pub(crate) use placeholders::redirect_variants;
pub use steps::{Context, Observations};

// One `Context` in eight files: each file sees the others' items (`use super::*`).
use chains::*;
use clients::*;
use placeholders::*;
