//! Sync out killed mid-backfill: the real `drupal-scim sync` binary pushes a few hundred
//! accounts to python's scim2-server, is killed (SIGKILL, no chance to finish anything) when
//! the target has some but not all, and `drupal-scim sync --once` started afterwards leaves
//! every account on the target exactly once — the pushes that were confirmed are not repeated,
//! the ones cut short are linked by the first-contact look-up, none is lost.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::helpers::{Fixture, SECRET, TempDir, TestApp, both, mapping_with_fields, test_server_url};
use crate::paging::seed_users;
use crate::scim2_server::{SCIM2_TOKEN, Scim2Server};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Accounts seeded on top of the fixture's.
const SEEDED: usize = 300;
/// What the source sends: the seeded accounts, jdoe and msmith (blocked.user is blocked, uid 1
/// protected).
const IN_SCOPE: usize = SEEDED + 2;

/// A directory holding the mapping and a settings file whose `[sync]` points at `scim2`.
fn settings_dir(source: &TestApp, scim2: &Scim2Server) -> TempDir {
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-sync-kill-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("drupal_mapping.toml"), mapping_with_fields()).unwrap();
    // A rate limit slow enough that the backfill is still under way when the test kills it.
    let settings = format!(
        "mapping = \"drupal_mapping.toml\"\n\n[database]\nurl = \"{}/{}\"\n\n[auth]\nsecret = \"{SECRET}\"\n\n\
         [sync]\nbase_url = \"{}\"\ntoken = \"{SCIM2_TOKEN}\"\nmax_rps = 100\nconcurrency = 4\n",
        test_server_url(),
        source.db_name,
        scim2.base
    );
    std::fs::write(dir.0.join("drupal-scim.toml"), settings).unwrap();
    dir
}

fn sync_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_drupal-scim"));
    command.current_dir(dir).arg("sync").args(args).env("RUST_LOG", "info").stdin(Stdio::null());
    command
}

async fn sync_killed_mid_backfill_and_run_again_leaves_every_account_on_the_target_once(fx: Fixture) {
    let source = TestApp::spawn_on(fx).await;
    seed_users(&source, SEEDED as u32, "bulk").await;
    let scim2 = Scim2Server::start().await;
    let dir = settings_dir(&source, &scim2);

    let log = dir.0.join("first-run.log");
    let mut first = sync_command(&dir.0, &[])
        .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(dir.0.join("first-run.err")).unwrap()))
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let first_log = || {
        std::fs::read_to_string(dir.0.join("first-run.err")).unwrap_or_default()
            + &std::fs::read_to_string(&log).unwrap_or_default()
    };
    while scim2.user_count().await < 30 {
        assert!(first.try_wait().unwrap().is_none(), "the sync loop exited: {}", first_log());
        assert!(Instant::now() < deadline, "the backfill did not start: {}", first_log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let partial = scim2.user_count().await;
    assert!(partial < IN_SCOPE, "killed mid-backfill, not after it: {partial} on the target");

    let second = sync_command(&dir.0, &["--once"]).env("DRUPAL_SCIM__SYNC__MAX_RPS", "1000").output().unwrap();
    let out = format!("{}{}", String::from_utf8_lossy(&second.stdout), String::from_utf8_lossy(&second.stderr));
    assert!(second.status.success(), "sync --once did not converge: {out}");
    assert!(out.contains(" 0 failed"), "{out}");

    let users = scim2.users().await;
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for user in &users {
        *by_name.entry(user["userName"].as_str().unwrap().to_string()).or_default() += 1;
    }
    assert_eq!(users.len(), IN_SCOPE, "every account once, none lost, none twice (killed at {partial})");
    assert!(
        by_name.values().all(|&n| n == 1),
        "duplicates: {:?}",
        by_name.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    for name in ["jdoe", "msmith"] {
        assert!(by_name.contains_key(name), "{name} on the target");
    }
    assert_eq!(by_name.keys().filter(|n| n.starts_with("bulk")).count(), SEEDED);
    // The source's state names each target account once, and only accounts the target has.
    let linked: Vec<String> =
        source.rows("SELECT target_id FROM scim_sync WHERE target_id IS NOT NULL AND fingerprint IS NOT NULL").await;
    let mut distinct = linked.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!((linked.len(), distinct.len()), (IN_SCOPE, IN_SCOPE));
    let ids: std::collections::BTreeSet<&str> = users.iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert!(linked.iter().all(|id| ids.contains(id.as_str())), "every recorded id exists on the target");

    let again = sync_command(&dir.0, &["--once"]).output().unwrap();
    let out = String::from_utf8_lossy(&again.stdout).to_string();
    assert!(again.status.success() && out.contains(" 0 pushed, 0 failed"), "converged: {out}");
}
both!(sync_killed_mid_backfill_and_run_again_leaves_every_account_on_the_target_once);
