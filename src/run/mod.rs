//! A run's engine: plan the cases, observe the target through the shared context (discovery
//! and flows made once), judge each case, then settle it by the run's policy. The
//! [`crate::suite::Suite`] drives it.

mod bearer;
mod context;
mod engine;
mod forged;
mod policy;
mod version;

pub use context::Context;
pub(crate) use engine::evaluate;
pub use engine::{Planned, plan};
pub use policy::Policy;
pub use version::{VersionChoice, negotiate};
