//! Sync out, Drupal to Drupal: accounts created, edited, blocked and deleted on a source site
//! reach a second drupal-scim over its own database; existing accounts are linked, never
//! duplicated; protected accounts never leave.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::helpers::{ENTERPRISE, Fixture, TestApp, both};
use crate::sync_support::{drupal_blocks, drupal_deletes, drupal_sets_mail, named, syncer};
use drupal_scim::settings::SyncRemoval;
use serde_json::json;

async fn sync_pushes_creates_edits_blocks_and_deletes(fx: Fixture) {
    let source = TestApp::spawn_on(fx).await;
    let target = TestApp::spawn_on(fx).await;
    let (sync, _dir) = syncer(&source, &target, |s| s.on_cancel = SyncRemoval::Delete).await;
    let target_accounts = target.count(target.account_table()).await;
    // Drupal's super user changes on the source: it must never reach the target.
    drupal_sets_mail(&source, 1, "root-changed@example.org").await;
    let created = source.create_user("ana", "ana@example.org").await;
    let ana = source.uid_of("ana").await;

    // Dry run and status send nothing.
    let mut printed = Vec::new();
    let n = sync.dry_run(&mut printed).await.unwrap();
    let printed = String::from_utf8(printed).unwrap();
    assert!(n >= 2 && printed.contains("\"userName\":\"ana\""), "{printed}");
    assert!(!printed.contains("password") && !printed.contains("root-changed"), "{printed}");
    let status = sync.status().await.unwrap();
    assert_eq!(status.pending, n, "{status}");
    assert_eq!(named(&target, "ana").await, 0, "a dry run sends nothing");

    let report = sync.once().await.unwrap();
    assert!(report.in_sync(), "{report:?}");
    // The fixture's accounts existed on the target: linked, not duplicated; ana created.
    assert_eq!(target.count(target.account_table()).await, target_accounts + 1);
    for name in ["jdoe", "msmith", "blocked.user", "ana"] {
        assert_eq!(named(&target, name).await, 1, "{name} once on the target");
    }
    let ana_there = target.uid_of("ana").await;
    assert_eq!(target.data_column(ana_there, "mail").await, "ana@example.org");
    assert_eq!(target.data_column(ana_there, "status").await, 1);
    let ext: Option<String> =
        target.one(&format!("SELECT external_id FROM scim_user WHERE uid = {ana_there}")).await.flatten();
    assert_eq!(ext.as_deref(), created["id"].as_str(), "externalId = the source's SCIM id");
    let pass = target.data_column(ana_there, "pass").await;
    assert!(pass.is_null() || pass == "", "no password is ever sent: {pass}");
    let jdoe_target_id: Option<String> = source.one("SELECT target_id FROM scim_sync WHERE uid = 2").await.flatten();
    assert_eq!(jdoe_target_id, Some(target.jdoe_id()), "first contact linked jdoe by userName");
    assert_ne!(target.data_column(1, "mail").await, "root-changed@example.org");
    assert_eq!(source.one::<i64>("SELECT COUNT(*) FROM scim_sync WHERE uid IN (0, 1)").await, Some(0));
    assert_eq!(sync.status().await.unwrap().pending, 0);
    assert_eq!(sync.once().await.unwrap().pushed, 0, "nothing changed, nothing sent");

    // A mapped field through the source's SCIM API, the mail by SQL as Drupal saves it: an
    // incremental poll (changed since the last pass) finds both.
    let patched = source
        .patch_ops(
            &format!("/Users/{}", created["id"].as_str().unwrap()),
            json!([{"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Sales"}]),
        )
        .await;
    assert_eq!(patched.status().as_u16(), 200);
    drupal_sets_mail(&source, ana, "ana.new@example.org").await;
    let (_keep, stop) = tokio::sync::watch::channel(false);
    let report = sync.pass(Some(report.started_at - 5), true, &stop).await.unwrap();
    assert_eq!((report.pushed, report.failed), (1, 0), "{report:?}");
    assert_eq!(target.data_column(ana_there, "mail").await, "ana.new@example.org");
    assert_eq!(target.field_values(ana_there, "field_department").await, ["Sales"]);

    // Blocked in Drupal → inactive on the target.
    drupal_blocks(&source, ana).await;
    assert!(sync.once().await.unwrap().in_sync());
    assert_eq!(target.data_column(ana_there, "status").await, 0);

    // Deleted in Drupal → DELETE on the target (its mapping blocks and hides the account).
    drupal_deletes(&source, 3).await;
    let report = sync.once().await.unwrap();
    assert!(report.in_sync(), "{report:?}");
    assert_eq!(target.data_column(3, "status").await, 0);
    assert_eq!(target.one::<i64>("SELECT deleted FROM scim_user WHERE uid = 3").await, Some(1));
    assert_eq!(source.one::<i64>("SELECT COUNT(*) FROM scim_sync WHERE uid = 3").await, Some(0));
    assert_eq!(target.count(target.account_table()).await, target_accounts + 1, "nothing duplicated");
}
both!(sync_pushes_creates_edits_blocks_and_deletes);

async fn sync_on_block_delete_deletes_on_the_target(fx: Fixture) {
    let source = TestApp::spawn_on(fx).await;
    let target = TestApp::spawn_on(fx).await;
    let (sync, _dir) = syncer(&source, &target, |s| s.on_block = SyncRemoval::Delete).await;
    source.create_user("bea", "bea@example.org").await;
    let bea = source.uid_of("bea").await;
    assert!(sync.once().await.unwrap().in_sync());
    let bea_there = target.uid_of("bea").await;
    drupal_blocks(&source, bea).await;
    assert!(sync.once().await.unwrap().in_sync());
    assert_eq!(target.one::<i64>(&format!("SELECT deleted FROM scim_user WHERE uid = {bea_there}")).await, Some(1));
    assert_eq!(sync.once().await.unwrap().pushed, 0, "a deleted account is not deleted again");
}
both!(sync_on_block_delete_deletes_on_the_target);

/// Grant or take `role` from `uid` on `app` the way Drupal's own save does (the row, and
/// `changed` bumped).
async fn drupal_sets_role(app: &TestApp, uid: u32, role: &str, holds: bool) {
    let sql = match (app.fixture, holds) {
        (Fixture::Drupal10, true) => format!(
            "INSERT INTO user__roles (bundle, deleted, entity_id, revision_id, langcode, delta, roles_target_id) VALUES ('user', 0, {uid}, {uid}, 'en', 0, '{role}')"
        ),
        (Fixture::Drupal10, false) => {
            format!("DELETE FROM user__roles WHERE entity_id = {uid} AND roles_target_id = '{role}'")
        }
        (Fixture::Drupal7, true) => format!("INSERT INTO users_roles (uid, rid) VALUES ({uid}, {role})"),
        (Fixture::Drupal7, false) => format!("DELETE FROM users_roles WHERE uid = {uid} AND rid = {role}"),
    };
    app.exec(&sql).await;
    app.exec(&format!("UPDATE {} SET changed = UNIX_TIMESTAMP() WHERE uid = {uid}", app.account_table())).await;
}

async fn sync_pushes_roles_as_groups_with_their_members(fx: Fixture) {
    // The role's id and label on either schema (Drupal 7 names it "editor", rid 4).
    let (role, label) = match fx {
        Fixture::Drupal10 => ("content_editor", "Content editor"),
        Fixture::Drupal7 => ("4", "editor"),
    };
    let source = TestApp::spawn_on(fx).await;
    // The target lands the group on its own role of that name (a drupal-scim target answers 409
    // to a group named like a role it does not map).
    let target_mapping = format!(
        "{}\n[[groups.map]]\ndisplay_name = \"{label}\"\nrole = \"{}\"\n",
        crate::helpers::mapping_with_fields(),
        if fx == Fixture::Drupal7 { "editor" } else { role }
    );
    let target = TestApp::spawn_with_mapping_on(fx, &target_mapping).await;
    source.create_user("ana", "ana@example.org").await;
    let ana = source.uid_of("ana").await;
    drupal_sets_role(&source, ana, role, true).await;
    // Named by its label on Drupal 7, as an operator would.
    let group_setting = if fx == Fixture::Drupal7 { "EDITOR" } else { role };
    let (sync, _dir) = syncer(&source, &target, |s| s.groups = vec![group_setting.to_string()]).await;
    let report = sync.once().await.unwrap();
    assert!(report.in_sync(), "{report:?}");
    let ana_there = target.uid_of("ana").await;
    let jdoe_there = target.uid_of("jdoe").await;
    assert_eq!(target.holders(role).await, vec![jdoe_there, ana_there], "the source's holders hold it on the target");
    assert_eq!(sync.once().await.unwrap().pushed, 0, "nothing changed, nothing sent");

    // Taken from ana in Drupal: taken on the target at the next pass.
    drupal_sets_role(&source, ana, role, false).await;
    assert!(sync.once().await.unwrap().in_sync());
    assert_eq!(target.holders(role).await, vec![jdoe_there]);

    // The role no longer pushed: its group is deleted on the target (memberships gone, the
    // target's role itself stays).
    let (without, _dir2) = syncer(&source, &target, |s| s.groups.clear()).await;
    assert!(without.once().await.unwrap().in_sync());
    assert_eq!(target.holders(role).await, Vec::<u32>::new());
    assert!(target.role_label(role).await.is_some(), "the target's role stays");

    // A protected role is never pushed.
    let refused = crate::sync_support::try_syncer(&source, &target, |s| s.groups = vec!["administrator".into()]).await;
    assert!(refused.err().is_some_and(|e| e.contains("protected")), "administrator must be refused");
    let scoped = crate::sync_support::try_syncer(&source, &target, |s| {
        s.scope = drupal_scim::settings::SyncScope::Roles;
        s.roles = vec![group_setting.to_string()];
    })
    .await;
    assert!(scoped.is_ok(), "sync.roles takes the same names: {:?}", scoped.err());
    let unknown = crate::sync_support::try_syncer(&source, &target, |s| s.groups = vec!["no such role".into()]).await;
    assert!(unknown.err().is_some_and(|e| e.contains("no role \"no such role\"")));
}
both!(sync_pushes_roles_as_groups_with_their_members);
