//! Progress for people, on stderr.

use std::io::IsTerminal;

/// Progress for people: a bar on a terminal, a plain line now and then otherwise.
#[derive(Debug)]
pub struct Meter {
    bar: Option<indicatif::ProgressBar>,
    command: &'static str,
    unit: &'static str,
    total: usize,
    done: usize,
    every: usize,
    shown: bool,
}

impl Meter {
    /// Progress of `command` over `total` things called `unit`, `already`
    /// of them done; nothing is shown unless `shown`.
    pub fn new(
        command: &'static str,
        unit: &'static str,
        total: usize,
        already: usize,
        shown: bool,
    ) -> Self {
        let bar = (shown && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(&format!(
                    "{command} {{bar:30}} {{pos}}/{{len}} {unit}  {{per_sec}}  eta {{eta}}"
                ))
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_position(already as u64);
            bar
        });
        Self {
            bar,
            command,
            unit,
            total,
            done: already,
            every: (total / 20).max(1),
            shown,
        }
    }

    /// How many are done.
    pub fn done(&self) -> usize {
        self.done
    }

    /// One more done.
    pub fn tick(&mut self) {
        self.done += 1;
        match &self.bar {
            Some(bar) => bar.inc(1),
            None if self.shown && (self.done % self.every == 0 || self.done == self.total) => {
                eprintln!(
                    "{}: {}/{} {}",
                    self.command, self.done, self.total, self.unit
                );
            }
            None => {}
        }
    }

    /// Clears the bar; the plain lines stay.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
