//! The server's memory: VmRSS sampled every 20 ms from /proc/<pid>/status, VmHWM at the end.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// A field of /proc/<pid>/status in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|rest| rest.strip_prefix(':')))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Samples the server's VmRSS in a thread of its own.
pub struct Sampler {
    pub pid: u32,
    window: Arc<AtomicU64>,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    pub fn start(pid: u32) -> Sampler {
        let window = Arc::new(AtomicU64::new(0));
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (w, p, s) = (window.clone(), peak.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(kib) = status_kib(pid, "VmRSS") {
                    w.fetch_max(kib, Ordering::Relaxed);
                    p.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Sampler { pid, window, peak, stop, handle: Some(handle) }
    }

    /// The highest VmRSS sampled since the last call (KiB).
    pub fn take_window(&self) -> u64 {
        let now = status_kib(self.pid, "VmRSS").unwrap_or(0);
        self.window.swap(now, Ordering::Relaxed).max(now)
    }

    /// The highest VmRSS sampled during the whole run (KiB).
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
