//! Groups: the request sequences Microsoft Entra ID (MS-TUT rows 10–16, both member-removal
//! styles) and Okta Group Push send, end to end, asserted on the rows Drupal reads. Every test
//! runs on both fixtures (`…::d10`, `…::d7`).

use crate::groups_support::*;
use crate::helpers::*;
use serde_json::{Value, json};

/// The id of the first group created through SCIM: the role's machine name on Drupal 10, the
/// role's rid on Drupal 7 (the fixture's next rid is 5).
fn first_created_group_id(app: &TestApp, machine_name: &str) -> String {
    if app.is_d7() { "5".to_string() } else { machine_name.to_string() }
}

/// On Drupal 7, assert the `role` row of a created group: rid 5, name = `label`, weight 4
/// (after the fixture's last role), and no other role added.
async fn assert_d7_created_role(app: &TestApp, label: &str) {
    if app.is_d7() {
        assert_eq!(d7_role(app, "5").await, Some((5, label.to_string(), 4)));
        assert_eq!(app.count("role").await, 5, "one role added");
    }
}

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
    assert_eq!(id, first_created_group_id(app, "drupal_editors"), "the group id is the role's machine name / rid");
    assert_eq!(group["displayName"], "Drupal Editors");
    assert_eq!(group["externalId"], "0b6d6b1f-6a5e-4c38-9b3b-3a3f6a4f0e01");
    assert_eq!(group["meta"]["resourceType"], "Group");
    assert_eq!(group["meta"]["location"], location.as_str());
    assert!(group.get("members").is_none(), "members only when asked: {group}");
    assert_eq!(app.role_label(&id).await.as_deref(), Some("Drupal Editors"));
    assert_d7_created_role(app, "Drupal Editors").await;
    if !app.is_d7() {
        assert_eq!(app.tag_count("config:user_role_list").await, role_list + 1);
    }
    assert_eq!(holders(app, &id).await, Vec::<u32>::new());

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
    assert_eq!(app.role_label(&id).await.as_deref(), Some("Drupal Editors EU"));
    assert_d7_created_role(app, "Drupal Editors EU").await;
    if !app.is_d7() {
        let role = config(app, "user.role.drupal_editors").await.unwrap();
        assert_eq!(role.get("id").unwrap().as_str(), Some("drupal_editors"), "the machine name never changes");
        assert_eq!(bridge_row(app, &id).await.unwrap().1, "Drupal Editors EU");
    }
    id
}

/// Entra rows 14 and 15 (with `remove` built by `remove_op`) and 16, for two Entra-created users
/// and jdoe, who already holds content_editor at delta 0 (D7: rid 4).
async fn entra_membership_and_delete(app: &TestApp, add_op: &str, remove_op: impl Fn(&str) -> Value) {
    let id = entra_create_and_rename(app).await;
    let (alice, alice_uid) = new_user(app, "alice").await;
    let (bob, bob_uid) = new_user(app, "bob").await;
    app.seed_user_cache(alice_uid).await;
    let jdoe_before = changed_of(app, 2).await;
    let (jdoe, editor) = (app.jdoe_id(), app.editor_role());
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
            {"$ref": null, "value": alice}, {"$ref": null, "value": jdoe}, {"$ref": null, "value": bob}
        ]}]),
    )
    .await;
    assert_roles(app, alice_uid, &[&id], "alice").await;
    assert_roles(app, bob_uid, &[&id], "bob").await;
    assert_roles(app, 2, &[editor, &id], "jdoe keeps hers and gets the group's").await;
    assert!(changed_of(app, 2).await > jdoe_before, "a role change is an account change");
    if !app.is_d7() {
        assert_eq!(app.tag_count("user_list").await, list + 1, "the People page sees it");
        assert_eq!(app.tag_count("4xx-response").await, four + 1);
        assert_eq!(app.tag_count("user:2").await, jdoe_tag + 1);
        assert_eq!(app.tag_count(&format!("user:{alice_uid}")).await, alice_tag + 1);
    }
    assert!(!app.user_cached(2).await);
    assert!(!app.user_cached(alice_uid).await);
    let read = get_json(app, &format!("/Groups/{id}"), &[]).await;
    let mut expected = vec![alice.clone(), bob.clone(), jdoe.clone()];
    expected.sort();
    assert_eq!(member_ids(&read), expected);
    let jdoe_member = read["members"].as_array().unwrap().iter().find(|m| m["value"] == jdoe.as_str()).unwrap();
    assert_eq!(jdoe_member["display"], "jdoe");
    assert!(jdoe_member["$ref"].as_str().unwrap().ends_with(&format!("/Users/{jdoe}")));

    // Row 15: remove jdoe.
    app.seed_user_cache(2).await;
    app.seed_user_cache(alice_uid).await;
    let (list, jdoe_tag, alice_tag) = (
        app.tag_count("user_list").await,
        app.tag_count("user:2").await,
        app.tag_count(&format!("user:{alice_uid}")).await,
    );
    patch_204(app, &format!("/Groups/{id}"), json!([remove_op(&jdoe)])).await;
    assert_roles(app, 2, &[editor], "jdoe keeps the role SCIM never granted").await;
    assert_roles(app, alice_uid, &[&id], "only jdoe is removed").await;
    assert_eq!(holders(app, &id).await, vec![alice_uid, bob_uid]);
    if !app.is_d7() {
        assert_eq!(app.tag_count("user_list").await, list + 1);
        assert_eq!(app.tag_count("user:2").await, jdoe_tag + 1);
        assert_eq!(app.tag_count(&format!("user:{alice_uid}")).await, alice_tag, "alice did not change");
    }
    assert!(!app.user_cached(2).await);
    assert!(app.user_cached(alice_uid).await, "alice did not change: her cached copy stays");

    // Row 16: delete → 204, then 404; the role stays, the memberships go.
    app.seed_user_cache(bob_uid).await;
    let (list, bob_tag, jdoe_tag) = (
        app.tag_count("user_list").await,
        app.tag_count(&format!("user:{bob_uid}")).await,
        app.tag_count("user:2").await,
    );
    let role_list = app.tag_count("config:user_role_list").await;
    let response = app.delete(&format!("/Groups/{id}")).await;
    assert_eq!(response.status().as_u16(), 204);
    if !app.is_d7() {
        assert_eq!(app.tag_count("user_list").await, list + 1);
        assert_eq!(app.tag_count(&format!("user:{bob_uid}")).await, bob_tag + 1);
        assert_eq!(app.tag_count("user:2").await, jdoe_tag, "jdoe was no longer a member");
        assert_eq!(app.tag_count("config:user_role_list").await, role_list, "the role is untouched");
    }
    assert!(!app.user_cached(bob_uid).await);
    assert_eq!(error_of(app.get(&format!("/Groups/{id}")).await, 404).await["status"], "404");
    assert_eq!(app.delete(&format!("/Groups/{id}")).await.status().as_u16(), 404);
    assert_eq!(holders(app, &id).await, Vec::<u32>::new());
    assert_roles(app, 2, &[editor], "jdoe").await;
    assert_eq!(app.role_label(&id).await.as_deref(), Some("Drupal Editors EU"), "the role is kept by default");
    assert_d7_created_role(app, "Drupal Editors EU").await;
    if !app.is_d7() {
        assert!(config(app, "system.action.user_add_role_action.drupal_editors").await.is_some());
        assert_eq!(bridge_row(app, &id).await.map(|r| r.4), Some(1), "the bridge row is marked deleted");
    }
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

async fn entra_group_flow_with_value_list_remove(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    // Entra's default: capitalized ops, `Remove` on `members` with a value list.
    entra_membership_and_delete(&app, "Add", |id| json!({"op": "Remove", "path": "members", "value": [{"value": id}]}))
        .await;
}
both!(entra_group_flow_with_value_list_remove);

async fn entra_group_flow_with_value_filter_remove_and_lowercase_ops(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    // aadOptscim062020: lowercase ops, `remove` with `members[value eq "…"]` and no value.
    entra_membership_and_delete(
        &app,
        "add",
        |id| json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}),
    )
    .await;
}
both!(entra_group_flow_with_value_filter_remove_and_lowercase_ops);

async fn okta_group_push_flow(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let msmith = app.msmith_id();
    let (carol, carol_uid) = new_user(&app, "carol").await;
    let (dave, dave_uid) = new_user(&app, "dave").await;
    let msmith_uid = 3;

    // Push: POST with members [] and no externalId.
    let group = create_group(&app, &okta_group("Okta Sales")).await;
    let id = group["id"].as_str().unwrap().to_string();
    assert_eq!(id, first_created_group_id(&app, "okta_sales"));
    assert!(group.get("externalId").is_none());
    assert_eq!(app.role_label(&id).await.as_deref(), Some("Okta Sales"));
    assert_d7_created_role(&app, "Okta Sales").await;

    // Membership update: the path-less rename (same name) with id, plus an add.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([
            {"op": "replace", "value": {"id": id, "displayName": "Okta Sales"}},
            {"op": "add", "path": "members", "value": [{"value": carol, "display": "carol"}, {"value": msmith, "display": "msmith"}]}
        ]),
    )
    .await;
    assert_eq!(holders(&app, &id).await, vec![msmith_uid, carol_uid]);
    assert_eq!(app.role_label(&id).await.as_deref(), Some("Okta Sales"));

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
    assert_eq!(holders(&app, &id).await, vec![msmith_uid, dave_uid]);
    assert_roles(&app, carol_uid, &[], "carol was removed").await;
    assert_eq!(app.role_label(&id).await.as_deref(), Some("Okta Sales Team"));
    assert_d7_created_role(&app, "Okta Sales Team").await;
    let read = get_json(&app, &format!("/Groups/{id}"), &[]).await;
    assert_eq!(read["displayName"], "Okta Sales Team");
    let mut expected = vec![msmith.clone(), dave.clone()];
    expected.sort();
    assert_eq!(member_ids(&read), expected);

    // Full replace of the member list.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "replace", "path": "members", "value": [{"value": carol}]}]),
    )
    .await;
    assert_eq!(holders(&app, &id).await, vec![carol_uid]);
    assert_roles(&app, carol_uid, &[&id], "carol").await;
    assert_roles(&app, dave_uid, &[], "dave").await;

    // Unlink: DELETE.
    assert_eq!(app.delete(&format!("/Groups/{id}")).await.status().as_u16(), 204);
    assert_eq!(app.get(&format!("/Groups/{id}")).await.status().as_u16(), 404);
    assert_eq!(holders(&app, &id).await, Vec::<u32>::new());
    assert!(app.role_label(&id).await.is_some(), "role kept by default");
    assert_d7_created_role(&app, "Okta Sales Team").await;
    let _ = dave;
}
both!(okta_group_push_flow);

async fn patch_members_accepts_capitalized_ops_and_several_members_per_op(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let msmith = app.msmith_id();
    let group = create_group(&app, &entra_group("Support", "ext-support")).await;
    let id = group["id"].as_str().unwrap();
    assert_eq!(id, first_created_group_id(&app, "support"));
    let (u1, uid1) = new_user(&app, "u.one").await;
    let (u2, uid2) = new_user(&app, "u.two").await;
    // "ADD" in any case; the same member twice in one op is one membership.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "ADD", "path": "members", "value": [
            {"value": u1}, {"value": u2}, {"value": &msmith}, {"value": u1}
        ]}]),
    )
    .await;
    assert_eq!(holders(&app, id).await, vec![3, uid1, uid2]);
    assert_roles(&app, uid1, &[id], "no duplicate row").await;
    // "Remove" two at once with a value list, then "Replace" with a list.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Remove", "path": "members", "value": members(&[&u1, &msmith])}]),
    )
    .await;
    assert_eq!(holders(&app, id).await, vec![uid2]);
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Replace", "path": "members", "value": members(&[&u1, &msmith])}]),
    )
    .await;
    assert_eq!(holders(&app, id).await, vec![3, uid1]);
    // Path-less ops carrying members: add adds, replace sets.
    patch_204(&app, &format!("/Groups/{id}"), json!([{"op": "Add", "value": {"members": members(&[&u2])}}])).await;
    assert_eq!(holders(&app, id).await, vec![3, uid1, uid2]);
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "replace", "value": {"displayName": "Support", "members": members(&[&u1, &msmith])}}]),
    )
    .await;
    assert_eq!(holders(&app, id).await, vec![3, uid1]);
    // Two filter removes or-ed in one path.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{u1}\" or value eq \"{msmith}\"]")}]),
    )
    .await;
    assert_eq!(holders(&app, id).await, Vec::<u32>::new());
}
both!(patch_members_accepts_capitalized_ops_and_several_members_per_op);
