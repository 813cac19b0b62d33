//! Users: the basic life cycle, asserted on the rows Drupal reads.

use crate::helpers::*;
use serde_json::{Value, json};

#[tokio::test]
async fn create_user_writes_the_rows_drupal_reads() {
    let app = TestApp::spawn().await;
    let list_before = app.tag_count("user_list").await;
    let body = entra_user("Test_User_1", "test.user1@example.com", "ext-0001");
    let response = app.post("/Users", &body).await;
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(response.headers()["content-type"], "application/scim+json");
    let user: Value = response.json().await.unwrap();
    let id = user["id"].as_str().unwrap().to_string();
    assert_eq!(user["userName"], "Test_User_1");
    assert_eq!(user["externalId"], "ext-0001");
    assert_eq!(user["active"], true);
    assert_eq!(user["emails"][0]["value"], "test.user1@example.com");
    assert_eq!(user["name"]["givenName"], "Given");

    let uid = app.uid_of("Test_User_1").await;
    assert_eq!(uid, 5, "the next AUTO_INCREMENT value after the fixture's accounts");
    let base: Vec<(String, String)> = app.rows(&format!("SELECT uuid, langcode FROM users WHERE uid = {uid}")).await;
    assert_eq!(base, vec![(id.clone(), "en".to_string())]);
    let data = app
        .json_rows(&format!(
            "SELECT langcode, preferred_langcode, preferred_admin_langcode, name, mail, timezone, status, access, login, init, default_langcode, pass FROM users_field_data WHERE uid = {uid}"
        ))
        .await;
    assert_eq!(
        data,
        vec![
            json!({"langcode": "en", "preferred_langcode": "en", "preferred_admin_langcode": null, "name": "Test_User_1",
            "mail": "test.user1@example.com", "timezone": "UTC", "status": 1, "access": 0, "login": 0,
            "init": "test.user1@example.com", "default_langcode": 1, "pass": null})
        ]
    );
    let times: Vec<(i64, i64)> =
        app.rows(&format!("SELECT created, changed FROM users_field_data WHERE uid = {uid}")).await;
    assert!(times[0].0 > 1_700_000_000 && times[0].0 == times[0].1, "created = changed = now");
    let first: Vec<(String, u8, u32, u32, String, u32, String)> = app
        .rows(&format!("SELECT bundle, deleted, entity_id, revision_id, langcode, delta, field_first_name_value FROM user__field_first_name WHERE entity_id = {uid}"))
        .await;
    assert_eq!(first, vec![("user".into(), 0, uid, uid, "en".into(), 0, "Given".into())]);
    let ext: Option<String> = app.one(&format!("SELECT external_id FROM scim_user WHERE uid = {uid}")).await;
    assert_eq!(ext.as_deref(), Some("ext-0001"));
    assert_eq!(app.tag_count("user_list").await, list_before + 1);
}

#[tokio::test]
async fn entra_disable_blocks_ends_sessions_and_invalidates_caches() {
    let app = TestApp::spawn().await;
    let jdoe_tag = app.tag_count("user:2").await;
    let response = app
        .patch_ops(&format!("/Users/{JDOE_UUID}"), json!([{"op": "Replace", "path": "active", "value": "False"}]))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["active"], false);
    assert_eq!(app.one::<i64>("SELECT status FROM users_field_data WHERE uid = 2").await, Some(0));
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM sessions WHERE uid = 2").await, Some(0));
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM sessions WHERE uid = 1").await, Some(1), "other sessions stay");
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM cache_entity WHERE cid = 'values:user:2'").await, Some(0));
    assert_eq!(app.tag_count("user:2").await, jdoe_tag + 1);
    // Still visible with active=false, as Entra requires.
    let found: Value = app.filter_users("userName eq \"jdoe\"").await.json().await.unwrap();
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["active"], false);
    // Re-enable.
    let response = app
        .patch_ops(&format!("/Users/{JDOE_UUID}"), json!([{"op": "Replace", "path": "active", "value": "True"}]))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.one::<i64>("SELECT status FROM users_field_data WHERE uid = 2").await, Some(1));
}

#[tokio::test]
async fn delete_blocks_keeps_the_account_and_answers_404_afterwards() {
    let app = TestApp::spawn().await;
    let response = app.delete(&format!("/Users/{JDOE_UUID}")).await;
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(app.one::<i64>("SELECT status FROM users_field_data WHERE uid = 2").await, Some(0));
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM users WHERE uid = 2").await, Some(1), "the account stays");
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM node_field_data WHERE uid = 2").await, Some(1), "content stays");
    assert_eq!(app.get(&format!("/Users/{JDOE_UUID}")).await.status().as_u16(), 404);
    let found: Value = app.filter_users("userName eq \"jdoe\"").await.json().await.unwrap();
    assert_eq!(found["totalResults"], 0);
    assert_eq!(app.delete(&format!("/Users/{JDOE_UUID}")).await.status().as_u16(), 404);
}

#[tokio::test]
async fn protected_accounts_are_invisible_and_untouchable() {
    let app = TestApp::spawn().await;
    for id in [ADMIN_UUID, ANON_UUID] {
        assert_eq!(app.get(&format!("/Users/{id}")).await.status().as_u16(), 404);
        assert_eq!(app.delete(&format!("/Users/{id}")).await.status().as_u16(), 404);
    }
    let all: Value = app.get("/Users").await.json().await.unwrap();
    assert_eq!(all["totalResults"], 3, "jdoe, msmith and blocked.user; never admin or anonymous");
    let response = app.post("/Users", &entra_user("admin", "new-admin@example.com", "x")).await;
    assert_eq!(response.status().as_u16(), 409);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["scimType"], "uniqueness");
    assert!(error["detail"].as_str().unwrap().contains("protected"), "{error}");
    assert_eq!(app.one::<i64>("SELECT status FROM users_field_data WHERE uid = 1").await, Some(1));
}

#[tokio::test]
async fn primary_email_filters_find_the_mapped_mail() {
    let app = TestApp::spawn().await;
    let found: Value =
        app.filter_users("emails[primary eq true].value eq \"jdoe@example.com\"").await.json().await.unwrap();
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_eq!(found["Resources"][0]["userName"], "jdoe");
    let none: Value = app.filter_users("emails[primary eq false]").await.json().await.unwrap();
    assert_eq!(none["totalResults"], 0);
}

#[tokio::test]
async fn a_name_held_by_an_account_deleted_through_scim_says_so() {
    let app = TestApp::spawn().await;
    let user = app.create_user("gone.user", "gone@example.com").await;
    let id = user["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status().as_u16(), 204);
    let again = app.post("/Users", &entra_user("gone.user", "new.gone@example.com", "another-object-id")).await;
    assert_eq!(again.status().as_u16(), 409);
    let error: Value = again.json().await.unwrap();
    assert!(error["detail"].as_str().unwrap().contains("deleted through SCIM earlier"), "{error}");
}

#[tokio::test]
async fn protected_accounts_are_out_of_reach_of_every_route() {
    let app = TestApp::spawn().await;
    let admin_path = format!("/Users/{ADMIN_UUID}");
    let disable = json!([{"op": "Replace", "path": "active", "value": "False"}]);
    assert_eq!(app.get(&admin_path).await.status().as_u16(), 404);
    assert_eq!(app.put(&admin_path, &json!({"userName": "admin", "active": false})).await.status().as_u16(), 404);
    assert_eq!(app.patch_ops(&admin_path, disable.clone()).await.status().as_u16(), 404);
    assert_eq!(app.delete(&admin_path).await.status().as_u16(), 404);
    // Search, by any attribute.
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": format!("id eq \"{ADMIN_UUID}\" or userName eq \"admin\"")});
    let found: Value = app.post("/Users/.search", &search).await.json().await.unwrap();
    assert_eq!(found["totalResults"], 0);
    // Bulk, every method.
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "PATCH", "path": admin_path, "data": {"schemas": [PATCH_OP], "Operations": disable}},
        {"method": "PUT", "path": admin_path, "data": {"userName": "admin2"}},
        {"method": "DELETE", "path": admin_path},
        {"method": "DELETE", "path": format!("/Users/{ANON_UUID}")},
    ]});
    let answer: Value = app.post("/Bulk", &bulk).await.json().await.unwrap();
    for op in answer["Operations"].as_array().unwrap() {
        assert_eq!(op["status"], "404", "{op}");
    }
    // Groups: admin can be neither added nor removed.
    app.post("/Groups", &json!({"displayName": "Reach"})).await;
    let add = app
        .patch_ops("/Groups/reach", json!([{"op": "Add", "path": "members", "value": [{"value": ADMIN_UUID}]}]))
        .await;
    assert_eq!(add.status().as_u16(), 400);
    let rows =
        app.json_rows("SELECT uid, name, status, mail FROM users_field_data WHERE uid IN (0, 1) ORDER BY uid").await;
    assert_eq!(
        rows,
        vec![
            json!({"uid": 0, "name": "", "status": 0, "mail": null}),
            json!({"uid": 1, "name": "admin", "status": 1, "mail": "admin@example.com"}),
        ]
    );
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM user__roles WHERE entity_id = 1").await, Some(1));
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM sessions WHERE uid = 1").await, Some(1));
}

/// A create builds its answer from what it wrote (no read-back on Drupal 8+): it must be what a
/// read of the account gives, every mapped value included, on both Drupals.
async fn a_create_answers_what_a_read_of_the_account_gives(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let bodies = [
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "externalId": "ext-readback-1",
            "userName": "Read.Back@Example.com",
            "active": "False",
            "emails": [{"primary": true, "type": "work", "value": "Read.Back+tag@Example.com"}],
            "name": {"givenName": " Spaced given ", "familyName": "Ünïcödé Ω"},
            "timezone": "Europe/Berlin",
            "preferredLanguage": "en-US",
            ENTERPRISE: {"department": "R&D", "employeeNumber": "000123"}
        }),
        // Nothing but the userName: every default Drupal fills, no mail, no field rows.
        json!({"schemas": [USER_SCHEMA], "userName": "bare"}),
    ];
    for body in bodies {
        let response = app.post("/Users", &body).await;
        let status = response.status().as_u16();
        let created: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_str().unwrap();
        let read: Value = app.get(&format!("/Users/{id}")).await.json().await.unwrap();
        assert_eq!(created, read, "the answer to the create is what a GET reads");
    }
}
both!(a_create_answers_what_a_read_of_the_account_gives);
