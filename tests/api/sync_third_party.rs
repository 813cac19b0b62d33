//! Sync out to a third-party SCIM service provider: python's scim2-server from PyPI, the real
//! program (strict about schemas and PATCH operations), read back through its own SCIM API. A
//! pass-through front records what was sent (methods, bodies) without changing anything.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::helpers::{ENTERPRISE, Fixture, TestApp, USER_SCHEMA, both};
use crate::scim2_server::{SCIM2_TOKEN, Scim2Server};
use crate::sync_front::Front;
use crate::sync_support::{
    drupal_blocks, drupal_clears_field, drupal_deletes, drupal_makes_administrator, drupal_sets_mail, syncer_to,
};
use drupal_scim::settings::SyncRemoval;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The userNames scim2-server holds.
async fn names(scim2: &Scim2Server) -> BTreeSet<String> {
    scim2.users().await.iter().map(|u| u["userName"].as_str().unwrap().to_string()).collect()
}

/// Names as a set, for comparisons.
fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// The target id the source recorded for `uid`.
async fn target_id(source: &TestApp, uid: u32) -> String {
    source.one::<Option<String>>(&format!("SELECT target_id FROM scim_sync WHERE uid = {uid}")).await.flatten().unwrap()
}

async fn sync_backfills_patches_blocks_and_cancels_on_scim2_server(fx: Fixture) {
    let source = TestApp::spawn_on(fx).await;
    let scim2 = Scim2Server::start().await;
    let front = Front::start(&scim2.base).await;
    // Another client of the service created msmith there before sync ever ran.
    let theirs = scim2
        .create(&json!({"schemas": [USER_SCHEMA], "userName": "msmith",
                        "emails": [{"value": "old@example.org", "type": "work"}]}))
        .await;
    let (sync, _dir) = syncer_to(&source, &front.base, SCIM2_TOKEN, |_| {}).await;
    // Protected accounts change too: the super user, and an account made administrator.
    drupal_sets_mail(&source, 1, "root-changed@example.org").await;
    let created = source.create_user("ana", "ana@example.org").await;
    let ana = source.uid_of("ana").await;
    source.create_user("root2", "root2@example.org").await;
    let root2 = source.uid_of("root2").await;
    drupal_makes_administrator(&source, root2).await;

    let report = sync.once().await.unwrap();
    assert!(report.in_sync(), "{report:?}\n{}", scim2.log());
    // blocked.user is reachable but blocked: not created on a target that lacks it.
    assert_eq!(names(&scim2).await, set(&["ana", "jdoe", "msmith"]), "protected accounts never leave");
    assert_eq!(scim2.the_user("msmith").await["id"], theirs["id"], "first contact linked msmith by userName");
    assert_eq!(target_id(&source, 3).await, theirs["id"].as_str().unwrap());
    assert_eq!(front.sent("POST", "/v2/Users"), 2, "jdoe and ana created, msmith not duplicated");
    let expected = [
        ("jdoe", "jdoe@example.com", source.jdoe_id()),
        ("msmith", "msmith@example.com", source.msmith_id()),
        ("ana", "ana@example.org", created["id"].as_str().unwrap().to_string()),
    ];
    for (name, mail, external_id) in expected {
        let user = scim2.the_user(name).await;
        assert_eq!(user["emails"], json!([{"value": mail, "type": "work", "primary": true}]), "{user}");
        assert_eq!(user["active"], true, "{user}");
        assert_eq!(user["externalId"], Value::from(external_id), "externalId = the source's SCIM id: {user}");
    }
    let jdoe = scim2.the_user("jdoe").await;
    assert_eq!(jdoe["name"], json!({"givenName": "John", "familyName": "Doe"}));
    assert_eq!(jdoe[ENTERPRISE], json!({"department": "Editorial", "employeeNumber": "E-1002"}));
    assert_eq!(scim2.the_user("ana").await["name"], json!({"givenName": "Given", "familyName": "Family"}));
    let hash = source.data_column(2, "pass").await;
    for seen in front.seen() {
        assert!(!seen.body.to_lowercase().contains("password"), "a password was sent: {seen:?}");
        assert!(hash.as_str().is_none_or(|h| h.is_empty() || !seen.body.contains(h)), "a hash was sent: {seen:?}");
        assert!(!seen.body.contains("root"), "a protected account was sent: {seen:?}");
    }

    let sent = front.count();
    assert_eq!(sync.once().await.unwrap().pushed, 0);
    assert_eq!(front.count(), sent, "nothing changed, nothing sent");

    // An edit in Drupal (mail, and a field emptied): an incremental poll sends one PATCH that
    // scim2-server applies, the emptied field removed there too.
    drupal_sets_mail(&source, 2, "john.doe@example.org").await;
    drupal_clears_field(&source, 2, "field_employee_number").await;
    let (_keep, stop) = tokio::sync::watch::channel(false);
    let edited = sync.pass(Some(report.started_at - 5), true, &stop).await.unwrap();
    assert_eq!((edited.pushed, edited.failed), (1, 0), "{edited:?}\n{}", scim2.log());
    let jdoe_path = format!("/v2/Users/{}", target_id(&source, 2).await);
    assert_eq!(front.sent("PATCH", &jdoe_path), 1, "the target announces PATCH: {:?}", front.seen());
    assert_eq!(scim2.requests_logged("PATCH", &jdoe_path, 1).await, 1, "scim2-server's own log shows the PATCH");
    let jdoe = scim2.the_user("jdoe").await;
    assert_eq!(jdoe["emails"], json!([{"value": "john.doe@example.org", "type": "work", "primary": true}]));
    assert_eq!(jdoe[ENTERPRISE], json!({"department": "Editorial"}), "the emptied field is gone there too");

    // Blocked in Drupal → active: false there (default on_block), by PATCH.
    drupal_blocks(&source, ana).await;
    assert!(sync.once().await.unwrap().in_sync());
    assert_eq!(scim2.the_user("ana").await["active"], false);

    // Deleted in Drupal → deactivated there (default on_cancel), kept once.
    drupal_deletes(&source, 3).await;
    let report = sync.once().await.unwrap();
    assert!(report.in_sync(), "{report:?}");
    assert_eq!(scim2.the_user("msmith").await["active"], false);
    assert_eq!(source.one::<i64>("SELECT gone FROM scim_sync WHERE uid = 3").await, Some(1));

    assert_eq!((front.sent("PUT", "/"), front.sent("DELETE", "/")), (0, 0), "PATCH only: {:?}", front.seen());
    assert_eq!(names(&scim2).await, set(&["ana", "jdoe", "msmith"]), "nothing duplicated");
    let sent = front.count();
    assert_eq!(sync.once().await.unwrap().pushed, 0);
    assert_eq!(front.count(), sent, "converged: nothing sent");
}
both!(sync_backfills_patches_blocks_and_cancels_on_scim2_server);

async fn sync_deletes_on_scim2_server_when_blocking_and_cancelling_say_so(fx: Fixture) {
    let source = TestApp::spawn_on(fx).await;
    let scim2 = Scim2Server::start().await;
    let front = Front::start(&scim2.base).await;
    let (sync, _dir) = syncer_to(&source, &front.base, SCIM2_TOKEN, |s| {
        s.on_block = SyncRemoval::Delete;
        s.on_cancel = SyncRemoval::Delete;
    })
    .await;
    source.create_user("bea", "bea@example.org").await;
    let bea = source.uid_of("bea").await;
    assert!(sync.once().await.unwrap().in_sync());
    assert_eq!(names(&scim2).await, set(&["bea", "jdoe", "msmith"]));

    drupal_blocks(&source, bea).await;
    assert!(sync.once().await.unwrap().in_sync());
    drupal_deletes(&source, 2).await;
    assert!(sync.once().await.unwrap().in_sync());
    assert_eq!(names(&scim2).await, set(&["msmith"]), "blocked and cancelled accounts deleted there");
    assert_eq!(front.forwarded("DELETE", "/v2/Users/"), 2);

    let sent = front.count();
    assert_eq!(sync.once().await.unwrap().pushed, 0);
    assert_eq!(front.count(), sent, "a deleted account is not deleted again");
}
both!(sync_deletes_on_scim2_server_when_blocking_and_cancelling_say_so);

async fn sync_updates_by_put_a_scim2_server_that_announces_no_patch(fx: Fixture) {
    let source = TestApp::spawn_on(fx).await;
    let scim2 = Scim2Server::start_announcing(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": false},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": 1000},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": []
    }))
    .await;
    let front = Front::start(&scim2.base).await;
    let (sync, _dir) = syncer_to(&source, &front.base, SCIM2_TOKEN, |_| {}).await;
    assert!(sync.once().await.unwrap().in_sync());
    assert_eq!(names(&scim2).await, set(&["jdoe", "msmith"]));

    drupal_sets_mail(&source, 2, "john.doe@example.org").await;
    drupal_clears_field(&source, 2, "field_employee_number").await;
    assert!(sync.once().await.unwrap().in_sync());
    let jdoe = scim2.the_user("jdoe").await;
    assert_eq!(jdoe["emails"][0]["value"], "john.doe@example.org");
    assert_eq!(jdoe[ENTERPRISE], json!({"department": "Editorial"}));
    assert_eq!(front.forwarded("PUT", &format!("/v2/Users/{}", target_id(&source, 2).await)), 1);

    // Cancelled with on_cancel = "deactivate": the account is read and put back inactive.
    drupal_deletes(&source, 3).await;
    assert!(sync.once().await.unwrap().in_sync());
    let msmith = scim2.the_user("msmith").await;
    assert_eq!(msmith["active"], false, "{msmith}");
    assert_eq!(msmith["emails"][0]["value"], "msmith@example.com", "the rest kept: {msmith}");
    assert_eq!(front.sent("PATCH", "/"), 0, "no PATCH to a target without it: {:?}", front.seen());
}
both!(sync_updates_by_put_a_scim2_server_that_announces_no_patch);
