//! GET /Users filters (RFC 7644 §3.4.2.2), sorting, projection and paging, over the fixture's
//! visible accounts (jdoe uid 2, msmith uid 3, blocked.user uid 4) and users created here. Every
//! test runs on both fixtures (`…::d10`, `…::d7`): the accounts are the same, the SQL is not.
//!
//! Fixture facts used below: jdoe — John Doe, Editorial, E-1002, role content_editor (Drupal 7:
//! rid 4 "editor"), created
//! 2024-06-20T12:00:00Z, changed 2024-06-21T08:30:00Z; msmith — Mary Smith, Europe/Berlin,
//! "Recherche & Développement", created 12:05:00Z, changed = created; blocked.user — status 0,
//! no name fields, created 12:10:00Z, changed 2024-06-25T08:00:00Z.

use crate::helpers::*;
use serde_json::{Value, json};

async fn names(app: &TestApp, filter: &str) -> Vec<String> {
    let mut names = app.names_matching(filter).await;
    names.sort();
    names
}

fn sorted(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

async fn filter_eq_matches_exactly_one(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(names(&app, "userName eq \"msmith\"").await, sorted(&["msmith"]));
}
both!(filter_eq_matches_exactly_one);

async fn filter_ne_includes_accounts_without_the_value(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(names(&app, "userName ne \"jdoe\"").await, sorted(&["msmith", "blocked.user"]));
    // blocked.user has no first name: "ne" is true for it.
    assert_eq!(names(&app, "name.givenName ne \"John\"").await, sorted(&["msmith", "blocked.user"]));
}
both!(filter_ne_includes_accounts_without_the_value);

async fn filter_co_sw_ew_on_columns_and_fields(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(names(&app, "userName co \"smi\"").await, sorted(&["msmith"]));
    assert_eq!(names(&app, "userName sw \"blocked\"").await, sorted(&["blocked.user"]));
    assert_eq!(names(&app, "emails.value ew \"@example.com\"").await, sorted(&["jdoe", "msmith", "blocked.user"]));
    assert_eq!(names(&app, "name.givenName sw \"Jo\"").await, sorted(&["jdoe"]));
    assert_eq!(names(&app, "name.familyName ew \"ith\"").await, sorted(&["msmith"]));
    assert_eq!(names(&app, &format!("{ENTERPRISE}:department co \"Développement\"")).await, sorted(&["msmith"]));
}
both!(filter_co_sw_ew_on_columns_and_fields);

async fn filter_pr_on_column_and_field(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(names(&app, "name.givenName pr").await, sorted(&["jdoe", "msmith"]));
    assert_eq!(names(&app, &format!("{ENTERPRISE}:employeeNumber pr")).await, sorted(&["jdoe"]));
    app.post("/Users", &json!({"schemas": [USER_SCHEMA], "userName": "no.mail"})).await;
    assert_eq!(names(&app, "emails pr").await, sorted(&["jdoe", "msmith", "blocked.user"]));
    assert_eq!(names(&app, "not (emails pr)").await, sorted(&["no.mail"]));
}
both!(filter_pr_on_column_and_field);

async fn filter_gt_ge_lt_le_on_text(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(names(&app, "userName gt \"jdoe\"").await, sorted(&["msmith"]));
    assert_eq!(names(&app, "userName ge \"jdoe\"").await, sorted(&["jdoe", "msmith"]));
    assert_eq!(names(&app, "userName lt \"jdoe\"").await, sorted(&["blocked.user"]));
    assert_eq!(names(&app, "userName le \"jdoe\"").await, sorted(&["blocked.user", "jdoe"]));
}
both!(filter_gt_ge_lt_le_on_text);

async fn filter_meta_created_and_last_modified_compare_as_times(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(names(&app, "meta.created gt \"2024-06-20T12:00:00Z\"").await, sorted(&["msmith", "blocked.user"]));
    assert_eq!(
        names(&app, "meta.created ge \"2024-06-20T12:00:00Z\"").await,
        sorted(&["jdoe", "msmith", "blocked.user"])
    );
    assert_eq!(names(&app, "meta.created lt \"2024-06-20T12:05:00Z\"").await, sorted(&["jdoe"]));
    // The same instant written with an offset.
    assert_eq!(names(&app, "meta.created le \"2024-06-20T14:05:00+02:00\"").await, sorted(&["jdoe", "msmith"]));
    assert_eq!(names(&app, "meta.lastModified ge \"2024-06-21T08:30:00Z\"").await, sorted(&["jdoe", "blocked.user"]));
    assert_eq!(names(&app, "meta.lastModified gt \"2024-06-22T00:00:00Z\"").await, sorted(&["blocked.user"]));
    // A change made now is seen by a delta query (Entra's reference provider asks lastModified ge).
    app.patch_ops(
        &format!("/Users/{}", app.msmith_id()),
        json!([{"op": "replace", "path": "name.givenName", "value": "Maria"}]),
    )
    .await;
    assert_eq!(names(&app, "meta.lastModified ge \"2025-01-01T00:00:00Z\"").await, sorted(&["msmith"]));
    let bad = app.filter_users("meta.created gt \"yesterday\"").await;
    expect_error(bad, 400, Some("invalidFilter")).await;
}
both!(filter_meta_created_and_last_modified_compare_as_times);

async fn filter_and_or_not_and_parentheses(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(names(&app, "userName eq \"jdoe\" and active eq true").await, sorted(&["jdoe"]));
    assert_eq!(names(&app, "userName eq \"jdoe\" and active eq false").await, Vec::<String>::new());
    assert_eq!(names(&app, "userName eq \"jdoe\" or userName eq \"msmith\"").await, sorted(&["jdoe", "msmith"]));
    assert_eq!(names(&app, "not (userName eq \"jdoe\")").await, sorted(&["msmith", "blocked.user"]));
    assert_eq!(names(&app, "not (name.givenName eq \"John\")").await, sorted(&["msmith", "blocked.user"]));
    assert_eq!(
        names(&app, "(userName eq \"jdoe\" or userName eq \"blocked.user\") and not (active eq true)").await,
        sorted(&["blocked.user"])
    );
}
both!(filter_and_or_not_and_parentheses);

async fn filter_and_binds_tighter_than_or(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    // jdoe or (msmith and inactive): msmith is active, so only jdoe.
    assert_eq!(
        names(&app, "userName eq \"jdoe\" or userName eq \"msmith\" and active eq false").await,
        sorted(&["jdoe"])
    );
    assert_eq!(
        names(&app, "(userName eq \"jdoe\" or userName eq \"msmith\") and active eq false").await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(&app, "active eq false and userName eq \"jdoe\" or userName eq \"msmith\"").await,
        sorted(&["msmith"])
    );
}
both!(filter_and_binds_tighter_than_or);

async fn filter_value_path_with_and_inside_brackets(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    app.create_user("other.domain", "someone@example.org").await;
    assert_eq!(
        names(&app, "emails[type eq \"work\" and value co \"@example.com\"]").await,
        sorted(&["jdoe", "msmith", "blocked.user"])
    );
    assert_eq!(names(&app, "emails[type eq \"home\" and value co \"@example.com\"]").await, Vec::<String>::new());
}
both!(filter_value_path_with_and_inside_brackets);

async fn filter_value_path_matches_only_accounts_that_have_the_element(fx: Fixture) {
    // `emails[type eq "work"]` asks for users with a work email; an account without a mail has none.
    let app = TestApp::spawn_on(fx).await;
    app.post("/Users", &json!({"schemas": [USER_SCHEMA], "userName": "no.mail"})).await;
    assert_eq!(names(&app, "emails[type eq \"work\"]").await, sorted(&["jdoe", "msmith", "blocked.user"]));
    assert_eq!(names(&app, "not (emails[type eq \"work\"])").await, sorted(&["no.mail"]));
}
both!(filter_value_path_matches_only_accounts_that_have_the_element);

async fn filter_entra_work_email_value_eq(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(names(&app, "emails[type eq \"work\"].value eq \"msmith@example.com\"").await, sorted(&["msmith"]));
    // Case-insensitive, as the column's collation compares and as Entra expects for mail.
    assert_eq!(names(&app, "emails[type eq \"work\"].value eq \"MSmith@Example.com\"").await, sorted(&["msmith"]));
}
both!(filter_entra_work_email_value_eq);

async fn filter_urn_qualified_core_and_enterprise_attributes(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(names(&app, &format!("{USER_SCHEMA}:userName eq \"jdoe\"")).await, sorted(&["jdoe"]));
    assert_eq!(names(&app, &format!("{ENTERPRISE}:employeeNumber eq \"E-1002\"")).await, sorted(&["jdoe"]));
    assert_eq!(names(&app, &format!("{USER_SCHEMA}:name.familyName eq \"Smith\"")).await, sorted(&["msmith"]));
}
both!(filter_urn_qualified_core_and_enterprise_attributes);

async fn filter_by_id_and_externalid(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(names(&app, &format!("id eq \"{}\"", app.msmith_id())).await, sorted(&["msmith"]));
    assert_eq!(names(&app, "id eq \"not-an-id\"").await, Vec::<String>::new());
    app.post("/Users", &entra_user("ext.user", "ext.user@example.com", "Ext-ABC")).await;
    assert_eq!(names(&app, "externalId eq \"Ext-ABC\"").await, sorted(&["ext.user"]));
    assert_eq!(names(&app, "externalId eq \"ext-abc\"").await, Vec::<String>::new(), "externalId is caseExact");
    assert_eq!(names(&app, "externalId pr").await, sorted(&["ext.user"]));
    // A new account's id (a stored uuid, or on Drupal 7 a scim_user row) finds it too.
    let created = app.create_user("id.user", "id.user@example.com").await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(names(&app, &format!("id eq \"{id}\"")).await, sorted(&["id.user"]));
    assert_eq!(
        names(&app, &format!("id eq \"{id}\" or id eq \"{}\"", app.jdoe_id())).await,
        sorted(&["id.user", "jdoe"])
    );
}
both!(filter_by_id_and_externalid);

async fn filter_active_eq_false_finds_blocked_accounts(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(names(&app, "active eq false").await, sorted(&["blocked.user"]));
    assert_eq!(names(&app, "active eq true").await, sorted(&["jdoe", "msmith"]));
    assert_eq!(names(&app, "active ne true").await, sorted(&["blocked.user"]));
    // Entra's string spelling.
    assert_eq!(names(&app, "active eq \"False\"").await, sorted(&["blocked.user"]));
    expect_error(app.filter_users("active gt false").await, 400, Some("invalidFilter")).await;
}
both!(filter_active_eq_false_finds_blocked_accounts);

async fn filter_groups_by_role_id(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(names(&app, &format!("groups eq \"{}\"", app.editor_role())).await, sorted(&["jdoe"]));
    assert_eq!(names(&app, "groups pr").await, sorted(&["jdoe"]));
    let admin = format!("groups eq \"{}\"", app.admin_role());
    assert_eq!(names(&app, &admin).await, Vec::<String>::new(), "admin is never listed");
}
both!(filter_groups_by_role_id);

async fn filter_on_timezone_and_preferred_language_columns(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(names(&app, "timezone eq \"Europe/Berlin\"").await, sorted(&["msmith"]));
    assert_eq!(names(&app, "timezone ne \"Europe/Berlin\"").await, sorted(&["jdoe", "blocked.user"]));
    assert_eq!(names(&app, "timezone sw \"europe/\"").await, sorted(&["msmith"]));
    // Drupal 10's accounts all prefer "en"; Drupal 7's users.language is '' (no preference),
    // which is no value at all.
    let all = sorted(&["jdoe", "msmith", "blocked.user"]);
    let preferring = if app.is_d7() { Vec::new() } else { all.clone() };
    assert_eq!(names(&app, "preferredLanguage pr").await, preferring);
    assert_eq!(names(&app, "preferredLanguage eq \"en\"").await, preferring);
    assert_eq!(names(&app, "preferredLanguage eq \"fr\"").await, Vec::<String>::new());
    assert_eq!(names(&app, "preferredLanguage ne \"fr\"").await, all);
    let msmith = format!("/Users/{}", app.msmith_id());
    let response =
        app.patch_ops(&msmith, json!([{"op": "replace", "path": "preferredLanguage", "value": "en-GB"}])).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(3, "preferred_langcode").await, "en");
    let preferring = if app.is_d7() { sorted(&["msmith"]) } else { all.clone() };
    assert_eq!(names(&app, "preferredLanguage eq \"EN\"").await, preferring);
    assert_eq!(names(&app, "preferredLanguage pr and timezone eq \"Europe/Berlin\"").await, sorted(&["msmith"]));
}
both!(filter_on_timezone_and_preferred_language_columns);

async fn filter_operators_and_attribute_names_are_case_insensitive(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(names(&app, "USERNAME EQ \"jdoe\"").await, sorted(&["jdoe"]));
    assert_eq!(names(&app, "UserName Eq \"JDOE\" AND Active EQ TRUE").await, sorted(&["jdoe"]));
    assert_eq!(names(&app, "NAME.GIVENNAME SW \"ma\"").await, sorted(&["msmith"]));
    assert_eq!(names(&app, "NOT (userName Pr) OR userName eq \"msmith\"").await, sorted(&["msmith"]));
}
both!(filter_operators_and_attribute_names_are_case_insensitive);

async fn filter_like_wildcards_match_literally(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(names(&app, "userName co \"%\"").await, Vec::<String>::new());
    assert_eq!(names(&app, "userName sw \"j_oe\"").await, Vec::<String>::new());
    assert_eq!(names(&app, "userName co \"_\"").await, Vec::<String>::new());
    app.create_user("a_b", "a_b@example.com").await;
    assert_eq!(names(&app, "userName co \"_\"").await, sorted(&["a_b"]));
    assert_eq!(names(&app, "userName sw \"a_\"").await, sorted(&["a_b"]));
    // Drupal refuses % in user names: a field holds it.
    let d = format!("{ENTERPRISE}:department");
    app.patch_ops(&format!("/Users/{}", app.blocked_id()), json!([{"op": "add", "path": d, "value": "100% remote"}]))
        .await;
    assert_eq!(names(&app, &format!("{d} co \"0% r\"")).await, sorted(&["blocked.user"]));
    assert_eq!(names(&app, &format!("{d} co \"%\"")).await, sorted(&["blocked.user"]));
    assert_eq!(names(&app, &format!("{d} sw \"1%\"")).await, Vec::<String>::new());
}
both!(filter_like_wildcards_match_literally);

async fn filter_quotes_and_backslashes_match_literally(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let department = r#"R&D "North" \ East"#;
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.blocked_id()),
            json!([{"op": "add", "path": format!("{ENTERPRISE}:department"), "value": department}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.field_values(4, "field_department").await, vec![department]);
    let d = format!("{ENTERPRISE}:department");
    assert_eq!(names(&app, &format!(r#"{d} eq "R&D \"North\" \\ East""#)).await, sorted(&["blocked.user"]));
    assert_eq!(names(&app, &format!(r#"{d} co "\"North\" \\""#)).await, sorted(&["blocked.user"]));
    assert_eq!(names(&app, &format!(r#"{d} ew "\\ East""#)).await, sorted(&["blocked.user"]));
    assert_eq!(names(&app, &format!(r#"{d} co "\\\\""#)).await, Vec::<String>::new(), "two backslashes are not one");
    // An apostrophe in a user name (allowed by Drupal) is just a character.
    app.create_user("o'brien", "obrien@example.com").await;
    assert_eq!(names(&app, "userName eq \"o'brien\"").await, sorted(&["o'brien"]));
    assert_eq!(names(&app, "userName co \"'\"").await, sorted(&["o'brien"]));
}
both!(filter_quotes_and_backslashes_match_literally);

async fn filter_on_an_unknown_attribute_is_400_invalid_filter_naming_it(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let error = expect_error(app.filter_users("favoriteColor eq \"blue\"").await, 400, Some("invalidFilter")).await;
    assert!(error["detail"].as_str().unwrap().contains("favoriteColor"), "{error}");
    let error = expect_error(app.filter_users("name.nickname eq \"x\"").await, 400, Some("invalidFilter")).await;
    assert!(error["detail"].as_str().unwrap().contains("name.nickname"), "{error}");
    expect_error(app.filter_users("password eq \"secret\"").await, 400, Some("invalidFilter")).await;
}
both!(filter_on_an_unknown_attribute_is_400_invalid_filter_naming_it);

async fn filter_on_a_schema_attribute_the_mapping_does_not_store_has_no_value(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(names(&app, "title eq \"Boss\"").await, Vec::<String>::new());
    assert_eq!(names(&app, "title pr").await, Vec::<String>::new());
    assert_eq!(names(&app, "title ne \"Boss\"").await, sorted(&["jdoe", "msmith", "blocked.user"]));
    assert_eq!(names(&app, "phoneNumbers[type eq \"work\"]").await, Vec::<String>::new());
    assert_eq!(names(&app, "userName eq \"jdoe\" and not (displayName pr)").await, sorted(&["jdoe"]));
}
both!(filter_on_a_schema_attribute_the_mapping_does_not_store_has_no_value);

async fn filter_with_bad_syntax_is_400_invalid_filter(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    for filter in [
        "userName eq",
        "userName equals \"x\"",
        "userName eq \"unterminated",
        "(userName eq \"jdoe\"",
        "userName eq \"jdoe\")",
        "userName eq \"jdoe\" and",
        "emails[type eq \"work\"",
        "userName eq jdoe",
        "and userName eq \"x\"",
    ] {
        let error = expect_error(app.filter_users(filter).await, 400, Some("invalidFilter")).await;
        assert!(error["detail"].as_str().unwrap().len() > 10, "{filter}: {error}");
    }
}
both!(filter_with_bad_syntax_is_400_invalid_filter);

async fn filter_matching_nothing_is_an_empty_200_list(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let body = expect_list(app.filter_users("userName eq \"nobody\"").await).await;
    assert_eq!(body["totalResults"], 0);
    assert_eq!(body["itemsPerPage"], 0);
}
both!(filter_matching_nothing_is_an_empty_200_list);

async fn filter_never_lists_protected_or_scim_deleted_accounts(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(names(&app, "userName eq \"admin\"").await, Vec::<String>::new());
    assert_eq!(
        names(&app, &format!("id eq \"{}\" or id eq \"{}\"", app.admin_id(), app.anon_id())).await,
        Vec::<String>::new()
    );
    assert_eq!(names(&app, "not (userName eq \"x\")").await, sorted(&["jdoe", "msmith", "blocked.user"]));
    app.delete(&format!("/Users/{}", app.msmith_id())).await;
    assert_eq!(names(&app, "userName pr").await, sorted(&["jdoe", "blocked.user"]));
}
both!(filter_never_lists_protected_or_scim_deleted_accounts);

async fn sort_by_username_ascending_and_descending(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let listed = |body: &Value| -> Vec<String> {
        body["Resources"].as_array().unwrap().iter().map(|r| r["userName"].as_str().unwrap().to_string()).collect()
    };
    let body = expect_list(app.list_users(&[("sortBy", "userName")]).await).await;
    assert_eq!(listed(&body), vec!["blocked.user", "jdoe", "msmith"]);
    let body = expect_list(app.list_users(&[("sortBy", "userName"), ("sortOrder", "descending")]).await).await;
    assert_eq!(listed(&body), vec!["msmith", "jdoe", "blocked.user"]);
    let body = expect_list(app.list_users(&[("sortBy", "name.givenName"), ("sortOrder", "descending")]).await).await;
    assert_eq!(listed(&body), vec!["msmith", "jdoe", "blocked.user"], "Mary > John > no name");
    let body = expect_list(app.list_users(&[("sortBy", "meta.lastModified"), ("sortOrder", "Descending")]).await).await;
    assert_eq!(listed(&body), vec!["blocked.user", "jdoe", "msmith"]);
    // Paging follows the sort.
    let body = expect_list(app.list_users(&[("sortBy", "userName"), ("startIndex", "2"), ("count", "1")]).await).await;
    assert_eq!(listed(&body), vec!["jdoe"]);
    expect_error(app.list_users(&[("sortBy", "favoriteColor")]).await, 400, Some("invalidValue")).await;
    expect_error(app.list_users(&[("sortOrder", "sideways")]).await, 400, Some("invalidValue")).await;
}
both!(sort_by_username_ascending_and_descending);

async fn attributes_projection_returns_id_schemas_and_what_was_asked(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let body = expect_list(
        app.list_users(&[("filter", "userName eq \"jdoe\""), ("attributes", "userName,name.givenName")]).await,
    )
    .await;
    assert_eq!(
        body["Resources"][0],
        json!({"id": app.jdoe_id(), "schemas": [USER_SCHEMA, ENTERPRISE], "userName": "jdoe", "name": {"givenName": "John"}})
    );
    let response = app
        .client
        .get(format!("{}/Users/{}", app.base, app.jdoe_id()))
        .bearer_auth(&app.token)
        .query(&[("attributes", format!("emails.value,{ENTERPRISE}:department"))])
        .send()
        .await
        .unwrap();
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["emails"], json!([{"value": "jdoe@example.com"}]));
    assert_eq!(user[ENTERPRISE], json!({"department": "Editorial"}));
    assert!(user.get("userName").is_none() && user.get("meta").is_none(), "{user}");
}
both!(attributes_projection_returns_id_schemas_and_what_was_asked);

async fn excluded_attributes_drop_them_but_never_id(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let body = expect_list(
        app.list_users(&[
            ("filter", "userName eq \"jdoe\""),
            ("excludedAttributes", "emails,groups,id,name.familyName"),
        ])
        .await,
    )
    .await;
    let user = &body["Resources"][0];
    assert_eq!(user["id"], app.jdoe_id());
    assert!(user.get("emails").is_none() && user.get("groups").is_none(), "{user}");
    assert_eq!(user["name"], json!({"givenName": "John"}));
    assert_eq!(user["userName"], "jdoe");
}
both!(excluded_attributes_drop_them_but_never_id);

async fn paging_edge_cases_follow_rfc_7644(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    // count=0: only the total.
    let body = expect_list(app.list_users(&[("count", "0")]).await).await;
    assert_eq!((body["totalResults"].as_u64(), body["itemsPerPage"].as_u64()), (Some(3), Some(0)));
    assert!(body["Resources"].as_array().is_none_or(Vec::is_empty));
    // startIndex < 1 is read as 1; a negative count as 0.
    let body = expect_list(app.list_users(&[("startIndex", "0"), ("count", "2")]).await).await;
    assert_eq!(body["startIndex"], 1);
    assert_eq!(body["Resources"][0]["userName"], "jdoe");
    assert_eq!(body["itemsPerPage"], 2);
    let body = expect_list(app.list_users(&[("startIndex", "-4")]).await).await;
    assert_eq!((body["startIndex"].as_u64(), body["itemsPerPage"].as_u64()), (Some(1), Some(3)));
    let body = expect_list(app.list_users(&[("count", "-1")]).await).await;
    assert_eq!(body["itemsPerPage"], 0);
    assert_eq!(body["totalResults"], 3);
    // Beyond the end: an empty page with the true total.
    let body = expect_list(app.list_users(&[("startIndex", "10"), ("count", "5")]).await).await;
    assert_eq!(
        (body["totalResults"].as_u64(), body["itemsPerPage"].as_u64(), body["startIndex"].as_u64()),
        (Some(3), Some(0), Some(10))
    );
    // Not a number.
    expect_error(app.list_users(&[("count", "ten")]).await, 400, Some("invalidValue")).await;
    // Parameter names are case-insensitive.
    let body = expect_list(app.list_users(&[("COUNT", "1"), ("startindex", "2")]).await).await;
    assert_eq!(body["Resources"][0]["userName"], "msmith");
}
both!(paging_edge_cases_follow_rfc_7644);

async fn filter_and_paging_count_the_filtered_total(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    for i in 0..4 {
        app.create_user(&format!("page.{i}"), &format!("page.{i}@example.com")).await;
    }
    let body =
        expect_list(app.list_users(&[("filter", "userName sw \"page.\""), ("startIndex", "3"), ("count", "5")]).await)
            .await;
    assert_eq!(body["totalResults"], 4);
    assert_eq!(body["itemsPerPage"], 2);
    let got: Vec<&str> =
        body["Resources"].as_array().unwrap().iter().map(|r| r["userName"].as_str().unwrap()).collect();
    assert_eq!(got, vec!["page.2", "page.3"]);
}
both!(filter_and_paging_count_the_filtered_total);
