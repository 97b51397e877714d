//! Reporters: each a function of the finished [`RunReport`](crate::verdict::RunReport). They
//! print; they never judge.

mod badge;
pub mod console;
mod format;
mod headline;
pub(crate) mod html;
mod json;
mod junit;
mod markdown;
pub mod matrix;
pub mod merge;
pub mod progress;

pub use format::{Format, ReportSpec, render, render_matrix};
pub use json::render as json;
pub use junit::render as junit;
pub use matrix::{Matrix, Shard};
