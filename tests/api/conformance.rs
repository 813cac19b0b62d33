//! What third-party SCIM test tools check beyond Entra ID and Okta (issue #16): 405 with `Allow`
//! for a method an endpoint does not serve, a PATCH path that is an extension schema URN, bodies
//! whose `schemas` name another resource type, and the script-friendly forms of
//! `drupal-scim token`.

use crate::groups_support::{GROUP_SCHEMA, get_json, okta_group};
use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

/// Assert a 405 SCIM error whose `Allow` header is `allow`.
async fn expect_not_allowed(response: reqwest::Response, allow: &str) {
    let what = format!("{} {}", response.url().path(), response.status());
    assert_eq!(response.headers().get("allow").and_then(|v| v.to_str().ok()), Some(allow), "Allow of {what}");
    expect_error(response, 405, None).await;
}

async fn send(app: &TestApp, method: Method, path: &str) -> reqwest::Response {
    send_raw(app, method, path, json!({"schemas": [USER_SCHEMA], "userName": "nobody"}).to_string()).await
}

#[tokio::test]
async fn writes_to_discovery_endpoints_are_405_with_allow_get() {
    let app = TestApp::spawn().await;
    let paths = [
        "/ServiceProviderConfig".to_string(),
        "/ResourceTypes".into(),
        "/ResourceTypes/User".into(),
        "/Schemas".into(),
        format!("/Schemas/{USER_SCHEMA}"),
    ];
    for path in &paths {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            expect_not_allowed(send(&app, method, path).await, "GET").await;
        }
        assert_eq!(app.get(path).await.status().as_u16(), 200, "GET {path} still answers");
    }
    // Authentication comes first: without a token the answer is 401, whatever the method.
    for path in &paths {
        let response = app.client.post(format!("{}{path}", app.base)).body("{}").send().await.unwrap();
        expect_error(response, 401, None).await;
    }
    // A path that is no endpoint stays 404.
    expect_error(send(&app, Method::POST, "/Nothing").await, 404, None).await;
}

#[tokio::test]
async fn methods_a_resource_endpoint_does_not_serve_are_405_with_its_allow() {
    let app = TestApp::spawn().await;
    let user = app.create_user("allow.probe", "allow.probe@example.com").await;
    let user_path = format!("/Users/{}", user["id"].as_str().unwrap());
    let created = app.post("/Groups", &okta_group("Allow Probe")).await;
    assert_eq!(created.status().as_u16(), 201);
    let group: Value = created.json().await.unwrap();
    let group_path = format!("/Groups/{}", group["id"].as_str().unwrap());

    expect_not_allowed(send(&app, Method::POST, &user_path).await, "GET, PUT, PATCH, DELETE").await;
    expect_not_allowed(send(&app, Method::POST, &group_path).await, "GET, PUT, PATCH, DELETE").await;
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        expect_not_allowed(send(&app, method.clone(), "/Users").await, "GET, POST").await;
        expect_not_allowed(send(&app, method, "/Groups").await, "GET, POST").await;
    }
    for path in ["/Bulk", "/.search", "/Users/.search", "/Groups/.search"] {
        expect_not_allowed(send(&app, Method::GET, path).await, "POST").await;
    }
    // Nothing was touched by the refused requests.
    assert_eq!(app.get(&user_path).await.status().as_u16(), 200);
    assert_eq!(app.get(&group_path).await.status().as_u16(), 200);
    assert_eq!(app.try_uid_of("nobody").await, None);
    // Without a token: 401 before 405.
    let response = app.client.delete(format!("{}/Users", app.base)).send().await.unwrap();
    expect_error(response, 401, None).await;
}

async fn patch_path_may_be_the_enterprise_urn(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let user = app.create_user("urn.path", "urn.path@example.com").await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let uid = app.uid_of("urn.path").await;

    let response =
        app.patch_ops(&path, json!([{"op": "add", "path": ENTERPRISE, "value": {"department": "Research"}}])).await;
    assert_eq!(response.status().as_u16(), 200, "{}", response.text().await.unwrap());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body[ENTERPRISE]["department"], "Research");
    assert_eq!(app.field_values(uid, "field_department").await, vec!["Research"]);

    let ops = json!([{"op": "replace", "path": ENTERPRISE, "value": {"department": "Sales", "employeeNumber": "E-7"}}]);
    assert_eq!(app.patch_ops(&path, ops).await.status().as_u16(), 200);
    assert_eq!(app.field_values(uid, "field_department").await, vec!["Sales"]);
    assert_eq!(app.field_values(uid, "field_employee_number").await, vec!["E-7"]);

    // remove with the URN path removes every enterprise attribute SCIM maps.
    let response = app.patch_ops(&path, json!([{"op": "remove", "path": ENTERPRISE}])).await;
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body.get(ENTERPRISE).is_none(), "{body}");
    assert!(app.field_values(uid, "field_department").await.is_empty());
    assert!(app.field_values(uid, "field_employee_number").await.is_empty());

    // A non-object value under the URN path is an invalid value, and nothing is written.
    let response = app.patch_ops(&path, json!([{"op": "add", "path": ENTERPRISE, "value": "Research"}])).await;
    expect_error(response, 400, Some("invalidValue")).await;
    assert!(app.field_values(uid, "field_department").await.is_empty());
}
both!(patch_path_may_be_the_enterprise_urn);

#[tokio::test]
async fn a_body_naming_another_resource_type_is_refused() {
    let app = TestApp::spawn().await;
    let user_as_group = json!({"schemas": [GROUP_SCHEMA], "userName": "wrong.schema", "displayName": "Wrong"});
    let body = expect_error(app.post("/Users", &user_as_group).await, 400, Some("invalidSyntax")).await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(GROUP_SCHEMA) && detail.contains(USER_SCHEMA), "{detail}");
    assert_eq!(app.try_uid_of("wrong.schema").await, None, "nothing was created");

    let group_as_user = json!({"schemas": [USER_SCHEMA, ENTERPRISE], "displayName": "Wrong Group"});
    let body = expect_error(app.post("/Groups", &group_as_user).await, 400, Some("invalidSyntax")).await;
    assert!(body["detail"].as_str().unwrap().contains(USER_SCHEMA), "{body}");
    let found = get_json(&app, "/Groups", &[("filter", "displayName eq \"Wrong Group\"")]).await;
    assert_eq!(found["totalResults"], 0, "nothing was created");

    // PUT too, and the resources stay as they were.
    let user = app.create_user("put.schema", "put.schema@example.com").await;
    let user_path = format!("/Users/{}", user["id"].as_str().unwrap());
    let put = json!({"schemas": [GROUP_SCHEMA], "userName": "put.renamed", "displayName": "X"});
    expect_error(app.put(&user_path, &put).await, 400, Some("invalidSyntax")).await;
    assert!(app.try_uid_of("put.schema").await.is_some() && app.try_uid_of("put.renamed").await.is_none());

    let created = app.post("/Groups", &okta_group("Schema Group")).await;
    assert_eq!(created.status().as_u16(), 201);
    let group: Value = created.json().await.unwrap();
    let group_path = format!("/Groups/{}", group["id"].as_str().unwrap());
    let put = json!({"schemas": [USER_SCHEMA], "displayName": "Schema Group Renamed", "members": []});
    expect_error(app.put(&group_path, &put).await, 400, Some("invalidSyntax")).await;
    let now: Value = app.get(&group_path).await.json().await.unwrap();
    assert_eq!(now["displayName"], "Schema Group");
}

#[tokio::test]
async fn a_body_without_schemas_is_still_accepted() {
    let app = TestApp::spawn().await;
    let response =
        app.post("/Users", &json!({"userName": "no.schemas", "emails": [{"value": "ns@example.com"}]})).await;
    assert_eq!(response.status().as_u16(), 201);
    let response = app.post("/Groups", &json!({"displayName": "No Schemas"})).await;
    assert_eq!(response.status().as_u16(), 201);
}

/// Run `drupal-scim token` with `args` in an empty directory (no drupal-scim.toml is picked up).
fn token_command(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-token-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_drupal-scim"));
    cmd.arg("token")
        .args(args)
        .current_dir(&dir.0)
        .env("DRUPAL_SCIM__AUTH__SECRET", SECRET)
        .env("DRUPAL_SCIM__DATABASE__URL", "mysql://unused@127.0.0.1:1/unused")
        .env_remove("DRUPAL_SCIM__SERVER__PUBLIC_URL")
        .env_remove("DRUPAL_SCIM__AUTH__KEY_ID");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Whether a server with the tests' secret accepts `token`.
async fn accepted(app: &TestApp, token: &str) -> bool {
    let response =
        app.client.get(format!("{}/ServiceProviderConfig", app.base)).bearer_auth(token).send().await.unwrap();
    response.status().as_u16() == 200
}

#[tokio::test]
async fn token_quiet_prints_the_token_alone() {
    let out = token_command(&["--quiet"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout:?}");
    assert!(stdout.ends_with('\n'));
    let token = stdout.trim_end();
    assert_eq!(token.split('.').count(), 3, "a JWT and nothing else: {token:?}");
    let app = TestApp::spawn().await;
    assert!(accepted(&app, token).await, "the printed token authenticates");
    // The human text is still the default.
    let out = token_command(&[], &[]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Tenant URL:") && text.contains("Secret Token: "), "{text}");
}

#[tokio::test]
async fn token_format_json_prints_one_object() {
    let args = ["--format", "json", "--subject", "okta", "--expires-in-days", "2"];
    let out = token_command(&args, &[("DRUPAL_SCIM__SERVER__PUBLIC_URL", "https://scim.example.org/")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["tenant_url"], "https://scim.example.org/scim/v2");
    assert_eq!(v["subject"], "okta");
    assert!(uuid::Uuid::parse_str(v["token_id"].as_str().unwrap()).is_ok(), "{v}");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let expires = v["expires"].as_i64().expect("expires is unix time");
    assert!((expires - now - 2 * 86_400).abs() < 120, "{expires} vs {now}");
    let app = TestApp::spawn().await;
    assert!(accepted(&app, v["secret_token"].as_str().unwrap()).await);

    // Without a public URL there is no tenant URL to tell (null, not a placeholder), and a token
    // without expiry says null.
    let out = token_command(&["--format", "json"], &[]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["tenant_url"].clone(), v["expires"].clone(), v["subject"].clone()),
        (Value::Null, Value::Null, json!("entra-id"))
    );

    // --quiet and --format contradict each other: a usage error.
    let out = token_command(&["--quiet", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
