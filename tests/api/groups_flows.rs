//! Groups: the request sequences Microsoft Entra ID (MS-TUT rows 10–16, both member-removal
//! styles) and Okta Group Push send, end to end, asserted on the rows Drupal reads.

use crate::groups_support::*;
use crate::helpers::*;
use serde_json::{Value, json};

/// Entra rows 10–13: match (nothing), create with no members, read without members, rename.
/// Returns the group id.
async fn entra_create_and_rename(app: &TestApp) -> String {
    // Row 10: match by displayName, members excluded → empty ListResponse.
    let found =
        get_json(app, "/Groups", &[("excludedAttributes", "members"), ("filter", "displayName eq \"Drupal Editors\"")])
            .await;
    assert_eq!(found["schemas"][0], LIST_RESPONSE);
    assert_eq!(found["totalResults"], 0);

    // Row 11: create.
    let role_list = app.tag_count("config:user_role_list").await;
    let response = app.post("/Groups", &entra_group("Drupal Editors", "0b6d6b1f-6a5e-4c38-9b3b-3a3f6a4f0e01")).await;
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(response.headers()["content-type"], "application/scim+json");
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let group: Value = response.json().await.unwrap();
    let id = group["id"].as_str().unwrap().to_string();
    assert_eq!(id, "drupal_editors", "the group id is the role's machine name");
    assert_eq!(group["displayName"], "Drupal Editors");
    assert_eq!(group["externalId"], "0b6d6b1f-6a5e-4c38-9b3b-3a3f6a4f0e01");
    assert_eq!(group["meta"]["resourceType"], "Group");
    assert_eq!(group["meta"]["location"], location.as_str());
    assert!(group.get("members").is_none(), "members only when asked: {group}");
    assert_eq!(
        config(app, "user.role.drupal_editors").await.unwrap().get("label").unwrap().as_str(),
        Some("Drupal Editors")
    );
    assert_eq!(app.tag_count("config:user_role_list").await, role_list + 1);
    assert_eq!(holders(app, "drupal_editors").await, Vec::<u32>::new());

    // Row 10 again: now it matches.
    let found =
        get_json(app, "/Groups", &[("excludedAttributes", "members"), ("filter", "displayName eq \"Drupal Editors\"")])
            .await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    assert!(found["Resources"][0].get("members").is_none());

    // Row 12: read without members.
    let read = get_json(app, &format!("/Groups/{id}"), &[("excludedAttributes", "members")]).await;
    assert_eq!(read["displayName"], "Drupal Editors");
    assert!(read.get("members").is_none(), "{read}");

    // Row 13: rename → 204, the SCIM-created role's label follows.
    patch_204(
        app,
        &format!("/Groups/{id}"),
        json!([{"op": "Replace", "path": "displayName", "value": "Drupal Editors EU"}]),
    )
    .await;
    let role = config(app, "user.role.drupal_editors").await.unwrap();
    assert_eq!(role.get("label").unwrap().as_str(), Some("Drupal Editors EU"));
    assert_eq!(role.get("id").unwrap().as_str(), Some("drupal_editors"), "the machine name never changes");
    assert_eq!(bridge_row(app, &id).await.unwrap().1, "Drupal Editors EU");
    id
}

/// Entra rows 14 and 15 (with `remove` built by `remove_op`) and 16, for two Entra-created users
/// and jdoe, who already holds content_editor at delta 0.
async fn entra_membership_and_delete(app: &TestApp, add_op: &str, remove_op: impl Fn(&str) -> Value) {
    let id = entra_create_and_rename(app).await;
    let (alice, alice_uid) = new_user(app, "alice").await;
    let (bob, bob_uid) = new_user(app, "bob").await;
    seed_entity_cache(app, alice_uid).await;
    let jdoe_before = changed_of(app, 2).await;
    let (list, four, jdoe_tag, alice_tag) = (
        app.tag_count("user_list").await,
        app.tag_count("4xx-response").await,
        app.tag_count("user:2").await,
        app.tag_count(&format!("user:{alice_uid}")).await,
    );

    // Row 14: add members (Entra sends "$ref": null).
    patch_204(
        app,
        &format!("/Groups/{id}"),
        json!([{"op": add_op, "path": "members", "value": [
            {"$ref": null, "value": alice}, {"$ref": null, "value": JDOE_UUID}, {"$ref": null, "value": bob}
        ]}]),
    )
    .await;
    assert_eq!(role_rows(app, alice_uid).await, vec![role_row(alice_uid, 0, "drupal_editors")]);
    assert_eq!(role_rows(app, bob_uid).await, vec![role_row(bob_uid, 0, "drupal_editors")]);
    assert_eq!(role_rows(app, 2).await, vec![role_row(2, 0, "content_editor"), role_row(2, 1, "drupal_editors")]);
    assert!(changed_of(app, 2).await > jdoe_before, "a role change is an account change");
    assert_eq!(app.tag_count("user_list").await, list + 1, "the People page sees it");
    assert_eq!(app.tag_count("4xx-response").await, four + 1);
    assert_eq!(app.tag_count("user:2").await, jdoe_tag + 1);
    assert_eq!(app.tag_count(&format!("user:{alice_uid}")).await, alice_tag + 1);
    assert!(!cached(app, "entity", "values:user:2").await);
    assert!(!cached(app, "entity", &format!("values:user:{alice_uid}")).await);
    let read = get_json(app, &format!("/Groups/{id}"), &[]).await;
    let mut expected = vec![alice.clone(), bob.clone(), JDOE_UUID.to_string()];
    expected.sort();
    assert_eq!(member_ids(&read), expected);
    let jdoe_member = read["members"].as_array().unwrap().iter().find(|m| m["value"] == JDOE_UUID).unwrap();
    assert_eq!(jdoe_member["display"], "jdoe");
    assert!(jdoe_member["$ref"].as_str().unwrap().ends_with(&format!("/Users/{JDOE_UUID}")));

    // Row 15: remove jdoe.
    seed_entity_cache(app, 2).await;
    let (list, jdoe_tag, alice_tag) = (
        app.tag_count("user_list").await,
        app.tag_count("user:2").await,
        app.tag_count(&format!("user:{alice_uid}")).await,
    );
    patch_204(app, &format!("/Groups/{id}"), json!([remove_op(JDOE_UUID)])).await;
    assert_eq!(
        role_rows(app, 2).await,
        vec![role_row(2, 0, "content_editor")],
        "jdoe keeps the role SCIM never granted"
    );
    assert_eq!(role_rows(app, alice_uid).await, vec![role_row(alice_uid, 0, "drupal_editors")], "only jdoe is removed");
    assert_eq!(holders(app, "drupal_editors").await, vec![alice_uid, bob_uid]);
    assert_eq!(app.tag_count("user_list").await, list + 1);
    assert_eq!(app.tag_count("user:2").await, jdoe_tag + 1);
    assert_eq!(app.tag_count(&format!("user:{alice_uid}")).await, alice_tag, "alice did not change");
    assert!(!cached(app, "entity", "values:user:2").await);

    // Row 16: delete → 204, then 404; the role stays, the memberships go.
    seed_entity_cache(app, bob_uid).await;
    let (list, bob_tag, jdoe_tag) = (
        app.tag_count("user_list").await,
        app.tag_count(&format!("user:{bob_uid}")).await,
        app.tag_count("user:2").await,
    );
    let role_list = app.tag_count("config:user_role_list").await;
    let response = app.delete(&format!("/Groups/{id}")).await;
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(app.tag_count("user_list").await, list + 1);
    assert_eq!(app.tag_count(&format!("user:{bob_uid}")).await, bob_tag + 1);
    assert_eq!(app.tag_count("user:2").await, jdoe_tag, "jdoe was no longer a member");
    assert!(!cached(app, "entity", &format!("values:user:{bob_uid}")).await);
    assert_eq!(app.tag_count("config:user_role_list").await, role_list, "the role is untouched");
    assert_eq!(error_of(app.get(&format!("/Groups/{id}")).await, 404).await["status"], "404");
    assert_eq!(app.delete(&format!("/Groups/{id}")).await.status().as_u16(), 404);
    assert_eq!(holders(app, "drupal_editors").await, Vec::<u32>::new());
    assert_eq!(role_rows(app, 2).await, vec![role_row(2, 0, "content_editor")]);
    let role = config(app, "user.role.drupal_editors").await.expect("the role is kept by default");
    assert_eq!(role.get("label").unwrap().as_str(), Some("Drupal Editors EU"));
    assert!(config(app, "system.action.user_add_role_action.drupal_editors").await.is_some());
    assert_eq!(bridge_row(app, &id).await.map(|r| r.4), Some(1), "the bridge row is marked deleted");
    let found = get_json(
        app,
        "/Groups",
        &[("excludedAttributes", "members"), ("filter", "displayName eq \"Drupal Editors EU\"")],
    )
    .await;
    assert_eq!(found["totalResults"], 0);
    let all = get_json(app, "/Groups", &[]).await;
    assert_eq!(all["totalResults"], 0);
}

#[tokio::test]
async fn entra_group_flow_with_value_list_remove() {
    let app = TestApp::spawn().await;
    // Entra's default: capitalized ops, `Remove` on `members` with a value list.
    entra_membership_and_delete(&app, "Add", |id| json!({"op": "Remove", "path": "members", "value": [{"value": id}]}))
        .await;
}

#[tokio::test]
async fn entra_group_flow_with_value_filter_remove_and_lowercase_ops() {
    let app = TestApp::spawn().await;
    // aadOptscim062020: lowercase ops, `remove` with `members[value eq "…"]` and no value.
    entra_membership_and_delete(
        &app,
        "add",
        |id| json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}),
    )
    .await;
}

#[tokio::test]
async fn okta_group_push_flow() {
    let app = TestApp::spawn().await;
    let (carol, carol_uid) = new_user(&app, "carol").await;
    let (dave, dave_uid) = new_user(&app, "dave").await;
    let msmith_uid = 3;

    // Push: POST with members [] and no externalId.
    let group = create_group(&app, &okta_group("Okta Sales")).await;
    let id = group["id"].as_str().unwrap().to_string();
    assert_eq!(id, "okta_sales");
    assert!(group.get("externalId").is_none());
    assert_eq!(config(&app, "user.role.okta_sales").await.unwrap().get("label").unwrap().as_str(), Some("Okta Sales"));

    // Membership update: the path-less rename (same name) with id, plus an add.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([
            {"op": "replace", "value": {"id": id, "displayName": "Okta Sales"}},
            {"op": "add", "path": "members", "value": [{"value": carol, "display": "carol"}, {"value": MSMITH_UUID, "display": "msmith"}]}
        ]),
    )
    .await;
    assert_eq!(holders(&app, "okta_sales").await, vec![msmith_uid, carol_uid]);
    assert_eq!(config(&app, "user.role.okta_sales").await.unwrap().get("label").unwrap().as_str(), Some("Okta Sales"));

    // Rename plus remove-by-filter plus add, in one request.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([
            {"op": "replace", "value": {"id": id, "displayName": "Okta Sales Team"}},
            {"op": "remove", "path": format!("members[value eq \"{carol}\"]")},
            {"op": "add", "path": "members", "value": [{"value": dave}]}
        ]),
    )
    .await;
    assert_eq!(holders(&app, "okta_sales").await, vec![msmith_uid, dave_uid]);
    assert_eq!(role_rows(&app, carol_uid).await, Vec::<RoleRow>::new());
    assert_eq!(
        config(&app, "user.role.okta_sales").await.unwrap().get("label").unwrap().as_str(),
        Some("Okta Sales Team")
    );
    let read = get_json(&app, &format!("/Groups/{id}"), &[]).await;
    assert_eq!(read["displayName"], "Okta Sales Team");
    let mut expected = vec![MSMITH_UUID.to_string(), dave.clone()];
    expected.sort();
    assert_eq!(member_ids(&read), expected);

    // Full replace of the member list.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "replace", "path": "members", "value": [{"value": carol}]}]),
    )
    .await;
    assert_eq!(holders(&app, "okta_sales").await, vec![carol_uid]);
    assert_eq!(role_rows(&app, carol_uid).await, vec![role_row(carol_uid, 0, "okta_sales")]);
    assert_eq!(role_rows(&app, dave_uid).await, Vec::<RoleRow>::new());

    // Unlink: DELETE.
    assert_eq!(app.delete(&format!("/Groups/{id}")).await.status().as_u16(), 204);
    assert_eq!(app.get(&format!("/Groups/{id}")).await.status().as_u16(), 404);
    assert_eq!(holders(&app, "okta_sales").await, Vec::<u32>::new());
    assert!(config(&app, "user.role.okta_sales").await.is_some(), "role kept by default");
    let _ = dave;
}

#[tokio::test]
async fn patch_members_accepts_capitalized_ops_and_several_members_per_op() {
    let app = TestApp::spawn().await;
    let group = create_group(&app, &entra_group("Support", "ext-support")).await;
    let id = group["id"].as_str().unwrap();
    let (u1, uid1) = new_user(&app, "u.one").await;
    let (u2, uid2) = new_user(&app, "u.two").await;
    // "ADD" in any case; the same member twice in one op is one membership.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "ADD", "path": "members", "value": [
            {"value": u1}, {"value": u2}, {"value": MSMITH_UUID}, {"value": u1}
        ]}]),
    )
    .await;
    assert_eq!(holders(&app, "support").await, vec![3, uid1, uid2]);
    assert_eq!(role_rows(&app, uid1).await, vec![role_row(uid1, 0, "support")], "no duplicate row");
    // "Remove" two at once with a value list, then "Replace" with a list.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Remove", "path": "members", "value": members(&[&u1, MSMITH_UUID])}]),
    )
    .await;
    assert_eq!(holders(&app, "support").await, vec![uid2]);
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Replace", "path": "members", "value": members(&[&u1, MSMITH_UUID])}]),
    )
    .await;
    assert_eq!(holders(&app, "support").await, vec![3, uid1]);
    // Path-less ops carrying members: add adds, replace sets.
    patch_204(&app, &format!("/Groups/{id}"), json!([{"op": "Add", "value": {"members": members(&[&u2])}}])).await;
    assert_eq!(holders(&app, "support").await, vec![3, uid1, uid2]);
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "replace", "value": {"displayName": "Support", "members": members(&[&u1, MSMITH_UUID])}}]),
    )
    .await;
    assert_eq!(holders(&app, "support").await, vec![3, uid1]);
    // Two filter removes or-ed in one path.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{u1}\" or value eq \"{MSMITH_UUID}\"]")}]),
    )
    .await;
    assert_eq!(holders(&app, "support").await, Vec::<u32>::new());
}
