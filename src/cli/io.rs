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
