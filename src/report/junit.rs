//! JUnit XML (quick-junit): one test suite per requirement area, one test case per verdict.
//! `fail` is a JUnit failure, `error` a JUnit error, `skip` skipped; a `warn` passes in JUnit
//! (it does not fail the run) and says so in a property and in system-out.

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::verdict::RunReport;
use crate::verdict::{Outcome, Verdict};

pub fn render(report: &RunReport) -> String {
    let mut junit = Report::new(report.tool.name.as_ref());
    let mut suites: Vec<TestSuite> = Vec::new();
    for verdict in &report.verdicts {
        let area = super::headline::area(&verdict.requirement);
        let index = match suites.iter().position(|s| s.name.as_str() == area) {
            Some(i) => i,
            None => {
                let mut suite = TestSuite::new(area);
                suite.add_property(Property::new("spec_version", report.spec_version.as_str()));
                suite.add_property(Property::new("target", report.target.as_str()));
                if let Some(why) = &report.spec_version_chosen {
                    suite.add_property(Property::new("spec_version_chosen", why.as_str()));
                }
                if let Some(seed) = report.seed {
                    suite.add_property(Property::new("seed", seed.to_string()));
                }
                if let Some(registration) = &report.registration {
                    suite.add_property(Property::new("registration", registration.as_str()));
                }
                if let Some(why) = &report.registration_chosen {
                    suite.add_property(Property::new("registration_chosen", why.as_str()));
                }
                suites.push(suite);
                suites.len() - 1
            }
        };
        suites[index].add_test_case(test_case(verdict, area));
    }
    junit.add_test_suites(suites);
    junit.to_string().unwrap_or_default()
}

fn test_case(v: &Verdict, area: &str) -> TestCase {
    let status = match v.outcome {
        // Accepted by the baseline: visible, not failing the job.
        _ if v.expected_failure.is_some() => {
            let mut s = TestCaseStatus::skipped();
            let reason = v.expected_failure.as_deref().unwrap_or_default();
            s.set_message(format!(
                "expected {}: {reason}: {}",
                v.outcome.as_str(),
                first_line(&v.message)
            ));
            s
        }
        // Passes, yet the baseline expects it to fail: the run fails until the entry goes.
        Outcome::Pass if v.stale_expected_failure.is_some() => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let reason = v.stale_expected_failure.as_deref().unwrap_or_default();
            s.set_message(format!(
                "stale expected failure: passes now; remove it from the baseline ({reason})"
            ));
            s.set_type("stale");
            s
        }
        Outcome::Pass | Outcome::Warn => TestCaseStatus::success(),
        Outcome::Skip => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(v.message.as_str());
            s
        }
        Outcome::Fail | Outcome::Error => {
            let kind = if v.outcome == Outcome::Fail {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut s = TestCaseStatus::non_success(kind);
            s.set_message(first_line(&v.message));
            s.set_type(v.level.as_str());
            s.set_description(format!("{}\n\n{}", v.message, evidence_text(v)));
            s
        }
    };
    let mut case = TestCase::new(v.requirement.as_str(), status);
    case.set_classname(area);
    case.add_property(Property::new("requirement", v.requirement.as_str()));
    case.add_property(Property::new("level", v.level.as_str()));
    case.add_property(Property::new("section", v.section.as_str()));
    case.add_property(Property::new("url", v.url.as_str()));
    case.add_property(Property::new("normative", v.normative.as_str()));
    case.add_property(Property::new("derived", if v.derived { "true" } else { "false" }));
    case.add_property(Property::new("outcome", v.outcome.as_str()));
    if v.outcome == Outcome::Warn {
        case.set_system_out(format!("warn ({}): {}", v.level, v.message));
    }
    case
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn evidence_text(v: &Verdict) -> String {
    let mut text = v.evidence.iter().map(|e| e.to_text()).collect::<Vec<_>>().join("\n");
    if let Some(curl) = v.reproducer() {
        text.push_str(&format!("\nreproduce: {curl}\n"));
    }
    text
}
