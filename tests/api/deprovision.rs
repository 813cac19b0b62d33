//! Deprovisioning choices and linking existing accounts, as drupal_mapping.toml sets them. Every
//! test runs on both fixtures (`…::d10`, `…::d7`).

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

async fn delete_with_block_remove_roles_blocks_and_removes_only_scim_roles(fx: Fixture) {
    let app = TestApp::spawn_with_mapping_on(fx, &mapping_with("delete = \"block_remove_roles\"")).await;
    let (id, uid) = user_in_group(&app, "leaver").await;
    // Drupal grants the account the editor role besides the SCIM group's.
    if app.is_d7() {
        app.exec(&format!("INSERT INTO users_roles (uid, rid) VALUES ({uid}, 4)")).await;
    } else {
        app.exec(&format!("INSERT INTO user__roles VALUES ('user', 0, {uid}, {uid}, 'en', 1, 'content_editor')")).await;
    }
    assert_eq!(app.role_ids_of(uid).await.len(), 2);
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status().as_u16(), 204);
    assert_eq!(app.role_ids_of(uid).await, vec![app.editor_role()], "the role Drupal granted stays");
    if !app.is_d7() {
        let roles: Vec<(u32, String)> = app
            .rows(&format!("SELECT delta, roles_target_id FROM user__roles WHERE entity_id = {uid} ORDER BY delta"))
            .await;
        assert_eq!(roles, vec![(0, "content_editor".to_string())], "the role Drupal granted stays, renumbered");
    }
    assert_eq!(app.data_column(uid, "status").await, 0);
    assert_eq!(app.get(&format!("/Users/{id}")).await.status().as_u16(), 404);
}
both!(delete_with_block_remove_roles_blocks_and_removes_only_scim_roles);

async fn deactivate_with_block_remove_roles_and_plain_block_keeps_roles(fx: Fixture) {
    let app = TestApp::spawn_with_mapping_on(fx, &mapping_with("deactivate = \"block_remove_roles\"")).await;
    let (id, uid) = user_in_group(&app, "paused").await;
    let r =
        app.patch_ops(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(app.role_ids_of(uid).await, Vec::<String>::new());
    assert_eq!(app.data_column(uid, "status").await, 0);

    let plain = TestApp::spawn_on(fx).await;
    let (id, uid) = user_in_group(&plain, "paused2").await;
    plain.patch_ops(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    assert_eq!(plain.role_ids_of(uid).await.len(), 1, "block keeps roles");
    assert_eq!(plain.data_column(uid, "status").await, 0);
}
both!(deactivate_with_block_remove_roles_and_plain_block_keeps_roles);

async fn hard_delete_is_refused_for_an_account_owning_content_and_done_for_one_owning_nothing(fx: Fixture) {
    let app = TestApp::spawn_with_mapping_on(fx, &mapping_with("delete = \"delete_if_no_content\"")).await;
    // jdoe (uid 2) owns node 1's sibling in the fixture: blocked, not deleted.
    let response = app.delete(&format!("/Users/{}", app.jdoe_id())).await;
    assert_eq!(response.status().as_u16(), 204);
    let warning = response.headers()["warning"].to_str().unwrap().to_string();
    assert!(warning.contains("blocked, not deleted"), "{warning}");
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM users WHERE uid = 2").await, Some(1));
    assert_eq!(app.data_column(2, "status").await, 0);
    assert_eq!(app.get(&format!("/Users/{}", app.jdoe_id())).await.status().as_u16(), 404);

    // blocked.user (uid 4) owns nothing: every row Drupal's delete removes goes.
    app.exec("INSERT INTO sessions (uid, sid, hostname, timestamp) VALUES (4, 'sid-blocked', '127.0.0.1', 1)").await;
    if !app.is_d7() {
        app.exec(
            "INSERT INTO users_data (uid, module, name, value, serialized) VALUES (4, 'contact', 'enabled', '1', 0)",
        )
        .await;
    }
    app.seed_user_cache(4).await;
    let tag = app.tag_count("user:4").await;
    let response = app.delete(&format!("/Users/{}", app.blocked_id())).await;
    assert_eq!(response.status().as_u16(), 204);
    assert!(response.headers().get("warning").is_none());
    let tables: &[(&str, &str)] = if app.is_d7() {
        &[
            ("users", "uid"),
            ("users_roles", "uid"),
            ("sessions", "uid"),
            ("scim_user", "uid"),
            ("field_data_field_first_name", "entity_id"),
            ("field_revision_field_first_name", "entity_id"),
        ]
    } else {
        &[
            ("users", "uid"),
            ("users_field_data", "uid"),
            ("users_data", "uid"),
            ("sessions", "uid"),
            ("scim_user", "uid"),
            ("user__roles", "entity_id"),
            ("user__field_first_name", "entity_id"),
        ]
    };
    for (table, column) in tables {
        assert_eq!(
            app.one::<i64>(&format!("SELECT COUNT(*) FROM {table} WHERE {column} = 4")).await,
            Some(0),
            "{table}"
        );
    }
    assert_eq!(app.try_uid_of("blocked.user").await, None);
    assert!(!app.user_cached(4).await, "Drupal's cached copy of the account is gone");
    if !app.is_d7() {
        assert_eq!(app.tag_count("user:4").await, tag + 1);
    }
    assert_eq!(app.get(&format!("/Users/{}", app.blocked_id())).await.status().as_u16(), 404);
}
both!(hard_delete_is_refused_for_an_account_owning_content_and_done_for_one_owning_nothing);

async fn create_for_an_existing_unlinked_account_is_refused_by_default_naming_the_setting(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    // msmith existed in Drupal before SCIM, which never linked it: out of SCIM's reach.
    app.unlink(3).await;
    let before = app.snapshot(3).await;
    expect_error(app.get(&format!("/Users/{}", app.msmith_id())).await, 404, None).await;
    assert_eq!(expect_list(app.filter_users("userName eq \"msmith\"").await).await["totalResults"], 0);
    let response = app.post("/Users", &entra_user("msmith", "someone.else@example.com", "ext-m")).await;
    assert_eq!(response.status().as_u16(), 409);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["scimType"], "uniqueness");
    assert!(error["detail"].as_str().unwrap().contains("link_existing"), "{error}");
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM scim_user WHERE uid = 3").await, Some(0));
    assert_eq!(app.data_column(3, "mail").await, "msmith@example.com");
    // The e-mail address alone is refused the same way.
    let response = app.post("/Users", &entra_user("mary.new", "msmith@example.com", "ext-m")).await;
    let error = expect_error(response, 409, Some("uniqueness")).await;
    assert!(error["detail"].as_str().unwrap().contains("link_existing"), "{error}");
    assert_eq!(app.snapshot(3).await, before, "nothing of msmith's written");
    assert_eq!(app.try_uid_of("mary.new").await, None);
}
both!(create_for_an_existing_unlinked_account_is_refused_by_default_naming_the_setting);

async fn create_links_an_existing_account_when_the_mapping_says_link(fx: Fixture) {
    let app = TestApp::spawn_with_mapping_on(fx, &mapping_with("link_existing = \"link\"")).await;
    // msmith existed in Drupal before SCIM, which never linked it.
    app.unlink(3).await;
    let before: i64 = app.one("SELECT COUNT(*) FROM users").await.unwrap();
    let mut body = entra_user("MSmith", "mary.smith@example.org", "ext-mary");
    body["name"] = json!({"givenName": "Mary", "familyName": "Smith-Jones"});
    let response = app.post("/Users", &body).await;
    assert_eq!(response.status().as_u16(), 201);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["id"], app.msmith_id(), "the existing account's id");
    assert_eq!(user["externalId"], "ext-mary");
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM users").await, Some(before), "no new account");
    assert_eq!(app.one::<String>("SELECT external_id FROM scim_user WHERE uid = 3").await.as_deref(), Some("ext-mary"));
    assert_eq!(app.stored_scim_id(3).await, Some(app.msmith_id()), "the bridge row keeps the account's id");
    assert_eq!(link_audits(&app, 3).await, 1, "the link is in Drupal's log");
    assert_eq!(app.field_values(3, "field_last_name").await, vec!["Smith-Jones"]);
    assert_eq!(app.data_column(3, "name").await, "MSmith");
    // Once linked, a second create of the same name by another identity conflicts.
    let again = app.post("/Users", &entra_user("msmith", "x@example.org", "ext-other")).await;
    assert_eq!(again.status().as_u16(), 409);
}
both!(create_links_an_existing_account_when_the_mapping_says_link);

async fn create_links_an_existing_account_whose_name_drupal_no_longer_accepts(fx: Fixture) {
    // A create writes first and looks for an account to link only when it is refused: refused
    // for an invalid value (400) too, as linking validates only what it changes.
    let app = TestApp::spawn_with_mapping_on(fx, &mapping_with("link_existing = \"link\"")).await;
    app.unlink(3).await;
    app.exec(&format!("UPDATE {} SET name = 'm#smith' WHERE uid = 3", app.account_table())).await;
    let response = app.post("/Users", &entra_user("m#smith", "mary.smith@example.org", "ext-mary")).await;
    let status = response.status().as_u16();
    let user: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["id"], app.msmith_id(), "the existing account, linked");
    assert_eq!(app.one::<String>("SELECT external_id FROM scim_user WHERE uid = 3").await.as_deref(), Some("ext-mary"));
    assert_eq!(link_audits(&app, 3).await, 1, "the link is in Drupal's log");
    // A new account with that name is still a 400.
    let response = app.post("/Users", &entra_user("j#doe", "new.one@example.org", "ext-new")).await;
    assert_eq!(response.status().as_u16(), 400);
}
both!(create_links_an_existing_account_whose_name_drupal_no_longer_accepts);

async fn a_mapping_cannot_hard_delete_on_deactivation(fx: Fixture) {
    let err = TestApp::try_spawn_on(fx, &mapping_with("deactivate = \"delete_if_no_content\"")).await.err().unwrap();
    assert!(err.contains("users.deactivate must be one of block, block_remove_roles"), "{err}");
}
both!(a_mapping_cannot_hard_delete_on_deactivation);
