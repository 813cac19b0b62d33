//! Sync out against a target that fails: 503 with Retry-After, then recovery — it converges,
//! nothing is duplicated.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::helpers::{Fixture, TestApp, both};
use crate::sync_support::{named, syncer_to};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// An HTTP front of the target that answers the first `fail_first` requests 503 with
/// `Retry-After: 1`, and passes the others through. Returns its SCIM base URL and a counter of
/// the 503s it gave.
async fn flaky_front(target: &TestApp, fail_first: usize) -> (String, Arc<AtomicUsize>) {
    let upstream = target.address.clone();
    let seen = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let (seen_in, refused_in) = (seen.clone(), refused.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let (upstream, seen, refused) = (upstream.clone(), seen_in.clone(), refused_in.clone());
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let (upstream, seen, refused) = (upstream.clone(), seen.clone(), refused.clone());
            async move {
                if seen.fetch_add(1, Ordering::SeqCst) < fail_first {
                    refused.fetch_add(1, Ordering::SeqCst);
                    return HttpResponse::ServiceUnavailable().insert_header(("Retry-After", "1")).finish();
                }
                let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).unwrap();
                let mut forward = reqwest::Client::new().request(method, format!("{upstream}{}", req.uri()));
                for name in ["authorization", "content-type", "accept"] {
                    if let Some(v) = req.headers().get(name) {
                        forward = forward.header(name, v.to_str().unwrap());
                    }
                }
                let answer = forward.body(body.to_vec()).send().await.unwrap();
                let status = actix_web::http::StatusCode::from_u16(answer.status().as_u16()).unwrap();
                HttpResponse::build(status)
                    .content_type("application/scim+json")
                    .body(answer.bytes().await.unwrap().to_vec())
            }
        }))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}/scim/v2"), refused)
}

async fn sync_waits_out_503_retry_after_and_converges(fx: Fixture) {
    let source = TestApp::spawn_on(fx).await;
    let target = TestApp::spawn_on(fx).await;
    let (front, refused) = flaky_front(&target, 3).await;
    let (sync, _dir) = syncer_to(&source, &front, &target.token, |_| {}).await;
    source.create_user("dora", "dora@example.org").await;
    let report = sync.once().await.unwrap();
    assert!(report.in_sync(), "{report:?}");
    assert_eq!(refused.load(Ordering::SeqCst), 3, "the target refused three requests");
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
