//! Data-driven cases: `cases/*.toml`, one file per area. A case names the requirement it
//! verifies, the step that observes the target, preconditions (`given`, unmet = skip) and
//! expectations (`expect`, broken = fail or warn by the requirement's level).

mod load;
mod model;
pub mod placeholders;
mod validate;

#[cfg(test)]
pub(crate) use load::embedded_registry;
pub use load::{CaseSet, load_dir, load_embedded, load_files};
pub use model::{
    Alternative, Case, ClientKind, Expectation, Overrides, Predicate, Property, RequestTemplate, Step, Subject,
    TokenPlan,
};

pub(crate) use validate::subject_name as subject_display;

/// Replaces `{name}` placeholders with their values; names without a value stay as written
/// (a case file cannot name an undeclared one: see `placeholders`).
pub fn expand_placeholders(s: &str, vars: &std::collections::BTreeMap<String, String>) -> String {
    let mut out = s.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}
