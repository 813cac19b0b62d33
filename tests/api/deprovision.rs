//! Deprovisioning choices and linking existing accounts, as drupal_mapping.toml sets them.

use crate::helpers::*;
use serde_json::{Value, json};

fn mapping_with(users_settings: &str) -> String {
    mapping_with_fields()
        .replace("deactivate = \"block\"\n", "")
        .replace("delete = \"block\"\n", "")
        .replace("link_existing = \"refuse\"\n", "")
        .replace("[users]\n", &format!("[users]\n{users_settings}\n"))
}

async fn user_in_group(app: &TestApp, name: &str) -> (String, u32) {
    let user = app.create_user(name, &format!("{name}@example.com")).await;
    let id = user["id"].as_str().unwrap().to_string();
    let group = app.post("/Groups", &json!({"displayName": format!("{name} team"), "members": [{"value": id}]})).await;
    assert_eq!(group.status().as_u16(), 201);
    (id, app.uid_of(name).await)
}

#[tokio::test]
async fn delete_with_block_remove_roles_blocks_and_removes_only_scim_roles() {
    let app = TestApp::spawn_with_mapping(&mapping_with("delete = \"block_remove_roles\"")).await;
    let (id, uid) = user_in_group(&app, "leaver").await;
    app.exec(&format!("INSERT INTO user__roles VALUES ('user', 0, {uid}, {uid}, 'en', 1, 'content_editor')")).await;
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status().as_u16(), 204);
    let roles: Vec<(u32, String)> = app
        .rows(&format!("SELECT delta, roles_target_id FROM user__roles WHERE entity_id = {uid} ORDER BY delta"))
        .await;
    assert_eq!(roles, vec![(0, "content_editor".to_string())], "the role Drupal granted stays, renumbered");
    assert_eq!(app.one::<i64>(&format!("SELECT status FROM users_field_data WHERE uid = {uid}")).await, Some(0));
    assert_eq!(app.get(&format!("/Users/{id}")).await.status().as_u16(), 404);
}

#[tokio::test]
async fn deactivate_with_block_remove_roles_and_plain_block_keeps_roles() {
    let app = TestApp::spawn_with_mapping(&mapping_with("deactivate = \"block_remove_roles\"")).await;
    let (id, uid) = user_in_group(&app, "paused").await;
    let r =
        app.patch_ops(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(app.one::<i64>(&format!("SELECT COUNT(*) FROM user__roles WHERE entity_id = {uid}")).await, Some(0));

    let plain = TestApp::spawn().await;
    let (id, uid) = user_in_group(&plain, "paused2").await;
    plain.patch_ops(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    assert_eq!(
        plain.one::<i64>(&format!("SELECT COUNT(*) FROM user__roles WHERE entity_id = {uid}")).await,
        Some(1),
        "block keeps roles"
    );
}

#[tokio::test]
async fn hard_delete_is_refused_for_an_account_owning_content_and_done_for_one_owning_nothing() {
    let app = TestApp::spawn_with_mapping(&mapping_with("delete = \"delete_if_no_content\"")).await;
    // jdoe (uid 2) owns node 1's sibling in the fixture: blocked, not deleted.
    let response = app.delete(&format!("/Users/{JDOE_UUID}")).await;
    assert_eq!(response.status().as_u16(), 204);
    let warning = response.headers()["warning"].to_str().unwrap().to_string();
    assert!(warning.contains("blocked, not deleted"), "{warning}");
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM users WHERE uid = 2").await, Some(1));
    assert_eq!(app.one::<i64>("SELECT status FROM users_field_data WHERE uid = 2").await, Some(0));
    assert_eq!(app.get(&format!("/Users/{JDOE_UUID}")).await.status().as_u16(), 404);

    // blocked.user (uid 4) owns nothing: every row Drupal's delete removes goes.
    app.exec("INSERT INTO sessions (uid, sid, hostname, timestamp) VALUES (4, 'sid-blocked', '127.0.0.1', 1)").await;
    app.exec("INSERT INTO users_data (uid, module, name, value, serialized) VALUES (4, 'contact', 'enabled', '1', 0)")
        .await;
    let tag = app.tag_count("user:4").await;
    let response = app.delete(&format!("/Users/{BLOCKED_UUID}")).await;
    assert_eq!(response.status().as_u16(), 204);
    assert!(response.headers().get("warning").is_none());
    for (table, column) in [
        ("users", "uid"),
        ("users_field_data", "uid"),
        ("users_data", "uid"),
        ("sessions", "uid"),
        ("scim_user", "uid"),
        ("user__roles", "entity_id"),
        ("user__field_first_name", "entity_id"),
    ] {
        assert_eq!(
            app.one::<i64>(&format!("SELECT COUNT(*) FROM {table} WHERE {column} = 4")).await,
            Some(0),
            "{table}"
        );
    }
    assert_eq!(app.tag_count("user:4").await, tag + 1);
    assert_eq!(app.get(&format!("/Users/{BLOCKED_UUID}")).await.status().as_u16(), 404);
}

#[tokio::test]
async fn create_for_an_existing_unlinked_account_is_refused_by_default_naming_the_setting() {
    let app = TestApp::spawn().await;
    let response = app.post("/Users", &entra_user("msmith", "someone.else@example.com", "ext-m")).await;
    assert_eq!(response.status().as_u16(), 409);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["scimType"], "uniqueness");
    assert!(error["detail"].as_str().unwrap().contains("link_existing"), "{error}");
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM scim_user WHERE uid = 3").await, Some(0));
}

#[tokio::test]
async fn create_links_an_existing_account_when_the_mapping_says_link() {
    let app = TestApp::spawn_with_mapping(&mapping_with("link_existing = \"link\"")).await;
    let before: i64 = app.one("SELECT COUNT(*) FROM users").await.unwrap();
    let mut body = entra_user("MSmith", "mary.smith@example.org", "ext-mary");
    body["name"] = json!({"givenName": "Mary", "familyName": "Smith-Jones"});
    let response = app.post("/Users", &body).await;
    assert_eq!(response.status().as_u16(), 201);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["id"], MSMITH_UUID, "the existing account's id");
    assert_eq!(user["externalId"], "ext-mary");
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM users").await, Some(before), "no new account");
    assert_eq!(app.one::<String>("SELECT external_id FROM scim_user WHERE uid = 3").await.as_deref(), Some("ext-mary"));
    assert_eq!(
        app.one::<String>("SELECT field_last_name_value FROM user__field_last_name WHERE entity_id = 3")
            .await
            .as_deref(),
        Some("Smith-Jones")
    );
    assert_eq!(app.one::<String>("SELECT name FROM users_field_data WHERE uid = 3").await.as_deref(), Some("MSmith"));
    // Once linked, a second create of the same name by another identity conflicts.
    let again = app.post("/Users", &entra_user("msmith", "x@example.org", "ext-other")).await;
    assert_eq!(again.status().as_u16(), 409);
}

#[tokio::test]
async fn create_links_an_existing_account_whose_name_drupal_no_longer_accepts() {
    // A create writes first and looks for an account to link only when it is refused: refused
    // for an invalid value (400) too, as linking validates only what it changes.
    let app = TestApp::spawn_with_mapping(&mapping_with("link_existing = \"link\"")).await;
    app.exec("UPDATE users_field_data SET name = 'm#smith' WHERE uid = 3").await;
    let response = app.post("/Users", &entra_user("m#smith", "mary.smith@example.org", "ext-mary")).await;
    let status = response.status().as_u16();
    let user: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["id"], MSMITH_UUID, "the existing account, linked");
    assert_eq!(app.one::<String>("SELECT external_id FROM scim_user WHERE uid = 3").await.as_deref(), Some("ext-mary"));
    // A new account with that name is still a 400.
    let response = app.post("/Users", &entra_user("j#doe", "new.one@example.org", "ext-new")).await;
    assert_eq!(response.status().as_u16(), 400);
}

#[tokio::test]
async fn a_mapping_cannot_hard_delete_on_deactivation() {
    let err = TestApp::try_spawn(&mapping_with("deactivate = \"delete_if_no_content\"")).await.err().unwrap();
    assert!(err.contains("users.deactivate must be one of block, block_remove_roles"), "{err}");
}
