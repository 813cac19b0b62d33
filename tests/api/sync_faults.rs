//! Sync out against a target that fails: 503 and 429 with Retry-After, 500s, an account it
//! refuses — each converges, nothing is lost or duplicated.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::helpers::{Fixture, TestApp, both};
use crate::sync_front::Front;
use crate::sync_support::{named, syncer_to};
use std::time::{Duration, Instant};

async fn sync_waits_out_503_retry_after_and_converges(fx: Fixture) {
    let source = TestApp::spawn_on(fx).await;
    let target = TestApp::spawn_on(fx).await;
    let front = Front::start(&target.base).await;
    front.refuse_next(3, 503, Some(1));
    let (sync, _dir) = syncer_to(&source, &front.base, &target.token, |_| {}).await;
    source.create_user("dora", "dora@example.org").await;
    let report = sync.once().await.unwrap();
    assert!(report.in_sync(), "{report:?}");
    assert_eq!(front.refused(503), 3, "the target refused three requests");
    for name in ["dora", "jdoe", "msmith"] {
        assert_eq!(named(&target, name).await, 1, "{name} exactly once on the target");
    }
    assert_eq!(sync.once().await.unwrap().pushed, 0, "converged: nothing left to send");
}
both!(sync_waits_out_503_retry_after_and_converges);

async fn sync_parks_an_account_the_target_refuses_without_holding_up_the_others(fx: Fixture) {
    let source = TestApp::spawn_on(fx).await;
    let target = TestApp::spawn_on(fx).await;
    // The target has an account SCIM never linked with the name the source's new account
    // has: its look-up finds nothing and its create answers 409 — every time.
    target.create_user("eve", "eve@example.org").await;
    let eve_there = target.uid_of("eve").await;
    target.unlink(eve_there).await;
    let (sync, _dir) = syncer_to(&source, &target.base, &target.token, |_| {}).await;
    source.create_user("eve", "eve@source.example.org").await;
    source.create_user("finn", "finn@example.org").await;
    let eve = source.uid_of("eve").await;
    let report = sync.once().await.unwrap();
    assert_eq!(report.failed, 1, "{report:?}");
    assert!(!report.in_sync());
    assert_eq!(named(&target, "finn").await, 1, "the others went through");
    assert_eq!(named(&target, "eve").await, 1, "no duplicate");
    let (attempts, next_try, error): (u32, i64, Option<String>) = source
        .rows(&format!("SELECT attempts, next_try, last_error FROM scim_sync WHERE uid = {eve}"))
        .await
        .into_iter()
        .next()
        .unwrap();
    assert_eq!(attempts, 1);
    assert!(next_try > 0);
    assert!(error.as_deref().unwrap_or_default().contains("409"), "{error:?}");
    let status = sync.status().await.unwrap();
    assert_eq!(status.failing.len(), 1, "{status}");
    assert!(status.to_string().contains("409"), "{status}");
    // The loop waits for the next try: an incremental pass skips it.
    let (_keep, stop) = tokio::sync::watch::channel(false);
    let report = sync.pass(Some(0), true, &stop).await.unwrap();
    assert_eq!((report.failed, report.waiting), (0, 1), "{report:?}");
}
both!(sync_parks_an_account_the_target_refuses_without_holding_up_the_others);

async fn sync_retries_500s_and_converges_without_duplicates(fx: Fixture) {
    let source = TestApp::spawn_on(fx).await;
    let target = TestApp::spawn_on(fx).await;
    let front = Front::start(&target.base).await;
    let (sync, _dir) = syncer_to(&source, &front.base, &target.token, |_| {}).await;
    source.create_user("hal", "hal@example.org").await;
    source.create_user("ida", "ida@example.org").await;
    // The first six requests answer 500: /ServiceProviderConfig's four tries, then two more.
    front.refuse_next(6, 500, None);
    let mut passes = 0;
    loop {
        passes += 1;
        let report = sync.once().await.unwrap();
        if report.in_sync() {
            break;
        }
        assert!(passes < 4, "no convergence after {passes} passes: {report:?}");
    }
    assert_eq!(front.refused(500), 6);
    for name in ["hal", "ida", "jdoe", "msmith"] {
        assert_eq!(named(&target, name).await, 1, "{name} exactly once on the target");
    }
    assert_eq!(front.forwarded("POST", "/scim/v2/Users"), 2, "one create each: {:?}", front.seen());
    assert_eq!(sync.once().await.unwrap().pushed, 0, "converged: nothing left to send");
}
both!(sync_retries_500s_and_converges_without_duplicates);

async fn sync_looks_up_a_create_answered_500_before_creating_again(fx: Fixture) {
    let source = TestApp::spawn_on(fx).await;
    let target = TestApp::spawn_on(fx).await;
    let front = Front::start(&target.base).await;
    let (sync, _dir) = syncer_to(&source, &front.base, &target.token, |_| {}).await;
    source.create_user("jan", "jan@example.org").await;
    // A 500 does not say whether the target created the account: the push looks it up (this
    // front never forwarded the create, so the look-up finds nothing) and only then creates.
    front.refuse_next_of(&["POST"], 1, 500, None);
    let report = sync.once().await.unwrap();
    assert!(report.in_sync(), "{report:?}");
    assert_eq!(front.sent("POST", "/scim/v2/Users"), 2, "{:?}", front.seen());
    assert_eq!(front.forwarded("POST", "/scim/v2/Users"), 1);
    assert_eq!(named(&target, "jan").await, 1);
}
both!(sync_looks_up_a_create_answered_500_before_creating_again);

async fn sync_waits_out_429_retry_after_and_converges(fx: Fixture) {
    let source = TestApp::spawn_on(fx).await;
    let target = TestApp::spawn_on(fx).await;
    let front = Front::start(&target.base).await;
    let (sync, _dir) = syncer_to(&source, &front.base, &target.token, |_| {}).await;
    source.create_user("kai", "kai@example.org").await;
    // The create is rate-limited twice, each time asking for two seconds.
    front.refuse_next_of(&["POST"], 2, 429, Some(2));
    let began = Instant::now();
    let report = sync.once().await.unwrap();
    let took = began.elapsed();
    assert!(report.in_sync(), "{report:?}");
    assert_eq!(front.refused(429), 2);
    assert!(took >= Duration::from_secs(4), "Retry-After: 2 was waited out twice, the pass took {took:?}");
    // A 429 says the create was not carried out: it is sent again as is, no look-up needed.
    assert_eq!(front.sent("POST", "/scim/v2/Users"), 3);
    assert_eq!(front.forwarded("POST", "/scim/v2/Users"), 1);
    assert_eq!(named(&target, "kai").await, 1, "kai exactly once on the target");
    assert_eq!(sync.once().await.unwrap().pushed, 0, "converged: nothing left to send");
}
both!(sync_waits_out_429_retry_after_and_converges);
