//! The words every document report shares: the headline, the seed, a requirement's area.

use crate::verdict::RunReport;

/// `Spec V[ (auto: why)][, client by R[ (auto: why)]], started T[, seed N]: counts.`, the
/// first line of the Markdown and HTML reports.
pub(super) fn headline(report: &RunReport) -> String {
    let s = &report.summary;
    let chosen = match &report.spec_version_chosen {
        Some(why) => format!(" (auto: {why})"),
        None => String::new(),
    };
    format!(
        "Spec {}{chosen}{}, started {}{}: {} pass, {} fail, {} warn, {} skip, {} error.",
        report.spec_version,
        registration_note(report),
        report.started_at,
        seed_note(report.seed),
        s.pass,
        s.fail,
        s.warn,
        s.skip,
        s.error
    )
}

/// `, client by R[ (auto: why)]` once a flow ran, else nothing.
pub(super) fn registration_note(report: &RunReport) -> String {
    let Some(registration) = &report.registration else {
        return String::new();
    };
    match &report.registration_chosen {
        Some(why) => format!(", client by {registration} (auto: {why})"),
        None => format!(", client by {registration}"),
    }
}

/// `, seed N` for a seeded run (`run --seed`), else nothing: every format names the seed.
pub(super) fn seed_note(seed: Option<u64>) -> String {
    seed.map(|n| format!(", seed {n}")).unwrap_or_default()
}

/// A requirement's area: its id up to the second dot (`rs.challenge.401-no-token` ->
/// `rs.challenge`).
pub(super) fn area(id: &str) -> &str {
    match id.match_indices('.').nth(1) {
        Some((i, _)) => &id[..i],
        None => id,
    }
}
