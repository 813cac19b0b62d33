//! The Drupal side of user writes that the protocol tests do not show: translation rows, cache
//! tags and cids per operation, and concurrent writers.

use crate::helpers::*;
use serde_json::{Value, json};

/// Give jdoe a German translation row, as content_translation would (§1.9: non-translatable
/// values are copied into every translation row).
async fn add_german_translation(app: &TestApp) {
    app.exec(
        "INSERT INTO users_field_data (uid, langcode, preferred_langcode, preferred_admin_langcode, name, pass, mail, timezone, status, created, changed, access, login, init, default_langcode) \
         SELECT uid, 'de', preferred_langcode, preferred_admin_langcode, name, pass, mail, timezone, status, created, changed, access, login, init, 0 FROM users_field_data WHERE uid = 2",
    )
    .await;
}

#[tokio::test]
async fn update_writes_every_translation_row_and_reads_the_default_one() {
    let app = TestApp::spawn().await;
    add_german_translation(&app).await;
    let all = expect_list(app.list_users(&[]).await).await;
    assert_eq!(all["totalResults"], 3, "a translation row is not another user");
    let response = app
        .patch_ops(
            &format!("/Users/{JDOE_UUID}"),
            json!([
                {"op": "Replace", "path": "userName", "value": "john.doe"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "john.doe@example.com"},
                {"op": "Replace", "path": "active", "value": "False"}
            ]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let rows = app.json_rows("SELECT langcode, default_langcode, name, mail, status FROM users_field_data WHERE uid = 2 ORDER BY langcode").await;
    assert_eq!(
        rows,
        vec![
            json!({"langcode": "de", "default_langcode": 0, "name": "john.doe", "mail": "john.doe@example.com", "status": 0}),
            json!({"langcode": "en", "default_langcode": 1, "name": "john.doe", "mail": "john.doe@example.com", "status": 0}),
        ]
    );
    let user: Value = app.get(&format!("/Users/{JDOE_UUID}")).await.json().await.unwrap();
    assert_eq!(user["userName"], "john.doe");
}

#[tokio::test]
async fn field_rows_of_another_language_are_not_read() {
    // Drupal reads dedicated-table rows in the account's own language only.
    let app = TestApp::spawn().await;
    app.exec("INSERT INTO user__field_first_name (bundle, deleted, entity_id, revision_id, langcode, delta, field_first_name_value) VALUES ('user', 0, 4, 4, 'de', 0, 'Gesperrt')").await;
    let user: Value = app.get(&format!("/Users/{BLOCKED_UUID}")).await.json().await.unwrap();
    assert!(user.get("name").is_none(), "{user}");
    // A filter sees what a read sees.
    assert!(app.names_matching("name.givenName eq \"Gesperrt\"").await.is_empty());
    assert!(app.names_matching("name.givenName pr").await.iter().all(|n| n != "blocked.user"));
}

#[tokio::test]
async fn create_invalidates_the_list_tags_and_touches_no_other_account() {
    let app = TestApp::spawn().await;
    let (list, four) = (app.tag_count("user_list").await, app.tag_count("4xx-response").await);
    let jdoe = app.snapshot(2).await;
    app.create_user("cache.create", "cache.create@example.com").await;
    assert_eq!(app.tag_count("user_list").await, list + 1);
    assert_eq!(app.tag_count("4xx-response").await, four + 1);
    assert_eq!(app.snapshot(2).await, jdoe, "the stale cache row of another account is left alone");
    let rows = app.json_rows(&format!("SELECT bundle, deleted, entity_id, revision_id, langcode, delta FROM user__field_last_name WHERE entity_id = {FIRST_NEW_UID}")).await;
    assert_eq!(
        rows,
        vec![json!({"bundle": "user", "deleted": 0, "entity_id": 5, "revision_id": 5, "langcode": "en", "delta": 0})]
    );
}

#[tokio::test]
async fn update_invalidates_user_tags_and_drops_the_stale_entity_cache() {
    let app = TestApp::spawn().await;
    let (list, four, own) =
        (app.tag_count("user_list").await, app.tag_count("4xx-response").await, app.tag_count("user:2").await);
    let other = app.tag_count("user:3").await;
    let response = app
        .patch_ops(
            &format!("/Users/{JDOE_UUID}"),
            json!([{"op": "replace", "path": "name.givenName", "value": "Johann"}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.tag_count("user_list").await, list + 1);
    assert_eq!(app.tag_count("4xx-response").await, four + 1);
    assert_eq!(app.tag_count("user:2").await, own + 1);
    assert_eq!(app.tag_count("user:3").await, other);
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM cache_entity WHERE cid = 'values:user:2'").await, Some(0));
    assert_eq!(
        app.one::<i64>("SELECT COUNT(*) FROM sessions WHERE uid = 2").await,
        Some(1),
        "a name change does not log out"
    );
}

#[tokio::test]
async fn delete_invalidates_user_tags_and_ends_sessions() {
    let app = TestApp::spawn().await;
    let (list, own) = (app.tag_count("user_list").await, app.tag_count("user:2").await);
    assert_eq!(app.delete(&format!("/Users/{JDOE_UUID}")).await.status().as_u16(), 204);
    assert_eq!(app.tag_count("user_list").await, list + 1);
    assert_eq!(app.tag_count("user:2").await, own + 1);
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM cache_entity WHERE cid = 'values:user:2'").await, Some(0));
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM sessions WHERE uid = 2").await, Some(0));
    // Content and fields stay with the blocked account.
    assert_eq!(app.field_values(2, "field_first_name").await, vec!["John"]);
    assert_eq!(
        app.one::<String>("SELECT roles_target_id FROM user__roles WHERE entity_id = 2").await.as_deref(),
        Some("content_editor")
    );
}

#[tokio::test]
async fn create_inactive_user_stores_status_zero() {
    let app = TestApp::spawn().await;
    let mut body = entra_user("starts.blocked", "starts.blocked@example.com", "ext-blocked");
    body["active"] = json!("False");
    let response = app.post("/Users", &body).await;
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(response.json::<Value>().await.unwrap()["active"], false);
    assert_eq!(app.data_column(FIRST_NEW_UID, "status").await, 0);
}

#[tokio::test]
async fn missing_cache_tables_do_not_fail_writes() {
    // Drupal creates cache tables lazily: a fresh site may have none.
    let app = TestApp::spawn().await;
    app.exec("DROP TABLE cachetags").await;
    app.exec("DROP TABLE cache_entity").await;
    app.create_user("no.cache", "no.cache@example.com").await;
    let response = app
        .patch_ops(&format!("/Users/{JDOE_UUID}"), json!([{"op": "replace", "path": "active", "value": false}]))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(2, "status").await, 0);
}

#[tokio::test]
async fn concurrent_creates_of_different_users_all_succeed() {
    let app = TestApp::spawn().await;
    let bridge_before = app.count("scim_user").await;
    let requests = (0..8).map(|i| {
        let body =
            entra_user(&format!("parallel.{i}"), &format!("parallel.{i}@example.com"), &format!("ext-parallel-{i}"));
        let app = &app;
        async move { app.post("/Users", &body).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    assert_eq!(
        app.one::<i64>("SELECT COUNT(DISTINCT uid) FROM users_field_data WHERE name LIKE 'parallel.%'").await,
        Some(8)
    );
    assert_eq!(app.count("scim_user").await, bridge_before + 8);
    assert_eq!(
        app.one::<i64>(
            "SELECT COUNT(*) FROM scim_user s JOIN users_field_data d ON d.uid = s.uid WHERE d.name LIKE 'parallel.%'"
        )
        .await,
        Some(8),
        "one bridge row for each new account"
    );
}

#[tokio::test]
async fn concurrent_creates_claiming_one_name_make_one_account() {
    let app = TestApp::spawn().await;
    let requests = (0..6).map(|i| {
        let body = entra_user(
            if i % 2 == 0 { "race.name" } else { "RACE.NAME" },
            &format!("race.{i}@example.com"),
            &format!("ext-race-{i}"),
        );
        let app = &app;
        async move { app.post("/Users", &body).await.status().as_u16() }
    });
    let mut statuses = futures_util::future::join_all(requests).await;
    statuses.sort();
    assert_eq!(statuses, vec![201, 409, 409, 409, 409, 409]);
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM users_field_data WHERE name = 'race.name'").await, Some(1));
    assert_eq!(app.count("users").await, 6, "no orphan users row from a refused create");
}

#[tokio::test]
async fn concurrent_creates_claiming_one_mail_make_one_account() {
    let app = TestApp::spawn().await;
    let requests = (0..6).map(|i| {
        let mail = if i % 2 == 0 { "shared@example.com" } else { "SHARED@example.com" };
        let body = entra_user(&format!("mail.race.{i}"), mail, &format!("ext-mail-race-{i}"));
        let app = &app;
        async move { app.post("/Users", &body).await.status().as_u16() }
    });
    let mut statuses = futures_util::future::join_all(requests).await;
    statuses.sort();
    assert_eq!(statuses, vec![201, 409, 409, 409, 409, 409]);
    assert_eq!(
        app.one::<i64>("SELECT COUNT(*) FROM users_field_data WHERE mail = 'shared@example.com'").await,
        Some(1)
    );
}

#[tokio::test]
async fn concurrent_identical_reposts_converge_on_one_account() {
    // Entra re-sends a create whose answer timed out, possibly while the first is still running.
    let app = TestApp::spawn().await;
    let body = entra_user("same.post", "same.post@example.com", "ext-same-post");
    let requests = (0..4).map(|_| {
        let app = &app;
        let body = body.clone();
        async move {
            let response = app.post("/Users", &body).await;
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap()["id"].clone())
        }
    });
    let answers = futures_util::future::join_all(requests).await;
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM users_field_data WHERE name = 'same.post'").await, Some(1));
    let ids: std::collections::BTreeSet<String> =
        answers.iter().filter_map(|(_, id)| id.as_str().map(String::from)).collect();
    assert!(answers.iter().all(|(s, _)| matches!(s, 200 | 201)), "every re-send converges: {answers:?}");
    assert_eq!(ids.len(), 1, "{answers:?}");
}

#[tokio::test]
async fn concurrent_patches_of_different_attributes_all_land() {
    let app = TestApp::spawn().await;
    let url = format!("/Users/{MSMITH_UUID}");
    let ops = [
        json!([{"op": "replace", "path": "name.givenName", "value": "Marie"}]),
        json!([{"op": "replace", "path": "name.familyName", "value": "Schmidt"}]),
        json!([{"op": "replace", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "E-3003"}]),
        json!([{"op": "replace", "path": "timezone", "value": "Europe/Paris"}]),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "marie@example.com"}]),
    ];
    let requests = ops.into_iter().map(|ops| {
        let (app, url) = (&app, url.clone());
        async move { app.patch_ops(&url, ops).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(app.field_values(3, "field_first_name").await, vec!["Marie"]);
    assert_eq!(app.field_values(3, "field_last_name").await, vec!["Schmidt"]);
    assert_eq!(app.field_values(3, "field_employee_number").await, vec!["E-3003"]);
    assert_eq!(app.data_column(3, "timezone").await, "Europe/Paris");
    assert_eq!(app.data_column(3, "mail").await, "marie@example.com");
    assert_eq!(app.field_values(3, "field_department").await, vec!["Recherche & Développement"]);
}

#[tokio::test]
async fn concurrent_renames_to_one_name_leave_one_winner() {
    let app = TestApp::spawn().await;
    let requests = [JDOE_UUID, MSMITH_UUID, BLOCKED_UUID].into_iter().map(|id| {
        let app = &app;
        async move {
            app.patch_ops(&format!("/Users/{id}"), json!([{"op": "replace", "path": "userName", "value": "the.one"}]))
                .await
                .status()
                .as_u16()
        }
    });
    let mut statuses = futures_util::future::join_all(requests).await;
    statuses.sort();
    assert_eq!(statuses, vec![200, 409, 409]);
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM users_field_data WHERE name = 'the.one'").await, Some(1));
}
