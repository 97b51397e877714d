//! A matrix file (`run --matrix <file>`): the targets of one run, each with its name and
//! optionally its own target configuration.
//!
//! ```toml
//! [[target]]
//! name = "ts-sdk"                       # default: the URL
//! url = "http://localhost:3100/mcp"
//! config = "ts-sdk.toml"                # a target configuration, relative to this file
//! ```

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{self, TargetConfig};
use crate::diagnostic::{DataErrors, FileError, SourceFile};

/// One column of the matrix.
#[derive(Debug, Clone)]
pub struct MatrixTarget {
    pub name: String,
    pub url: String,
    pub config: TargetConfig,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixSpec {
    target: Vec<TargetSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetSpec {
    name: Option<String>,
    url: Spanned<String>,
    config: Option<Spanned<String>>,
}

/// Reads the matrix file and each configuration it names; every problem at its place.
pub fn load(path: &Path) -> Result<Vec<MatrixTarget>, DataErrors> {
    let file = SourceFile::read(path)?;
    parse(&file, path.parent().unwrap_or(Path::new(".")))
}

/// The targets of a matrix file's text; configurations are read relative to `base`.
fn parse(file: &SourceFile, base: &Path) -> Result<Vec<MatrixTarget>, DataErrors> {
    let spec: MatrixSpec = toml::from_str(&file.text).map_err(|e| DataErrors {
        errors: vec![FileError::from_toml(file, &e)],
    })?;
    let mut errors = Vec::new();
    let mut targets = Vec::new();
    for t in spec.target {
        let parsed = url::Url::parse(t.url.get_ref()).ok();
        if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host()) {
            let msg = "url must be an absolute http(s) URL (e.g. https://mcp.example.com/mcp)";
            errors.push(FileError::new(file, t.url.span(), msg));
            continue;
        }
        let config = match &t.config {
            None => TargetConfig::default(),
            Some(c) => match config::load(&base.join(c.get_ref())) {
                Ok(config) => config,
                Err(e) => {
                    errors.extend(e.errors);
                    continue;
                }
            },
        };
        let url = t.url.into_inner();
        targets.push(MatrixTarget {
            name: t.name.unwrap_or_else(|| url.clone()),
            url,
            config,
        });
    }
    if targets.len() < 2 && errors.is_empty() {
        errors.push(FileError::new(
            file,
            0..0,
            "a matrix needs at least two [[target]] tables",
        ));
    }
    if errors.is_empty() {
        Ok(targets)
    } else {
        Err(DataErrors { errors })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(text: &str) -> String {
        let file = SourceFile {
            name: "matrix.toml".to_owned(),
            text: text.to_owned(),
        };
        let base = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/peers/oidc-provider"));
        parse(&file, base).expect_err("a bad matrix file").render(false)
    }

    #[test]
    fn each_problem_of_a_matrix_file_points_at_its_place() {
        let text = "[[target]]\nurl = \"localhost:3100/mcp\"\n\n[[target]]\nurl = \"http://127.0.0.1:3401/mcp\"\nconfig = \"target.toml\"\n";
        let wrong_url = bad(text);
        let one_target = bad("[[target]]\nurl = \"http://127.0.0.1:3401/mcp\"\n");
        let unknown_key = bad("[[target]]\nurl = \"http://a/mcp\"\ncolour = \"red\"\n");
        let text = format!("{wrong_url}\n{one_target}\n{unknown_key}");
        crate::tests::support::snapshot_settings().bind(|| insta::assert_snapshot!("matrix-file-errors", text));
    }
}
