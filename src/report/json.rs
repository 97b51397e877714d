//! The JSON report: the serialised [`RunReport`] (a contract: extend it, never break it).

use crate::verdict::RunReport;

pub fn render(report: &RunReport) -> String {
    // Serialising plain data with string keys cannot fail.
    let mut s = serde_json::to_string_pretty(report).unwrap_or_default();
    s.push('\n');
    s
}
