//! Every name a run fills in is one the case language declares: a variable a step records or
//! a placeholder it fills, so a case can name it and the loader can check the name.

use std::collections::BTreeSet;

use crate::case::{self, placeholders};
use crate::config::TargetConfig;
use crate::discovery::Target;
use crate::http::{HttpClient, redact::Redactor};
use crate::reference::Reference;
use crate::run::{self, Context};
use crate::spec::SpecVersion;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_name_a_run_fills_is_declared() {
    let cases = case::load_embedded().expect("embedded cases load");
    let reference = Reference::start(&[]).await.expect("reference target starts");
    let mut undeclared = BTreeSet::new();
    for version in SpecVersion::ALL {
        let client = HttpClient::new(std::time::Duration::from_secs(20), Redactor::default()).expect("client");
        let target = Target::new(&reference.mcp_url, version).expect("target URL");
        let mut config = TargetConfig::default();
        reference.fill_config(&mut config);
        let ctx = Context::with_config(client, target, config);
        let mut names: BTreeSet<String> = ctx.globals().into_keys().collect();
        for planned in run::plan(&cases, version, None) {
            for step in planned.case.steps() {
                for obs in ctx.observe(&step, &planned.requirement.id).await.iter() {
                    names.extend(obs.vars.keys().cloned());
                }
            }
        }
        undeclared.extend(
            names
                .into_iter()
                .filter(|n| !placeholders::is_declared(n) && !placeholders::is_variable(n)),
        );
    }
    assert!(
        undeclared.is_empty(),
        "filled but declared nowhere (src/case/placeholders.rs): {undeclared:?}"
    );
}
