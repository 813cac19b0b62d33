//! Progress of a long pass (the first run's backfill): done/total, rate and ETA as log lines,
//! at most one every ten seconds.

use std::time::{Duration, Instant};

/// How often a line is written.
const EVERY: Duration = Duration::from_secs(10);

/// The progress of one pass over `total` accounts.
pub struct Progress {
    total: usize,
    done: usize,
    started: Instant,
    last: Instant,
}

impl Progress {
    /// Start counting.
    pub fn new(total: usize) -> Progress {
        let now = Instant::now();
        Progress { total, done: 0, started: now, last: now }
    }

    /// `n` more accounts checked; `pushed` of them in all so far. Logs when a line is due.
    pub fn advance(&mut self, n: usize, pushed: usize, tag: &str) {
        self.done += n;
        if self.last.elapsed() >= EVERY && self.done < self.total {
            self.last = Instant::now();
            log::info!("sync{tag}: {}", self.line(pushed));
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
