//! Loading the registry and the case files, embedded in the binary or from a directory.

use std::collections::HashMap;
use std::path::Path;

use include_dir::{Dir, include_dir};

use super::model::Case;
use super::validate::{CaseFileSpec, Converter, line_of};
use crate::check::schema::Schemas;
use crate::diagnostic::{DataErrors, FileError, SourceFile};
use crate::requirement::Registry;
use crate::spec::SpecVersion;

static CASES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/cases");

/// The registry's file name inside a cases directory; every other `*.toml` is a case file.
pub const REGISTRY_FILE: &str = "requirements.toml";

/// The registry and every case, validated together.
#[derive(Debug, Clone)]
pub struct CaseSet {
    pub registry: Registry,
    pub cases: Vec<Case>,
}

impl CaseSet {
    /// The case for a requirement under a version (validation guarantees at most one).
    pub fn case_for(&self, requirement: &str, version: SpecVersion) -> Option<&Case> {
        self.cases
            .iter()
            .find(|c| c.requirement == requirement && c.versions.as_ref().is_none_or(|vs| vs.contains(&version)))
    }
}

/// The cases compiled into the binary (`cases/` at build time).
pub fn load_embedded() -> Result<CaseSet, DataErrors> {
    let files = CASES
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "toml"))
        .map(|f| SourceFile {
            name: format!("cases/{}", f.path().display()),
            text: String::from_utf8_lossy(f.contents()).into_owned(),
        })
        .collect();
    load_files(files)
}

/// Cases from a directory on disk (`--cases`), for developing new cases without a rebuild.
pub fn load_dir(dir: &Path) -> Result<CaseSet, DataErrors> {
    let unreadable = |path: &Path, e: std::io::Error| DataErrors {
        errors: vec![FileError::new(
            &SourceFile {
                name: path.display().to_string(),
                text: String::new(),
            },
            0..0,
            format!("cannot read {}: {e}", path.display()),
        )],
    };
    let entries = std::fs::read_dir(dir).map_err(|e| unreadable(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| unreadable(dir, e))?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).map_err(|e| unreadable(&path, e))?;
            files.push(SourceFile {
                name: path.display().to_string(),
                text,
            });
        }
    }
    load_files(files)
}

/// Loads a registry (`requirements.toml`) and case files from their texts (what `load_dir`
/// reads; also the fuzz target's door).
pub fn load_files(mut files: Vec<SourceFile>) -> Result<CaseSet, DataErrors> {
    files.sort_by(|a, b| a.name.cmp(&b.name));
    let is_registry = |f: &SourceFile| Path::new(&f.name).file_name().is_some_and(|n| n == REGISTRY_FILE);
    let Some(registry_file) = files.iter().find(|f| is_registry(f)) else {
        let missing = SourceFile {
            name: REGISTRY_FILE.to_owned(),
            text: String::new(),
        };
        return Err(DataErrors {
            errors: vec![FileError::new(&missing, 0..0, "the requirement registry is missing")],
        });
    };
    let registry = Registry::parse(registry_file).map_err(|errors| DataErrors { errors })?;
    let schemas = Schemas::embedded();
    let mut errors = Vec::new();
    let mut cases = Vec::new();
    // (requirement, version) -> where its case is, to refuse a second one.
    let mut seen: HashMap<(String, SpecVersion), String> = HashMap::new();
    for file in files.iter().filter(|f| !is_registry(f)) {
        let spec: CaseFileSpec = match toml::from_str(&file.text) {
            Ok(spec) => spec,
            Err(e) => {
                errors.push(FileError::from_toml(file, &e));
                continue;
            }
        };
        let mut converter = Converter {
            file,
            registry: &registry,
            schemas: &schemas,
            errors: Vec::new(),
        };
        let converted = converter.file(spec);
        errors.append(&mut converter.errors);
        for (case, span) in converted {
            let versions = registry
                .get(&case.requirement)
                .map(|r| r.versions.clone())
                .unwrap_or_default();
            let versions = case.versions.clone().unwrap_or(versions);
            let mut duplicate = None;
            for v in versions {
                let here = format!("{}:{}", file.name, line_of(&file.text, span.start));
                if let Some(first) = seen.insert((case.requirement.clone(), v), here) {
                    duplicate = Some((v, first));
                }
            }
            match duplicate {
                Some((v, first)) => errors.push(
                    FileError::new(
                        file,
                        span,
                        format!("a second case for `{}` under {v}", case.requirement),
                    )
                    .with_help(format!(
                        "the first is at {first}; one verdict per requirement and version"
                    )),
                ),
                None => cases.push(case),
            }
        }
    }
    if errors.is_empty() {
        Ok(CaseSet { registry, cases })
    } else {
        Err(DataErrors { errors })
    }
}

/// The registry as embedded, for tests that load extra case files beside it.
#[cfg(test)]
pub(crate) fn embedded_registry() -> SourceFile {
    let file = CASES
        .get_file(REGISTRY_FILE)
        .expect("cases/requirements.toml is embedded");
    SourceFile {
        name: format!("cases/{REGISTRY_FILE}"),
        text: String::from_utf8_lossy(file.contents()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One snapshot per malformed case file in `fixtures/bad-cases/`: the diagnostic shows
    /// file, line and caret, and loading never panics.
    #[test]
    fn bad_case_files_get_diagnostics() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bad-cases");
        let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        assert!(names.len() >= 10, "bad-case fixtures present");
        for path in names {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let file = SourceFile {
                name: format!("fixtures/bad-cases/{name}.toml"),
                text: std::fs::read_to_string(&path).unwrap(),
            };
            let errors = match load_files(vec![embedded_registry(), file]) {
                Ok(_) => panic!("{name}: a bad case file loaded"),
                Err(errors) => errors,
            };
            let out = errors.render(false);
            crate::tests::support::snapshot_settings().bind(|| {
                insta::assert_snapshot!(format!("bad-case-{name}"), out);
            });
        }
    }

    #[test]
    fn the_embedded_cases_load() {
        let set = load_embedded().unwrap_or_else(|e| panic!("{}", e.render(false)));
        assert!(set.registry.len() > 100);
        assert!(set.cases.len() >= 25);
    }
}
