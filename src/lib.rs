//! `mcp-auth-conformance`: a conformance suite for MCP authorization. It acts as an MCP client
//! from outside and gives one verdict per spec requirement.
//!
//! Data flows: registry + cases ([`case`]) -> observations ([`discovery`], [`oauth`], [`http`],
//! each an [`observation::Observation`]) -> judgement ([`check`]) -> [`verdict`] -> reports
//! ([`report`]). A [`suite::Suite`] is one run, driven by [`run`]; [`reference`] is the
//! embedded reference server with its fault switches. From Rust, [`Conformance`] is the suite
//! as a value, and [`harness`] puts it in `cargo test`.

pub mod baseline;
pub mod case;
pub mod check;
pub mod config;
pub mod conformance;
pub mod diagnostic;
pub mod discovery;
pub mod exit;
pub mod harness;
pub mod http;
pub mod matrix_file;
pub mod oauth;
pub mod observation;
pub mod reference;
pub mod report;
pub mod requirement;
pub mod run;
pub mod seed;
pub mod spec;
pub mod suite;
pub mod token_kind;
pub mod verdict;

pub use conformance::Conformance;

#[cfg(test)]
mod tests;
