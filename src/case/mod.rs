//! Data-driven cases: `cases/*.toml`, one file per area. A case names the requirement it
//! verifies, the step that observes the target, preconditions (`given`, unmet = skip) and
//! expectations (`expect`, broken = fail or warn by the requirement's level).

mod expectation;
mod load;
mod model;
pub mod placeholders;
mod validate;

#[cfg(test)]
pub(crate) use load::embedded_registry;
pub use load::{CaseSet, load_dir, load_embedded, load_files};
pub use model::{Alternative, Case, ClientKind, Expectation, Overrides, RequestTemplate, Step, TokenPlan};

pub use placeholders::expand_placeholders;
