//! A target configuration: a configuration or diagnostics (rendered), never a panic. Every
//! environment variable it names is set, so the parser goes past the secrets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_auth_conformance::config::parse;
use mcp_auth_conformance::diagnostic::SourceFile;

fuzz_target!(|data: &[u8]| {
    let file = SourceFile {
        name: "target.toml".to_owned(),
        text: String::from_utf8_lossy(data).into_owned(),
    };
    if let Err(errors) = parse(&file, &|_| Some("value".to_owned())) {
        let _ = errors.render(false);
    }
});
