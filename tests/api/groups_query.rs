//! Groups: GET /Groups filters and `excludedAttributes=members`.

use crate::groups_support::*;
use crate::helpers::*;
use serde_json::{Value, json};

async fn two_groups(app: &TestApp) {
    create_group(app, &entra_group("Drupal Editors", "Ext-AbC")).await;
    create_group(app, &entra_group("Sales", "ext-sales")).await;
    patch_204(
        app,
        "/Groups/sales",
        json!([{"op": "Add", "path": "members", "value": members(&[MSMITH_UUID, JDOE_UUID])}]),
    )
    .await;
    patch_204(app, "/Groups/drupal_editors", json!([{"op": "Add", "path": "members", "value": members(&[JDOE_UUID])}]))
        .await;
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> =
        list["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn excluded_members_are_not_returned_by_list_or_get() {
    let app = TestApp::spawn().await;
    two_groups(&app).await;
    let list = get_json(&app, "/Groups", &[("excludedAttributes", "members")]).await;
    assert_eq!(list["totalResults"], 2);
    for group in list["Resources"].as_array().unwrap() {
        assert!(group.get("members").is_none(), "{group}");
        assert!(group.get("displayName").is_some() && group.get("meta").is_some());
    }
    let one = get_json(&app, "/Groups/sales", &[("excludedAttributes", "members")]).await;
    assert!(one.get("members").is_none(), "{one}");
    assert_eq!(one["displayName"], "Sales");
    // Case of the attribute name does not matter.
    let one = get_json(&app, "/Groups/sales", &[("excludedAttributes", "Members")]).await;
    assert!(one.get("members").is_none(), "{one}");
    // Without the exclusion the members are there.
    let full = get_json(&app, "/Groups/sales", &[]).await;
    let mut expected = vec![MSMITH_UUID.to_string(), JDOE_UUID.to_string()];
    expected.sort();
    assert_eq!(member_ids(&full), expected);
    let list = get_json(&app, "/Groups", &[]).await;
    let sales = list["Resources"].as_array().unwrap().iter().find(|g| g["id"] == "sales").unwrap();
    assert_eq!(member_ids(sales), expected);
}

#[tokio::test]
async fn filter_by_member_finds_the_groups_of_a_user() {
    let app = TestApp::spawn().await;
    two_groups(&app).await;
    let found = get_json(&app, "/Groups", &[("filter", &format!("members.value eq \"{MSMITH_UUID}\""))]).await;
    assert_eq!(ids(&found), ["sales"]);
    let found = get_json(&app, "/Groups", &[("filter", &format!("members.value eq \"{JDOE_UUID}\""))]).await;
    assert_eq!(ids(&found), ["drupal_editors", "sales"]);
    // Combined with the exclusion: found, but no members returned.
    let found = get_json(
        &app,
        "/Groups",
        &[("filter", &format!("members[value eq \"{MSMITH_UUID}\"]")), ("excludedAttributes", "members")],
    )
    .await;
    assert_eq!(ids(&found), ["sales"]);
    assert!(found["Resources"][0].get("members").is_none());
    // Entra's shape for a membership check.
    let found = get_json(
        &app,
        "/Groups",
        &[
            ("filter", &format!("id eq \"sales\" and members.value eq \"{MSMITH_UUID}\"")),
            ("excludedAttributes", "members"),
        ],
    )
    .await;
    assert_eq!(found["totalResults"], 1);
    let found =
        get_json(&app, "/Groups", &[("filter", "members.value eq \"0f0e0d0c-0b0a-4909-8807-060504030201\"")]).await;
    assert_eq!(found["totalResults"], 0);
}

#[tokio::test]
async fn display_name_filter_is_case_insensitive_and_external_id_case_exact() {
    let app = TestApp::spawn().await;
    two_groups(&app).await;
    for name in ["Drupal Editors", "drupal editors", "DRUPAL EDITORS"] {
        let found = get_json(
            &app,
            "/Groups",
            &[("filter", &format!("displayName eq \"{name}\"")), ("excludedAttributes", "members")],
        )
        .await;
        assert_eq!(ids(&found), ["drupal_editors"], "{name}");
    }
    let found = get_json(&app, "/Groups", &[("filter", "externalId eq \"Ext-AbC\"")]).await;
    assert_eq!(ids(&found), ["drupal_editors"]);
    for wrong_case in ["ext-abc", "EXT-ABC"] {
        let found = get_json(&app, "/Groups", &[("filter", &format!("externalId eq \"{wrong_case}\""))]).await;
        assert_eq!(found["totalResults"], 0, "{wrong_case}");
        assert_eq!(found["Resources"], json!([]));
    }
    // No match is a 200 with an empty ListResponse, never a 404.
    let found = get_json(&app, "/Groups", &[("filter", "displayName eq \"Nobody\"")]).await;
    assert_eq!(found["schemas"][0], LIST_RESPONSE);
    assert_eq!(found["totalResults"], 0);
    // Filter attribute names are case-insensitive too.
    let found = get_json(&app, "/Groups", &[("filter", "DISPLAYNAME eq \"sales\"")]).await;
    assert_eq!(ids(&found), ["sales"]);
}

#[tokio::test]
async fn list_pages_and_never_shows_deleted_groups() {
    let app = TestApp::spawn().await;
    two_groups(&app).await;
    create_group(&app, &entra_group("Gamma", "ext-g")).await;
    let page =
        get_json(&app, "/Groups", &[("startIndex", "2"), ("count", "1"), ("excludedAttributes", "members")]).await;
    assert_eq!(page["totalResults"], 3);
    assert_eq!(page["itemsPerPage"], 1);
    assert_eq!(page["startIndex"], 2);
    assert_eq!(app.delete("/Groups/gamma").await.status().as_u16(), 204);
    let all = get_json(&app, "/Groups", &[("excludedAttributes", "members")]).await;
    assert_eq!(ids(&all), ["drupal_editors", "sales"]);
    // A role deleted in Drupal takes its group with it.
    app.exec("DELETE FROM config WHERE name = 'user.role.sales'").await;
    let all = get_json(&app, "/Groups", &[("excludedAttributes", "members")]).await;
    assert_eq!(ids(&all), ["drupal_editors"]);
    assert_eq!(app.get("/Groups/sales").await.status().as_u16(), 404);
}

#[tokio::test]
async fn excluded_members_never_read_the_membership_table() {
    let app = TestApp::spawn().await;
    two_groups(&app).await;
    // Take user__roles away: any read of it would fail the request.
    app.exec("RENAME TABLE user__roles TO user__roles_hidden").await;
    let list =
        get_json(&app, "/Groups", &[("excludedAttributes", "members"), ("filter", "displayName eq \"Sales\"")]).await;
    assert_eq!(list["totalResults"], 1);
    let list = get_json(&app, "/Groups", &[("excludedAttributes", "members")]).await;
    assert_eq!(list["totalResults"], 2);
    let one = get_json(&app, "/Groups/sales", &[("excludedAttributes", "members")]).await;
    assert_eq!(one["displayName"], "Sales");
    let one = get_json(&app, "/Groups/sales", &[("attributes", "displayName")]).await;
    assert!(one.get("members").is_none());
    // The same reads with members do need it (so the trick above proves something).
    assert_eq!(get_query(&app, "/Groups/sales", &[]).await.status().as_u16(), 500);
    app.exec("RENAME TABLE user__roles_hidden TO user__roles").await;
    assert_eq!(member_ids(&get_json(&app, "/Groups/sales", &[]).await).len(), 2);
}
