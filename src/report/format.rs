//! Which reporter `--report <format>=<path>` names, and rendering a finished run (or a matrix
//! of runs) in it.

use std::path::PathBuf;
use std::str::FromStr;

use super::matrix::Matrix;
use super::{badge, html, json, junit, markdown};
use crate::verdict::RunReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Junit,
    Markdown,
    Html,
    /// A shields.io endpoint document: MUSTs passed of those checked.
    Badge,
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
        let (format, path) = s
            .split_once('=')
            .ok_or_else(|| format!("expected <format>=<path> (e.g. json=report.json), got `{s}`"))?;
        let format = match format {
            "json" => Format::Json,
            "junit" => Format::Junit,
            "markdown" => Format::Markdown,
            "html" => Format::Html,
            "badge" => Format::Badge,
            other => {
                return Err(format!(
                    "unknown report format `{other}` (known: json, junit, markdown, html, badge)"
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

impl Format {
    /// JUnit and the badge describe one target: no matrix has them.
    pub fn single_run_only(self) -> bool {
        matches!(self, Format::Junit | Format::Badge)
    }
}

pub fn render(format: Format, report: &RunReport) -> String {
    match format {
        Format::Json => json::render(report),
        Format::Junit => junit::render(report),
        Format::Markdown => markdown::render(report),
        Format::Html => html::render(report),
        Format::Badge => badge::render(report),
    }
}

/// A matrix report: Markdown or HTML tables, or JSON `{"targets": [<run report>...]}` (each
/// element the single-run contract). JUnit has no place for a target: none.
pub fn render_matrix(format: Format, m: &Matrix) -> Result<String, String> {
    match format {
        Format::Json => {
            // Each element is the single-run contract, with the column's name (and, for a
            // slice, its place in the matrix file) added: what `report merge` reads back.
            let targets: Vec<serde_json::Value> = m
                .columns
                .iter()
                .enumerate()
                .map(|(i, (name, report))| {
                    let mut doc = serde_json::to_value(report).expect("reports serialize");
                    doc["name"] = serde_json::json!(name);
                    if let Some(position) = m.positions.get(i) {
                        doc["position"] = serde_json::json!(position);
                    }
                    doc
                })
                .collect();
            let mut doc = serde_json::json!({ "targets": targets });
            if let Some(shard) = m.shard {
                doc["shard"] = serde_json::json!(shard);
            }
            Ok(serde_json::to_string_pretty(&doc).expect("reports serialize"))
        }
        Format::Junit => Err("a JUnit report is one target's: run each target alone for it".to_owned()),
        Format::Badge => Err("a badge is one target's: run each target alone for it".to_owned()),
        Format::Markdown => Ok(markdown::matrix(m)),
        Format::Html => Ok(html::matrix(m)),
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
