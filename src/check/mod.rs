//! Checks: pure functions from observations to outcomes. No I/O here.

mod expect;
mod judge;
pub mod schema;
pub mod www_authenticate;

pub use expect::{Broken, evaluate};
pub use judge::{MAY_NOT_SHOWN, Observation, Observed, judge};
