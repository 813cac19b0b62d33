//! Groups: what the mapping allows — protected roles, and `unmapped = "refuse" | "ignore"`.

use crate::groups_support::*;
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn a_group_mapped_to_a_protected_role_stops_the_server_naming_the_line() {
    let mapping =
        mapping_with("create_role", false, "[[groups.map]]\ndisplay_name = \"Admins\"\nrole = \"administrator\"\n");
    let line = mapping.lines().position(|l| l == "role = \"administrator\"").unwrap() + 1;
    let error = match TestApp::try_spawn(&mapping).await {
        Ok(_) => panic!("a group mapped to administrator must not start"),
        Err(e) => e,
    };
    assert!(error.contains(&format!("line {line}")), "{error}");
    assert!(error.contains("administrator") && error.contains("protected"), "{error}");

    // Any role listed in protected_roles, not only the default.
    let mapping =
        mapping_with("create_role", false, "[[groups.map]]\nexternal_id = \"x\"\nrole = \"content_editor\"\n").replace(
            "protected_roles = [\"administrator\"]",
            "protected_roles = [\"administrator\", \"content_editor\"]",
        );
    let error = TestApp::try_spawn(&mapping).await.err().expect("content_editor is protected");
    assert!(error.contains("content_editor"), "{error}");
}

#[tokio::test]
async fn a_group_named_administrator_does_not_grant_administrator() {
    let app = TestApp::spawn().await;
    let before = membership_snapshot(&app).await;
    for name in ["Administrator", "administrator", "ADMINISTRATOR"] {
        let response = app.post("/Groups", &json!({"schemas": [GROUP_SCHEMA], "displayName": name, "externalId": "ext-admins", "members": members(&[MSMITH_UUID])})).await;
        let error = error_of(response, 409).await;
        assert_eq!(error["scimType"], "uniqueness", "{error}");
        assert!(error["detail"].as_str().unwrap().contains("administrator"), "{error}");
    }
    assert_unchanged(&app, &before, "nothing written").await;
    assert_eq!(role_rows(&app, 3).await, Vec::<RoleRow>::new(), "msmith never became an administrator");
    assert_eq!(get_json(&app, "/Groups", &[]).await["totalResults"], 0);
}

#[tokio::test]
async fn protected_roles_are_never_listed_nor_reachable_even_with_a_bridge_row() {
    let app = TestApp::spawn().await;
    create_group(&app, &entra_group("Sales", "ext-sales")).await;
    // A bridge row pointing at administrator (left by an older configuration, or written by hand).
    app.exec("INSERT INTO scim_group (group_id, role_id, display_name, external_id, created_by_scim, deleted, created, changed) \
              VALUES ('administrator', 'administrator', 'Admins', 'ext-admins', 0, 0, 1719000000, 1719000000)")
        .await;
    let all = get_json(&app, "/Groups", &[]).await;
    assert_eq!(all["totalResults"], 1);
    assert_eq!(all["Resources"][0]["id"], "sales");
    for filter in ["displayName eq \"Admins\"", "externalId eq \"ext-admins\"", "id eq \"administrator\""] {
        assert_eq!(get_json(&app, "/Groups", &[("filter", filter)]).await["totalResults"], 0, "{filter}");
    }
    let admin_roles = role_rows(&app, 1).await;
    let config_before = config_raw(&app, "user.role.administrator").await;
    assert_eq!(app.get("/Groups/administrator").await.status().as_u16(), 404);
    let ops = json!([{"op": "Add", "path": "members", "value": members(&[MSMITH_UUID])}, {"op": "Replace", "path": "displayName", "value": "Root"}]);
    assert_eq!(app.patch_ops("/Groups/administrator", ops).await.status().as_u16(), 404);
    let put = json!({"schemas": [GROUP_SCHEMA], "displayName": "Root", "members": members(&[MSMITH_UUID])});
    assert_eq!(app.put("/Groups/administrator", &put).await.status().as_u16(), 404);
    assert_eq!(app.delete("/Groups/administrator").await.status().as_u16(), 404);
    assert_eq!(role_rows(&app, 1).await, admin_roles, "the super user keeps administrator");
    assert_eq!(role_rows(&app, 3).await, Vec::<RoleRow>::new());
    assert_eq!(config_raw(&app, "user.role.administrator").await, config_before);
    // A user's groups never show it either.
    let admin_group_user = get_json(&app, &format!("/Users/{JDOE_UUID}"), &[]).await;
    assert!(admin_group_user.get("groups").is_none(), "{admin_group_user}");
}

#[tokio::test]
async fn member_operations_never_touch_the_super_user() {
    let app = TestApp::spawn_with_mapping(&mapping_mapping_display_name("Editors", "content_editor")).await;
    // The super user also holds content_editor (an admin gave it in Drupal).
    app.exec("INSERT INTO user__roles VALUES ('user', 0, 1, 1, 'en', 1, 'content_editor')").await;
    let group = create_group(&app, &entra_group("Editors", "ext-ed")).await;
    let id = group["id"].as_str().unwrap().to_string();
    assert_eq!(id, "content_editor");
    assert_eq!(
        member_ids(&get_json(&app, &format!("/Groups/{id}"), &[]).await),
        [JDOE_UUID],
        "uid 1 is not a visible member"
    );
    let admin_rows = role_rows(&app, 1).await;

    // Adding uid 1 (alone, or with others) is an unknown member: 400 and nothing written.
    let created = create_group(&app, &entra_group("Sales", "ext-sales")).await;
    let sales = created["id"].as_str().unwrap().to_string();
    let before_sales = membership_snapshot(&app).await;
    for value in [members(&[ADMIN_UUID]), members(&[MSMITH_UUID, ADMIN_UUID])] {
        let response =
            app.patch_ops(&format!("/Groups/{sales}"), json!([{"op": "Add", "path": "members", "value": value}])).await;
        let error = error_of(response, 400).await;
        assert!(error["detail"].as_str().unwrap().contains(ADMIN_UUID), "{error}");
    }
    assert_unchanged(&app, &before_sales, "no write").await;
    let response = app
        .post("/Groups", &json!({"schemas": [GROUP_SCHEMA], "displayName": "Ops", "members": members(&[ADMIN_UUID])}))
        .await;
    error_of(response, 400).await;
    assert_unchanged(&app, &before_sales, "no role created either").await;

    // Removing uid 1 from the mapped group, replacing the member list, deleting the group:
    // uid 1 keeps content_editor every time.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Remove", "path": "members", "value": members(&[ADMIN_UUID])}]),
    )
    .await;
    assert_eq!(role_rows(&app, 1).await, admin_rows);
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{ADMIN_UUID}\"]")}]),
    )
    .await;
    assert_eq!(role_rows(&app, 1).await, admin_rows);
    patch_204(&app, &format!("/Groups/{id}"), json!([{"op": "Replace", "path": "members", "value": []}])).await;
    assert_eq!(role_rows(&app, 1).await, admin_rows);
    assert_eq!(role_rows(&app, 2).await, Vec::<RoleRow>::new(), "jdoe was removed by the replace");
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Add", "path": "members", "value": members(&[JDOE_UUID])}]),
    )
    .await;
    assert_eq!(app.delete(&format!("/Groups/{id}")).await.status().as_u16(), 204);
    assert_eq!(role_rows(&app, 1).await, admin_rows);
    assert_eq!(holders(&app, "content_editor").await, vec![1]);
}

#[tokio::test]
async fn unmapped_refuse_rejects_the_group_naming_the_setting() {
    let app = TestApp::spawn_with_mapping(&mapping_with(
        "refuse",
        false,
        "[[groups.map]]\nexternal_id = \"ext-editors\"\nrole = \"content_editor\"\n",
    ))
    .await;
    let before = membership_snapshot(&app).await;
    let response = app.post("/Groups", &entra_group("Drupal Editors", "ext-other")).await;
    let error = error_of(response, 400).await;
    let detail = error["detail"].as_str().unwrap();
    assert!(detail.contains("unmapped = \"refuse\""), "{detail}");
    assert!(detail.contains("Drupal Editors"), "{detail}");
    assert_unchanged(&app, &before, "no role, no bridge row").await;
    // A mapped group (by externalId, case-exact) is still accepted.
    let group = create_group(&app, &entra_group("Whatever Entra calls it", "ext-editors")).await;
    assert_eq!(group["id"], "content_editor");
    let response = app.post("/Groups", &entra_group("Other", "EXT-EDITORS")).await;
    error_of(response, 400).await;
}

#[tokio::test]
async fn unmapped_ignore_accepts_the_group_but_grants_nothing() {
    let app = TestApp::spawn_with_mapping(&mapping_with("ignore", false, "")).await;
    let roles_before = role_count(&app).await;
    let group = create_group(&app, &entra_group("Drupal Editors", "ext-de")).await;
    let id = group["id"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "an ignored group gets a uuid id: {id}");
    assert_eq!(role_count(&app).await, roles_before, "no role row");
    assert_eq!(bridge_row(&app, &id).await, Some((None, "Drupal Editors".into(), Some("ext-de".into()), 0, 0)));
    let before = snapshot(&app, "SELECT * FROM user__roles ORDER BY entity_id, delta").await;
    let changed = changed_of(&app, 3).await;
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Add", "path": "members", "value": members(&[MSMITH_UUID, JDOE_UUID])}]),
    )
    .await;
    assert_eq!(
        snapshot(&app, "SELECT * FROM user__roles ORDER BY entity_id, delta").await,
        before,
        "no user__roles rows"
    );
    assert_eq!(changed_of(&app, 3).await, changed);
    // Unknown members are still refused, as for any group …
    let response = app
        .patch_ops(
            &format!("/Groups/{id}"),
            json!([{"op": "Add", "path": "members", "value": members(&["00000000-0000-4000-8000-000000000000"])}]),
        )
        .await;
    error_of(response, 400).await;
    // … and removing one that is gone is a no-op, as for any group (Entra would retry a 400 forever).
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Remove", "path": "members", "value": members(&["00000000-0000-4000-8000-000000000000"])}]),
    )
    .await;
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "remove", "path": "members[value eq \"00000000-0000-4000-8000-000000000000\"]"}]),
    )
    .await;
    assert_eq!(app.delete(&format!("/Users/{MSMITH_UUID}")).await.status().as_u16(), 204);
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Remove", "path": "members", "value": members(&[MSMITH_UUID])}]),
    )
    .await;
    // The group is readable, renameable and deletable.
    let read = get_json(&app, &format!("/Groups/{id}"), &[]).await;
    assert_eq!(read["displayName"], "Drupal Editors");
    assert_eq!(member_ids(&read), Vec::<String>::new());
    patch_204(&app, &format!("/Groups/{id}"), json!([{"op": "Replace", "path": "displayName", "value": "Renamed"}]))
        .await;
    assert_eq!(get_json(&app, "/Groups", &[("filter", "displayName eq \"Renamed\"")]).await["totalResults"], 1);
    assert_eq!(role_count(&app).await, roles_before);
    assert_eq!(app.delete(&format!("/Groups/{id}")).await.status().as_u16(), 204);
    assert_eq!(app.get(&format!("/Groups/{id}")).await.status().as_u16(), 404);
    assert_eq!(snapshot(&app, "SELECT * FROM user__roles ORDER BY entity_id, delta").await, before);
}

#[tokio::test]
async fn a_drupal_administrator_role_is_protected_whatever_its_name() {
    let app = TestApp::spawn().await;
    // An operator's own admin role (is_admin: true), not listed in protected_roles.
    let data = r#"a:9:{s:4:"uuid";s:36:"5d1b2f7e-0000-4000-8000-000000000001";s:8:"langcode";s:2:"en";s:6:"status";b:1;s:12:"dependencies";a:0:{}s:2:"id";s:10:"site_admin";s:5:"label";s:10:"Site admin";s:6:"weight";i:9;s:8:"is_admin";b:1;s:11:"permissions";a:0:{}}"#;
    app.exec(&format!("INSERT INTO config (collection, name, data) VALUES ('', 'user.role.site_admin', '{data}')"))
        .await;
    app.exec("INSERT INTO scim_group (group_id, role_id, display_name, external_id, created_by_scim, deleted, created, changed) VALUES ('site_admin', 'site_admin', 'Site admins', 'ext-sa', 0, 0, 1, 1)").await;
    let list: serde_json::Value = app.get("/Groups").await.json().await.unwrap();
    assert_eq!(list["totalResults"], 0, "{list}");
    let add = app
        .patch_ops("/Groups/site_admin", json!([{"op": "add", "path": "members", "value": [{"value": JDOE_UUID}]}]))
        .await;
    assert_eq!(add.status().as_u16(), 404);
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM user__roles WHERE roles_target_id = 'site_admin'").await, Some(0));
}
