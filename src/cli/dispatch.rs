//! Parses the command line and runs the command it names; its exit code is the process's.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use mcp_auth_conformance::reference::Options;

use super::args::{Cli, Command, ReportCommand};
use super::{merge, reference, requirements, run};

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
            proxy,
            issuer_only,
            port,
            scopes,
        } => reference::reference_command(
            &faults,
            list_faults,
            list_variations,
            Options {
                variations,
                login_form: login_form.is_some(),
                login_script: login_form == Some(super::args::LoginForm::Script),
                proxy,
                any_resource: issuer_only,
                as_port: port,
                scopes,
                ..Options::default()
            },
        ),
        Command::CimdCa { dir } => cimd_ca(&dir),
        Command::Completions { shell } => {
            let mut out = std::io::stdout();
            clap_complete::generate(shell, &mut Cli::command(), "mcp-auth-conformance", &mut out);
            mcp_auth_conformance::exit::OK
        }
        Command::Manpage => match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
            Ok(()) => mcp_auth_conformance::exit::OK,
            Err(e) => super::usage_error(format!("manpage: {e}")),
        },
        Command::Report(ReportCommand::Merge { files, reports }) => merge::merge_command(&files, &reports),
    };
    ExitCode::from(code)
}

/// `cimd-ca DIR`: the loopback CA's certificate path on stdout.
fn cimd_ca(dir: &std::path::Path) -> u8 {
    match mcp_auth_conformance::oauth::cimd::ca::LoopbackCa::in_dir(dir) {
        Ok((ca, _)) => {
            println!("{}", ca.cert_path.display());
            mcp_auth_conformance::exit::OK
        }
        Err(why) => super::usage_error(format!("cimd-ca: {why}")),
    }
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
