//! Sync out through outages: a target that is down (nothing listens) and one that answers later
//! than `sync.timeout_secs`. Each pass counts its failures and marks nothing in sync that the
//! target did not confirm; once the target is back the next pass converges, every account on
//! it exactly once — also one whose create the target carried out after the client gave up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::helpers::{Fixture, TestApp, both};
use crate::procs::free_port;
use crate::scim2_server::{SCIM2_TOKEN, Scim2Server};
use crate::sync_front::Front;
use crate::sync_support::{named, syncer_to};
use std::time::Duration;

/// How many of the source's state rows say the target confirmed the account.
async fn confirmed(source: &TestApp) -> i64 {
    source.one("SELECT COUNT(*) FROM scim_sync WHERE fingerprint IS NOT NULL").await.unwrap()
}

async fn sync_converges_once_a_target_that_was_down_comes_up(fx: Fixture) {
    // The free port may be taken by another test's server before the target comes up on it:
    // then the scenario starts again on another port (three tries).
    for attempt in 0..3 {
        match target_down_then_up(fx).await {
            Ok(()) => return,
            Err(taken) => assert!(attempt < 2, "the port was taken three times: {taken}"),
        }
    }
}
both!(sync_converges_once_a_target_that_was_down_comes_up);

/// The scenario; `Err` when its port was taken before the target could come up on it.
async fn target_down_then_up(fx: Fixture) -> Result<(), String> {
    let source = TestApp::spawn_on(fx).await;
    let port = free_port();
    let (sync, _dir) = syncer_to(&source, &format!("http://127.0.0.1:{port}/v2"), SCIM2_TOKEN, |_| {}).await;
    source.create_user("lea", "lea@example.org").await;

    // Nothing listens on the port: every account in scope fails, none is marked in sync.
    let report = sync.once().await.unwrap();
    assert!(!report.in_sync(), "{report:?}");
    assert_eq!((report.pushed, report.failed), (0, report.checked), "{report:?}");
    assert_eq!(confirmed(&source).await, 0, "nothing is in sync that the target never confirmed");
    let status = sync.status().await.unwrap();
    assert_eq!(status.failing.len(), report.checked, "{status}");

    // The target comes up on that port: the next pass converges.
    let scim2 = match Scim2Server::try_start(port).await {
        Ok(server) => server,
        Err(log) if log.contains("Address already in use") => return Err(log),
        Err(log) => panic!("scim2-server did not start: {log}"),
    };
    let report = sync.once().await.unwrap();
    assert!(report.in_sync(), "{report:?}\n{}", scim2.log());
    let mut names: Vec<String> = scim2.users().await.iter().map(|u| u["userName"].as_str().unwrap().into()).collect();
    names.sort();
    assert_eq!(names, ["jdoe", "lea", "msmith"], "each account exactly once");
    assert!(sync.status().await.unwrap().failing.is_empty());
    assert_eq!(sync.once().await.unwrap().pushed, 0, "converged: nothing left to send");
    Ok(())
}

async fn sync_counts_answers_later_than_the_timeout_as_failures_and_links_a_late_create(fx: Fixture) {
    let source = TestApp::spawn_on(fx).await;
    let target = TestApp::spawn_on(fx).await;
    let front = Front::start(&target.base).await;
    let (sync, _dir) = syncer_to(&source, &front.base, &target.token, |s| s.timeout_secs = 2).await;
    source.create_user("max", "max@example.org").await;
    let target_accounts = target.count(target.account_table()).await;

    // Every answer comes after the client's timeout: the pass counts failures, confirms nothing.
    front.slow(Some(Duration::from_secs(4)), &[]);
    let report = sync.once().await.unwrap();
    assert!(!report.in_sync(), "{report:?}");
    assert!(report.failed > 0 && report.pushed == 0, "{report:?}");
    assert_eq!(confirmed(&source).await, 0);
    assert_eq!(named(&target, "max").await, 0, "no create was carried out");

    // Only the creates answer late: the target creates max, the client gives up waiting. The
    // push looks max up instead of creating again, and links it.
    front.slow(Some(Duration::from_secs(4)), &["POST"]);
    let report = sync.once().await.unwrap();
    assert!(report.in_sync(), "{report:?}: {:?}", front.seen());
    assert_eq!(front.forwarded("POST", "/scim/v2/Users"), 1, "one create, never repeated: {:?}", front.seen());
    assert_eq!(named(&target, "max").await, 1, "max exactly once on the target");
    let max = source.uid_of("max").await;
    let linked: Option<String> =
        source.one(&format!("SELECT target_id FROM scim_sync WHERE uid = {max}")).await.flatten();
    let found: serde_json::Value = target.filter_users("userName eq \"max\"").await.json().await.unwrap();
    assert_eq!(linked.as_deref(), found["Resources"][0]["id"].as_str(), "linked to the account the create made");

    // Fast again: nothing left to send, nothing duplicated.
    front.slow(None, &[]);
    assert_eq!(sync.once().await.unwrap().pushed, 0, "converged");
    assert_eq!(target.count(target.account_table()).await, target_accounts + 1);
    for name in ["jdoe", "msmith", "max"] {
        assert_eq!(named(&target, name).await, 1, "{name} exactly once on the target");
    }
}
both!(sync_counts_answers_later_than_the_timeout_as_failures_and_links_a_late_create);
