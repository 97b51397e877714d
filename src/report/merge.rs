//! `report merge`: the JSON reports of a matrix's slices (`run --matrix FILE --shard K/N`),
//! or of single runs, read back into one requirement × target matrix.

use std::path::PathBuf;

use serde_json::Value;

use super::matrix::Shard;
use crate::spec::SpecVersion;
use crate::verdict::RunReport;

/// The reports, one per target, in the matrix file's order where the slices say it.
pub struct Merged {
    pub spec_version: SpecVersion,
    pub columns: Vec<(String, RunReport)>,
}

/// One column read back: its name, its place in the matrix file (if a slice said it), the
/// report, and the file it came from.
struct Column {
    name: String,
    position: Option<usize>,
    report: RunReport,
    file: String,
}

/// Reads each `(path, text)`: a matrix JSON report (`{"targets": [...]}`) or a single run's.
/// Slices must be of one matrix: one spec version, one slice count, each slice once.
pub fn merge(inputs: &[(PathBuf, String)]) -> Result<Merged, String> {
    let mut columns = Vec::new();
    let mut shards: Vec<(Shard, String)> = Vec::new();
    for (path, text) in inputs {
        let file = path.display().to_string();
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("{file}: not JSON: {e}"))?;
        let read = |doc: &Value| {
            serde_json::from_value::<RunReport>(doc.clone())
                .map_err(|e| format!("{file}: not a report of mcp-auth-conformance ({e})"))
        };
        match doc.get("targets").and_then(Value::as_array) {
            Some(targets) => {
                for target in targets {
                    let report = read(target)?;
                    let name = target["name"].as_str().unwrap_or(&report.target).to_owned();
                    let position = target["position"].as_u64().map(|p| p as usize);
                    columns.push(Column {
                        name,
                        position,
                        report,
                        file: file.clone(),
                    });
                }
                if let Some(shard) = doc.get("shard") {
                    let shard = serde_json::from_value::<Shard>(shard.clone())
                        .map_err(|e| format!("{file}: a bad `shard` ({e})"))?;
                    shards.push((shard, file.clone()));
                }
            }
            None => {
                let report = read(&doc)?;
                let name = report.target.clone();
                columns.push(Column {
                    name,
                    position: None,
                    report,
                    file: file.clone(),
                });
            }
        }
    }
    check_shards(&shards)?;
    let Some(first) = columns.first() else {
        return Err("no target in the reports".to_owned());
    };
    let spec_version = first.report.spec_version;
    if let Some(other) = columns.iter().find(|c| c.report.spec_version != spec_version) {
        return Err(format!(
            "{}: {} was checked against {}, {}'s against {spec_version}: one matrix has one spec version",
            other.file, other.name, other.report.spec_version, first.name
        ));
    }
    if columns.iter().all(|c| c.position.is_some()) {
        columns.sort_by_key(|c| c.position);
        if let Some(pair) = columns.windows(2).find(|w| w[0].position == w[1].position) {
            return Err(format!(
                "{} and {}: both hold target {} of the matrix ({}): a slice given twice?",
                pair[0].file,
                pair[1].file,
                pair[0].position.unwrap_or_default() + 1,
                pair[1].name
            ));
        }
    }
    Ok(Merged {
        spec_version,
        columns: columns.into_iter().map(|c| (c.name, c.report)).collect(),
    })
}

/// The slices given: of one count, each once, none missing.
fn check_shards(shards: &[(Shard, String)]) -> Result<(), String> {
    let Some((first, file)) = shards.first() else {
        return Ok(());
    };
    if let Some((other, other_file)) = shards.iter().find(|(s, _)| s.count != first.count) {
        return Err(format!(
            "{other_file} is slice {other}, {file} slice {first}: slices of one matrix share their count"
        ));
    }
    for index in 1..=first.count {
        let given: Vec<&String> = shards
            .iter()
            .filter(|(s, _)| s.index == index)
            .map(|(_, f)| f)
            .collect();
        match given.len() {
            1 => {}
            0 => return Err(format!("slice {index}/{} is missing", first.count)),
            _ => {
                let files: Vec<&str> = given.iter().map(|f| f.as_str()).collect();
                return Err(format!(
                    "slice {index}/{} is given twice: {}",
                    first.count,
                    files.join(", ")
                ));
            }
        }
    }
    Ok(())
}
