//! The command line: `run`, `requirements`, `reference`, one module each, the arguments, and
//! what every command shares.

mod args;
mod dispatch;
mod io;
mod merge;
mod reference;
mod requirements;
mod run;

pub use dispatch::main;
use io::{data_errors, load_cases, runtime, usage_error, write_text};

#[cfg(test)]
mod action_tests;
