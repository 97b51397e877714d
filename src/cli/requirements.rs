//! `requirements`: the registry as text or JSON, or its coverage per version.

use std::path::PathBuf;

use mcp_auth_conformance::case::CaseSet;
use mcp_auth_conformance::spec::SpecVersion;
use mcp_auth_conformance::{exit, requirement::Requirement};

use super::args::ListFormat;
use super::load_cases;

pub(super) fn requirements_command(format: ListFormat, dir: Option<PathBuf>, coverage: bool) -> u8 {
    let cases = match load_cases(dir.as_ref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if coverage {
        print!("{}", coverage_table(&cases));
        return exit::OK;
    }
    let checked = |r: &Requirement| -> Vec<SpecVersion> {
        r.versions
            .iter()
            .copied()
            .filter(|v| cases.case_for(&r.id, *v).is_some())
            .collect()
    };
    match format {
        ListFormat::Json => {
            let rows: Vec<serde_json::Value> = cases
                .registry
                .iter()
                .map(|r| {
                    let checked = checked(r);
                    serde_json::json!({
                        "id": r.id,
                        "level": r.level,
                        "levels": r.levels,
                        "versions": r.versions,
                        "title": r.title,
                        "section": r.section,
                        "url": r.url_for(SpecVersion::LATEST),
                        "normative": r.normative,
                        "normatives": r.normatives,
                        "quoted_from": r.quoted_from,
                        "derived": r.derived,
                        "untestable": r.untestable,
                        "judged_by": r.judged_by,
                        "has_check": !checked.is_empty(),
                        "checked_versions": checked,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
        }
        ListFormat::Text => {
            for r in cases.registry.iter() {
                let versions: Vec<&str> = r.versions.iter().map(|v| v.as_str()).collect();
                let check = if checked(r).is_empty() { "-" } else { "check" };
                println!(
                    "{:<52} {:<10} {:<5} {}  {} <{}>",
                    r.id,
                    r.level.as_str(),
                    check,
                    versions.join(","),
                    r.section,
                    r.url_for(SpecVersion::LATEST)
                );
            }
        }
    }
    exit::OK
}

/// `requirements --coverage`: per version, the registry's rows, those with a check, those
/// another row's check judges, those no check can judge from outside (each with its reason),
/// and a list of the rest.
fn coverage_table(cases: &CaseSet) -> String {
    let mut table = String::from(
        "| spec version | requirements | with a check | judged by another row | untestable | without |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    let mut lists = String::new();
    for version in SpecVersion::ALL {
        let rows: Vec<&Requirement> = cases
            .registry
            .iter()
            .filter(|r| r.versions.contains(&version))
            .collect();
        let (checked, rest): (Vec<&Requirement>, Vec<&Requirement>) =
            rows.iter().partition(|r| cases.case_for(&r.id, version).is_some());
        // Judged by another row only where that row has a check in this version.
        let (judged, rest): (Vec<&Requirement>, Vec<&Requirement>) = rest.into_iter().partition(|r| {
            r.judged_by
                .as_ref()
                .is_some_and(|j| cases.case_for(j, version).is_some())
        });
        let (untestable, unchecked): (Vec<&Requirement>, Vec<&Requirement>) =
            rest.into_iter().partition(|r| r.untestable.is_some());
        table.push_str(&format!(
            "| {version} | {} | {} | {} | {} | {} |\n",
            rows.len(),
            checked.len(),
            judged.len(),
            untestable.len(),
            unchecked.len()
        ));
        lists.push_str(&format!("\n### Without a check in {version}\n\n"));
        for r in unchecked {
            lists.push_str(&format!("- `{}` ({}): {}\n", r.id, r.level_for(version), r.title));
        }
        lists.push_str(&format!("\n### Judged by another row in {version}\n\n"));
        for r in judged {
            let judge = r.judged_by.as_deref().unwrap_or_default();
            lists.push_str(&format!("- `{}` ({}): by `{judge}`\n", r.id, r.level_for(version)));
        }
        lists.push_str(&format!("\n### Untestable in {version}\n\n"));
        for r in untestable {
            let why = r.untestable.as_deref().unwrap_or_default();
            lists.push_str(&format!("- `{}` ({}): {why}\n", r.id, r.level_for(version)));
        }
    }
    table + &lists
}
