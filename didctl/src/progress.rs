//! The import progress bar, on stderr so stdout stays parseable: redrawn in
//! place on a terminal, one line per request otherwise (logs, pipes, CI).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often a terminal bar is redrawn at most.
const REDRAW: Duration = Duration::from_millis(100);
const WIDTH: usize = 30;

pub struct Progress {
    total: u64,
    done: u64,
    tty: bool,
    enabled: bool,
    start: Instant,
    last_draw: Option<Instant>,
    drawn: bool,
}

/// What the server answered so far.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub imported: u64,
    pub already_present: u64,
    pub rejected: u64,
    pub requests: u64,
}

impl Progress {
    /// `total` inputs (numbers, plus one per unreadable entry) to send.
    pub fn new(total: u64, enabled: bool) -> Progress {
        Progress {
            total: total.max(1),
            done: 0,
            tty: std::io::stderr().is_terminal(),
            enabled,
            start: Instant::now(),
            last_draw: None,
            drawn: false,
        }
    }

    /// Counts `n` inputs a request carried: a line on a non-terminal.
    pub fn advance(&mut self, n: u64, counts: &Counts) {
        self.step(n, counts, true);
    }

    /// Counts `n` inputs handled without a request (rows rejected locally).
    pub fn skip(&mut self, n: u64, counts: &Counts) {
        self.step(n, counts, false);
    }

    fn step(&mut self, n: u64, counts: &Counts, line: bool) {
        self.done = (self.done + n).min(self.total);
        if !self.enabled {
            return;
        }
        if self.tty {
            let due = self.last_draw.is_none_or(|t| t.elapsed() >= REDRAW);
            if due || self.done == self.total {
                self.draw(counts);
            }
        } else if line {
            eprintln!("{}", self.line(counts));
        }
    }

    fn draw(&mut self, counts: &Counts) {
        let filled = (self.done as u128 * WIDTH as u128 / self.total as u128) as usize;
        let bar: String = "#".repeat(filled) + &"-".repeat(WIDTH - filled);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K[{bar}] {}", self.line(counts));
        let _ = err.flush();
        self.last_draw = Some(Instant::now());
        self.drawn = true;
    }

    fn line(&self, c: &Counts) -> String {
        let pct = self.done as f64 * 100.0 / self.total as f64;
        let secs = self.start.elapsed().as_secs_f64();
        let rate = if secs > 0.0 { self.done as f64 / secs } else { 0.0 };
        format!(
            "import {pct:5.1}%  {}/{} numbers  imported {}  already present {}  rejected {}  requests {}  {rate:.0}/s",
            self.done, self.total, c.imported, c.already_present, c.rejected, c.requests
        )
    }

    /// Ends the bar's line on a terminal.
    pub fn finish(&mut self, counts: &Counts) {
        if self.enabled && self.tty {
            if !self.drawn || self.done < self.total {
                self.draw(counts);
            }
            eprintln!();
        }
    }
}
