//! What Entra ID really sends (reference §2.3) and the uniqueness rules Drupal enforces, one
//! quirk per test, each asserted on the rows Drupal reads. Every test but the emoji one (Drupal 7's
//! utf8 tables cannot hold it; drupal7_rows covers that) runs on both fixtures.

use crate::helpers::*;
use serde_json::{Value, json};

const DEPARTMENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";

fn jdoe(app: &TestApp) -> String {
    format!("/Users/{}", app.jdoe_id())
}

async fn capitalized_ops_add_replace_remove_are_applied(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let response = app
        .patch_ops(
            &jdoe(&app),
            json!([
                {"op": "Replace", "path": "name.givenName", "value": "Johnny"},
                {"op": "Add", "path": DEPARTMENT, "value": "Sales"},
                {"op": "Remove", "path": "name.familyName"}
            ]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.field_values(2, "field_first_name").await, vec!["Johnny"]);
    assert_eq!(app.field_values(2, "field_department").await, vec!["Sales"]);
    assert!(app.field_values(2, "field_last_name").await.is_empty(), "removed: no row, never '' or NULL");
    // Upper-case too, as some tenants send it.
    let response =
        app.patch_ops(&jdoe(&app), json!([{"op": "REPLACE", "path": "name.givenName", "value": "Jon"}])).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.field_values(2, "field_first_name").await, vec!["Jon"]);
}
both!(capitalized_ops_add_replace_remove_are_applied);

async fn entra_string_false_disables_user(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let response = app.patch_ops(&jdoe(&app), json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(2, "status").await, 0);
    assert_eq!(app.count("sessions").await, 1, "only jdoe's session ended");
}
both!(entra_string_false_disables_user);

async fn entra_string_true_enables_blocked_user(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.blocked_id()),
            json!([{"op": "Replace", "path": "active", "value": "True"}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["active"], true);
    assert_eq!(app.data_column(4, "status").await, 1);
}
both!(entra_string_true_enables_blocked_user);

async fn entra_deprovision_as_add_on_active_disables_user(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let tag_before = app.tag_count("user:2").await;
    app.seed_user_cache(2).await;
    let response = app.patch_ops(&jdoe(&app), json!([{"op": "Add", "path": "active", "value": "False"}])).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(2, "status").await, 0);
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM sessions WHERE uid = 2").await, Some(0));
    assert!(!app.user_cached(2).await, "Drupal's cached copy of the account is gone");
    if !app.is_d7() {
        assert_eq!(app.tag_count("user:2").await, tag_before + 1);
    }
}
both!(entra_deprovision_as_add_on_active_disables_user);

async fn capital_v_value_path_on_other_email_is_accepted_and_keeps_the_work_mail(fx: Fixture) {
    // MS-TUT's attribute table spells it `emails[type eq "other"].Value`. Only the work email is
    // stored, so the other address is accepted and changes nothing in Drupal.
    let app = TestApp::spawn_on(fx).await;
    let before = app.snapshot(2).await;
    let response = app
        .patch_ops(
            &jdoe(&app),
            json!([{"op": "Add", "path": "emails[type eq \"other\"].Value", "value": "john.other@example.net"}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.snapshot(2).await, before);
}
both!(capital_v_value_path_on_other_email_is_accepted_and_keeps_the_work_mail);

async fn capital_v_value_path_on_work_email_updates_mail(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let response = app
        .patch_ops(
            &jdoe(&app),
            json!([{"op": "Replace", "path": "emails[Type eq \"Work\"].Value", "value": "john@new.example.com"}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(2, "mail").await, "john@new.example.com");
}
both!(capital_v_value_path_on_work_email_updates_mail);

async fn dotted_pathless_keys_update_name_fields(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let response = app
        .patch_ops(
            &jdoe(&app),
            json!([{"op": "Replace", "value": {"name.givenName": "Jane", "name.familyName": "Roe", "active": "True"}}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let user: Value = response.json().await.unwrap();
    assert!(user.get("name.givenName").is_none(), "{user}");
    assert_eq!(app.field_values(2, "field_first_name").await, vec!["Jane"]);
    assert_eq!(app.field_values(2, "field_last_name").await, vec!["Roe"]);
}
both!(dotted_pathless_keys_update_name_fields);

async fn urn_qualified_department_add_replace_remove_maps_to_field_rows(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    // blocked.user (uid 4) has no department row.
    let url = format!("/Users/{}", app.blocked_id());
    let response = app.patch_ops(&url, json!([{"op": "Add", "path": DEPARTMENT, "value": "Legal"}])).await;
    assert_eq!(response.status().as_u16(), 200);
    // On Drupal 7 field_values asserts the field_data/field_revision rows Drupal writes.
    assert_eq!(app.field_values(4, "field_department").await, vec!["Legal"]);
    if !app.is_d7() {
        let rows = app.json_rows("SELECT bundle, deleted, entity_id, revision_id, langcode, delta, field_department_value FROM user__field_department WHERE entity_id = 4").await;
        assert_eq!(
            rows,
            vec![
                json!({"bundle": "user", "deleted": 0, "entity_id": 4, "revision_id": 4, "langcode": "en", "delta": 0, "field_department_value": "Legal"})
            ]
        );
    }

    let response =
        app.patch_ops(&url, json!([{"op": "Replace", "path": DEPARTMENT, "value": "Recht & Compliance"}])).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.field_values(4, "field_department").await, vec!["Recht & Compliance"]);

    let response = app.patch_ops(&url, json!([{"op": "Remove", "path": DEPARTMENT}])).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(app.field_values(4, "field_department").await.is_empty());
    let user: Value = response.json().await.unwrap();
    assert!(user.get(ENTERPRISE).is_none(), "no enterprise object once empty: {user}");
}
both!(urn_qualified_department_add_replace_remove_maps_to_field_rows);

async fn pathless_enterprise_object_updates_fields(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let response = app
        .patch_ops(
            &jdoe(&app),
            json!([{"op": "replace", "value": {ENTERPRISE: {"department": "Newsroom", "employeeNumber": "E-2002"}}}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.field_values(2, "field_department").await, vec!["Newsroom"]);
    assert_eq!(app.field_values(2, "field_employee_number").await, vec!["E-2002"]);
}
both!(pathless_enterprise_object_updates_fields);

async fn externalid_is_stored_and_matched_case_exactly(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let created = app.post("/Users", &entra_user("ext.match", "ext.match@example.com", "AbC-123")).await;
    assert_eq!(created.status().as_u16(), 201);
    assert_eq!(
        app.one::<String>(&format!("SELECT external_id FROM scim_user WHERE uid = {FIRST_NEW_UID}")).await.as_deref(),
        Some("AbC-123")
    );
    assert_eq!(app.names_matching("externalId eq \"AbC-123\"").await, vec!["ext.match"]);
    assert!(app.names_matching("externalId eq \"abc-123\"").await.is_empty(), "externalId is caseExact");
}
both!(externalid_is_stored_and_matched_case_exactly);

async fn externalid_can_be_linked_to_an_existing_account(fx: Fixture) {
    // Entra matched jdoe by userName and now writes its objectId as externalId.
    let app = TestApp::spawn_on(fx).await;
    let response = app
        .patch_ops(
            &jdoe(&app),
            json!([{"op": "Add", "path": "externalId", "value": "11111111-2222-3333-4444-555555555555"}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        app.one::<String>("SELECT external_id FROM scim_user WHERE uid = 2").await.as_deref(),
        Some("11111111-2222-3333-4444-555555555555")
    );
    assert_eq!(app.names_matching("externalId eq \"11111111-2222-3333-4444-555555555555\"").await, vec!["jdoe"]);
}
both!(externalid_can_be_linked_to_an_existing_account);

async fn null_attributes_in_post_are_skipped(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": "null-attrs",
        "userName": "null.attrs",
        "active": true,
        "displayName": null,
        "title": null,
        "addresses": null,
        "phoneNumbers": null,
        "preferredLanguage": null,
        "timezone": null,
        "emails": [{"primary": true, "type": "work", "value": "null.attrs@example.com"}],
        "name": {"givenName": "Null", "familyName": null},
        ENTERPRISE: {"department": null, "employeeNumber": "701984", "manager": null}
    });
    let response = app.post("/Users", &body).await;
    assert_eq!(response.status().as_u16(), 201, "{}", response.text().await.unwrap());
    let uid = FIRST_NEW_UID;
    assert_eq!(app.data_column(uid, "timezone").await, "UTC", "the site's default, not NULL");
    // No language sent: the site default on Drupal 10, '' (none) as Drupal 7 stores it.
    let language = if app.is_d7() { "" } else { "en" };
    assert_eq!(app.data_column(uid, "preferred_langcode").await, language);
    assert_eq!(app.field_values(uid, "field_first_name").await, vec!["Null"]);
    assert!(app.field_values(uid, "field_last_name").await.is_empty());
    assert!(app.field_values(uid, "field_department").await.is_empty());
    assert_eq!(app.field_values(uid, "field_employee_number").await, vec!["701984"]);
}
both!(null_attributes_in_post_are_skipped);

async fn empty_operations_is_a_no_op(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let before = app.snapshot(2).await;
    let tag = app.tag_count("user:2").await;
    let response = app.patch_ops(&jdoe(&app), json!([])).await;
    assert_eq!(response.status().as_u16(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["userName"], "jdoe");
    assert_eq!(app.snapshot(2).await, before, "no row changed, changed timestamp included");
    assert_eq!(app.tag_count("user:2").await, tag, "nothing to invalidate");
}
both!(empty_operations_is_a_no_op);

async fn replace_with_current_values_changes_nothing(fx: Fixture) {
    // Entra re-sends unchanged values on every cycle: no write, no `changed` bump.
    let app = TestApp::spawn_on(fx).await;
    let before = app.snapshot(3).await;
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.msmith_id()),
            json!([
                {"op": "Replace", "path": "userName", "value": "msmith"},
                {"op": "Replace", "path": "active", "value": "True"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "msmith@example.com"},
                {"op": "Replace", "path": DEPARTMENT, "value": "Recherche & Développement"}
            ]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.snapshot(3).await, before);
}
both!(replace_with_current_values_changes_nothing);

async fn add_work_email_value_creates_the_mail_when_absent(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let body = json!({"schemas": [USER_SCHEMA], "userName": "no.mail", "externalId": "no-mail", "active": true});
    let created: Value = app.post("/Users", &body).await.json().await.unwrap();
    let uid = FIRST_NEW_UID;
    // No mail: NULL on Drupal 10, '' on Drupal 7 (its columns' default, as user_save leaves it).
    let none = if app.is_d7() { json!("") } else { Value::Null };
    assert_eq!(app.data_column(uid, "mail").await, none);
    assert_eq!(app.data_column(uid, "init").await, none);
    assert!(created.get("emails").is_none(), "no mail, no emails: {created}");
    let id = created["id"].as_str().unwrap();
    let response = app
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "no.mail@example.com"}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["emails"], json!([{"type": "work", "primary": true, "value": "no.mail@example.com"}]));
    assert_eq!(app.data_column(uid, "mail").await, "no.mail@example.com");
}
both!(add_work_email_value_creates_the_mail_when_absent);

async fn repost_of_the_same_user_is_idempotent(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let body = entra_user("repost.user", "repost@example.com", "ext-repost");
    let first = app.post("/Users", &body).await;
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.json().await.unwrap();
    let users_before = app.count("users").await;
    let second = app.post("/Users", &body).await;
    assert!(matches!(second.status().as_u16(), 200 | 201), "{}", second.status());
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["id"], first["id"]);
    assert_eq!(app.count("users").await, users_before, "no second account");
    assert_eq!(app.names_like("repost.user").await, vec!["repost.user"]);
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM scim_user WHERE external_id = 'ext-repost'").await, Some(1));
}
both!(repost_of_the_same_user_is_idempotent);

async fn repost_converges_on_the_values_sent(fx: Fixture) {
    // The first answer was lost and the user changed in Entra before the retry.
    let app = TestApp::spawn_on(fx).await;
    app.post("/Users", &entra_user("retry.user", "retry@example.com", "ext-retry")).await;
    let mut body = entra_user("retry.user", "retry.new@example.com", "ext-retry");
    body["name"]["givenName"] = json!("Changed");
    let response = app.post("/Users", &body).await;
    assert!(matches!(response.status().as_u16(), 200 | 201));
    assert_eq!(app.data_column(FIRST_NEW_UID, "mail").await, "retry.new@example.com");
    assert_eq!(app.field_values(FIRST_NEW_UID, "field_first_name").await, vec!["Changed"]);
}
both!(repost_converges_on_the_values_sent);

async fn post_with_taken_username_and_other_externalid_is_409(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    app.create_user("taken.name", "taken@example.com").await;
    let users_before = app.count("users").await;
    let response = app.post("/Users", &entra_user("taken.name", "other@example.com", "another-external-id")).await;
    let error = expect_error(response, 409, Some("uniqueness")).await;
    assert!(error["detail"].as_str().unwrap().contains("taken.name"), "{error}");
    assert_eq!(app.count("users").await, users_before);
}
both!(post_with_taken_username_and_other_externalid_is_409);

async fn username_uniqueness_is_case_and_accent_insensitive(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let bridge = app.bridge_rows().await;
    for name in ["JDOE", "jdöe", "JDoe", "jdoe "] {
        let response = app.post("/Users", &entra_user(name, "someone.new@example.com", "ext-dup")).await;
        let status = response.status().as_u16();
        // "jdoe " breaks Drupal's no-trailing-space rule first: a 400, still nothing written.
        assert!(matches!(status, 409 | 400), "{name:?}: {status}");
        if name != "jdoe " {
            expect_error(response, 409, Some("uniqueness")).await;
        }
    }
    assert_eq!(app.count("users").await, 5, "nothing written");
    assert_eq!(app.count(app.account_table()).await, 5);
    assert_eq!(app.bridge_rows().await, bridge, "no bridge row written");
    if app.is_d7() {
        assert_eq!(app.count("field_data_field_first_name").await, 2);
        assert_eq!(app.count("field_revision_field_first_name").await, 2);
    } else {
        assert_eq!(app.count("user__field_first_name").await, 2);
    }
}
both!(username_uniqueness_is_case_and_accent_insensitive);

async fn rename_to_a_case_variant_of_another_account_is_409(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let before = app.snapshot(3).await;
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.msmith_id()),
            json!([{"op": "Replace", "path": "userName", "value": "JDöe"}]),
        )
        .await;
    expect_error(response, 409, Some("uniqueness")).await;
    assert_eq!(app.snapshot(3).await, before);
}
both!(rename_to_a_case_variant_of_another_account_is_409);

async fn rename_to_a_case_variant_of_its_own_name_is_allowed(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let response = app.patch_ops(&jdoe(&app), json!([{"op": "Replace", "path": "userName", "value": "JDoe"}])).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(2, "name").await, "JDoe");
}
both!(rename_to_a_case_variant_of_its_own_name_is_allowed);

async fn mail_taken_by_another_account_is_409_whatever_its_case(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let response = app.post("/Users", &entra_user("new.person", "JDOE@Example.COM", "ext-mail")).await;
    let error = expect_error(response, 409, Some("uniqueness")).await;
    assert!(error["detail"].as_str().unwrap().contains("e-mail"), "{error}");
    assert_eq!(app.count("users").await, 5);

    let before = app.snapshot(3).await;
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.msmith_id()),
            json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "Jdoe@example.com"}]),
        )
        .await;
    expect_error(response, 409, Some("uniqueness")).await;
    assert_eq!(app.snapshot(3).await, before);
}
both!(mail_taken_by_another_account_is_409_whatever_its_case);

async fn mail_of_the_protected_admin_is_409_and_says_so(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let response = app.post("/Users", &entra_user("not.admin", "admin@example.com", "ext-admin-mail")).await;
    let error = expect_error(response, 409, Some("uniqueness")).await;
    assert!(error["detail"].as_str().unwrap().contains("protected"), "{error}");
}
both!(mail_of_the_protected_admin_is_409_and_says_so);

async fn patch_failing_in_its_second_op_writes_nothing(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let before = app.snapshot(2).await;
    let list_tag = app.tag_count("user_list").await;
    let response = app
        .patch_ops(
            &jdoe(&app),
            json!([
                {"op": "Replace", "path": "name.familyName", "value": "Changed"},
                {"op": "Replace", "path": "noSuchAttribute", "value": "x"}
            ]),
        )
        .await;
    let error = expect_error(response, 400, Some("invalidPath")).await;
    assert!(error["detail"].as_str().unwrap().starts_with("Operations[1]"), "{error}");
    assert_eq!(app.snapshot(2).await, before);
    assert_eq!(app.tag_count("user_list").await, list_tag);
}
both!(patch_failing_in_its_second_op_writes_nothing);

async fn patch_whose_second_op_takes_a_used_mail_writes_nothing(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let before = app.snapshot(2).await;
    let response = app
        .patch_ops(
            &jdoe(&app),
            json!([
                {"op": "Replace", "path": "name.familyName", "value": "Changed"},
                {"op": "Replace", "path": "userName", "value": "john.doe"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "msmith@example.com"}
            ]),
        )
        .await;
    expect_error(response, 409, Some("uniqueness")).await;
    assert_eq!(app.snapshot(2).await, before);
}
both!(patch_whose_second_op_takes_a_used_mail_writes_nothing);

async fn okta_id_and_meta_echoed_in_a_pathless_value_are_ignored(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let response = app
        .patch_ops(
            &jdoe(&app),
            json!([{"op": "replace", "value": {"id": "something-else", "meta": {"created": "2000-01-01T00:00:00Z"}, "schemas": [USER_SCHEMA], "active": false}}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["id"], app.jdoe_id());
    assert_eq!(app.data_column(2, "status").await, 0);
    if app.is_d7() {
        // The derived id stays derived: no bridge row carries another.
        let stored = app.stored_scim_id(2).await;
        assert!(stored.is_none() || stored == Some(app.jdoe_id()), "{stored:?}");
    } else {
        assert_eq!(app.stored_scim_id(2).await.as_deref(), Some(JDOE_UUID));
    }
    assert_eq!(app.get(&jdoe(&app)).await.status().as_u16(), 200);
}
both!(okta_id_and_meta_echoed_in_a_pathless_value_are_ignored);

async fn entra_bcp47_preferred_language_lands_on_a_configured_drupal_language(fx: Fixture) {
    // Entra's default mapping sends preferredLanguage as BCP 47 ("en-US"); Drupal's
    // preferred_langcode only takes the id of a configured language ("en"; this site has no
    // other). Refusing the user would fail every Entra create, so the value must be narrowed.
    let app = TestApp::spawn_on(fx).await;
    let mut body = entra_user("lang.user", "lang.user@example.com", "ext-lang");
    body["preferredLanguage"] = json!("en-US");
    let response = app.post("/Users", &body).await;
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(app.data_column(FIRST_NEW_UID, "preferred_langcode").await, "en");
    let response =
        app.patch_ops(&jdoe(&app), json!([{"op": "Replace", "path": "preferredLanguage", "value": "de-DE"}])).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(2, "preferred_langcode").await, "en", "not a language of this site: the site default");
}
both!(entra_bcp47_preferred_language_lands_on_a_configured_drupal_language);

async fn clearing_active_never_unblocks_an_account(fx: Fixture) {
    // `remove active`, `active: null`, or a PUT that leaves active out assert nothing about it:
    // a blocked Drupal account must stay blocked (and keep no sessions).
    let app = TestApp::spawn_on(fx).await;
    let url = format!("/Users/{}", app.blocked_id());
    let response = app.patch_ops(&url, json!([{"op": "Remove", "path": "active"}])).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(4, "status").await, 0);
    let response = app.patch_ops(&url, json!([{"op": "Replace", "value": {"active": null}}])).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(4, "status").await, 0);
    let body = json!({"schemas": [USER_SCHEMA], "userName": "blocked.user", "emails": [{"type": "work", "value": "blocked.user@example.com"}]});
    assert_eq!(app.put(&url, &body).await.status().as_u16(), 200);
    assert_eq!(app.data_column(4, "status").await, 0);
    // An active account stays active the same way.
    let response = app.patch_ops(&jdoe(&app), json!([{"op": "Remove", "path": "active"}])).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(2, "status").await, 1);
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM sessions WHERE uid = 2").await, Some(1));
}
both!(clearing_active_never_unblocks_an_account);

/// A user name with characters outside the Basic Multilingual Plane (Drupal 8+ accepts them):
/// the per-site lock names mix them with the database's name, which must not fail.
#[tokio::test]
async fn a_user_name_with_an_emoji_is_stored_and_found() {
    let app = TestApp::spawn().await;
    let user = app.create_user("rocket🚀", "rocket@example.com").await;
    assert_eq!(user["userName"], "rocket🚀");
    assert_eq!(app.names_matching("userName eq \"rocket🚀\"").await, vec!["rocket🚀"]);
    let response = app
        .patch_ops(
            &format!("/Users/{JDOE_UUID}"),
            serde_json::json!([{"op": "replace", "path": "userName", "value": "jdoe🚀"}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(2, "name").await, "jdoe🚀");
    // Ids and role ids are ASCII columns: such a value names nothing (not a database error).
    expect_error(app.get("/Users/%F0%9F%9A%80").await, 404, None).await;
    assert_eq!(app.names_matching("id eq \"🚀\"").await, Vec::<String>::new());
    assert_eq!(app.names_matching("groups eq \"🚀\"").await, Vec::<String>::new());
    assert_eq!(app.names_matching("userName eq \"jdoe🚀\" and not (id eq \"🚀\")").await, vec!["jdoe🚀"]);
}
