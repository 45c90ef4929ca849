//! Progress bars on stderr (indicatif), shown only when stderr is a terminal and the user did
//! not ask for `--quiet`; otherwise every call is a no-op. Stage timings are kept either way,
//! for the run summary.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress reporting and stage timing for one run.
#[derive(Debug)]
pub struct Progress {
    visible: bool,
    timings: std::sync::Mutex<Vec<(String, Duration)>>,
    /// Stages run on a thread of their own beside the others ([`Progress::beside`]), kept
    /// apart so that the stages' order does not depend on which finished first.
    beside: std::sync::Mutex<Vec<(String, Duration)>>,
}

impl Progress {
    /// Visible when `!quiet` and stderr is a terminal.
    pub fn new(quiet: bool) -> Progress {
        Progress {
            visible: !quiet && std::io::stderr().is_terminal(),
            timings: Default::default(),
            beside: Default::default(),
        }
    }

    /// Never draws.
    pub fn hidden() -> Progress {
        Progress::new(true)
    }

    /// A byte-count bar for reading a file of `total` bytes.
    pub fn bytes(&self, label: &str, total: u64) -> ProgressBar {
        if !self.visible {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{msg:>20} [{bar:30}] {bytes}/{total_bytes} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(label.to_string());
        bar
    }

    /// Runs one pipeline stage under a spinner and records its wall time.
    pub fn stage<T>(&self, label: &str, f: impl FnOnce() -> T) -> T {
        let spinner = if self.visible {
            let s = ProgressBar::new_spinner();
            s.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            s.set_message(label.to_string());
            s.enable_steady_tick(Duration::from_millis(120));
            s
        } else {
            ProgressBar::hidden()
        };
        let start = Instant::now();
        let out = f();
        let elapsed = start.elapsed();
        spinner.finish_and_clear();
        if let Ok(mut t) = self.timings.lock() {
            t.push((label.to_string(), elapsed));
        }
        out
    }

    /// Runs a stage that goes on beside the others (on a thread of its own): timed like
    /// [`Progress::stage`], without a spinner of its own.
    pub fn beside<T>(&self, label: &str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        let elapsed = start.elapsed();
        if let Ok(mut t) = self.beside.lock() {
            t.push((label.to_string(), elapsed));
        }
        out
    }

    /// `(stage, seconds)` in the order the stages ran (not those run beside them).
    pub fn timings(&self) -> Vec<(String, f64)> {
        seconds(&self.timings)
    }

    /// `(stage, seconds)` of the stages run beside the others, in the order they ran.
    pub fn beside_timings(&self) -> Vec<(String, f64)> {
        seconds(&self.beside)
    }
}

fn seconds(timings: &std::sync::Mutex<Vec<(String, Duration)>>) -> Vec<(String, f64)> {
    timings
        .lock()
        .map(|t| {
            t.iter()
                .map(|(l, d)| (l.clone(), d.as_secs_f64()))
                .collect()
        })
        .unwrap_or_default()
}
