//! A third-party SCIM service provider for the sync-out tests: python's `scim2-server` from PyPI
//! (in-memory Users and Groups, RFC 7643/7644, PATCH announced), the real program started by the
//! test on a free port and killed when its guard drops. Its executable comes from
//! TEST_SCIM2_SERVER, which scripts/test.sh sets after installing it into target/scim2-venv.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::helpers::TempDir;
use crate::procs::free_port;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bearer token every started server accepts.
pub const SCIM2_TOKEN: &str = "scim2-test-token";

/// The scim2-server executable. Without one the test fails, saying how to get it: a skipped
/// test would hide that the third-party target was never tried.
pub fn executable() -> PathBuf {
    let path = std::env::var_os("TEST_SCIM2_SERVER").filter(|p| !p.is_empty()).unwrap_or_else(|| {
        panic!(
            "TEST_SCIM2_SERVER is not set: run the tests with scripts/test.sh, which installs python's \
             scim2-server 0.8.3 from PyPI into target/scim2-venv (python3 with venv and access to PyPI \
             needed; Debian: apt-get install python3-venv), or point it at a scim2-server executable"
        )
    });
    let path = PathBuf::from(path);
    assert!(path.is_file(), "TEST_SCIM2_SERVER={} is not a file: run scripts/test.sh to install it", path.display());
    path
}

/// A running scim2-server.
pub struct Scim2Server {
    child: Option<Child>,
    pub port: u16,
    /// Its SCIM base URL (`http://127.0.0.1:PORT/v2`).
    pub base: String,
    pub client: reqwest::Client,
    log_path: PathBuf,
    _dir: TempDir,
}

impl Scim2Server {
    /// Start one on a free port (another one if that port was taken meanwhile).
    pub async fn start() -> Scim2Server {
        for attempt in 0..3 {
            match Scim2Server::try_start(free_port()).await {
                Ok(server) => return server,
                Err(log) => assert!(attempt < 2, "scim2-server did not start three times: {log}"),
            }
        }
        unreachable!()
    }

    /// Start one on `port`, announcing `config` as its /ServiceProviderConfig when given.
    async fn try_start_with(port: u16, config: Option<&Value>) -> Result<Scim2Server, String> {
        let dir = std::env::temp_dir().join(format!("dscim-scim2-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let log_path = dir.join("scim2-server.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let mut command = Command::new(executable());
        command.args(["--hostname", "127.0.0.1", "--port", &port.to_string(), "--bearer-token", SCIM2_TOKEN]);
        if let Some(config) = config {
            let file = dir.join("service-provider-config.json");
            std::fs::write(&file, config.to_string()).unwrap();
            command.arg("--service-provider-config").arg(file);
        }
        let child = command
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", executable().display()));
        let mut server = Scim2Server {
            child: Some(child),
            port,
            base: format!("http://127.0.0.1:{port}/v2"),
            client: reqwest::Client::new(),
            log_path,
            _dir: TempDir(dir),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = server
                .client
                .get(format!("{}/ServiceProviderConfig", server.base))
                .bearer_auth(SCIM2_TOKEN)
                .send()
                .await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(server);
            }
            if let Some(Ok(Some(status))) = server.child.as_mut().map(Child::try_wait) {
                server.child = None;
                return Err(format!("exited ({status}): {}", server.log()));
            }
            assert!(Instant::now() < deadline, "scim2-server did not answer within 30 s: {}", server.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Start one on `port`, or its log when it could not (e.g. the port was taken meanwhile).
    pub async fn try_start(port: u16) -> Result<Scim2Server, String> {
        Scim2Server::try_start_with(port, None).await
    }

    /// Start one that announces `config` as its /ServiceProviderConfig (e.g. without PATCH).
    pub async fn start_announcing(config: &Value) -> Scim2Server {
        Scim2Server::try_start_with(free_port(), Some(config))
            .await
            .unwrap_or_else(|log| panic!("scim2-server did not start: {log}"))
    }

    /// Everything it printed: its access log names each request's method, path and status.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// How many `method` requests to a path starting with `path` its access log shows.
    pub fn requests(&self, method: &str, path: &str) -> usize {
        let needle = format!("\"{method} {path}");
        self.log().lines().filter(|l| l.contains(&needle)).count()
    }

    /// [`Scim2Server::requests`] once its access log shows `n` of them, or after 5 s: the server
    /// writes a request's log line after it has answered, so a client may be ahead of the log.
    pub async fn requests_logged(&self, method: &str, path: &str, n: usize) -> usize {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let seen = self.requests(method, path);
            if seen >= n || std::time::Instant::now() > deadline {
                return seen;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Every request line of its access log (`"METHOD /path HTTP/1.1" status`).
    pub fn request_lines(&self) -> Vec<String> {
        self.log().lines().filter(|l| l.contains(" HTTP/1.")).map(String::from).collect()
    }

    /// Every user it holds, read through its SCIM API.
    pub async fn users(&self) -> Vec<Value> {
        let mut users = Vec::new();
        loop {
            let start = (users.len() + 1).to_string();
            let page: Value = self
                .client
                .get(format!("{}/Users", self.base))
                .bearer_auth(SCIM2_TOKEN)
                .query(&[("startIndex", start.as_str()), ("count", "500")])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let resources = page["Resources"].as_array().cloned().unwrap_or_default();
            let total = page["totalResults"].as_u64().unwrap() as usize;
            if resources.is_empty() {
                assert_eq!(users.len(), total, "paging ended early: {page}");
                return users;
            }
            users.extend(resources);
            if users.len() >= total {
                return users;
            }
        }
    }

    /// How many users it holds.
    pub async fn user_count(&self) -> usize {
        let page: Value = self
            .client
            .get(format!("{}/Users", self.base))
            .bearer_auth(SCIM2_TOKEN)
            .query(&[("count", "0")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["totalResults"].as_u64().unwrap() as usize
    }

    /// The users whose userName is `name` (the test expects one, or none).
    pub async fn named(&self, name: &str) -> Vec<Value> {
        self.users().await.into_iter().filter(|u| u["userName"] == name).collect()
    }

    /// The one user named `name`.
    pub async fn the_user(&self, name: &str) -> Value {
        let found = self.named(name).await;
        assert_eq!(found.len(), 1, "exactly one {name:?} on scim2-server: {found:?}");
        found.into_iter().next().unwrap()
    }

    /// Create a user through its API (as another client of the service would), returning it.
    pub async fn create(&self, user: &Value) -> Value {
        let response = self
            .client
            .post(format!("{}/Users", self.base))
            .bearer_auth(SCIM2_TOKEN)
            .header("content-type", "application/scim+json")
            .body(user.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201, "create on scim2-server");
        response.json().await.unwrap()
    }

    /// Kill it and wait until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        self.kill();
    }
}
