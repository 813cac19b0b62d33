//! Tenant URLs as people paste them (issue #19): a base with a trailing slash joined with
//! `/Users` (`/scim/v2//Users`), a trailing slash after a resource, both under a configured
//! `server.base_path` and behind a reverse-proxy prefix. Every such request reaches its route
//! (and its bearer check), while `meta.location` and `Location` stay canonical; anything else is a
//! SCIM 404 that names the base path.

use crate::groups_support::*;
use crate::helpers::*;
use serde_json::{Value, json};

const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// A request to `path_and_query` exactly as written (no base prepended), with the bearer token.
fn raw(app: &TestApp, method: reqwest::Method, path_and_query: &str) -> reqwest::RequestBuilder {
    app.client
        .request(method, format!("{}{path_and_query}", app.address))
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
}

async fn raw_get(app: &TestApp, path_and_query: &str) -> reqwest::Response {
    raw(app, reqwest::Method::GET, path_and_query).send().await.unwrap()
}

/// Assert a 2xx SCIM answer with `status` and return its JSON body.
async fn scim_ok(response: reqwest::Response, status: u16) -> (Option<String>, Value) {
    let url = response.url().to_string();
    assert_eq!(response.status().as_u16(), status, "{url}");
    assert_eq!(response.headers()["content-type"], "application/scim+json", "{url}");
    let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    (location, response.json().await.unwrap())
}

/// `location` is exactly `expected`, and canonical: no `//` after the scheme, no trailing slash.
fn assert_canonical(location: &str, expected: &str) {
    assert_eq!(location, expected);
    let (_, rest) = location.split_once("://").expect("an absolute URL");
    assert!(!rest.contains("//") && !rest.ends_with('/'), "canonical: {location}");
}

/// Every resource of a list has a canonical `meta.location` under `base`.
fn assert_listed_canonical(list: &Value, base: &str, endpoint: &str) {
    let resources = list["Resources"].as_array().expect("Resources");
    assert!(!resources.is_empty(), "{list}");
    for r in resources {
        let id = r["id"].as_str().unwrap();
        assert_canonical(r["meta"]["location"].as_str().unwrap(), &format!("{base}/{endpoint}/{id}"));
    }
}

#[tokio::test]
async fn users_are_served_at_every_pasted_shape() {
    let app = TestApp::spawn().await;
    let base = app.base.clone();
    let jdoe = app.jdoe_id();
    let jdoe_at = format!("{base}/Users/{jdoe}");

    // Lists: a slash-terminated base joined with `/Users`, a trailing slash, an nginx prefix
    // stripped without its slash (`//scim/v2/…`).
    for path in ["/scim/v2//Users", "/scim/v2/Users/", "//scim//v2///Users//"] {
        let list = expect_list(raw_get(&app, path).await).await;
        assert_listed_canonical(&list, &base, "Users");
    }

    // Entra's connection test and matching: a filter, with and without aadOptscim062020 on the
    // Tenant URL, with a slash before the `?`.
    for path in ["/scim/v2//Users", "/scim/v2/Users/?aadOptscim062020", "/scim/v2//Users/?aadOptscim062020"] {
        let response =
            raw(&app, reqwest::Method::GET, path).query(&[("filter", "userName eq \"jdoe\"")]).send().await.unwrap();
        let list = expect_list(response).await;
        assert_eq!(list["totalResults"], 1, "{path}: {list}");
        assert_eq!(list["Resources"][0]["id"], jdoe.as_str());
        assert_listed_canonical(&list, &base, "Users");
    }

    // By id, with a trailing slash: Location = meta.location, canonical.
    for path in
        [format!("/scim/v2/Users/{jdoe}/"), format!("/scim/v2//Users/{jdoe}"), format!("/scim/v2//Users//{jdoe}//")]
    {
        let (location, user) = scim_ok(raw_get(&app, &path).await, 200).await;
        assert_eq!(user["userName"], "jdoe", "{path}");
        assert_canonical(user["meta"]["location"].as_str().unwrap(), &jdoe_at);
        assert_canonical(&location.expect("a Location header"), &jdoe_at);
    }

    // Writes at the same shapes: create, deactivate, delete, asserted on Drupal's rows.
    let body = entra_user("pasted.slash", "pasted.slash@example.org", &uuid::Uuid::new_v4().to_string());
    let response = raw(&app, reqwest::Method::POST, "/scim/v2//Users/").body(body.to_string()).send().await.unwrap();
    let (location, created) = scim_ok(response, 201).await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_canonical(&location.unwrap(), &format!("{base}/Users/{id}"));
    let uid = app.uid_of("pasted.slash").await;
    assert_eq!(app.data_column(uid, "status").await, 1);

    let ops = json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let path = format!("/scim/v2//Users/{id}/?aadOptscim062020");
    let response = raw(&app, reqwest::Method::PATCH, &path).body(ops.to_string()).send().await.unwrap();
    let (location, patched) = scim_ok(response, 200).await;
    assert_eq!(patched["active"], false);
    assert_canonical(&location.unwrap(), &format!("{base}/Users/{id}"));
    assert_eq!(app.data_column(uid, "status").await, 0, "blocked in Drupal");

    let response = raw(&app, reqwest::Method::DELETE, &format!("/scim/v2/Users/{id}/")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 204);
    expect_error(raw_get(&app, &format!("/scim/v2/Users/{id}")).await, 404, None).await;
}

#[tokio::test]
async fn groups_are_served_at_every_pasted_shape() {
    let app = TestApp::spawn().await;
    let base = app.base.clone();
    let body = entra_group("Pasted Slashes", "7d1d1a3e-3c0e-4c58-9a39-0f2b1f7a5e19");
    let response = raw(&app, reqwest::Method::POST, "/scim/v2//Groups/").body(body.to_string()).send().await.unwrap();
    let (location, group) = scim_ok(response, 201).await;
    let id = group["id"].as_str().unwrap().to_string();
    let group_at = format!("{base}/Groups/{id}");
    assert_canonical(&location.unwrap(), &group_at);
    assert_canonical(group["meta"]["location"].as_str().unwrap(), &group_at);

    let response = raw(&app, reqwest::Method::GET, "/scim/v2//Groups/?aadOptscim062020")
        .query(&[("filter", "displayName eq \"Pasted Slashes\""), ("excludedAttributes", "members")])
        .send()
        .await
        .unwrap();
    let list = expect_list(response).await;
    assert_eq!(list["totalResults"], 1, "{list}");
    assert_listed_canonical(&list, &base, "Groups");

    let (location, got) = scim_ok(raw_get(&app, &format!("/scim/v2/Groups/{id}/")).await, 200).await;
    assert_eq!(got["displayName"], "Pasted Slashes");
    assert_canonical(&location.unwrap(), &group_at);

    // Entra adds a member at a doubled slash: the role lands in Drupal.
    let ops = json!({"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": "members", "value": members(&[&app.jdoe_id()])}]});
    let response = raw(&app, reqwest::Method::PATCH, &format!("/scim/v2//Groups//{id}/"))
        .body(ops.to_string())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert!(app.role_ids_of(2).await.contains(&id), "jdoe holds the group's role");
}

#[tokio::test]
async fn discovery_is_served_with_a_trailing_slash() {
    let app = TestApp::spawn().await;
    let base = app.base.clone();
    let (_, spc) = scim_ok(raw_get(&app, "/scim/v2/ServiceProviderConfig/").await, 200).await;
    assert_canonical(spc["meta"]["location"].as_str().unwrap(), &format!("{base}/ServiceProviderConfig"));
    let (_, spc) = scim_ok(raw_get(&app, "/scim/v2//ServiceProviderConfig?aadOptscim062020").await, 200).await;
    assert_canonical(spc["meta"]["location"].as_str().unwrap(), &format!("{base}/ServiceProviderConfig"));

    for path in ["/scim/v2/Schemas/", "/scim/v2//Schemas"] {
        let (_, schemas) = scim_ok(raw_get(&app, path).await, 200).await;
        let user = schemas["Resources"].as_array().unwrap().iter().find(|s| s["id"] == USER_SCHEMA).expect("User");
        assert_canonical(user["meta"]["location"].as_str().unwrap(), &format!("{base}/Schemas/{USER_SCHEMA}"));
    }
    let (_, user) = scim_ok(raw_get(&app, &format!("/scim/v2//Schemas/{USER_SCHEMA}/")).await, 200).await;
    assert_eq!(user["id"], USER_SCHEMA);

    let (_, types) = scim_ok(raw_get(&app, "/scim/v2/ResourceTypes/").await, 200).await;
    assert!(types["Resources"].as_array().unwrap().iter().any(|t| t["id"] == "User"), "{types}");
    let (_, user_type) = scim_ok(raw_get(&app, "/scim/v2//ResourceTypes/User/").await, 200).await;
    assert_eq!(user_type["endpoint"], "/Users");
}

#[tokio::test]
async fn search_is_served_at_a_doubled_slash() {
    let app = TestApp::spawn().await;
    let body = json!({"schemas": [SEARCH], "filter": "userName eq \"jdoe\""});
    for path in ["/scim/v2//Users/.search", "/scim/v2/Users/.search/", "/scim/v2//.search"] {
        let response = raw(&app, reqwest::Method::POST, path).body(body.to_string()).send().await.unwrap();
        let list = expect_list(response).await;
        assert_eq!(list["totalResults"], 1, "{path}: {list}");
        assert_canonical(
            list["Resources"][0]["meta"]["location"].as_str().unwrap(),
            &format!("{}/Users/{}", app.base, app.jdoe_id()),
        );
    }
}

#[tokio::test]
async fn slashes_do_not_bypass_authentication() {
    let app = TestApp::spawn().await;
    let jdoe = app.jdoe_id();
    let paths = [
        "/scim/v2//Users".to_string(),
        "/scim/v2/Users/".to_string(),
        "//scim/v2/Users".to_string(),
        format!("/scim/v2/Users/{jdoe}/"),
        "/scim/v2//ServiceProviderConfig/".to_string(),
        "/scim/v2//Userz/".to_string(),
    ];
    for path in &paths {
        let response = app.client.get(format!("{}{path}", app.address)).send().await.unwrap();
        expect_error(response, 401, None).await;
    }
    let body = entra_user("no.token", "no.token@example.org", &uuid::Uuid::new_v4().to_string());
    let response = app
        .client
        .post(format!("{}/scim/v2//Users/", app.address))
        .header("content-type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    expect_error(response, 401, None).await;
    assert_eq!(app.try_uid_of("no.token").await, None, "no account created");
}

#[tokio::test]
async fn a_configured_base_path_with_a_trailing_slash_behind_a_proxy_prefix() {
    let app = TestApp::spawn_custom_on(Fixture::Drupal10, &test_server_url(), &mapping_with_fields(), "", |s| {
        s.server.base_path = "/api/scim/".into();
        s.server.public_url = "https://www.example.org/drupal/".into();
    })
    .await;
    let base = "https://www.example.org/drupal/api/scim";
    let jdoe = app.jdoe_id();
    for path in ["/api/scim//Users", "/api/scim/Users/", "//api//scim/Users"] {
        let list = expect_list(raw_get(&app, path).await).await;
        assert_listed_canonical(&list, base, "Users");
    }
    let (location, user) = scim_ok(raw_get(&app, &format!("/api/scim/Users/{jdoe}/")).await, 200).await;
    assert_canonical(user["meta"]["location"].as_str().unwrap(), &format!("{base}/Users/{jdoe}"));
    assert_canonical(&location.unwrap(), &format!("{base}/Users/{jdoe}"));
    let (_, spc) = scim_ok(raw_get(&app, "/api/scim//ServiceProviderConfig/").await, 200).await;
    assert_canonical(spc["meta"]["location"].as_str().unwrap(), &format!("{base}/ServiceProviderConfig"));

    // The default base is not served here, and the answer says where the base is.
    let error = expect_error(raw_get(&app, "/scim/v2/Users").await, 404, None).await;
    assert_eq!(error["detail"], "no SCIM endpoint at GET /scim/v2/Users; the SCIM base here is /api/scim");
}

#[tokio::test]
async fn unmatched_paths_are_scim_404s_naming_the_base() {
    let app = TestApp::spawn().await;
    let cases = [
        ("/scim/v3/Users", "no SCIM endpoint at GET /scim/v3/Users; the SCIM base here is /scim/v2"),
        ("/scim/v2/Userz/", "no SCIM endpoint at GET /scim/v2/Userz; the SCIM base here is /scim/v2"),
        ("/scim/v2/scim/v2/Users", "no SCIM endpoint at GET /scim/v2/scim/v2/Users; the SCIM base here is /scim/v2"),
        ("/scim/v2/", "no SCIM endpoint at GET /scim/v2; the SCIM base here is /scim/v2"),
        ("/", "no SCIM endpoint at GET /; the SCIM base here is /scim/v2"),
        ("/Users?filter=x", "no SCIM endpoint at GET /Users; the SCIM base here is /scim/v2"),
    ];
    for (path, detail) in cases {
        let error = expect_error(raw_get(&app, path).await, 404, None).await;
        assert_eq!(error["detail"], detail, "{path}");
    }
    // Outside the base no token is asked for: the 404 says no more than where the base is.
    let response = app.client.get(format!("{}/scim/v3/Users", app.address)).send().await.unwrap();
    expect_error(response, 404, None).await;

    // /healthz and /metrics stay what they were.
    let health = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(health.headers()["content-type"], "application/json");
    let metrics = app.client.get(format!("{}/metrics", app.address)).send().await.unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
    assert!(metrics.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
}
