//! The first run's progress: on a terminal, one line — done/total, rate, ETA — redrawn in place,
//! cleared by each log line and drawn again; without a terminal, no control characters at all
//! (log lines only). The real binary runs under `script`, which gives it a pseudo-terminal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::helpers::{SECRET, TempDir, TestApp, mapping_linking_existing, mapping_with_fields, test_server_url};
use crate::paging::seed_users;
use std::process::{Command, Stdio};

#[tokio::test]
async fn a_backfill_on_a_terminal_shows_one_progress_line_and_none_in_a_log() {
    let source = TestApp::spawn().await;
    seed_users(&source, 450, "bar").await;
    let target = TestApp::spawn_with_mapping(&mapping_linking_existing()).await;
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-progress-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("drupal_mapping.toml"), mapping_with_fields()).unwrap();
    let settings = format!(
        "mapping = \"drupal_mapping.toml\"\n[database]\nurl = \"{}/{}\"\n[auth]\nsecret = \"{SECRET}\"\n\
         [sync]\nbase_url = \"{}\"\ntoken = \"{}\"\nmax_rps = 100000\nconcurrency = 8\n",
        test_server_url(),
        source.db_name,
        target.base,
        target.token
    );
    std::fs::write(dir.0.join("drupal-scim.toml"), settings).unwrap();
    let binary = env!("CARGO_BIN_EXE_drupal-scim");

    // On a terminal (script(1) runs it on a pseudo-terminal and copies what it shows).
    let shown = Command::new("script")
        .current_dir(&dir.0)
        .args(["-qec", &format!("{binary} sync --once"), "/dev/null"])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .expect("script(1) from util-linux");
    let screen = String::from_utf8_lossy(&shown.stdout).to_string();
    assert!(shown.status.success(), "{screen}");
    assert!(screen.contains("\r\x1b[2Ksync: 200/"), "the line is drawn in place: {screen}");
    assert!(screen.contains("accounts checked (100.0 %)"), "{screen}");
    assert!(screen.contains("\r\x1b[2K["), "a log line clears the progress line first: {screen}");
    assert!(screen.contains(" 0 failed"), "{screen}");

    // In a log: the same run again (nothing to send) writes no control characters.
    let logged = Command::new(binary)
        .current_dir(&dir.0)
        .args(["sync", "--once"])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&logged.stdout), String::from_utf8_lossy(&logged.stderr));
    assert!(logged.status.success(), "{log}");
    assert!(!log.contains('\x1b') && !log.contains('\r'), "{log}");
}
