//! `drupal-scim sync` stopped by SIGTERM while a push is in flight: the push finishes, its
//! outcome is recorded, the process exits 0, and nothing is sent twice afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::helpers::{
    Fixture, SECRET, TempDir, TestApp, both, mapping_linking_existing, mapping_with_fields, test_server_url,
};
use crate::sync_front::Front;
use crate::sync_support::named;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

async fn sigterm_lets_the_push_in_flight_finish_and_record(fx: Fixture) {
    let source = TestApp::spawn_on(fx).await;
    source.create_user("term.me", "term.me@example.org").await;
    let uid = source.uid_of("term.me").await;
    let target = TestApp::spawn_with_mapping_on(fx, &mapping_linking_existing()).await;
    let front = Front::start(&target.base).await;
    // Creates are answered 2 s late, after the target carried them out.
    front.slow(Some(Duration::from_secs(2)), &["POST"]);
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-sigterm-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("drupal_mapping.toml"), mapping_with_fields()).unwrap();
    let settings = format!(
        "mapping = \"drupal_mapping.toml\"\n[database]\nurl = \"{}/{}\"\n[auth]\nsecret = \"{SECRET}\"\n\
         [sync]\nbase_url = \"{}\"\ntoken = \"{}\"\nmax_rps = 1000\nconcurrency = 1\ntimeout_secs = 10\n",
        test_server_url(),
        source.db_name,
        front.base,
        target.token
    );
    std::fs::write(dir.0.join("drupal-scim.toml"), settings).unwrap();
    let log = dir.0.join("sync.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_drupal-scim"))
        .current_dir(&dir.0)
        .arg("sync")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    // Killed if the test fails before the process ends (a failing assertion must not leave it).
    struct Reaper(u32);
    impl Drop for Reaper {
        fn drop(&mut self) {
            let _ = Command::new("kill").arg("-KILL").arg(self.0.to_string()).status();
        }
    }
    let reaper = Reaper(child.id());
    let deadline = Instant::now() + Duration::from_secs(30);
    while front.sent("POST", "/scim/v2/Users") == 0 {
        assert!(child.try_wait().unwrap().is_none(), "{}", std::fs::read_to_string(&log).unwrap_or_default());
        assert!(Instant::now() < deadline, "no create was sent: {}", std::fs::read_to_string(&log).unwrap_or_default());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The create is in flight (its answer comes 2 s late): stop the loop now.
    let term = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(term.success());
    let stopped = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if stopped.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("sync did not stop: {}", std::fs::read_to_string(&log).unwrap_or_default());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Ended and reaped: its pid is no longer its own to kill.
    std::mem::forget(reaper);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{text}");
    assert!(stopped.elapsed() >= Duration::from_millis(500), "it waited for the answer in flight: {text}");
    assert!(text.contains("stopping once the pushes in flight are done"), "{text}");
    let recorded: Vec<(Option<String>, u32)> =
        source.rows(&format!("SELECT target_id, attempts FROM scim_sync WHERE uid = {uid}")).await;
    assert!(matches!(recorded.as_slice(), [(Some(_), 0)]), "the finished push was recorded: {recorded:?}\n{text}");
    assert_eq!(named(&target, "term.me").await, 1);

    // Nothing is sent twice: a pass afterwards creates nothing.
    front.slow(None, &[]);
    let before = front.sent("POST", "/scim/v2/Users");
    let again =
        Command::new(env!("CARGO_BIN_EXE_drupal-scim")).current_dir(&dir.0).args(["sync", "--once"]).output().unwrap();
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(front.sent("POST", "/scim/v2/Users"), before, "no create after the stop");
    assert_eq!(named(&target, "term.me").await, 1);
}
both!(sigterm_lets_the_push_in_flight_finish_and_record);
