//! Reporters: each a function of the finished [`RunReport`]. They print; they never judge.

pub mod console;
mod json;
mod junit;

use std::path::PathBuf;
use std::str::FromStr;

pub use json::render as json;
pub use junit::render as junit;

use crate::run::RunReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Junit,
}

/// `--report <format>=<path>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    pub format: Format,
    pub path: PathBuf,
}

impl FromStr for ReportSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (format, path) = s.split_once('=').ok_or_else(|| {
            format!("expected <format>=<path> (e.g. json=report.json), got `{s}`")
        })?;
        let format = match format {
            "json" => Format::Json,
            "junit" => Format::Junit,
            other => {
                return Err(format!(
                    "unknown report format `{other}` (known: json, junit)"
                ));
            }
        };
        if path.is_empty() {
            return Err(format!("`{s}`: the report path is empty"));
        }
        Ok(ReportSpec {
            format,
            path: PathBuf::from(path),
        })
    }
}

pub fn render(format: Format, report: &RunReport) -> String {
    match format {
        Format::Json => json(report),
        Format::Junit => junit(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_specs_parse() {
        let spec: ReportSpec = "junit=out/r.xml".parse().unwrap();
        assert_eq!(
            spec,
            ReportSpec {
                format: Format::Junit,
                path: "out/r.xml".into()
            }
        );
        assert!("json".parse::<ReportSpec>().is_err());
        assert!(
            "xml=a"
                .parse::<ReportSpec>()
                .unwrap_err()
                .contains("unknown report format `xml`")
        );
        assert!("json=".parse::<ReportSpec>().is_err());
    }
}
