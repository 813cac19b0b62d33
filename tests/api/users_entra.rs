//! Microsoft Entra ID's documented user flow (reference §2.2 rows 0–9), once as Entra sends it by
//! default and once with the `aadOptscim062020` flag, asserted on the rows Drupal reads. Every
//! test runs on both fixtures (`…::d10`, `…::d7`).

use crate::helpers::*;
use serde_json::{Value, json};

const WORK_EMAIL_PATH: &str = r#"emails[type eq "work"].value"#;

/// The create body of MS-TUT "Create User", with the enterprise extension Entra adds when
/// department/employeeNumber are mapped.
fn entra_create_body(external_id: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": external_id,
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
        ENTERPRISE: {"department": "Finance", "employeeNumber": "701984"}
    })
}

/// Row 0, Test Connection: a random GUID matches nobody, and the answer is an empty ListResponse.
async fn assert_test_connection(app: &TestApp) {
    let guid = uuid::Uuid::new_v4().to_string();
    let body = expect_list(app.filter_users(&format!("userName eq \"{guid}\"")).await).await;
    assert_eq!(body["totalResults"], 0);
    assert_eq!(body["startIndex"], 1);
    assert_eq!(body["itemsPerPage"], 0);
    assert!(body["Resources"].as_array().is_none_or(Vec::is_empty), "{body}");
}

/// Row 2: match by userName and by externalId, each a ListResponse of exactly that user.
async fn assert_matched(app: &TestApp, filter: &str, id: &str) {
    let body = expect_list(app.filter_users(filter).await).await;
    assert_eq!(body["totalResults"], 1, "{filter}: {body}");
    assert_eq!(body["itemsPerPage"], 1);
    assert_eq!(body["Resources"][0]["id"], id, "{filter}");
}

/// Row 3: the exact Entra create body → 201, and the rows Drupal reads.
async fn create_entra_user(app: &TestApp, external_id: &str) -> (String, u32) {
    let response = app.post("/Users", &entra_create_body(external_id)).await;
    assert_eq!(response.status().as_u16(), 201);
    let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    let user: Value = response.json().await.unwrap();
    let id = user["id"].as_str().unwrap().to_string();
    assert_eq!(location.as_deref(), user["meta"]["location"].as_str(), "Location header = meta.location");
    assert!(location.unwrap().ends_with(&format!("/scim/v2/Users/{id}")));
    assert_eq!(user["externalId"], external_id);
    assert_eq!(user["active"], true);
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "701984");
    assert!(user["schemas"].as_array().unwrap().contains(&json!(ENTERPRISE)), "{user}");
    assert!(user.get("roles").is_none(), "roles are not stored, so not returned: {user}");

    let uid = app.uid_of("Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1").await;
    assert_eq!(uid, FIRST_NEW_UID);
    assert_eq!(app.stored_scim_id(uid).await.as_deref(), Some(id.as_str()));
    if app.is_d7() {
        assert!(uuid::Uuid::parse_str(&id).is_ok_and(|u| u.get_version_num() == 4), "a random v4 uuid: {id}");
        assert_ne!(id, d7_derived_id(uid), "only pre-existing accounts get the derived id");
        assert_eq!(app.rows::<u32>("SELECT value FROM sequences").await, vec![uid], "db_next_id keeps the highest");
    }
    assert_eq!(app.data_column(uid, "mail").await, "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com");
    assert_eq!(app.data_column(uid, "status").await, 1);
    assert_eq!(app.field_values(uid, "field_first_name").await, vec!["givenName"]);
    assert_eq!(app.field_values(uid, "field_last_name").await, vec!["familyName"]);
    assert_eq!(app.field_values(uid, "field_department").await, vec!["Finance"]);
    assert_eq!(app.field_values(uid, "field_employee_number").await, vec!["701984"]);
    assert_eq!(app.role_ids_of(uid).await, Vec::<String>::new(), "roles: [] grants nothing");
    (id, uid)
}

/// Row 4: GET by id, and a SCIM 404 for an id nobody has.
async fn assert_readable(app: &TestApp, id: &str) {
    let response = app.get(&format!("/Users/{id}")).await;
    assert_eq!(response.status().as_u16(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["id"], id);
    assert_eq!(user["userName"], "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1");
    let unknown = uuid::Uuid::new_v4();
    expect_error(app.get(&format!("/Users/{unknown}")).await, 404, None).await;
}

/// Row 9: DELETE → 204, the account blocked and kept, and 404 from then on.
async fn assert_deleted(app: &TestApp, id: &str, uid: u32) {
    let response = app.delete(&format!("/Users/{id}")).await;
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(response.text().await.unwrap(), "", "204 has no body");
    assert_eq!(app.data_column(uid, "status").await, 0);
    assert_eq!(app.one::<i64>(&format!("SELECT deleted FROM scim_user WHERE uid = {uid}")).await, Some(1));
    assert_eq!(app.stored_scim_id(uid).await.as_deref(), Some(id), "the row stays, and so does its id");
    expect_error(app.get(&format!("/Users/{id}")).await, 404, None).await;
    let found = expect_list(app.filter_users(&format!("id eq \"{id}\"")).await).await;
    assert_eq!(found["totalResults"], 0);
}

async fn entra_default_flow_end_to_end(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let external_id = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef";

    assert_test_connection(&app).await;
    // Row 2: nothing to match yet, by either attribute.
    for filter in [
        "userName eq \"Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1\"".to_string(),
        format!("externalId eq \"{external_id}\""),
    ] {
        assert_eq!(expect_list(app.filter_users(&filter).await).await["totalResults"], 0, "{filter}");
    }

    let (id, uid) = create_entra_user(&app, external_id).await;
    assert_matched(&app, "userName eq \"Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1\"", &id).await;
    assert_matched(&app, &format!("externalId eq \"{external_id}\""), &id).await;
    assert_readable(&app, &id).await;

    // Row 5: multi-valued update, Entra's capitalised op.
    let changed_before = app.data_column(uid, "changed").await;
    app.seed_user_cache(uid).await;
    let response = app
        .patch_ops(
            &format!("/Users/{id}"),
            json!([
                {"op": "Replace", "path": WORK_EMAIL_PATH, "value": "updatedEmail@microsoft.com"},
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
            ]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["emails"][0]["value"], "updatedEmail@microsoft.com");
    assert_eq!(user["name"]["familyName"], "updatedFamilyName");
    assert_eq!(app.data_column(uid, "mail").await, "updatedEmail@microsoft.com");
    assert_eq!(
        app.data_column(uid, "init").await,
        "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com",
        "init never changes"
    );
    assert_eq!(app.field_values(uid, "field_last_name").await, vec!["updatedFamilyName"]);
    assert!(app.data_column(uid, "changed").await.as_i64() >= changed_before.as_i64());
    assert!(!app.user_cached(uid).await, "Drupal's cached copy of the account is dropped");

    // Row 6: rename; the stored SCIM id (D10 uuid, D7 scim_user.scim_id) stays.
    let response = app
        .patch_ops(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}]))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(uid, "name").await, "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com");
    assert_eq!(app.stored_scim_id(uid).await.as_deref(), Some(id.as_str()));
    assert_eq!(app.names_like("Test_User_ab6490ee%").await, Vec::<String>::new());

    // Row 7: manager, both shapes Entra sends. Not mapped: accepted, nothing written.
    let before = app.snapshot(uid).await;
    let response = app
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "Add", "path": "manager", "value": [{"$ref": null, "value": app.jdoe_id()}]}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200, "{}", response.text().await.unwrap());
    let response = app
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": app.jdoe_id()}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200, "{}", response.text().await.unwrap());
    assert_eq!(app.snapshot(uid).await, before, "an unmapped manager writes nothing");

    // Row 8: disable with the string "False".
    app.exec(&format!(
        "INSERT INTO sessions (uid, sid, hostname, timestamp) VALUES ({uid}, 'sid-of-{uid}', '127.0.0.1', 1719477215)"
    ))
    .await;
    let response =
        app.patch_ops(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["active"], false);
    assert_eq!(app.data_column(uid, "status").await, 0);
    assert_eq!(app.one::<i64>(&format!("SELECT COUNT(*) FROM sessions WHERE uid = {uid}")).await, Some(0));
    let user: Value = app.get(&format!("/Users/{id}")).await.json().await.unwrap();
    assert_eq!(user["active"], false, "a disabled user is still readable");
    let found =
        expect_list(app.filter_users("userName eq \"5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com\"").await).await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["active"], false);

    assert_deleted(&app, &id, uid).await;
}
both!(entra_default_flow_end_to_end);

async fn entra_aadoptscim062020_flow_end_to_end(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let external_id = "6d5c7bd4-0ad5-4c1b-a6a8-5e3f0f6e0b11";
    assert_test_connection(&app).await;
    let (id, uid) = create_entra_user(&app, external_id).await;
    assert_matched(&app, &format!("externalId eq \"{external_id}\""), &id).await;
    assert_readable(&app, &id).await;

    // Multi-attribute update: one path-less replace with dotted and URN keys, plus a value-filter op.
    let response = app
        .patch_ops(
            &format!("/Users/{id}"),
            json!([
                {"op": "replace", "value": {
                    "displayName": "Updated Display",
                    "name.givenName": "Updated Given",
                    "name.familyName": "Updated Family",
                    format!("{ENTERPRISE}:employeeNumber"): "702001"
                }},
                {"op": "replace", "path": WORK_EMAIL_PATH, "value": "flag.mode@testuser.com"}
            ]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["name"]["givenName"], "Updated Given");
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "702001");
    assert!(user.get("name.givenName").is_none(), "dotted keys are paths, not literal attributes: {user}");
    assert_eq!(app.field_values(uid, "field_first_name").await, vec!["Updated Given"]);
    assert_eq!(app.field_values(uid, "field_last_name").await, vec!["Updated Family"]);
    assert_eq!(app.field_values(uid, "field_employee_number").await, vec!["702001"]);
    assert_eq!(app.field_values(uid, "field_department").await, vec!["Finance"], "untouched");
    assert_eq!(app.data_column(uid, "mail").await, "flag.mode@testuser.com");

    // Rename, lowercase op.
    let response = app
        .patch_ops(&format!("/Users/{id}"), json!([{"op": "replace", "path": "userName", "value": "renamed.flag"}]))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(uid, "name").await, "renamed.flag");

    // Disable with a real boolean and lowercase op.
    let response =
        app.patch_ops(&format!("/Users/{id}"), json!([{"op": "replace", "path": "active", "value": false}])).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(uid, "status").await, 0);
    let found = expect_list(app.filter_users("userName eq \"renamed.flag\"").await).await;
    assert_eq!(found["Resources"][0]["active"], false);

    // Re-enable (Entra restores soft-deleted users).
    let response =
        app.patch_ops(&format!("/Users/{id}"), json!([{"op": "replace", "path": "active", "value": true}])).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(uid, "status").await, 1);

    assert_deleted(&app, &id, uid).await;
}
both!(entra_aadoptscim062020_flow_end_to_end);

async fn entra_manager_reference_filter_answers_a_list(fx: Fixture) {
    // Row 7a: before writing a manager Entra asks whether it is already set. manager is not
    // stored, so no user has this manager: an empty list (never a 4xx/5xx that Entra retries).
    let app = TestApp::spawn_on(fx).await;
    let (jdoe, msmith) = (app.jdoe_id(), app.msmith_id());
    let body = expect_list(app.filter_users(&format!("id eq \"{jdoe}\"")).await).await;
    assert_eq!(body["totalResults"], 1, "the id alone finds jdoe: {body}");
    let filter = format!("id eq \"{jdoe}\" and manager eq \"{msmith}\"");
    let response = app.list_users(&[("filter", filter.as_str()), ("attributes", "id")]).await;
    let body = expect_list(response).await;
    assert_eq!(body["totalResults"], 0, "{body}");
    // The enterprise-qualified spelling too.
    let filter = format!("id eq \"{jdoe}\" and {ENTERPRISE}:manager.value eq \"{msmith}\"");
    let body = expect_list(app.filter_users(&filter).await).await;
    assert_eq!(body["totalResults"], 0, "{body}");
}
both!(entra_manager_reference_filter_answers_a_list);

async fn entra_disable_of_an_existing_drupal_account_keeps_its_other_rows(fx: Fixture) {
    // A pre-existing Drupal account (jdoe) that SCIM never linked, reachable as the mapping
    // says link_existing = "link", matched by userName and disabled: only status changes, and
    // this first SCIM write links it (a bridge row, an audit entry).
    let app = TestApp::spawn_with_mapping_on(fx, &mapping_linking_existing()).await;
    app.unlink(2).await;
    let before = app.snapshot(2).await;
    assert_eq!(before["scim_user"], json!([]), "not linked yet");
    let account_before = app.account(2).await;
    let response = app
        .patch_ops(&format!("/Users/{}", app.jdoe_id()), json!([{"op": "Replace", "path": "active", "value": "False"}]))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["id"], app.jdoe_id().as_str());
    let after = app.snapshot(2).await;
    // Everything but the account's main row, the bridge row, sessions and Drupal's cached copy.
    let written = [app.account_table(), "scim_user", "sessions", "cache_entity", "cache_field"];
    let keys: Vec<&String> = after.as_object().unwrap().keys().filter(|k| !written.contains(&k.as_str())).collect();
    assert!(keys.len() >= 6, "roles and four fields at least: {keys:?}");
    for key in keys {
        assert_eq!(after[key], before[key], "{key} unchanged");
    }
    let account = app.account(2).await;
    assert_eq!(account["status"], 0);
    assert_eq!(account["name"], "jdoe");
    assert_eq!(account["pass"], account_before["pass"], "the password hash stays");
    assert_eq!(after["sessions"], json!([]));
    assert!(!app.user_cached(2).await, "the stale cached copy of jdoe is gone");
    let bridge = &after["scim_user"];
    assert_eq!(bridge.as_array().map(Vec::len), Some(1), "linked: {bridge}");
    assert_eq!((&bridge[0]["external_id"], &bridge[0]["deleted"]), (&Value::Null, &json!(0)), "{bridge}");
    assert_eq!(link_audits(&app, 2).await, 1, "the link is in Drupal's log");
    if app.is_d7() {
        // The first SCIM write of a pre-existing account records its derived id for good.
        assert_eq!(app.stored_scim_id(2).await, Some(d7_derived_id(2)));
        assert_eq!(app.role_ids_of(2).await, vec!["4"]);
    }
}
both!(entra_disable_of_an_existing_drupal_account_keeps_its_other_rows);
