//! The suite's own tests that span modules: the fault and legal-variation matrices, the
//! reference's behaviours of real peers, hostile targets, edge cases of a run, the redaction
//! audit, property tests, and the helpers they share. (`cli.rs` and `peers.rs` here are test
//! targets of their own, run against the built binary and real Node peers: see Cargo.toml.)

pub(crate) mod support;

mod cimd_hosting;
mod declared_names;
mod edge_cases;
mod fault_matrix;
mod harness;
mod hostile;
mod login_form;
mod peer_pins;
mod properties;
mod redaction_audit;
mod report_snapshots;
mod variation_matrix;
