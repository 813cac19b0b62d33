//! Processes a fault test owns: a MariaDB server of its own (to kill and restart, or to start
//! with settings the shared server must not get) and the real `drupal-scim` binary (to send it
//! signals). Both are killed when their guard drops, also when the test fails.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A TCP port on 127.0.0.1 that is free right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The first of `names` found on PATH or in the usual system directories (mariadbd is in
/// /usr/sbin, often not on PATH).
pub fn find_bin(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(
        ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/usr/local/mysql/bin"].map(PathBuf::from),
    );
    names.iter().flat_map(|n| dirs.iter().map(move |d| d.join(n))).find(|p| p.is_file())
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Options both the bootstrap and the server get (small: these servers hold a few test rows).
const SMALL: [&str; 3] =
    ["--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M", "--innodb-flush-log-at-trx-commit=2"];

/// Make a data directory with mariadb-install-db. Tried twice, without native AIO (as
/// scripts/lib/mariadb.sh does): with many throwaway servers starting at once, the bootstrap has
/// been seen to fail now and then.
fn install_datadir(datadir: &Path) {
    let install = find_bin(&["mariadb-install-db", "mysql_install_db"])
        .expect("mariadb-install-db not found (Debian: apt-get install mariadb-server-core)");
    let mut failure = String::new();
    for _ in 0..2 {
        let mut cmd = Command::new(&install);
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", datadir.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"])
            .arg("--innodb-use-native-aio=0")
            .args(SMALL);
        if running_as_root() {
            cmd.arg("--user=root");
        }
        let out = cmd.stdin(Stdio::null()).output().expect("run mariadb-install-db");
        if out.status.success() {
            return;
        }
        failure = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let _ = std::fs::remove_dir_all(datadir);
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    panic!("mariadb-install-db failed twice: {failure}");
}

/// A MariaDB server of the test's own: its data directory in a temp dir, a free port, root
/// without a password. Killed (SIGKILL) and its directory removed on drop.
pub struct MariaDb {
    dir: PathBuf,
    pub port: u16,
    extra: Vec<String>,
    child: Option<Child>,
}

impl MariaDb {
    /// Start a fresh server; `extra` are additional mariadbd options (e.g. a lock wait timeout).
    pub async fn start(extra: &[&str]) -> MariaDb {
        // Unix socket paths are limited to ~107 bytes: keep the directory short.
        let dir = PathBuf::from(format!("/tmp/dscim-db-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]));
        std::fs::create_dir_all(&dir).unwrap();
        let mut db = MariaDb { dir, port: 0, extra: extra.iter().map(|s| s.to_string()).collect(), child: None };
        install_datadir(&db.dir.join("data"));
        for attempt in 0..3 {
            db.port = free_port();
            if db.launch().await {
                return db;
            }
            assert!(attempt < 2, "MariaDB did not start: {}", db.error_log());
        }
        unreachable!()
    }

    /// Start mariadbd on the data directory and port; true once it answers.
    async fn launch(&mut self) -> bool {
        let bin = find_bin(&["mariadbd", "mysqld"])
            .expect("mariadbd not found (Debian: apt-get install mariadb-server-core)");
        let mut cmd = Command::new(bin);
        cmd.arg("--no-defaults");
        if running_as_root() {
            cmd.arg("--user=root");
        }
        cmd.arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(format!("--socket={}", self.dir.join("s.sock").display()))
            .arg(format!("--port={}", self.port))
            .arg(format!("--pid-file={}", self.dir.join("m.pid").display()))
            .arg(format!("--log-error={}", self.dir.join("error.log").display()))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_general_ci",
                "--max-connections=200",
            ])
            .args(SMALL)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.child = Some(cmd.spawn().expect("spawn mariadbd"));
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                return false;
            }
            if self.ping().await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("MariaDB did not answer within 60 s: {}", self.error_log());
    }

    async fn ping(&self) -> bool {
        let opts =
            mysql_async::OptsBuilder::default().ip_or_hostname("127.0.0.1").tcp_port(self.port).user(Some("root"));
        match mysql_async::Conn::new(opts).await {
            Ok(conn) => {
                let _ = conn.disconnect().await;
                true
            }
            Err(_) => false,
        }
    }

    /// `mysql://root@127.0.0.1:port` (no database).
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port)
    }

    /// The server's error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    /// The pid of the running server.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Freeze (`STOP`) or thaw (`CONT`) the server: it keeps its sockets but answers nothing,
    /// like a database behind a network partition.
    pub fn signal(&self, name: &str) {
        let pid = self.pid().expect("the server is running");
        let status = Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status().unwrap();
        assert!(status.success(), "kill -{name} {pid}");
    }

    /// A guard that thaws the server (`CONT`) when dropped: declared after the app using this
    /// server, it runs first, so a failing test does not leave the app's clean-up hanging.
    pub fn thaw_on_drop(&self) -> Thaw {
        Thaw(self.pid())
    }

    /// Kill the server as a crash would (SIGKILL) and wait until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start the server again on the same data directory and port (crash recovery included).
    pub async fn restart(&mut self) {
        self.kill();
        for _ in 0..50 {
            if self.launch().await {
                return;
            }
            // The port may still be held for a moment by the killed process.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("MariaDB did not restart on port {}: {}", self.port, self.error_log());
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sends `CONT` to a frozen server when dropped.
pub struct Thaw(Option<u32>);

impl Drop for Thaw {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = Command::new("kill").arg("-CONT").arg(pid.to_string()).status();
        }
    }
}

/// The real `drupal-scim serve` as a child process; killed (SIGKILL) on drop unless it exited.
pub struct ServerProcess {
    pub child: Option<Child>,
    pub port: u16,
    pub address: String,
    pub log_path: PathBuf,
}

impl ServerProcess {
    /// Start `drupal-scim serve` against `database_url` with `mapping` and extra environment,
    /// and wait until /healthz answers 200.
    pub async fn start(database_url: &str, mapping: &Path, log_dir: &Path, env: &[(&str, &str)]) -> ServerProcess {
        let port = free_port();
        let log_path = log_dir.join(format!("server-{port}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_drupal-scim"));
        cmd.arg("serve")
            .env("DRUPAL_SCIM__DATABASE__URL", database_url)
            .env("DRUPAL_SCIM__AUTH__SECRET", crate::helpers::SECRET)
            .env("DRUPAL_SCIM__SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("DRUPAL_SCIM__SERVER__WORKERS", "2")
            .env("DRUPAL_SCIM__MAPPING", mapping)
            .env("RUST_LOG", "info");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let log = std::fs::File::create(&log_path).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let mut server =
            ServerProcess { child: Some(child), port, address: format!("http://127.0.0.1:{port}"), log_path };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if client.get(format!("{}/healthz", server.address)).send().await.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            if let Some(Ok(Some(status))) = server.child.as_mut().map(Child::try_wait) {
                panic!("drupal-scim exited during start-up ({status}): {}", server.log());
            }
            assert!(Instant::now() < deadline, "drupal-scim did not come up: {}", server.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("the server is running")
    }

    /// Send a signal by name (`TERM`, `INT`, …) with kill(1).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill").arg(format!("-{name}")).arg(self.pid().to_string()).status().unwrap();
        assert!(status.success(), "kill -{name} {}", self.pid());
    }

    /// Wait up to `limit` for the process to exit; its status, or None if it is still running.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
