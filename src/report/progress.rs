//! The progress bar of a run on a terminal (indicatif, on stderr): how many verdicts are in,
//! and which case the run waits for. The verdict lines follow once all are in, exactly as
//! they print without a terminal, so the two consoles never differ in what they say.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
    /// The requirement ids still running, in plan order (one entry per target in a matrix).
    pending: Mutex<Vec<String>>,
}

impl Progress {
    /// A bar for these cases, or none: not on a terminal (CI logs get plain lines) or under
    /// `--quiet`.
    pub fn on_terminal(quiet: bool, cases: impl IntoIterator<Item = String>) -> Option<Progress> {
        let terminal = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        (terminal && !quiet).then(|| Progress::new(ProgressBar::new(0), cases))
    }

    fn new(bar: ProgressBar, cases: impl IntoIterator<Item = String>) -> Progress {
        let pending: Vec<String> = cases.into_iter().collect();
        bar.set_length(pending.len() as u64);
        let style = ProgressStyle::with_template("{spinner} [{elapsed}] {bar:30} {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        // Ticks on its own: a slow check (a code held for minutes) still shows time passing.
        bar.enable_steady_tick(Duration::from_millis(120));
        let progress = Progress {
            bar,
            pending: Mutex::new(pending),
        };
        progress.show_waiting();
        progress
    }

    /// One more verdict, for `requirement`.
    pub fn done(&self, requirement: &str) {
        {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(at) = pending.iter().position(|id| id == requirement) {
                pending.remove(at);
            }
        }
        self.bar.inc(1);
        self.show_waiting();
    }

    /// Removes the bar (the verdict lines take its place).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn show_waiting(&self) {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        self.bar.set_message(waiting_for(&pending));
    }

    #[cfg(test)]
    fn message(&self) -> String {
        self.bar.message()
    }
}

/// `waiting for as.code.lifetime and 2 more`, or nothing once all are in.
fn waiting_for(pending: &[String]) -> String {
    match pending {
        [] => String::new(),
        [one] => format!("waiting for {one}"),
        [first, rest @ ..] => format!("waiting for {first} and {} more", rest.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::ProgressDrawTarget;

    #[test]
    fn the_bar_counts_verdicts_and_names_what_it_waits_for() {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        let ids = ["rs.a", "as.b", "as.c"].map(String::from);
        let progress = Progress::new(bar.clone(), ids);
        assert_eq!(progress.message(), "waiting for rs.a and 2 more");
        progress.done("as.b");
        progress.done("rs.a");
        assert_eq!((bar.position(), bar.length()), (2, Some(3)));
        assert_eq!(progress.message(), "waiting for as.c");
        progress.done("as.c");
        assert_eq!(progress.message(), "");
        progress.finish();
    }
}
