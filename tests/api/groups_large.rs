//! Groups: a group with 1,000 members, added and half removed in single PATCH requests.

use crate::groups_support::*;
use crate::helpers::*;
use serde_json::json;
use std::collections::BTreeMap;

const N: usize = 1000;

/// Seed N accounts with bulk SQL in the shape POST /Users writes them (users, users_field_data,
/// scim_user); every third one also holds content_editor at delta 0. Returns (uuid, uid) pairs.
async fn seed_accounts(app: &TestApp) -> Vec<(String, u32)> {
    let uuids: Vec<String> = (0..N).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let values: Vec<String> = uuids.iter().map(|u| format!("('{u}', 'en')")).collect();
    app.exec(&format!("INSERT INTO users (uuid, langcode) VALUES {}", values.join(", "))).await;
    let now = 1_760_000_000;
    app.exec(&format!(
        "INSERT INTO users_field_data (uid, langcode, preferred_langcode, preferred_admin_langcode, name, pass, mail, timezone, \
           status, created, changed, access, login, init, default_langcode) \
         SELECT uid, 'en', 'en', NULL, CONCAT('bulk.', uid), NULL, CONCAT('bulk.', uid, '@example.com'), 'UTC', \
           1, {now}, {now}, 0, 0, CONCAT('bulk.', uid, '@example.com'), 1 FROM users WHERE uid > 4"
    ))
    .await;
    app.exec(&format!(
        "INSERT INTO scim_user (uid, external_id, deleted, created, changed) SELECT uid, CONCAT('ext-', uid), 0, {now}, {now} FROM users WHERE uid > 4"
    ))
    .await;
    app.exec(
        "INSERT INTO user__roles (bundle, deleted, entity_id, revision_id, langcode, delta, roles_target_id) \
         SELECT 'user', 0, uid, uid, 'en', 0, 'content_editor' FROM users WHERE uid > 4 AND uid % 3 = 0",
    )
    .await;
    let rows: Vec<(String, u32)> = app.rows("SELECT uuid, uid FROM users WHERE uid > 4 ORDER BY uid").await;
    assert_eq!(rows.len(), N);
    rows
}

/// uid → [(delta, role)] for every account above the fixture's.
async fn roles_by_uid(app: &TestApp) -> BTreeMap<u32, Vec<(u32, String)>> {
    let rows: Vec<(u32, u32, String, String, u32, String)> = app
        .rows("SELECT entity_id, revision_id, bundle, langcode, delta, roles_target_id FROM user__roles WHERE entity_id > 4 AND deleted = 0 ORDER BY entity_id, delta")
        .await;
    let mut out: BTreeMap<u32, Vec<(u32, String)>> = BTreeMap::new();
    for (uid, revision, bundle, langcode, delta, role) in rows {
        assert_eq!((revision, bundle.as_str(), langcode.as_str()), (uid, "user", "en"));
        out.entry(uid).or_default().push((delta, role));
    }
    out
}

fn expected_roles(uid: u32, member: bool) -> Vec<(u32, String)> {
    let mut roles = Vec::new();
    if uid.is_multiple_of(3) {
        roles.push((0, "content_editor".to_string()));
    }
    if member {
        roles.push((roles.len() as u32, "big_group".to_string()));
    }
    roles
}

#[tokio::test]
async fn a_thousand_members_are_added_in_one_patch_and_half_removed_in_another() {
    let app = TestApp::spawn().await;
    let accounts = seed_accounts(&app).await;
    create_group(&app, &entra_group("Big Group", "ext-big")).await;
    let all: Vec<&str> = accounts.iter().map(|(u, _)| u.as_str()).collect();

    // All-or-nothing: 999 good ids and one unknown at the end write nothing.
    let mut with_unknown = all[..N - 1].to_vec();
    with_unknown.push("0f0e0d0c-0b0a-4909-8807-060504030201");
    let before = membership_snapshot(&app).await;
    let response = app
        .patch_ops("/Groups/big_group", json!([{"op": "Add", "path": "members", "value": members(&with_unknown)}]))
        .await;
    error_of(response, 400).await;
    assert_unchanged(&app, &before, "a failed 1,000-member add").await;

    let list = app.tag_count("user_list").await;
    patch_204(&app, "/Groups/big_group", json!([{"op": "Add", "path": "members", "value": members(&all)}])).await;
    assert_eq!(
        app.one::<i64>("SELECT COUNT(*) FROM user__roles WHERE roles_target_id = 'big_group'").await,
        Some(N as i64)
    );
    let roles = roles_by_uid(&app).await;
    for (_, uid) in &accounts {
        assert_eq!(roles.get(uid).cloned().unwrap_or_default(), expected_roles(*uid, true), "uid {uid}");
    }
    assert_eq!(app.tag_count("user_list").await, list + 1, "one invalidation for the whole request");
    let bumped: i64 =
        app.one("SELECT COUNT(*) FROM cachetags WHERE tag LIKE 'user:%' AND tag <> 'user:2'").await.unwrap();
    assert_eq!(bumped, N as i64, "user:<uid> for each member");
    let unchanged: i64 =
        app.one("SELECT COUNT(*) FROM users_field_data WHERE uid > 4 AND changed = 1760000000").await.unwrap();
    assert_eq!(unchanged, 0, "every member's changed was bumped");

    // The group reads back with all of them; the excluded read carries none.
    let group = get_json(&app, "/Groups/big_group", &[]).await;
    assert_eq!(group["members"].as_array().unwrap().len(), N);
    let light =
        get_json(&app, "/Groups", &[("filter", "displayName eq \"Big Group\""), ("excludedAttributes", "members")])
            .await;
    assert!(light["Resources"][0].get("members").is_none());

    // Remove every other account in one Entra-style Remove.
    let gone: Vec<&str> = all.iter().step_by(2).copied().collect();
    assert_eq!(gone.len(), N / 2);
    patch_204(&app, "/Groups/big_group", json!([{"op": "Remove", "path": "members", "value": members(&gone)}])).await;
    assert_eq!(
        app.one::<i64>("SELECT COUNT(*) FROM user__roles WHERE roles_target_id = 'big_group'").await,
        Some((N / 2) as i64)
    );
    let roles = roles_by_uid(&app).await;
    for (i, (_, uid)) in accounts.iter().enumerate() {
        assert_eq!(roles.get(uid).cloned().unwrap_or_default(), expected_roles(*uid, i % 2 == 1), "uid {uid}");
    }
    // Nobody else was touched.
    assert_eq!(role_rows(&app, 2).await, vec![role_row(2, 0, "content_editor")]);
    assert_eq!(role_rows(&app, 1).await, vec![role_row(1, 0, "administrator")]);
}
