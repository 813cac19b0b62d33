//! Progress of a long pass (the first run's backfill): done/total, rate and ETA — on a terminal
//! as one line redrawn in place (the log lines clear it and it comes back at the next step), as
//! log lines otherwise, at most one every ten seconds.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often a line is written to a log.
const EVERY: Duration = Duration::from_secs(10);

/// A progress line is on the terminal, not ended by a newline: a log line must clear it first
/// (the command's logger reads this).
pub static ON_SCREEN: AtomicBool = AtomicBool::new(false);

/// Clear the progress line if one is on the terminal (before a log line is written there).
pub fn clear_terminal_line(out: &mut dyn Write) -> std::io::Result<()> {
    if ON_SCREEN.swap(false, Ordering::SeqCst) {
        out.write_all(b"\r\x1b[2K")?;
    }
    Ok(())
}

/// The progress of one pass over `total` accounts.
pub struct Progress {
    total: usize,
    done: usize,
    started: Instant,
    last: Instant,
    /// Standard error is a terminal: redraw one line instead of logging.
    terminal: bool,
}

impl Progress {
    /// Start counting.
    pub fn new(total: usize) -> Progress {
        let now = Instant::now();
        Progress { total, done: 0, started: now, last: now, terminal: std::io::stderr().is_terminal() }
    }

    /// `n` more accounts checked; `pushed` of them in all so far. Draws the line on a terminal;
    /// logs it when a line is due otherwise.
    pub fn advance(&mut self, n: usize, pushed: usize, tag: &str) {
        self.done += n;
        if self.terminal && self.total > 0 {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2Ksync{tag}: {}", self.line(pushed));
            let _ = err.flush();
            ON_SCREEN.store(true, Ordering::SeqCst);
        } else if self.last.elapsed() >= EVERY && self.done < self.total {
            self.last = Instant::now();
            log::info!("sync{tag}: {}", self.line(pushed));
        }
    }

    /// The pass ended: end the terminal's line (it stays, as the last word on the pass).
    pub fn finish(&self) {
        if self.terminal && ON_SCREEN.swap(false, Ordering::SeqCst) {
            let _ = writeln!(std::io::stderr().lock());
        }
    }

    /// `done/total (percent), rate, ETA`.
    pub fn line(&self, pushed: usize) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = self.done as f64 / secs;
        let left = self.total.saturating_sub(self.done) as f64;
        let eta = if rate > 0.0 { format!("{:.0} s", left / rate) } else { "unknown".into() };
        let percent = if self.total == 0 { 100.0 } else { 100.0 * self.done as f64 / self.total as f64 };
        format!(
            "{}/{} accounts checked ({percent:.1} %), {pushed} pushed, {rate:.1} accounts/s, ETA {eta}",
            self.done, self.total
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_line_names_done_total_rate_and_eta() {
        let mut p = super::Progress::new(200);
        p.advance(50, 10, "");
        let line = p.line(10);
        assert!(line.starts_with("50/200 accounts checked (25.0 %), 10 pushed, "), "{line}");
        assert!(line.contains("accounts/s, ETA "), "{line}");
    }
}
