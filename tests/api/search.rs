//! POST /.search answers what GET answers; /Me is 501. Every test runs on both fixtures.

use crate::helpers::*;
use serde_json::{Value, json};

const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

async fn users_search_equals_get_for_the_same_query(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let got: Value = app
        .client
        .get(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .query(&[
            ("filter", "userName sw \"j\" or userName sw \"m\""),
            ("sortBy", "userName"),
            ("sortOrder", "descending"),
            ("attributes", "userName"),
            ("count", "1"),
            ("startIndex", "2"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let body = json!({"schemas": [SEARCH], "filter": "userName sw \"j\" or userName sw \"m\"", "sortBy": "userName",
        "sortOrder": "descending", "attributes": ["userName"], "count": 1, "startIndex": 2});
    let searched = app.post("/Users/.search", &body).await;
    assert_eq!(searched.status().as_u16(), 200);
    let searched: Value = searched.json().await.unwrap();
    assert_eq!(searched, got);
    assert_eq!(searched["totalResults"], 2);
    assert_eq!(searched["Resources"][0]["userName"], "jdoe");
    assert!(searched["Resources"][0].get("emails").is_none());
}
both!(users_search_equals_get_for_the_same_query);

async fn root_search_spans_users_and_groups(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    app.post("/Groups", &json!({"displayName": "Searchers"})).await;
    let all: Value = app.post("/.search", &json!({"schemas": [SEARCH]})).await.json().await.unwrap();
    assert_eq!(all["totalResults"], 4, "three visible users and one group");
    let groups: Value = app
        .post("/.search", &json!({"schemas": [SEARCH], "filter": "displayName eq \"Searchers\""}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(groups["totalResults"], 1);
    // The group is a new role: its machine name on Drupal 10, the next rid on Drupal 7.
    assert_eq!(groups["Resources"][0]["id"], if app.is_d7() { "5" } else { "searchers" });
    let bad = app.post("/Users/.search", &json!({"schemas": ["urn:wrong"]})).await;
    assert_eq!(bad.status().as_u16(), 400);
}
both!(root_search_spans_users_and_groups);

async fn me_is_not_implemented(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let response = app.get("/Me").await;
    assert_eq!(response.status().as_u16(), 501);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "501");
}
both!(me_is_not_implemented);
