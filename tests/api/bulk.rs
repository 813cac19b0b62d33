//! /Bulk: users and a group referencing them by bulkId; failOnErrors; limits. Every test runs on
//! both fixtures (`…::d10`, `…::d7`).

use crate::helpers::*;
use serde_json::{Value, json};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn user_op(bulk_id: &str, name: &str) -> Value {
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": entra_user(name, &format!("{name}@example.com"), bulk_id)})
}

async fn bulk_creates_users_and_a_group_that_references_them_by_bulk_id(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let body = json!({"schemas": [BULK], "Operations": [
        user_op("u1", "bulk.one"),
        user_op("u2", "bulk.two"),
        {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"displayName": "Bulk Team", "members": [{"value": "bulkId:u1"}, {"value": "bulkId:u2"}]}},
        {"method": "PATCH", "path": "/Users/bulkId:u2", "data": {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}}
    ]});
    let response = app.post("/Bulk", &body).await;
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json().await.unwrap();
    let ops = answer["Operations"].as_array().unwrap();
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201", "201", "201", "200"]);
    assert!(ops[0]["location"].as_str().unwrap().contains("/Users/"));
    assert_eq!(ops[2]["bulkId"], "g1");
    let uid1 = app.uid_of("bulk.one").await;
    let uid2 = app.uid_of("bulk.two").await;
    assert_eq!((uid1, uid2), (FIRST_NEW_UID, FIRST_NEW_UID + 1));
    // The group is a new role: its machine name on Drupal 10, the next rid on Drupal 7.
    let group = if app.is_d7() { "5" } else { "bulk_team" };
    assert!(ops[2]["location"].as_str().unwrap().ends_with(&format!("/Groups/{group}")), "{}", ops[2]);
    assert_eq!(app.holders(group).await, vec![uid1, uid2]);
    assert_eq!(app.data_column(uid1, "status").await, 1);
    assert_eq!(app.data_column(uid2, "status").await, 0);
}
both!(bulk_creates_users_and_a_group_that_references_them_by_bulk_id);

async fn a_failing_operation_is_reported_and_fail_on_errors_stops_the_rest(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let ops = json!([
        user_op("a", "bulk.a"),
        {"method": "POST", "path": "/Users", "bulkId": "dup", "data": entra_user("bulk.a", "other@example.com", "x")},
        user_op("c", "bulk.c"),
    ]);
    let answer: Value = app.post("/Bulk", &json!({"schemas": [BULK], "Operations": ops})).await.json().await.unwrap();
    let statuses: Vec<&str> =
        answer["Operations"].as_array().unwrap().iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201", "409", "201"], "without failOnErrors every operation runs");
    assert_eq!(answer["Operations"][1]["response"]["scimType"], "uniqueness");

    let ops = json!([
        {"method": "POST", "path": "/Users", "bulkId": "dup", "data": entra_user("bulk.a", "again@example.com", "y")},
        user_op("d", "bulk.d"),
    ]);
    let answer: Value = app
        .post("/Bulk", &json!({"schemas": [BULK], "failOnErrors": 1, "Operations": ops}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["Operations"].as_array().unwrap().len(), 1, "stopped after the first error");
    assert_eq!(app.try_uid_of("bulk.d").await, None);
    assert_eq!(app.names_like("bulk.%").await, vec!["bulk.a", "bulk.c"]);
}
both!(a_failing_operation_is_reported_and_fail_on_errors_stops_the_rest);

async fn bulk_limits_are_advertised_and_enforced(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let spc: Value = app.get("/ServiceProviderConfig").await.json().await.unwrap();
    assert_eq!(spc["bulk"]["supported"], true);
    let max = spc["bulk"]["maxOperations"].as_u64().unwrap() as usize;
    let ops: Vec<Value> = (0..=max).map(|i| json!({"method": "DELETE", "path": format!("/Users/x{i}")})).collect();
    let response = app.post("/Bulk", &json!({"schemas": [BULK], "Operations": ops})).await;
    assert_eq!(response.status().as_u16(), 413);
    let unresolved =
        json!({"schemas": [BULK], "Operations": [{"method": "PATCH", "path": "/Users/bulkId:nope", "data": {}}]});
    let answer: Value = app.post("/Bulk", &unresolved).await.json().await.unwrap();
    assert_eq!(answer["Operations"][0]["status"], "409");
}
both!(bulk_limits_are_advertised_and_enforced);
