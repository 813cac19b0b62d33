//! RFC 7644 §3.12 errors on the Users endpoint: every refusal is a SCIM Error (schemas, `status`
//! as a string, scimType, detail, application/scim+json) and writes nothing. Every test runs on
//! both fixtures (`…::d10`, `…::d7`).

use crate::helpers::*;
use serde_json::{Value, json};

/// POST a body, expect a 400 with the scimType, and prove no account was written.
async fn refused_create(app: &TestApp, body: Value, scim_type: &str) -> String {
    let before = app.count("users").await;
    let bridge = app.bridge_rows().await;
    let error = expect_error(app.post("/Users", &body).await, 400, Some(scim_type)).await;
    assert_eq!(app.count("users").await, before, "nothing written for {body}");
    assert_eq!(app.bridge_rows().await, bridge, "no bridge row written for {body}");
    error["detail"].as_str().unwrap().to_string()
}

fn with(user_name: &str, patch: Value) -> Value {
    let mut body = entra_user(user_name, "valid.mail@example.com", "ext-err");
    for (k, v) in patch.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

async fn malformed_json_is_400_invalid_syntax(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let before = app.snapshot(2).await;
    for (method, path) in [
        (reqwest::Method::POST, "/Users".to_string()),
        (reqwest::Method::PUT, format!("/Users/{}", app.jdoe_id())),
        (reqwest::Method::PATCH, format!("/Users/{}", app.jdoe_id())),
    ] {
        for body in ["{\"userName\": ", "not json", "", "[1, 2]", "\"a string\""] {
            let response = send_raw(&app, method.clone(), &path, body).await;
            expect_error(response, 400, Some("invalidSyntax")).await;
        }
    }
    let invalid_utf8 = send_raw(&app, reqwest::Method::POST, "/Users", vec![0xffu8, 0xfe, b'{']).await;
    expect_error(invalid_utf8, 400, Some("invalidSyntax")).await;
    assert_eq!(app.snapshot(2).await, before);
    assert_eq!(app.count("users").await, 5);
}
both!(malformed_json_is_400_invalid_syntax);

async fn body_over_the_limit_is_413_scim_error(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    // The default limit is 1 MiB.
    let mut body = entra_user("big.body", "big@example.com", "ext-big");
    body["title"] = json!("x".repeat(1024 * 1024 + 10));
    let error = expect_error(app.post("/Users", &body).await, 413, None).await;
    assert!(error["detail"].as_str().unwrap().contains("1048576"), "{error}");
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.jdoe_id()),
            json!([{"op": "replace", "path": "title", "value": "y".repeat(1_100_000)}]),
        )
        .await;
    expect_error(response, 413, None).await;
    assert_eq!(app.count("users").await, 5);
}
both!(body_over_the_limit_is_413_scim_error);

async fn wrong_types_are_400_invalid_value(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let detail = refused_create(&app, with("typed", json!({"userName": 5})), "invalidValue").await;
    assert!(detail.contains("userName"), "{detail}");
    let detail = refused_create(&app, with("typed", json!({"active": "maybe"})), "invalidValue").await;
    assert!(detail.contains("active"), "{detail}");
    refused_create(&app, with("typed", json!({"active": 1})), "invalidValue").await;
    refused_create(&app, with("typed", json!({"name": "Given Family"})), "invalidValue").await;
    refused_create(&app, with("typed", json!({"externalId": 42})), "invalidValue").await;
    refused_create(&app, with("typed", json!({"emails": [{"value": 7, "type": "work"}]})), "invalidValue").await;
    refused_create(&app, with("typed", json!({"password": true})), "invalidValue").await;
    let before = app.snapshot(2).await;
    let response = app
        .patch_ops(&format!("/Users/{}", app.jdoe_id()), json!([{"op": "replace", "path": "active", "value": "maybe"}]))
        .await;
    expect_error(response, 400, Some("invalidValue")).await;
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.jdoe_id()),
            json!([{"op": "replace", "path": "name.givenName", "value": ["a", "b"]}]),
        )
        .await;
    expect_error(response, 400, Some("invalidValue")).await;
    assert_eq!(app.snapshot(2).await, before);
}
both!(wrong_types_are_400_invalid_value);

async fn missing_username_is_400(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let mut body = entra_user("x", "missing.name@example.com", "ext-missing");
    body.as_object_mut().unwrap().remove("userName");
    let detail = refused_create(&app, body, "invalidValue").await;
    assert!(detail.contains("userName"), "{detail}");
    refused_create(&app, with("x", json!({"userName": ""})), "invalidValue").await;
    refused_create(&app, with("x", json!({"userName": null})), "invalidValue").await;
}
both!(missing_username_is_400);

async fn removing_or_emptying_username_is_refused(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let before = app.snapshot(2).await;
    let response =
        app.patch_ops(&format!("/Users/{}", app.jdoe_id()), json!([{"op": "remove", "path": "userName"}])).await;
    expect_error(response, 400, Some("invalidValue")).await;
    let response = app
        .patch_ops(&format!("/Users/{}", app.jdoe_id()), json!([{"op": "replace", "path": "userName", "value": ""}]))
        .await;
    assert_eq!(response.status().as_u16(), 400);
    let mut body = entra_user("jdoe", "jdoe@example.com", "e");
    body.as_object_mut().unwrap().remove("userName");
    expect_error(app.put(&format!("/Users/{}", app.jdoe_id()), &body).await, 400, Some("invalidValue")).await;
    assert_eq!(app.snapshot(2).await, before);
}
both!(removing_or_emptying_username_is_refused);

async fn patch_request_shape_errors(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let before = app.snapshot(2).await;
    let url = format!("/Users/{}", app.jdoe_id());
    let cases = [
        (json!({"schemas": [PATCH_OP]}), "invalidSyntax"),
        (json!({"schemas": [PATCH_OP], "Operations": {"op": "replace"}}), "invalidSyntax"),
        (json!({"schemas": [USER_SCHEMA], "Operations": []}), "invalidSyntax"),
        (
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "merge", "path": "userName", "value": "x"}]}),
            "invalidSyntax",
        ),
        (json!({"schemas": [PATCH_OP], "Operations": [{"path": "userName", "value": "x"}]}), "invalidSyntax"),
        (json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "userName"}]}), "invalidSyntax"),
        (json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove"}]}), "noTarget"),
        (json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": "not an object"}]}), "invalidValue"),
    ];
    for (body, scim_type) in cases {
        let response = app.patch(&url, &body).await;
        expect_error(response, 400, Some(scim_type)).await;
    }
    assert_eq!(app.snapshot(2).await, before);
}
both!(patch_request_shape_errors);

async fn unknown_patch_path_is_400_invalid_path(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let before = app.snapshot(2).await;
    let url = format!("/Users/{}", app.jdoe_id());
    for path in [
        "favoriteColor",
        "name.middle",
        "urn:example:params:scim:schemas:extension:acme:2.0:User:badge",
        "emails[type eq \"work\"].nope",
        "userName[",
        "emails[type eq]",
    ] {
        let response = app.patch_ops(&url, json!([{"op": "replace", "path": path, "value": "x"}])).await;
        let error = expect_error(response, 400, Some("invalidPath")).await;
        assert!(!error["detail"].as_str().unwrap().is_empty(), "{path}");
    }
    assert_eq!(app.snapshot(2).await, before);
}
both!(unknown_patch_path_is_400_invalid_path);

async fn read_only_attributes_are_400_mutability(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let before = app.snapshot(2).await;
    let url = format!("/Users/{}", app.jdoe_id());
    for path in ["id", "meta.created", "groups"] {
        let response = app.patch_ops(&url, json!([{"op": "replace", "path": path, "value": "x"}])).await;
        expect_error(response, 400, Some("mutability")).await;
    }
    assert_eq!(app.snapshot(2).await, before);
}
both!(read_only_attributes_are_400_mutability);

async fn user_name_longer_than_60_characters_is_400_with_detail(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let name = "n".repeat(61);
    let detail = refused_create(&app, with(&name, json!({})), "invalidValue").await;
    assert!(detail.contains("60"), "{detail}");
    // 60 characters, multi-byte, is fine: Drupal counts characters.
    let name = "é".repeat(60);
    assert_eq!(app.post("/Users", &with(&name, json!({}))).await.status().as_u16(), 201);
    assert_eq!(app.data_column(FIRST_NEW_UID, "name").await, name.as_str());
}
both!(user_name_longer_than_60_characters_is_400_with_detail);

async fn user_name_with_illegal_characters_is_400_with_detail(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    for name in [
        "bad/name",
        "semi;colon",
        "zero\u{200B}width",
        "full\u{FF21}width",
        " leading",
        "trailing ",
        "double  space",
        "nul\u{0}byte",
        "0",
    ] {
        let detail = refused_create(&app, with(name, json!({})), "invalidValue").await;
        assert!(!detail.is_empty(), "{name:?}");
    }
    // Drupal 8+ allows "+" (user_validate_name gained it); Drupal 7 does not.
    let plus = "first.last+tag@example.com";
    if app.is_d7() {
        let detail = refused_create(&app, with(plus, json!({})), "invalidValue").await;
        assert!(detail.contains("\"+\""), "{detail}");
    }
    // Drupal allows these.
    for name in ["o'brien", plus, "Jürgen Müller", "李小龍", "under_score-dash"] {
        if app.is_d7() && name == plus {
            continue;
        }
        let response = app.post("/Users", &with(name, json!({"emails": [], "externalId": name}))).await;
        assert_eq!(response.status().as_u16(), 201, "{name:?}: {}", response.text().await.unwrap());
    }
}
both!(user_name_with_illegal_characters_is_400_with_detail);

async fn rename_to_an_illegal_name_writes_nothing(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let before = app.snapshot(2).await;
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.jdoe_id()),
            json!([{"op": "Replace", "path": "userName", "value": "has/slash"}]),
        )
        .await;
    let error = expect_error(response, 400, Some("invalidValue")).await;
    assert!(error["detail"].as_str().unwrap().contains('/'), "{error}");
    assert_eq!(app.snapshot(2).await, before);
}
both!(rename_to_an_illegal_name_writes_nothing);

async fn mail_longer_than_254_or_malformed_is_400_with_detail(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let long = format!("{}@{}.example.com", "a".repeat(64), ["b".repeat(60), "c".repeat(60), "d".repeat(60)].join("."));
    assert!(long.len() > 254);
    let detail =
        refused_create(&app, with("long.mail", json!({"emails": [{"type": "work", "value": long}]})), "invalidValue")
            .await;
    assert!(detail.contains("254"), "{detail}");
    for mail in ["not-an-email", "two@@example.com", "space in@example.com", "@example.com", "dot.@example.com"] {
        let detail = refused_create(
            &app,
            with("bad.mail", json!({"emails": [{"type": "work", "value": mail}]})),
            "invalidValue",
        )
        .await;
        assert!(detail.contains("e-mail"), "{mail}: {detail}");
    }
}
both!(mail_longer_than_254_or_malformed_is_400_with_detail);

async fn invalid_timezone_is_400_and_a_valid_one_is_stored(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let detail = refused_create(&app, with("tz.user", json!({"timezone": "Mars/Olympus_Mons"})), "invalidValue").await;
    assert!(detail.contains("Mars/Olympus_Mons"), "{detail}");
    refused_create(&app, with("tz.user", json!({"timezone": "x".repeat(40)})), "invalidValue").await;
    assert_eq!(
        app.post("/Users", &with("tz.user", json!({"timezone": "America/Argentina/Buenos_Aires"})))
            .await
            .status()
            .as_u16(),
        201
    );
    assert_eq!(app.data_column(FIRST_NEW_UID, "timezone").await, "America/Argentina/Buenos_Aires");
    let before = app.snapshot(3).await;
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.msmith_id()),
            json!([{"op": "replace", "path": "timezone", "value": "Europe/Atlantis"}]),
        )
        .await;
    expect_error(response, 400, Some("invalidValue")).await;
    assert_eq!(app.snapshot(3).await, before);
}
both!(invalid_timezone_is_400_and_a_valid_one_is_stored);

async fn invalid_preferred_language_is_400(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    refused_create(&app, with("lang.user", json!({"preferredLanguage": "not a language!"})), "invalidValue").await;
}
both!(invalid_preferred_language_is_400);

async fn field_value_longer_than_its_column_is_400(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let before = app.snapshot(2).await;
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.jdoe_id()),
            json!([{"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "d".repeat(256)}]),
        )
        .await;
    let error = expect_error(response, 400, Some("invalidValue")).await;
    assert!(error["detail"].as_str().unwrap().contains("255"), "{error}");
    assert_eq!(app.snapshot(2).await, before);
}
both!(field_value_longer_than_its_column_is_400);

async fn unknown_route_under_the_base_path_is_404_scim_error(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    for path in ["/Foo", "/Users/a/b", "/Userz"] {
        expect_error(app.get(path).await, 404, None).await;
    }
    // GET /Bulk is a known path with the wrong method: 405 (tests/api/conformance.rs).
}
both!(unknown_route_under_the_base_path_is_404_scim_error);

async fn method_not_allowed_on_a_users_route_is_a_scim_error(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    for (method, path) in [
        (reqwest::Method::DELETE, "/Users".to_string()),
        (reqwest::Method::PUT, "/Users".to_string()),
        (reqwest::Method::POST, format!("/Users/{}", app.jdoe_id())),
    ] {
        let response = send_raw(&app, method.clone(), &path, "{}").await;
        assert!(response.headers().contains_key("allow"), "{method} {path}: an Allow header");
        expect_error(response, 405, None).await;
    }
    assert_eq!(app.count("users").await, 5);
}
both!(method_not_allowed_on_a_users_route_is_a_scim_error);

async fn protected_accounts_are_404_for_put_patch_and_delete(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let admin_before = app.snapshot(1).await;
    let anon_before = app.snapshot(0).await;
    for id in [app.admin_id(), app.anon_id()] {
        let url = format!("/Users/{id}");
        expect_error(app.put(&url, &entra_user("renamed", "renamed@example.com", "x")).await, 404, None).await;
        expect_error(
            app.patch_ops(&url, json!([{"op": "replace", "path": "active", "value": false}])).await,
            404,
            None,
        )
        .await;
        expect_error(
            app.patch_ops(&url, json!([{"op": "replace", "path": "password", "value": "owned!"}])).await,
            404,
            None,
        )
        .await;
        expect_error(app.delete(&url).await, 404, None).await;
    }
    assert_eq!(app.snapshot(1).await, admin_before);
    assert_eq!(app.snapshot(0).await, anon_before);
    // By uid-like ids too.
    for id in ["0", "1", "%31"] {
        expect_error(app.get(&format!("/Users/{id}")).await, 404, None).await;
    }
}
both!(protected_accounts_are_404_for_put_patch_and_delete);

async fn renaming_onto_a_protected_account_name_is_409(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let before = app.snapshot(2).await;
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.jdoe_id()),
            json!([{"op": "replace", "path": "userName", "value": "ADMIN"}]),
        )
        .await;
    let error = expect_error(response, 409, Some("uniqueness")).await;
    assert!(error["detail"].as_str().unwrap().contains("protected"), "{error}");
    assert_eq!(app.snapshot(2).await, before);
}
both!(renaming_onto_a_protected_account_name_is_409);

async fn deleted_account_is_404_for_every_method(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    assert_eq!(app.delete(&format!("/Users/{}", app.msmith_id())).await.status().as_u16(), 204);
    let before = app.snapshot(3).await;
    let url = format!("/Users/{}", app.msmith_id());
    expect_error(app.get(&url).await, 404, None).await;
    expect_error(app.put(&url, &entra_user("msmith", "msmith@example.com", "x")).await, 404, None).await;
    expect_error(app.patch_ops(&url, json!([{"op": "replace", "path": "active", "value": true}])).await, 404, None)
        .await;
    expect_error(app.delete(&url).await, 404, None).await;
    assert_eq!(app.snapshot(3).await, before, "a SCIM-deleted account cannot be revived through SCIM");
}
both!(deleted_account_is_404_for_every_method);
