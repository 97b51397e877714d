//! Checks: pure functions from observations to outcomes. No I/O here.

mod cookies;
mod expect;
mod judge;
mod predicate;
mod property;
pub mod schema;
mod subject;
pub mod www_authenticate;

pub use cookies::consent_cookie_flaws;
pub use expect::{Broken, evaluate};
pub use judge::{MAY_NOT_SHOWN, judge};
pub use predicate::{Invalid, Predicate};
pub use property::Property;
pub use subject::Subject;
pub(crate) use subject::jwt_payload;
