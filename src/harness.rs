//! The suite inside `cargo test`: a Rust MCP server adds a test target with `harness =
//! false`, starts its server in-process and hands a [`Conformance`] to [`main`]. Each
//! requirement is then one libtest line (`ok`, `FAILED`, or `ignored` with why for a skip, a
//! broken SHOULD and an expected failure), `cargo test -- rs.token` runs only those, `--list`
//! lists them, and the exit code is libtest's.
//!
//! ```toml
//! # Cargo.toml
//! [[test]]
//! name = "auth_conformance"
//! harness = false
//! ```
//!
//! ```no_run
//! // tests/auth_conformance.rs
//! use mcp_auth_conformance::{Conformance, harness};
//!
//! fn main() -> std::process::ExitCode {
//!     let runtime = tokio::runtime::Runtime::new().expect("a runtime");
//!     let url = runtime.block_on(async { /* start your server, return its MCP URL */ String::new() });
//!     let conformance = Conformance::new(url)
//!         .expected_failures("conformance-baseline.toml")
//!         .expect("the baseline loads");
//!     harness::main(&runtime, conformance)
//! }
//! ```
//!
//! `src/examples/auth_conformance.rs` is a whole one, against a small axum server.

use std::process::ExitCode;

use libtest_mimic::{Arguments, Trial};

use crate::conformance::Conformance;
use crate::report::console;

/// Runs the suite as this test binary's tests, with the command line's libtest arguments.
pub fn main(runtime: &tokio::runtime::Runtime, conformance: Conformance) -> ExitCode {
    run(runtime, conformance, &Arguments::from_args())
}

/// As [`main`], with the arguments given.
pub fn run(runtime: &tokio::runtime::Runtime, conformance: Conformance, args: &Arguments) -> ExitCode {
    let mut suite = match runtime.block_on(conformance.suite()) {
        Ok((suite, _)) => suite,
        Err(why) => {
            eprintln!("error: {why}");
            return ExitCode::from(crate::exit::USAGE);
        }
    };
    // Cases libtest would filter out are not run at all (libtest's own rule: the name holds
    // the filter, or equals it with --exact; --skip likewise).
    let selected = |id: &str| {
        let hit = |f: &String| if args.exact { id == f } else { id.contains(f.as_str()) };
        args.filter.as_ref().is_none_or(hit) && !args.skip.iter().any(hit)
    };
    suite.plan.retain(|p| selected(&p.requirement.id));
    if args.list {
        let trials = suite
            .plan
            .iter()
            .map(|p| Trial::test(p.requirement.id.clone(), || Ok(())));
        return libtest_mimic::run(args, trials.collect()).exit_code();
    }
    let (_, conclusion) = console::show_trials(suite.start(runtime), suite.unfinished(), suite.version(), args, None);
    conclusion.exit_code()
}
