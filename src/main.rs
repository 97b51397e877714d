//! The `mcp-auth-conformance` binary. The command line lives in `src/cli/` (this binary's
//! own modules); the harness is the library (`src/lib.rs`).

#[path = "cli/mod.rs"]
mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
