//! Oversized and malformed input gets a clear SCIM 400, never a 500 or a crash.

use crate::helpers::*;
use crate::paging::seed_users;
use drupal_scim::scim::filter::{MAX_FILTER_DEPTH, MAX_FILTER_LEN, MAX_FILTER_TERMS};
use serde_json::{Value, json};

async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

fn assert_scim_error(got: &(u16, Value), scim_type: &str, what: &str) {
    assert_eq!(got.0, 400, "{what}: {}", got.1);
    assert_eq!(got.1["scimType"], scim_type, "{what}: {}", got.1);
    assert_eq!(got.1["schemas"], json!([ERROR]), "{what}");
}

async fn account_count(app: &TestApp) -> i64 {
    app.one("SELECT COUNT(*) FROM users_field_data").await.unwrap()
}

#[tokio::test]
async fn a_body_nested_ten_thousand_levels_deep_is_invalid_syntax_on_every_write_route() {
    let app = TestApp::spawn().await;
    let before = account_count(&app).await;
    let deep_array = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    let in_a_value = format!(r#"{{"userName": "deep", "name": {deep_object}}}"#);
    let patch = format!(r#"{{"Operations": [{{"op": "add", "path": "title", "value": {deep_array}}}]}}"#);
    let routes = [
        (reqwest::Method::POST, "/Users".to_string(), deep_array.clone()),
        (reqwest::Method::POST, "/Users".to_string(), in_a_value),
        (reqwest::Method::PUT, format!("/Users/{JDOE_UUID}"), deep_object.clone()),
        (reqwest::Method::PATCH, format!("/Users/{JDOE_UUID}"), patch),
        (reqwest::Method::POST, "/Groups".to_string(), deep_object.clone()),
        (reqwest::Method::POST, "/Bulk".to_string(), deep_array.clone()),
        (reqwest::Method::POST, "/Users/.search".to_string(), deep_object),
        (reqwest::Method::POST, "/.search".to_string(), deep_array),
    ];
    for (method, path, body) in routes {
        let got = error_of(send_raw(&app, method.clone(), &path, body.into_bytes()).await).await;
        assert_scim_error(&got, "invalidSyntax", &format!("{method} {path}"));
    }
    assert_eq!(account_count(&app).await, before);
    // The server is still there.
    assert_eq!(app.get(&format!("/Users/{JDOE_UUID}")).await.status().as_u16(), 200);
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_invalid_syntax() {
    let app = TestApp::spawn().await;
    let before = account_count(&app).await;
    for body in
        [b"{\"userName\": \"\xff\xfe\"}".to_vec(), vec![0xc3, 0x28], b"{\"userName\": \"a\xed\xa0\x80\"}".to_vec()]
    {
        let got = error_of(send_raw(&app, reqwest::Method::POST, "/Users", body.clone()).await).await;
        assert_scim_error(&got, "invalidSyntax", &format!("{body:?}"));
    }
    let got =
        error_of(send_raw(&app, reqwest::Method::PATCH, &format!("/Users/{JDOE_UUID}"), vec![b'{', 0xff, b'}']).await)
            .await;
    assert_scim_error(&got, "invalidSyntax", "PATCH");
    assert_eq!(account_count(&app).await, before);
}

#[tokio::test]
async fn filters_over_the_length_depth_or_term_limits_are_invalid_filter() {
    let app = TestApp::spawn().await;
    let too_long = format!(r#"userName eq "{}""#, "x".repeat(MAX_FILTER_LEN));
    let too_deep = format!("{}userName pr{}", "(".repeat(MAX_FILTER_DEPTH + 1), ")".repeat(MAX_FILTER_DEPTH + 1));
    let too_many = vec!["userName pr"; MAX_FILTER_TERMS + 1].join(" or ");
    let nots = format!("{}userName pr{}", "not (".repeat(1000), ")".repeat(1000));
    for (what, filter) in [("length", too_long), ("depth", too_deep), ("terms", too_many), ("1000 nots", nots)] {
        let got = error_of(app.filter_users(&filter).await).await;
        assert_scim_error(&got, "invalidFilter", what);
        let search = app.post("/Users/.search", &json!({"filter": filter})).await;
        assert_scim_error(&error_of(search).await, "invalidFilter", what);
    }
    // Just inside every limit is answered.
    let deep_ok = format!("{}userName pr{}", "(".repeat(MAX_FILTER_DEPTH), ")".repeat(MAX_FILTER_DEPTH));
    let many_ok = vec!["userName pr"; MAX_FILTER_TERMS].join(" or ");
    for filter in [deep_ok, many_ok] {
        assert_eq!(app.filter_users(&filter).await.status().as_u16(), 200);
    }
}

#[tokio::test]
async fn a_count_above_the_maximum_is_capped() {
    let app = TestApp::spawn().await;
    seed_users(&app, 1_100, "cap").await;
    for count in ["1001", "5000", "2147483648", "99999999999999"] {
        let body: Value = app.get(&format!("/Users?count={count}&attributes=id")).await.json().await.unwrap();
        assert_eq!(body["itemsPerPage"], 1000, "count={count}");
        assert_eq!(body["Resources"].as_array().unwrap().len(), 1000, "count={count}");
        assert_eq!(body["totalResults"], 1_103);
    }
    let got = error_of(app.get("/Users?count=99999999999999999999999").await).await;
    assert_scim_error(&got, "invalidValue", "count beyond i64");
}

#[tokio::test]
async fn ten_thousand_attribute_names_are_refused_clearly_and_a_hundred_are_answered() {
    let app = TestApp::spawn().await;
    seed_users(&app, 200, "attr").await;
    let many: Vec<String> = (0..10_000).map(|i| format!("a{i}")).collect();
    let got = error_of(app.post("/Users/.search", &json!({"attributes": many, "count": 1000})).await).await;
    assert_scim_error(&got, "invalidValue", "10,000 attributes in .search");
    assert!(got.1["detail"].as_str().unwrap().contains("attributes"), "{}", got.1);
    let got = error_of(app.post("/Users/.search", &json!({"excludedAttributes": many})).await).await;
    assert_scim_error(&got, "invalidValue", "10,000 excludedAttributes in .search");
    // In the query string too (as long as a request line may be).
    let query = many[..5_000].join(",");
    let got = error_of(
        app.client
            .get(format!("{}/Users", app.base))
            .bearer_auth(&app.token)
            .query(&[("attributes", query.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_scim_error(&got, "invalidValue", "5,000 attributes in the query");
    let got = error_of(
        app.client
            .get(format!("{}/Groups", app.base))
            .bearer_auth(&app.token)
            .query(&[("attributes", query.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_scim_error(&got, "invalidValue", "5,000 attributes on /Groups");
    let got = error_of(
        app.client
            .get(format!("{}/Users/{JDOE_UUID}", app.base))
            .bearer_auth(&app.token)
            .query(&[("attributes", query.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_scim_error(&got, "invalidValue", "5,000 attributes on one user");
    // A generous but sane list is answered.
    let mut hundred: Vec<String> = many[..98].to_vec();
    hundred.extend(["userName".to_string(), "emails.value".to_string()]);
    let body: Value =
        app.post("/Users/.search", &json!({"attributes": hundred, "count": 1000})).await.json().await.unwrap();
    assert_eq!(body["Resources"].as_array().unwrap().len(), 203, "{body}");
    assert!(body["Resources"][0]["userName"].is_string());
}

#[tokio::test]
async fn control_characters_in_user_name_are_invalid_value_with_nothing_written() {
    let app = TestApp::spawn().await;
    let before = account_count(&app).await;
    let bridge = app.bridge_rows().await;
    for name in ["tab\there", "new\nline", "bell\u{7}", "del\u{7f}", "esc\u{1b}[0m", "cr\r", "nul\u{0}", "c1\u{85}"] {
        let got = error_of(app.post("/Users", &entra_user(name, "ctl@example.com", "ctl-ext")).await).await;
        assert_scim_error(&got, "invalidValue", &format!("{name:?}"));
        let got = error_of(
            app.patch_ops(
                &format!("/Users/{JDOE_UUID}"),
                json!([{"op": "Replace", "path": "userName", "value": name}]),
            )
            .await,
        )
        .await;
        assert_scim_error(&got, "invalidValue", &format!("PATCH {name:?}"));
    }
    assert_eq!(account_count(&app).await, before);
    assert_eq!(app.bridge_rows().await, bridge, "no bridge row written");
    assert_eq!(app.one::<String>("SELECT name FROM users_field_data WHERE uid = 2").await.as_deref(), Some("jdoe"));
}
