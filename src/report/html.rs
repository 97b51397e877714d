//! HTML reports: one self-contained page (no external resources; one inline script for the
//! outcome filter) for a run or a matrix. Written by hand: two tables and an escape function
//! weigh less than a template engine.

use super::matrix::{Matrix, cell};
use crate::verdict::RunReport;
use crate::verdict::{Outcome, Verdict};

const STYLE: &str = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}\
.pass{background:#e6f4ea}.FAIL,.ERROR{background:#fce8e6}.warn{background:#fef7e0}\
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n{body}</body>\n</html>\n",
        escape(title),
        escape(title)
    )
}

/// Shows only the outcomes whose box is ticked (the page's one script).
const FILTER: &str = "<script>function show(){for(const b of document.querySelectorAll('input[data-o]'))\
for(const r of document.querySelectorAll('tr.'+b.dataset.o))r.hidden=!b.checked}</script>";

pub fn render(report: &RunReport) -> String {
    let mut body = format!(
        "<p>{}</p>\n{FILTER}\n<p>Show:",
        escape(&super::headline::headline(report))
    );
    for outcome in ["pass", "FAIL", "warn", "skip", "ERROR"] {
        body.push_str(&format!(
            " <label><input type=\"checkbox\" data-o=\"{outcome}\" checked onchange=\"show()\"> {outcome}</label>"
        ));
    }
    body.push_str("</p>\n");
    // One section per area (`rs.token`, `as.metadata`...), in the order of the run.
    let mut areas: Vec<(&str, Vec<&Verdict>)> = Vec::new();
    for v in &report.verdicts {
        let area = super::headline::area(&v.requirement);
        match areas.iter_mut().find(|(a, _)| *a == area) {
            Some((_, vs)) => vs.push(v),
            None => areas.push((area, vec![v])),
        }
    }
    for (area, verdicts) in areas {
        let count = |o: Outcome| verdicts.iter().filter(|v| v.outcome == o).count();
        body.push_str(&format!(
            "<h2>{}</h2>\n<p>{} pass, {} fail, {} warn, {} skip, {} error</p>\n",
            escape(area),
            count(Outcome::Pass),
            count(Outcome::Fail),
            count(Outcome::Warn),
            count(Outcome::Skip),
            count(Outcome::Error)
        ));
        body.push_str("<table>\n<tr><th>requirement</th><th>level</th><th>outcome</th><th>details</th></tr>\n");
        for v in verdicts {
            body.push_str(&row(v));
        }
        body.push_str("</table>\n");
    }
    page(&format!("MCP authorization conformance: {}", report.target), &body)
}

/// A verdict's row; a failure expands to its redacted exchanges and reproducer.
fn row(v: &Verdict) -> String {
    let word = cell(v.outcome);
    let shown = escape(&super::markdown::outcome_text(v));
    // Every verdict opens to what it rests on: the requirement and its redacted exchanges
    // (and, for a failure, the curl command that replays it).
    let summary = match v.message.lines().next() {
        Some(first) if !first.is_empty() => escape(first),
        _ => format!("{} exchange(s)", v.evidence.len()),
    };
    let mut evidence = format!(
        "{}\n{} ({})\n{}\n\n{}",
        v.title,
        v.section,
        v.case,
        v.quote(),
        v.message
    );
    for exchange in &v.evidence {
        evidence.push_str("\n\n");
        evidence.push_str(&exchange.to_text());
    }
    if matches!(v.outcome, Outcome::Fail | Outcome::Error)
        && let Some(curl) = v.reproducer()
    {
        evidence.push_str(&format!("\n\nreproduce (fill in what shows as [redacted]):\n{curl}"));
    }
    let details = format!(
        "<details><summary>{summary}</summary><pre>{}</pre></details>",
        escape(&evidence)
    );
    format!(
        "<tr class=\"{word}\"><td><a href=\"{}\"><code>{}</code></a></td><td>{}</td><td class=\"{word}\">{shown}</td><td>{details}</td></tr>\n",
        escape(&v.url),
        escape(&v.requirement),
        v.level,
    )
}

pub fn matrix(m: &Matrix) -> String {
    let mut body = String::from("<table>\n<tr><th>requirement</th><th>level</th>");
    for (name, _) in &m.columns {
        body.push_str(&format!("<th>{}</th>", escape(name)));
    }
    body.push_str("</tr>\n");
    for row in m.rows() {
        body.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td>",
            escape(&row.requirement),
            row.level
        ));
        for outcome in &row.cells {
            let word = outcome.map_or("", cell);
            body.push_str(&format!("<td class=\"{word}\">{word}</td>"));
        }
        body.push_str("</tr>\n");
    }
    body.push_str("<tr><th>pass/fail/warn/skip/error</th><th></th>");
    for (_, report) in &m.columns {
        let s = &report.summary;
        body.push_str(&format!(
            "<th>{}/{}/{}/{}/{}</th>",
            s.pass, s.fail, s.warn, s.skip, s.error
        ));
    }
    body.push_str("</tr>\n</table>\n");
    page(
        &format!(
            "MCP authorization conformance matrix (spec {}{})",
            m.spec_version,
            super::headline::seed_note(m.seed())
        ),
        &body,
    )
}

/// Text for HTML element content and attribute values (also the reference's pages).
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
