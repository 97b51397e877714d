//! What every command shares: loading cases, writing files, the async runtime, and a usage
//! or data error told once with its exit code.

use std::path::PathBuf;

use mcp_auth_conformance::case::{self, CaseSet};
use mcp_auth_conformance::exit;

pub(super) fn usage_error(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    exit::USAGE
}

pub(super) fn load_cases(dir: Option<&PathBuf>) -> Result<CaseSet, u8> {
    let loaded = match dir {
        Some(dir) => case::load_dir(dir),
        None => case::load_embedded(),
    };
    loaded.map_err(|errors| data_errors(&errors))
}

pub(super) fn data_errors(errors: &mcp_auth_conformance::diagnostic::DataErrors) -> u8 {
    use std::io::IsTerminal;
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    eprint!("{}", errors.render(color));
    exit::USAGE
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(network_threads_ignore_sigpipe)
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            exit::UNREACHABLE
        })
}

pub(super) fn write_text(path: &std::path::Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `main` lets SIGPIPE end the process, so `run | head` stops quietly. A socket write to a
/// peer that went away (a server that stops reading the run's 5 MiB document, hyper's
/// vectored writes carry no MSG_NOSIGNAL) must be an EPIPE error instead: the runtime's
/// threads block the signal, which a write raises on the thread that made it.
fn network_threads_ignore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: `set` is initialised by sigemptyset before use; pthread_sigmask only changes
    // this thread's signal mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}
