//! Okta as the client (reference §2.6 and Okta's SCIM 2.0 SPEC test): match, create with a
//! password, 409 on duplicates, paging for imports, PUT updates, path-less deactivation. Every
//! test runs on both fixtures (`…::d10`, `…::d7`).

use crate::helpers::*;
use serde_json::{Value, json};

/// The body of Okta's "Create Okta user with realistic values", plus what Okta adds in
/// production (password, groups, externalId).
fn okta_user(user_name: &str, mail: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Okta", "familyName": "Person"},
        "emails": [{"primary": true, "value": mail, "type": "work"}],
        "displayName": "Okta Person",
        "locale": "en-US",
        "externalId": "00u1abcdEFGHijkl0h7",
        "groups": [],
        "password": "t1meMa$heen",
        "active": true
    })
}

async fn okta_match_filter_with_paging_parameters(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let params = [("filter", "userName eq \"msmith\""), ("startIndex", "1"), ("count", "100")];
    let body = expect_list(app.list_users(&params).await).await;
    assert_eq!(body["totalResults"], 1);
    assert_eq!(body["Resources"][0]["id"], app.msmith_id().as_str());
    let params = [("filter", "userName eq \"nobody@example.com\""), ("startIndex", "1"), ("count", "100")];
    let body = expect_list(app.list_users(&params).await).await;
    assert_eq!(body["totalResults"], 0, "no match is an empty list, not a 404");
}
both!(okta_match_filter_with_paging_parameters);

async fn okta_spec_first_user_has_the_attributes_okta_reads(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let body = expect_list(app.list_users(&[("count", "1"), ("startIndex", "1")]).await).await;
    let first = &body["Resources"][0];
    for pointer in ["/id", "/name/familyName", "/name/givenName", "/userName", "/active", "/emails/0/value"] {
        assert!(first.pointer(pointer).is_some_and(|v| !v.is_null() && v != ""), "{pointer} in {first}");
    }
}
both!(okta_spec_first_user_has_the_attributes_okta_reads);

async fn okta_create_with_password_stores_a_drupal_hash_and_never_returns_it(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let response = app.post("/Users", &okta_user("okta.person@example.com", "okta.person@example.com")).await;
    assert_eq!(response.status().as_u16(), 201);
    let text = response.text().await.unwrap();
    assert!(!text.contains("t1meMa$heen") && !text.contains("password"), "the password is never returned: {text}");
    let user: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(user["active"], true);
    assert!(user.get("groups").is_none(), "groups: [] grants nothing: {user}");

    let uid = app.uid_of("okta.person@example.com").await;
    // bcrypt $2y$10$ on Drupal 10, phpass $S$D on Drupal 7; verifying the password Okta sent.
    app.assert_password(uid, "t1meMa$heen").await;
    if !app.is_d7() {
        let pass = app.data_column(uid, "pass").await;
        assert!(!bcrypt::verify("wrong", pass.as_str().unwrap()).unwrap());
    }
    assert_eq!(app.membership_count().await, 2, "no role rows added");

    let fetched = app.get(&format!("/Users/{}", user["id"].as_str().unwrap())).await.text().await.unwrap();
    assert!(!fetched.contains("password"), "{fetched}");
    let listed = app.filter_users("userName eq \"okta.person@example.com\"").await.text().await.unwrap();
    assert!(!listed.contains("password"), "{listed}");
}
both!(okta_create_with_password_stores_a_drupal_hash_and_never_returns_it);

async fn okta_password_with_surrounding_spaces_is_trimmed_like_drupal(fx: Fixture) {
    // Drupal trims passwords when hashing and at login.
    let app = TestApp::spawn_on(fx).await;
    let mut body = okta_user("trim.person", "trim.person@example.com");
    body["password"] = json!("  padded-secret  ");
    assert_eq!(app.post("/Users", &body).await.status().as_u16(), 201);
    app.assert_password(FIRST_NEW_UID, "padded-secret").await;
}
both!(okta_password_with_surrounding_spaces_is_trimmed_like_drupal);

async fn okta_recreate_with_same_values_is_409(fx: Fixture) {
    // The SPEC test's re-create: same userName, no externalId, another email.
    let app = TestApp::spawn_on(fx).await;
    let spec = |mail: &str| {
        json!({"schemas": [USER_SCHEMA], "userName": "spec.user@example.com",
               "name": {"givenName": "Spec", "familyName": "User"},
               "emails": [{"primary": true, "value": mail, "type": "work"}],
               "displayName": "Spec User", "active": true})
    };
    assert_eq!(app.post("/Users", &spec("spec.user@example.com")).await.status().as_u16(), 201);
    let users = app.count("users").await;
    expect_error(app.post("/Users", &spec("spec.user@example.com")).await, 409, Some("uniqueness")).await;
    expect_error(app.post("/Users", &spec("other.mail@example.com")).await, 409, Some("uniqueness")).await;
    assert_eq!(app.count("users").await, users);
}
both!(okta_recreate_with_same_values_is_409);

async fn okta_uppercased_username_filter_finds_the_user(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    app.post("/Users", &okta_user("Case.Person@Example.com", "case.person@example.com")).await;
    let body = expect_list(app.filter_users("userName eq \"CASE.PERSON@EXAMPLE.COM\"").await).await;
    assert_eq!(body["totalResults"], 1);
    assert_eq!(body["Resources"][0]["userName"], "Case.Person@Example.com", "stored as sent");
}
both!(okta_uppercased_username_filter_finds_the_user);

async fn okta_import_pages_are_stable_and_complete(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    for i in 0..3 {
        app.create_user(&format!("import.{i}"), &format!("import.{i}@example.com")).await;
    }
    let mut seen = Vec::new();
    for start in 1..=7 {
        let start = start.to_string();
        let body = expect_list(app.list_users(&[("count", "1"), ("startIndex", start.as_str())]).await).await;
        assert_eq!(body["totalResults"], 6, "3 fixture accounts + 3 new, never admin/anonymous");
        assert_eq!(body["startIndex"], start.parse::<u64>().unwrap());
        let items = body["Resources"].as_array().cloned().unwrap_or_default();
        assert_eq!(body["itemsPerPage"], items.len());
        seen.extend(items.iter().map(|r| r["userName"].as_str().unwrap().to_string()));
    }
    assert_eq!(seen, vec!["jdoe", "msmith", "blocked.user", "import.0", "import.1", "import.2"]);
    // The same page twice gives the same user.
    let again = expect_list(app.list_users(&[("count", "1"), ("startIndex", "4")]).await).await;
    assert_eq!(again["Resources"][0]["userName"], "import.0");
    // Okta's real page size.
    let page = expect_list(app.list_users(&[("count", "100"), ("startIndex", "1")]).await).await;
    assert_eq!(page["itemsPerPage"], 6);
}
both!(okta_import_pages_are_stable_and_complete);

async fn okta_put_replaces_name_mail_and_fields(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let body = json!({
        "schemas": [USER_SCHEMA],
        "id": app.jdoe_id(),
        "userName": "john.doe@example.org",
        "name": {"givenName": "Jonathan", "familyName": "Doe-Smith"},
        "emails": [{"primary": true, "value": "john.doe@example.org", "type": "work"}],
        "displayName": "Jonathan Doe-Smith",
        "active": true,
        "groups": [],
        "meta": {"resourceType": "User"}
    });
    let tag = app.tag_count("user:2").await;
    let pass_before = app.data_column(2, "pass").await;
    assert!(app.user_cached(2).await, "the fixture has a stale cached copy of jdoe");
    let response = app.put(&format!("/Users/{}", app.jdoe_id()), &body).await;
    assert_eq!(response.status().as_u16(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["userName"], "john.doe@example.org");
    assert_eq!(app.data_column(2, "name").await, "john.doe@example.org");
    assert_eq!(app.data_column(2, "mail").await, "john.doe@example.org");
    assert_eq!(app.data_column(2, "init").await, "jdoe@example.com", "init is the first mail, kept");
    assert_eq!(app.field_values(2, "field_first_name").await, vec!["Jonathan"]);
    assert_eq!(app.field_values(2, "field_last_name").await, vec!["Doe-Smith"]);
    // A PUT replaces the resource: mapped attributes it leaves out are cleared (RFC 7644 §3.5.1).
    assert!(app.field_values(2, "field_department").await.is_empty());
    assert!(app.field_values(2, "field_employee_number").await.is_empty());
    // What SCIM does not map stays as Drupal has it.
    assert_eq!(app.role_ids_of(2).await, vec![app.editor_role()]);
    let pass = app.data_column(2, "pass").await;
    assert_eq!(pass, pass_before, "no password sent, hash kept");
    let prefix = if app.is_d7() { "$S$D" } else { "$2y$" };
    assert!(pass.as_str().unwrap().starts_with(prefix), "{pass}");
    assert!(!app.user_cached(2).await, "Drupal's cached copy of jdoe is dropped");
    if app.is_d7() {
        assert!(app.user_cached(3).await, "msmith's cached copy stays");
        assert_eq!(app.stored_scim_id(2).await, Some(d7_derived_id(2)));
    } else {
        assert_eq!(app.tag_count("user:2").await, tag + 1);
        assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM cache_entity WHERE cid = 'values:user:2'").await, Some(0));
    }
}
both!(okta_put_replaces_name_mail_and_fields);

async fn okta_put_keeps_the_externalid_it_does_not_send(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let created: Value = app.post("/Users", &okta_user("put.keep", "put.keep@example.com")).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let mut body = okta_user("put.keep", "put.keep@example.com");
    body.as_object_mut().unwrap().remove("externalId");
    body.as_object_mut().unwrap().remove("password");
    assert_eq!(app.put(&format!("/Users/{id}"), &body).await.status().as_u16(), 200);
    assert_eq!(
        app.one::<String>(&format!("SELECT external_id FROM scim_user WHERE uid = {FIRST_NEW_UID}")).await.as_deref(),
        Some("00u1abcdEFGHijkl0h7")
    );
}
both!(okta_put_keeps_the_externalid_it_does_not_send);

async fn okta_put_on_unknown_id_is_404_and_creates_nothing(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let id = uuid::Uuid::new_v4();
    expect_error(app.put(&format!("/Users/{id}"), &okta_user("ghost", "ghost@example.com")).await, 404, None).await;
    assert_eq!(app.count("users").await, 5);
}
both!(okta_put_on_unknown_id_is_404_and_creates_nothing);

async fn okta_pathless_replace_active_false_deactivates(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let response = app
        .patch_ops(&format!("/Users/{}", app.jdoe_id()), json!([{"op": "replace", "value": {"active": false}}]))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["active"], false);
    assert_eq!(app.data_column(2, "status").await, 0);
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM sessions WHERE uid = 2").await, Some(0));
    // And back.
    let response = app
        .patch_ops(&format!("/Users/{}", app.jdoe_id()), json!([{"op": "replace", "value": {"active": true}}]))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(2, "status").await, 1);
}
both!(okta_pathless_replace_active_false_deactivates);

async fn okta_bad_token_is_401_scim_error_with_www_authenticate(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let forged =
        drupal_scim::token::mint("another-secret-0123456789abcdef0123456789", "drupal-scim", "drupal-scim", "x", None)
            .unwrap();
    let expired = drupal_scim::token::mint(SECRET, "drupal-scim", "drupal-scim", "x", Some(-3600)).unwrap();
    let other_audience = drupal_scim::token::mint(SECRET, "drupal-scim", "someone-else", "x", None).unwrap();
    for auth in [
        Some(format!("Bearer {forged}")),
        Some(format!("Bearer {expired}")),
        Some(format!("Bearer {other_audience}")),
        Some("Bearer not-a-jwt".to_string()),
        Some("Bearer ".to_string()),
        Some(format!("Basic {}", app.token)),
        None,
    ] {
        let mut request = app.client.get(format!("{}/Users", app.base));
        if let Some(auth) = &auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string());
        assert!(challenge.is_some_and(|c| c.starts_with("Bearer")), "{auth:?}");
        expect_error(response, 401, None).await;
    }
    // A refused write writes nothing.
    let response = app
        .client
        .post(format!("{}/Users", app.base))
        .header("authorization", "Bearer nope")
        .body(okta_user("no.token", "no.token@example.com").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(app.count("users").await, 5);
}
both!(okta_bad_token_is_401_scim_error_with_www_authenticate);

async fn okta_unknown_numeric_id_is_404_scim_error(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let body = expect_error(app.get("/Users/00919288221112222").await, 404, None).await;
    assert!(body["detail"].as_str().unwrap().contains("00919288221112222"), "{body}");
}
both!(okta_unknown_numeric_id_is_404_scim_error);

async fn okta_password_change_ends_sessions_and_clears_failed_logins(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let old_hash = app.data_column(2, "pass").await;
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.jdoe_id()),
            json!([{"op": "replace", "path": "password", "value": "N3w-Secret!"}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(!response.text().await.unwrap().contains("N3w-Secret!"));
    let hash = app.data_column(2, "pass").await;
    assert_ne!(hash, old_hash);
    app.assert_password(2, "N3w-Secret!").await;
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM sessions WHERE uid = 2").await, Some(0));
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM sessions WHERE uid = 1").await, Some(1), "other sessions stay");
    assert_eq!(app.data_column(2, "status").await, 1, "still active");

    // Okta's path-less form, for msmith who has failed logins in flood.
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.msmith_id()),
            json!([{"op": "replace", "value": {"password": "An0ther-Secret"}}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    app.assert_password(3, "An0ther-Secret").await;
    // Drupal 10 forgets the account's failed logins (the Drupal 7 store's spec names sessions only).
    if !app.is_d7() {
        assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM flood WHERE event = 'user.failed_login_user'").await, Some(0));
        assert_eq!(
            app.one::<i64>("SELECT COUNT(*) FROM flood WHERE event = 'user.failed_login_ip'").await,
            Some(2),
            "IP flood rows stay"
        );
    }
}
both!(okta_password_change_ends_sessions_and_clears_failed_logins);

async fn okta_password_longer_than_drupal_accepts_is_400_and_keeps_the_hash(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let before = app.snapshot(2).await;
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.jdoe_id()),
            json!([{"op": "replace", "path": "password", "value": "x".repeat(513)}]),
        )
        .await;
    expect_error(response, 400, Some("invalidValue")).await;
    assert_eq!(app.snapshot(2).await, before);
}
both!(okta_password_longer_than_drupal_accepts_is_400_and_keeps_the_hash);
