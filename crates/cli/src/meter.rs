//! Progress for people, on stderr.

use std::io::IsTerminal;

/// Progress for people: a bar on a terminal, a plain line now and then otherwise.
pub(super) struct Meter {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
    done: usize,
    every: usize,
    shown: bool,
}

impl Meter {
    pub(super) fn new(total: usize, already: usize, shown: bool) -> Self {
        let bar = (shown && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "reconcile {bar:30} {pos}/{len} orders  {per_sec}  eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_position(already as u64);
            bar
        });
        Self {
            bar,
            total,
            done: already,
            every: (total / 20).max(1),
            shown,
        }
    }

    pub(super) fn tick(&mut self) {
        self.done += 1;
        match &self.bar {
            Some(bar) => bar.inc(1),
            None if self.shown && (self.done % self.every == 0 || self.done == self.total) => {
                eprintln!("reconcile: {}/{} orders", self.done, self.total);
            }
            None => {}
        }
    }

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
