//! The command line: `run`, `requirements`, `reference`, one module each, and what they
//! share (usage errors, loading cases, writing files).

mod args;
mod reference;
mod requirements;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use mcp_auth_conformance::case::{self, CaseSet};
use mcp_auth_conformance::exit;
use mcp_auth_conformance::reference::Options;

use args::{Cli, Command};

pub fn main() -> ExitCode {
    quiet_broken_pipe();
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => run::run_command(*args),
        Command::Requirements {
            format,
            cases,
            coverage,
        } => requirements::requirements_command(format, cases, coverage),
        Command::Reference {
            faults,
            list_faults,
            variations,
            list_variations,
            login_form,
            issuer_only,
            port,
            scopes,
        } => reference::reference_command(
            &faults,
            list_faults,
            list_variations,
            Options {
                variations,
                login_form,
                any_resource: issuer_only,
                as_port: port,
                scopes,
                ..Options::default()
            },
        ),
    };
    ExitCode::from(code)
}

/// A reader that goes away (`run | head`) ends the process quietly, as it does any Unix tool,
/// instead of a panic in the console printer (libtest-mimic unwraps its writes).
fn quiet_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: first thing in main, before any other thread exists; it restores the default
    // disposition of SIGPIPE, which Rust's runtime sets to "ignore".
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn usage_error(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    exit::USAGE
}

fn load_cases(dir: Option<&PathBuf>) -> Result<CaseSet, u8> {
    let loaded = match dir {
        Some(dir) => case::load_dir(dir),
        None => case::load_embedded(),
    };
    loaded.map_err(|errors| data_errors(&errors))
}

fn data_errors(errors: &mcp_auth_conformance::diagnostic::DataErrors) -> u8 {
    use std::io::IsTerminal;
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    eprint!("{}", errors.render(color));
    exit::USAGE
}

fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            exit::UNREACHABLE
        })
}

fn write_text(path: &std::path::Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
