//! A case file next to the real registry: cases or diagnostics (rendered), never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_auth_conformance::case::load_files;
use mcp_auth_conformance::diagnostic::SourceFile;

const REGISTRY: &str = include_str!("../../../cases/requirements.toml");

fuzz_target!(|data: &[u8]| {
    let files = vec![
        SourceFile {
            name: "cases/requirements.toml".to_owned(),
            text: REGISTRY.to_owned(),
        },
        SourceFile {
            name: "cases/fuzzed.toml".to_owned(),
            text: String::from_utf8_lossy(data).into_owned(),
        },
    ];
    if let Err(errors) = load_files(files) {
        let _ = errors.render(false);
    }
});
