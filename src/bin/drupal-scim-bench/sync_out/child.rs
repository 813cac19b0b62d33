//! A `drupal-scim sync` process under measurement: the settings file it reads, its log, its
//! CPU time, and a stop by SIGTERM as an operator's would be.

use crate::rss;
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The settings of the sync process: a file, and its `[sync]` section as the report shows it.
pub struct SyncSettingsFile {
    pub path: PathBuf,
    /// The `[sync]` section without the token.
    pub shown: String,
}

/// What goes into the `[sync]` section besides the target and the token.
pub struct Tuning {
    pub concurrency: usize,
    pub max_rps: u32,
    /// None: the default.
    pub interval_secs: Option<u64>,
}

/// A TOML string literal.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Write the settings file of a sync from `source_url` to `base_url`.
pub fn write_settings(
    dir: &Path,
    mapping: &Path,
    source_url: &str,
    base_url: &str,
    token: &str,
    tuning: &Tuning,
) -> Result<SyncSettingsFile, String> {
    let mut sync = format!(
        "[sync]\nbase_url = {}\ntoken = \"…\"\nconcurrency = {}\nmax_rps = {}\n",
        quoted(base_url),
        tuning.concurrency,
        tuning.max_rps
    );
    if let Some(secs) = tuning.interval_secs {
        let _ = writeln!(sync, "interval_secs = {secs}");
    }
    // The source serves nothing here, but the settings need a signing secret.
    let secret: String = (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
    let text = format!(
        "mapping = {}\n\n[database]\nurl = {}\n\n[auth]\nsecret = {}\n\n{}",
        quoted(&mapping.display().to_string()),
        quoted(source_url),
        quoted(&secret),
        sync.replace("token = \"…\"", &format!("token = {}", quoted(token)))
    );
    let path = dir.join("drupal-scim-sync.toml");
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(SyncSettingsFile { path, shown: sync })
}

/// Which `drupal-scim sync` to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `sync --status`: builds the sync (its tables on the source), sends nothing.
    Status,
    /// `sync --once`: one full pass.
    Once,
    /// `sync`: the loop.
    Loop,
}

/// A running `drupal-scim sync`.
pub struct SyncProcess {
    child: Child,
    pub pid: u32,
    pub log: PathBuf,
    pub started: Instant,
    /// Where the pid is written while the process runs (scripts/bench.sh stops it if the bench dies).
    pid_file: PathBuf,
}

/// How a process ended.
pub struct Ended {
    pub status: ExitStatus,
    pub wall: Duration,
    /// CPU time (user + system) of the whole process, ms.
    pub cpu_ms: u64,
}

impl SyncProcess {
    /// Start `bin --config settings sync …`, its output (stdout and stderr) to `log`.
    pub fn start(bin: &Path, settings: &Path, mode: Mode, log: &Path, pid_file: &Path) -> Result<SyncProcess, String> {
        let out = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| format!("{}: {e}", log.display()))?;
        let mut cmd = Command::new(bin);
        cmd.arg("--config").arg(settings).arg("sync");
        match mode {
            Mode::Status => {
                cmd.arg("--status");
            }
            Mode::Once => {
                cmd.arg("--once");
            }
            Mode::Loop => {}
        }
        // Only the settings file counts: the bench's own DRUPAL_SCIM__* (the target's secret)
        // must not reach the source's settings.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("DRUPAL_SCIM") {
                cmd.env_remove(key);
            }
        }
        cmd.env("RUST_LOG", "info").stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd.spawn().map_err(|e| format!("{}: {e}", bin.display()))?;
        let pid = child.id();
        std::fs::write(pid_file, pid.to_string()).map_err(|e| format!("{}: {e}", pid_file.display()))?;
        Ok(SyncProcess {
            child,
            pid,
            log: log.to_path_buf(),
            started: Instant::now(),
            pid_file: pid_file.to_path_buf(),
        })
    }

    /// CPU time used so far, ms.
    pub fn cpu_ms(&self) -> u64 {
        rss::cpu_ms(self.pid)
    }

    /// Wait for the process to exit. `on_tick` runs every 10 s meanwhile (progress).
    pub async fn wait(&mut self, mut on_tick: impl FnMut(&SyncProcess)) -> Result<Ended, String> {
        let mut cpu = 0;
        let mut last_tick = Instant::now();
        loop {
            // Read before reaping: an exited child is a zombie whose /proc/<pid>/stat still
            // holds its final CPU times.
            cpu = rss::cpu_ms(self.pid).max(cpu);
            if let Some(status) = self.child.try_wait().map_err(|e| format!("waiting for sync: {e}"))? {
                let _ = std::fs::remove_file(&self.pid_file);
                return Ok(Ended { status, wall: self.started.elapsed(), cpu_ms: cpu });
            }
            if last_tick.elapsed() >= Duration::from_secs(10) {
                last_tick = Instant::now();
                on_tick(self);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The log's lines.
    pub fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().map(String::from).collect()
    }

    /// Wait until a log line contains `needle`; that line.
    pub async fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.lines().into_iter().find(|l| l.contains(needle)) {
                return Ok(line);
            }
            if let Some(status) = self.child.try_wait().map_err(|e| format!("sync: {e}"))? {
                return Err(format!("sync exited ({status}) before logging {needle:?}; see {}", self.log.display()));
            }
            if Instant::now() > deadline {
                return Err(format!("sync logged no {needle:?} within {} s", timeout.as_secs()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, and wait for the exit (up to 30 s, then SIGKILL).
    pub async fn stop(mut self) -> Result<Ended, String> {
        let cpu = self.cpu_ms();
        let sent = Command::new("kill").arg("-TERM").arg(self.pid.to_string()).status();
        if !sent.is_ok_and(|s| s.success()) {
            return Err(format!("could not send SIGTERM to sync (pid {})", self.pid));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut ended = None;
        while ended.is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            ended = self.child.try_wait().map_err(|e| format!("sync: {e}"))?;
        }
        let Some(status) = ended else {
            return Err(format!("sync (pid {}) did not stop within 30 s of SIGTERM", self.pid));
        };
        let _ = std::fs::remove_file(&self.pid_file);
        Ok(Ended { status, wall: self.started.elapsed(), cpu_ms: cpu })
    }
}

impl Drop for SyncProcess {
    /// A bench that gives up leaves no sync behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_file(&self.pid_file);
    }
}
