//! A `drupal-scim serve` child process serving a list of sites: its `[[sites]]` settings file,
//! its start on a free port, its memory, and its stop (SIGTERM, then SIGKILL). Dropped without
//! `stop`, it is killed, so a failed run leaves no server behind.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One site of the settings file.
pub struct SiteEntry {
    /// s01, s02, …: the path segment in /scim/v2/<name>.
    pub name: String,
    pub db_url: String,
    pub secret: String,
}

/// The shared part of the settings file.
pub struct Shared<'a> {
    pub mapping: &'a Path,
    /// `[database] pool_max`, every site's default.
    pub pool_max: usize,
    /// `[server] workers` (0: one per core).
    pub workers: usize,
}

/// A running server.
pub struct Served {
    child: Option<Child>,
    pub pid: u32,
    pub origin: String,
}

/// The settings file of `sites` listening on `listen`.
pub fn settings_text(listen: &str, shared: &Shared<'_>, sites: &[SiteEntry]) -> String {
    let mut text = format!(
        "[server]\nlisten = \"{listen}\"\nworkers = {}\n\n[database]\npool_max = {}\n",
        shared.workers, shared.pool_max
    );
    for site in sites {
        text.push_str(&format!(
            "\n[[sites]]\nname = \"{}\"\nmapping = \"{}\"\n[sites.database]\nurl = \"{}\"\n[sites.auth]\nsecret = \"{}\"\n",
            site.name,
            shared.mapping.display(),
            site.db_url,
            site.secret
        ));
    }
    text
}

/// A TCP port on 127.0.0.1 that is free right now.
fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| format!("free port: {e}"))
}

impl Served {
    /// Write the settings to `settings` and start `bin serve` with them, its output to `log`.
    /// The process's own `DRUPAL_SCIM__*` variables are not passed on: the file says everything.
    pub fn start(
        bin: &Path,
        settings: &Path,
        log: &Path,
        shared: &Shared<'_>,
        sites: &[SiteEntry],
    ) -> Result<Served, String> {
        let port = free_port()?;
        let listen = format!("127.0.0.1:{port}");
        std::fs::write(settings, settings_text(&listen, shared, sites))
            .map_err(|e| format!("{}: {e}", settings.display()))?;
        let out = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| format!("{}: {e}", log.display()))?;
        let mut command = Command::new(bin);
        command.arg("--config").arg(settings).arg("serve").stdin(Stdio::null()).stdout(out).stderr(err);
        for (key, _) in std::env::vars() {
            if key.starts_with("DRUPAL_SCIM") {
                command.env_remove(key);
            }
        }
        let child = command.spawn().map_err(|e| format!("{}: {e}", bin.display()))?;
        Ok(Served { pid: child.id(), child: Some(child), origin: format!("http://{listen}") })
    }

    /// A field of the server's /proc/<pid>/status in KiB (`VmRSS`, `VmHWM`, `RssAnon`).
    pub fn kib(&self, field: &str) -> u64 {
        crate::rss::status_kib(self.pid, field).unwrap_or(0)
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGTERM, up to `grace` for a clean exit, then SIGKILL. How it ended.
    pub async fn stop(mut self, grace: Duration) -> String {
        let Some(mut child) = self.child.take() else { return "not running".into() };
        let _ = Command::new("kill").arg("-TERM").arg(self.pid.to_string()).status();
        let deadline = Instant::now() + grace;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return format!("exited: {status}"),
                Ok(None) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
                _ => break,
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        format!("killed after {} s without exiting", grace.as_secs())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
