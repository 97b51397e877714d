//! The requirement registry: every spec requirement the suite knows, with its level, the spec
//! versions it applies to, its source section and URL. Loaded from `cases/requirements.toml`.
//! Ids never change once used: reports, baselines and CI jobs refer to them.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::{FileError, SourceFile};
use crate::spec::{Level, SpecVersion};

#[derive(Debug, Clone)]
pub struct Requirement {
    pub id: String,
    pub level: Level,
    pub levels: BTreeMap<SpecVersion, Level>,
    pub versions: Vec<SpecVersion>,
    pub title: String,
    pub section: String,
    pub url: String,
    pub urls: BTreeMap<SpecVersion, String>,
    pub note: Option<String>,
}

impl Requirement {
    pub fn applies_to(&self, version: SpecVersion) -> bool {
        self.versions.contains(&version)
    }

    pub fn level_for(&self, version: SpecVersion) -> Level {
        self.levels.get(&version).copied().unwrap_or(self.level)
    }

    pub fn url_for(&self, version: SpecVersion) -> String {
        let url = self.urls.get(&version).unwrap_or(&self.url);
        url.replace("{version}", version.as_str())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    requirement: Vec<RequirementRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequirementRow {
    id: Spanned<String>,
    level: Level,
    versions: Spanned<Vec<SpecVersion>>,
    title: String,
    section: String,
    url: String,
    #[serde(default)]
    levels: BTreeMap<SpecVersion, Level>,
    #[serde(default)]
    urls: BTreeMap<SpecVersion, String>,
    note: Option<String>,
}

/// All requirements, in registry order.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    requirements: Vec<Requirement>,
    by_id: HashMap<String, usize>,
}

impl Registry {
    pub fn parse(file: &SourceFile) -> Result<Registry, Vec<FileError>> {
        let rows: RegistryFile = toml::from_str(&file.text).map_err(|e| vec![FileError::from_toml(file, &e)])?;
        let mut registry = Registry::default();
        let mut errors = Vec::new();
        for row in rows.requirement {
            let span = row.id.span();
            let id = row.id.into_inner();
            if registry.by_id.contains_key(&id) {
                errors.push(FileError::new(file, span, format!("duplicate requirement id `{id}`")));
                continue;
            }
            if row.versions.get_ref().is_empty() {
                errors.push(FileError::new(file, row.versions.span(), "`versions` is empty"));
                continue;
            }
            registry.by_id.insert(id.clone(), registry.requirements.len());
            registry.requirements.push(Requirement {
                id,
                level: row.level,
                levels: row.levels,
                versions: row.versions.into_inner(),
                title: row.title,
                section: row.section,
                url: row.url,
                urls: row.urls,
                note: row.note,
            });
        }
        if errors.is_empty() { Ok(registry) } else { Err(errors) }
    }

    pub fn get(&self, id: &str) -> Option<&Requirement> {
        self.by_id.get(id).map(|&i| &self.requirements[i])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Requirement> {
        self.requirements.iter()
    }

    pub fn len(&self) -> usize {
        self.requirements.len()
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}
