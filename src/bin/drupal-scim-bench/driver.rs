//! Closed-loop load: `c` workers take request numbers from a shared counter until `n` are done.
//! Each worker owns a state (an HTTP client handle, or its own database connection) that it moves
//! into each request and gets back.

use crate::rss::Cpu;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What one run of a phase measured.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Latency of every request, microseconds, sorted.
    pub latencies_us: Vec<u64>,
    pub failed: usize,
    /// The first few failures, for the report.
    pub errors: Vec<String>,
    pub wall: Duration,
    pub concurrency: usize,
    /// CPU the server, the database and this client used during the run.
    pub cpu: Cpu,
}

/// The processes whose CPU every run measures: (server, database).
pub static PIDS: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();

fn cpu_now() -> Cpu {
    let (server, db) = PIDS.get().copied().unwrap_or((0, 0));
    Cpu::now(server, db)
}

impl Sample {
    pub fn requests(&self) -> usize {
        self.latencies_us.len()
    }

    /// Requests per second over the wall time of the run.
    pub fn rate(&self) -> f64 {
        let secs = self.wall.as_secs_f64();
        if secs > 0.0 { self.requests() as f64 / secs } else { 0.0 }
    }

    /// Nearest-rank percentile in milliseconds.
    pub fn pct_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * self.latencies_us.len() as f64).ceil() as usize;
        let idx = rank.clamp(1, self.latencies_us.len()) - 1;
        self.latencies_us[idx] as f64 / 1000.0
    }

    /// CPU microseconds per request of (server, database, client).
    pub fn cpu_per_request_us(&self) -> (f64, f64, f64) {
        let n = self.requests().max(1) as f64;
        (self.cpu.server as f64 * 1000.0 / n, self.cpu.db as f64 * 1000.0 / n, self.cpu.client as f64 * 1000.0 / n)
    }

    pub fn max_ms(&self) -> f64 {
        self.latencies_us.last().map_or(0.0, |v| *v as f64 / 1000.0)
    }

    /// Two runs at the same concurrency as one: their requests, wall time and CPU added up.
    pub fn merge(mut self, other: Sample) -> Sample {
        self.latencies_us.extend(other.latencies_us);
        self.latencies_us.sort_unstable();
        self.failed += other.failed;
        self.errors.extend(other.errors);
        self.errors.truncate(5);
        self.wall += other.wall;
        self.cpu.server += other.cpu.server;
        self.cpu.db += other.cpu.db;
        self.cpu.client += other.cpu.client;
        self
    }
}

/// Run `n` requests with one worker per state (the concurrency is `states.len()`).
pub async fn run<S, F, Fut>(states: Vec<S>, n: usize, job: F) -> (Sample, Vec<S>)
where
    S: Send + 'static,
    F: Fn(S, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = (S, Result<(), String>)> + Send + 'static,
{
    let concurrency = states.len();
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let cpu_before = cpu_now();
    let started = Instant::now();
    let mut handles = Vec::with_capacity(concurrency);
    for state in states {
        let next = next.clone();
        let job = job.clone();
        handles.push(tokio::spawn(async move {
            let mut state = state;
            let mut lat = Vec::new();
            let mut failed = 0;
            let mut errors = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                let (s, result) = job(state, i).await;
                state = s;
                lat.push(t.elapsed().as_micros() as u64);
                if let Err(e) = result {
                    failed += 1;
                    if errors.len() < 3 {
                        errors.push(e);
                    }
                }
            }
            (state, lat, failed, errors)
        }));
    }
    let mut sample = Sample { concurrency, ..Sample::default() };
    let mut states = Vec::with_capacity(concurrency);
    for h in handles {
        let (state, lat, failed, errors) = h.await.expect("a load worker panicked");
        states.push(state);
        sample.latencies_us.extend(lat);
        sample.failed += failed;
        for e in errors {
            if sample.errors.len() < 5 {
                sample.errors.push(e);
            }
        }
    }
    sample.wall = started.elapsed();
    sample.cpu = cpu_now().since(cpu_before);
    sample.latencies_us.sort_unstable();
    (sample, states)
}
