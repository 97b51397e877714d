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
    /// The sentence (at most 40 words) of the cited text that sets the level.
    pub normative: String,
    /// Where `normative` is quoted from, when not the row's `section`.
    pub quoted_from: Option<String>,
    /// Per-version override of `normative` (where `levels` differ).
    pub normatives: BTreeMap<SpecVersion, String>,
    /// The duty on the server is inferred from the quote (a definition, a client's duty),
    /// not stated.
    pub derived: bool,
    /// Why no check can judge the row from outside the server (one line); such a row has no
    /// case.
    pub untestable: Option<String>,
    /// The row whose check gives this row's verdict: the same behaviour, judged once (one
    /// behaviour, one verdict); such a row has no case of its own.
    pub judged_by: Option<String>,
}

impl Requirement {
    pub fn applies_to(&self, version: SpecVersion) -> bool {
        self.versions.contains(&version)
    }

    pub fn level_for(&self, version: SpecVersion) -> Level {
        self.levels.get(&version).copied().unwrap_or(self.level)
    }

    pub fn normative_for(&self, version: SpecVersion) -> &str {
        self.normatives.get(&version).unwrap_or(&self.normative)
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
    normative: Spanned<String>,
    quoted_from: Option<String>,
    #[serde(default)]
    normatives: BTreeMap<SpecVersion, String>,
    #[serde(default)]
    derived: bool,
    untestable: Option<String>,
    judged_by: Option<Spanned<String>>,
}

/// A level is only as strong as the sentence it quotes: a MUST needs an upper-case MUST,
/// REQUIRED or SHALL in its quote, a SHOULD at least SHOULD or RECOMMENDED (RFC 2119), in
/// every version the row applies to; a quote has at most 40 words.
fn unsupported_level(row: &RequirementRow) -> Option<String> {
    let versions = row.versions.get_ref();
    for &version in versions {
        let level = row.levels.get(&version).copied().unwrap_or(row.level);
        let quote = row.normatives.get(&version).unwrap_or(row.normative.get_ref());
        if quote.split_whitespace().count() > 40 {
            return Some(format!("`normative` for {version} has more than 40 words"));
        }
        if keyword_strength(quote) < keyword_strength(level.as_str()) {
            return Some(format!(
                "the level for {version} is {level}, but its `normative` quote has no upper-case keyword that strong \
                 (MUST, REQUIRED or SHALL for a MUST; SHOULD or RECOMMENDED for a SHOULD): make the row MAY or quote \
                 the sentence that says so"
            ));
        }
    }
    None
}

/// 2 for a MUST-class RFC 2119 keyword in `text`, 1 for a SHOULD-class one, else 0.
fn keyword_strength(text: &str) -> u8 {
    let words: Vec<&str> = text.split(|c: char| !c.is_ascii_alphabetic()).collect();
    let has = |set: &[&str]| words.iter().any(|w| set.contains(w));
    if has(&["MUST", "REQUIRED", "SHALL"]) {
        2
    } else if has(&["SHOULD", "RECOMMENDED"]) {
        1
    } else {
        0
    }
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
        let mut judges = Vec::new();
        for row in rows.requirement {
            let span = row.id.span();
            let id = row.id.get_ref().clone();
            if registry.by_id.contains_key(&id) {
                errors.push(FileError::new(file, span, format!("duplicate requirement id `{id}`")));
                continue;
            }
            if row.versions.get_ref().is_empty() {
                errors.push(FileError::new(file, row.versions.span(), "`versions` is empty"));
                continue;
            }
            if row.untestable.is_some() && row.judged_by.is_some() {
                let why = "a row is `untestable` or `judged_by` another, not both";
                errors.push(FileError::new(file, span, why));
                continue;
            }
            if row
                .untestable
                .as_deref()
                .is_some_and(|u| u.trim().is_empty() || u.contains('\n'))
            {
                let why = "`untestable` is one line saying why no check can judge the row";
                errors.push(FileError::new(file, span, why));
                continue;
            }
            if let Some(why) = unsupported_level(&row) {
                errors.push(FileError::new(file, row.normative.span(), why));
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
                normative: row.normative.into_inner(),
                quoted_from: row.quoted_from,
                normatives: row.normatives,
                derived: row.derived,
                untestable: row.untestable,
                judged_by: row.judged_by.as_ref().map(|j| j.get_ref().clone()),
            });
            judges.extend(row.judged_by);
        }
        // The judging row gives verdicts of its own: it exists, and is neither untestable nor
        // judged elsewhere (nor this row).
        for judge in judges {
            let why = match registry.get(judge.get_ref()) {
                None => Some("is not a requirement id"),
                Some(r) if r.untestable.is_some() => Some("is marked untestable"),
                Some(r) if r.judged_by.is_some() => Some("is itself judged by another row"),
                Some(_) => None,
            };
            if let Some(why) = why {
                let message = format!("`judged_by` names `{}`, which {why}", judge.get_ref());
                errors.push(FileError::new(file, judge.span(), message));
            }
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

#[cfg(test)]
mod tests {
    use super::keyword_strength;

    #[test]
    fn a_quote_supports_a_level_only_through_upper_case_keywords() {
        assert_eq!(keyword_strength("The AS MUST refuse it."), 2);
        assert_eq!(
            keyword_strength("client_id REQUIRED. OAuth 2.0 client identifier string."),
            2
        );
        assert_eq!(keyword_strength("the server SHOULD respond with 403"), 1);
        assert_eq!(keyword_strength("use of this is RECOMMENDED"), 1);
        assert_eq!(keyword_strength("it should reject the request"), 0);
        assert_eq!(keyword_strength("MUSTARD is not a keyword"), 0);
        assert_eq!(keyword_strength("The AS MAY ignore it."), 0);
    }

    /// Every MUST and SHOULD of the registry quotes a sentence that says so.
    #[test]
    fn every_level_of_the_embedded_registry_rests_on_its_quote() {
        let cases = crate::case::load_embedded().expect("embedded cases load");
        assert!(cases.registry.iter().all(|r| !r.normative.is_empty()));
    }
}
