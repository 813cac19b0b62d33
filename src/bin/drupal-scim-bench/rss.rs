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

/// CPU time (user + system) a process has used so far, in milliseconds; 0 when unknown.
pub fn cpu_ms(pid: u32) -> u64 {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0 };
    // The command name may hold spaces: the fields start after its closing parenthesis.
    let Some(rest) = text.rfind(')').map(|i| &text[i + 1..]) else { return 0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; clock ticks
    // of 10 ms on Linux (USER_HZ = 100).
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) * 10
}

/// CPU used by the server, the database and this client between two points.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    pub server: u64,
    pub db: u64,
    pub client: u64,
}

impl Cpu {
    pub fn now(server: u32, db: u32) -> Cpu {
        Cpu { server: cpu_ms(server), db: cpu_ms(db), client: cpu_ms(std::process::id()) }
    }

    pub fn since(self, before: Cpu) -> Cpu {
        Cpu {
            server: self.server.saturating_sub(before.server),
            db: self.db.saturating_sub(before.db),
            client: self.client.saturating_sub(before.client),
        }
    }
}
