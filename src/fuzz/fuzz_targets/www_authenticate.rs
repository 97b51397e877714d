//! WWW-Authenticate from a hostile server: any bytes as one or more field lines. A list of
//! challenges or an error; the error's caret display must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_auth_conformance::check::www_authenticate::parse_lines;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = parse_lines(text.split('\n')) {
        let _ = e.to_string();
    }
});
