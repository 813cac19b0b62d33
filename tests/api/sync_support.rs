//! Sync-out test harness: a source site (a TestApp) pushing to a target that is a second
//! drupal-scim over its own database (another TestApp), driven in-process.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::helpers::{SECRET, TempDir, TestApp, mapping_with_fields, test_server_url};
use drupal_scim::settings::{Settings, SyncSettings};
use drupal_scim::sync::Syncer;

/// Settings of `source` with a `[sync]` section towards `target_base` (a SCIM base URL) with
/// `token`, adjusted by `tweak`, and the directory holding their mapping file.
pub fn source_settings(
    source: &TestApp,
    target_base: &str,
    token: &str,
    tweak: impl FnOnce(&mut SyncSettings),
) -> (Settings, TempDir) {
    let dir = std::env::temp_dir().join(format!("dscim-sync-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mapping = dir.join("drupal_mapping.toml");
    std::fs::write(&mapping, mapping_with_fields()).unwrap();
    let mut settings = Settings::new(&format!("{}/{}", test_server_url(), source.db_name), SECRET, mapping);
    let mut sync = SyncSettings::new(target_base, token);
    sync.max_rps = 1000;
    tweak(&mut sync);
    settings.sync = Some(sync);
    (settings, TempDir(dir))
}

/// A syncer from `source` to `target`.
pub async fn syncer(source: &TestApp, target: &TestApp, tweak: impl FnOnce(&mut SyncSettings)) -> (Syncer, TempDir) {
    syncer_to(source, &target.base, &target.token, tweak).await
}

/// A syncer from `source` to `target`, or why it could not be built.
pub async fn try_syncer(
    source: &TestApp,
    target: &TestApp,
    tweak: impl FnOnce(&mut SyncSettings),
) -> Result<(Syncer, TempDir), String> {
    let (settings, dir) = source_settings(source, &target.base, &target.token, tweak);
    Syncer::build(&settings).await.map(|s| (s, dir)).map_err(|e| e.to_string())
}

/// A syncer from `source` to the SCIM base URL `base`.
pub async fn syncer_to(
    source: &TestApp,
    base: &str,
    token: &str,
    tweak: impl FnOnce(&mut SyncSettings),
) -> (Syncer, TempDir) {
    let (settings, dir) = source_settings(source, base, token, tweak);
    (Syncer::build(&settings).await.unwrap(), dir)
}

/// How many accounts named `name` the site has.
pub async fn named(app: &TestApp, name: &str) -> i64 {
    let mut conn = app.pool.get_conn().await.unwrap();
    use mysql_async::prelude::*;
    conn.exec_first(format!("SELECT COUNT(*) FROM {} WHERE name = ?", app.account_table()), (name,))
        .await
        .unwrap()
        .unwrap()
}

/// Change an account's mail the way Drupal's own save does: the value, and `changed` bumped.
pub async fn drupal_sets_mail(app: &TestApp, uid: u32, mail: &str) {
    app.exec(&format!(
        "UPDATE {} SET mail = '{mail}', changed = UNIX_TIMESTAMP() WHERE uid = {uid}",
        app.account_table()
    ))
    .await;
}

/// Block an account the way Drupal's own save does.
pub async fn drupal_blocks(app: &TestApp, uid: u32) {
    app.exec(&format!("UPDATE {} SET status = 0, changed = UNIX_TIMESTAMP() WHERE uid = {uid}", app.account_table()))
        .await;
}

/// Delete an account's rows (what Drupal's cancel with "delete the account" leaves: none).
pub async fn drupal_deletes(app: &TestApp, uid: u32) {
    if app.is_d7() {
        app.exec(&format!("DELETE FROM users WHERE uid = {uid}; DELETE FROM users_roles WHERE uid = {uid}")).await;
    } else {
        app.exec(&format!(
            "DELETE FROM users_field_data WHERE uid = {uid}; DELETE FROM users WHERE uid = {uid}; \
             DELETE FROM user__roles WHERE entity_id = {uid}"
        ))
        .await;
    }
}

/// Remove an account's value of a user field the way Drupal's own save does (the field's rows,
/// and `changed` bumped).
pub async fn drupal_clears_field(app: &TestApp, uid: u32, field: &str) {
    if app.is_d7() {
        app.exec(&format!(
            "DELETE FROM field_data_{field} WHERE entity_type = 'user' AND entity_id = {uid}; \
             DELETE FROM field_revision_{field} WHERE entity_type = 'user' AND entity_id = {uid}; \
             UPDATE users SET changed = UNIX_TIMESTAMP() WHERE uid = {uid}"
        ))
        .await;
    } else {
        app.exec(&format!(
            "DELETE FROM user__{field} WHERE entity_id = {uid}; \
             UPDATE users_field_data SET changed = UNIX_TIMESTAMP() WHERE uid = {uid}"
        ))
        .await;
    }
}

/// Give an account the fixture's administrator role the way Drupal's own save does.
pub async fn drupal_makes_administrator(app: &TestApp, uid: u32) {
    let role = app.admin_role();
    if app.is_d7() {
        app.exec(&format!(
            "INSERT INTO users_roles (uid, rid) VALUES ({uid}, {role}); \
             UPDATE users SET changed = UNIX_TIMESTAMP() WHERE uid = {uid}"
        ))
        .await;
    } else {
        app.exec(&format!(
            "INSERT INTO user__roles (bundle, deleted, entity_id, revision_id, langcode, delta, roles_target_id) \
             SELECT 'user', 0, {uid}, {uid}, 'en', COALESCE(MAX(delta) + 1, 0), '{role}' FROM user__roles WHERE entity_id = {uid}; \
             UPDATE users_field_data SET changed = UNIX_TIMESTAMP() WHERE uid = {uid}"
        ))
        .await;
    }
}
