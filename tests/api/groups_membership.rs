//! Groups: membership semantics — idempotency, all-or-nothing on unknown ids, contiguous
//! deltas, the user's langcode, the User resource's read-only `groups`, PUT and PATCH answers.

use crate::groups_support::*;
use crate::helpers::*;
use serde_json::{Value, json};

const UNKNOWN: &str = "0f0e0d0c-0b0a-4909-8807-060504030201";

#[tokio::test]
async fn adding_an_existing_member_and_removing_a_non_member_write_nothing() {
    let app = TestApp::spawn().await;
    let group = create_group(&app, &entra_group("Support", "ext-support")).await;
    let id = group["id"].as_str().unwrap().to_string();
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Add", "path": "members", "value": members(&[MSMITH_UUID])}]),
    )
    .await;
    seed_entity_cache(&app, 3).await;
    let before = membership_snapshot(&app).await;

    // Entra re-adds existing members every cycle; removes members already gone.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Add", "path": "members", "value": members(&[MSMITH_UUID])}]),
    )
    .await;
    assert_unchanged(&app, &before, "re-adding a member is a no-op").await;
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Remove", "path": "members", "value": members(&[JDOE_UUID])}]),
    )
    .await;
    assert_unchanged(&app, &before, "removing a non-member is a no-op").await;
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{JDOE_UUID}\"]")}]),
    )
    .await;
    assert_unchanged(&app, &before, "no write").await;
    // A user that does not exist (e.g. hard-deleted in Drupal) can be removed without error.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Remove", "path": "members", "value": members(&[UNKNOWN])}]),
    )
    .await;
    assert_unchanged(&app, &before, "no write").await;
    // Replacing with the same list, and renaming to the same name.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Replace", "path": "members", "value": members(&[MSMITH_UUID])}]),
    )
    .await;
    patch_204(&app, &format!("/Groups/{id}"), json!([{"op": "Replace", "path": "displayName", "value": "Support"}]))
        .await;
    assert_unchanged(&app, &before, "no write").await;
}

#[tokio::test]
async fn re_posting_the_same_group_converges_and_a_duplicate_name_is_a_conflict() {
    let app = TestApp::spawn().await;
    let first = create_group(&app, &entra_group("Drupal Editors", "ext-de")).await;
    // A client that timed out re-sends the create (with members this time).
    let mut again = entra_group("Drupal Editors", "ext-de");
    again["members"] = members(&[MSMITH_UUID]);
    let second = create_group(&app, &again).await;
    assert_eq!(second["id"], first["id"]);
    assert_eq!(role_count(&app).await, 5, "one role, no drupal_editors_2");
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM scim_group").await, Some(1));
    assert_eq!(holders(&app, "drupal_editors").await, vec![3]);
    let before = membership_snapshot(&app).await;
    let third = create_group(&app, &again).await;
    assert_eq!(third["id"], first["id"]);
    assert_unchanged(&app, &before, "a third identical POST writes nothing").await;

    // Same displayName (any case), another externalId: a different group with the same name.
    for name in ["Drupal Editors", "drupal editors"] {
        let response = app.post("/Groups", &entra_group(name, "ext-other")).await;
        let error = error_of(response, 409).await;
        assert_eq!(error["scimType"], "uniqueness", "{error}");
        assert!(error["detail"].as_str().unwrap().contains("drupal_editors"), "names the existing group: {error}");
    }
    // Without an externalId, too.
    error_of(app.post("/Groups", &okta_group("Drupal Editors")).await, 409).await;
    assert_unchanged(&app, &before, "no write").await;
}

#[tokio::test]
async fn an_unknown_member_fails_the_whole_request_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let group = create_group(&app, &entra_group("Support", "ext-support")).await;
    let id = group["id"].as_str().unwrap().to_string();
    let (alice, _) = new_user(&app, "alice").await;
    let before = membership_snapshot(&app).await;
    let response = app
        .patch_ops(
            &format!("/Groups/{id}"),
            json!([{"op": "Add", "path": "members", "value": members(&[MSMITH_UUID, UNKNOWN, &alice])}]),
        )
        .await;
    let error = error_of(response, 400).await;
    assert_eq!(error["scimType"], "invalidValue", "{error}");
    assert!(error["detail"].as_str().unwrap().contains(UNKNOWN), "names the unknown id: {error}");
    assert_unchanged(&app, &before, "neither msmith nor alice was added").await;

    // Also when the bad op comes after a good one, or with a rename in the same request.
    let response = app
        .patch_ops(
            &format!("/Groups/{id}"),
            json!([
                {"op": "Replace", "path": "displayName", "value": "Support Renamed"},
                {"op": "Add", "path": "members", "value": members(&[MSMITH_UUID])},
                {"op": "Add", "path": "members", "value": members(&[UNKNOWN])}
            ]),
        )
        .await;
    error_of(response, 400).await;
    assert_unchanged(&app, &before, "no rename, no member").await;
    // A replace with an unknown id removes nobody.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Add", "path": "members", "value": members(&[MSMITH_UUID])}]),
    )
    .await;
    let before = membership_snapshot(&app).await;
    error_of(
        app.patch_ops(
            &format!("/Groups/{id}"),
            json!([{"op": "Replace", "path": "members", "value": members(&[&alice, UNKNOWN])}]),
        )
        .await,
        400,
    )
    .await;
    assert_unchanged(&app, &before, "no write").await;
    // A POST with an unknown member creates no role.
    let roles = role_count(&app).await;
    let mut body = entra_group("Sales", "ext-sales");
    body["members"] = members(&[&alice, UNKNOWN]);
    error_of(app.post("/Groups", &body).await, 400).await;
    assert_eq!(role_count(&app).await, roles);
    assert_unchanged(&app, &before, "no write").await;
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM key_value WHERE collection IN ('config.entity.key_store.user_role', 'config.entity.key_store.action')").await, Some(11), "the fixture's 8 + the Support role's 3");
}

#[tokio::test]
async fn deltas_stay_contiguous_when_a_middle_role_goes() {
    let app = TestApp::spawn().await;
    let a = create_group(&app, &entra_group("Alpha", "ext-a")).await;
    let b = create_group(&app, &entra_group("Beta", "ext-b")).await;
    // jdoe: content_editor (0), alpha (1), beta (2).
    for g in [&a, &b] {
        patch_204(
            &app,
            &format!("/Groups/{}", g["id"].as_str().unwrap()),
            json!([{"op": "Add", "path": "members", "value": members(&[JDOE_UUID])}]),
        )
        .await;
    }
    assert_eq!(
        role_rows(&app, 2).await,
        vec![role_row(2, 0, "content_editor"), role_row(2, 1, "alpha"), role_row(2, 2, "beta")]
    );
    patch_204(&app, "/Groups/alpha", json!([{"op": "remove", "path": format!("members[value eq \"{JDOE_UUID}\"]")}]))
        .await;
    assert_eq!(role_rows(&app, 2).await, vec![role_row(2, 0, "content_editor"), role_row(2, 1, "beta")]);
    // A new grant goes to the end.
    patch_204(&app, "/Groups/alpha", json!([{"op": "Add", "path": "members", "value": members(&[JDOE_UUID])}])).await;
    assert_eq!(
        role_rows(&app, 2).await,
        vec![role_row(2, 0, "content_editor"), role_row(2, 1, "beta"), role_row(2, 2, "alpha")]
    );
    // Removing the first one SCIM manages, through a PUT.
    let put = json!({"schemas": [GROUP_SCHEMA], "displayName": "Beta", "externalId": "ext-b", "members": []});
    assert_eq!(app.put("/Groups/beta", &put).await.status().as_u16(), 200);
    assert_eq!(role_rows(&app, 2).await, vec![role_row(2, 0, "content_editor"), role_row(2, 1, "alpha")]);
}

#[tokio::test]
async fn membership_rows_use_the_users_langcode() {
    let app = TestApp::spawn().await;
    app.exec("UPDATE users SET langcode = 'de' WHERE uid = 3").await;
    app.exec("UPDATE users_field_data SET langcode = 'de', preferred_langcode = 'de' WHERE uid = 3").await;
    create_group(&app, &entra_group("Support", "ext-support")).await;
    patch_204(&app, "/Groups/support", json!([{"op": "Add", "path": "members", "value": members(&[MSMITH_UUID])}]))
        .await;
    assert_eq!(
        role_rows(&app, 3).await,
        vec![("user".to_string(), 0, 3, 3, "de".to_string(), 0, "support".to_string())]
    );
    assert_eq!(member_ids(&get_json(&app, "/Groups/support", &[]).await), [MSMITH_UUID]);
    patch_204(&app, "/Groups/support", json!([{"op": "Remove", "path": "members", "value": members(&[MSMITH_UUID])}]))
        .await;
    assert_eq!(role_rows(&app, 3).await, Vec::<RoleRow>::new());
}

#[tokio::test]
async fn never_writes_authenticated_or_anonymous_rows() {
    let app = TestApp::spawn().await;
    for name in ["Authenticated user", "Anonymous user"] {
        error_of(app.post("/Groups", &entra_group(name, name)).await, 409).await;
    }
    // A label that is not taken but whose machine name would be a built-in role.
    let group = create_group(&app, &entra_group("Authenticated", "ext-auth")).await;
    assert_eq!(group["id"], "authenticated_2");
    patch_204(
        &app,
        "/Groups/authenticated_2",
        json!([{"op": "Add", "path": "members", "value": members(&[MSMITH_UUID])}]),
    )
    .await;
    let built_in: i64 = app
        .one("SELECT COUNT(*) FROM user__roles WHERE roles_target_id IN ('authenticated', 'anonymous')")
        .await
        .unwrap();
    assert_eq!(built_in, 0);
    assert_eq!(app.get("/Groups/authenticated").await.status().as_u16(), 404);
}

#[tokio::test]
async fn user_resource_lists_its_scim_groups_read_only() {
    let app = TestApp::spawn().await;
    let (alice, alice_uid) = new_user(&app, "alice").await;
    let group = create_group(&app, &entra_group("Support", "ext-support")).await;
    let id = group["id"].as_str().unwrap().to_string();
    let user = get_json(&app, &format!("/Users/{alice}"), &[]).await;
    assert!(user.get("groups").is_none() || user["groups"] == json!([]), "{user}");

    patch_204(&app, &format!("/Groups/{id}"), json!([{"op": "Add", "path": "members", "value": members(&[&alice])}]))
        .await;
    let user = get_json(&app, &format!("/Users/{alice}"), &[]).await;
    let groups = user["groups"].as_array().expect("groups after membership");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["value"], id.as_str());
    assert_eq!(groups[0]["display"], "Support");
    let listed = get_json(&app, "/Users", &[("filter", "userName eq \"alice\"")]).await;
    assert_eq!(listed["Resources"][0]["groups"][0]["value"], id.as_str());
    // The display follows a rename.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Replace", "path": "displayName", "value": "Support Tier 2"}]),
    )
    .await;
    assert_eq!(get_json(&app, &format!("/Users/{alice}"), &[]).await["groups"][0]["display"], "Support Tier 2");
    // jdoe holds content_editor, which is no SCIM group: no groups.
    assert!(get_json(&app, &format!("/Users/{JDOE_UUID}"), &[]).await.get("groups").is_none());

    // Read-only: a PATCH of /Users groups is refused and writes no role.
    let before = membership_snapshot(&app).await;
    let response = app
        .patch_ops(&format!("/Users/{MSMITH_UUID}"), json!([{"op": "Add", "path": "groups", "value": [{"value": id}]}]))
        .await;
    let error = error_of(response, 400).await;
    assert_eq!(error["scimType"], "mutability", "{error}");
    assert_unchanged(&app, &before, "no write").await;

    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Remove", "path": "members", "value": members(&[&alice])}]),
    )
    .await;
    let user = get_json(&app, &format!("/Users/{alice}"), &[]).await;
    assert!(user.get("groups").is_none() || user["groups"] == json!([]), "{user}");
    assert_eq!(role_rows(&app, alice_uid).await, Vec::<RoleRow>::new());
}

#[tokio::test]
async fn put_replaces_display_name_and_members() {
    let app = TestApp::spawn().await;
    let (alice, alice_uid) = new_user(&app, "alice").await;
    let mut body = entra_group("Support", "ext-support");
    body["members"] = members(&[MSMITH_UUID, &alice]);
    seed_entity_cache(&app, 3).await;
    let msmith_tag = app.tag_count("user:3").await;
    let group = create_group(&app, &body).await;
    assert_eq!(app.tag_count("user:3").await, msmith_tag + 1, "members given at creation invalidate their caches too");
    assert!(!cached(&app, "entity", "values:user:3").await);
    assert_eq!(role_rows(&app, alice_uid).await, vec![role_row(alice_uid, 0, "support")]);
    assert!(group.get("members").is_none(), "POST answers members only when asked");
    assert_eq!(holders(&app, "support").await, vec![3, alice_uid]);

    let put = json!({"schemas": [GROUP_SCHEMA], "displayName": "Support EU", "externalId": "ext-support-eu", "members": members(&[JDOE_UUID])});
    let response = app.put("/Groups/support", &put).await;
    assert_eq!(response.status().as_u16(), 200);
    let replaced: Value = response.json().await.unwrap();
    assert_eq!(replaced["displayName"], "Support EU");
    assert_eq!(replaced["externalId"], "ext-support-eu");
    assert!(replaced.get("members").is_none(), "PUT answers members only when asked: {replaced}");
    assert_eq!(holders(&app, "support").await, vec![2]);
    assert_eq!(role_rows(&app, 2).await, vec![role_row(2, 0, "content_editor"), role_row(2, 1, "support")]);
    assert_eq!(config(&app, "user.role.support").await.unwrap().get("label").unwrap().as_str(), Some("Support EU"));
    assert_eq!(bridge_row(&app, "support").await.unwrap().2.as_deref(), Some("ext-support-eu"));

    // Asked for: the members come back.
    let asked = app
        .client
        .put(format!("{}/Groups/support", app.base))
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
        .query(&[("attributes", "members,displayName")])
        .body(
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Support EU", "members": members(&[JDOE_UUID, &alice])})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status().as_u16(), 200);
    let asked: Value = asked.json().await.unwrap();
    let mut expected = vec![JDOE_UUID.to_string(), alice.clone()];
    expected.sort();
    assert_eq!(member_ids(&asked), expected);
    assert_eq!(bridge_row(&app, "support").await.unwrap().2, None, "a PUT without externalId clears it");

    let mut body = entra_group("Sales", "ext-sales");
    body["members"] = members(&[MSMITH_UUID]);
    let response = app
        .client
        .post(format!("{}/Groups", app.base))
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
        .query(&[("attributes", "members")])
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(member_ids(&created), [MSMITH_UUID]);
}

#[tokio::test]
async fn patch_answers_the_group_when_attributes_are_asked_for() {
    let app = TestApp::spawn().await;
    create_group(&app, &entra_group("Support", "ext-support")).await;
    let response = patch_query(
        &app,
        "/Groups/support",
        &[("attributes", "members")],
        json!([{"op": "Add", "path": "members", "value": members(&[MSMITH_UUID, JDOE_UUID])}]),
    )
    .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/scim+json");
    let group: Value = response.json().await.unwrap();
    assert_eq!(group["id"], "support");
    let mut expected = vec![MSMITH_UUID.to_string(), JDOE_UUID.to_string()];
    expected.sort();
    assert_eq!(member_ids(&group), expected);
    assert!(group.get("displayName").is_none(), "only the attributes asked for (plus id, schemas): {group}");
    // Without attributes: 204, no body.
    patch_204(&app, "/Groups/support", json!([{"op": "Remove", "path": "members", "value": members(&[JDOE_UUID])}]))
        .await;
}

#[tokio::test]
async fn a_patch_changing_nothing_about_members_still_validates_paths() {
    let app = TestApp::spawn().await;
    create_group(&app, &entra_group("Support", "ext-support")).await;
    let before = membership_snapshot(&app).await;
    // Sub-attributes of members cannot be set; add on a filtered path is not supported.
    for op in [
        json!({"op": "Replace", "path": "members.display", "value": "x"}),
        json!({"op": "Add", "path": format!("members[value eq \"{MSMITH_UUID}\"]"), "value": {"value": MSMITH_UUID}}),
        json!({"op": "Replace", "path": "id", "value": "other"}),
        json!({"op": "Replace", "path": "displayName", "value": ""}),
    ] {
        let response = app.patch_ops("/Groups/support", json!([op])).await;
        assert_eq!(response.status().as_u16(), 400, "{op}");
    }
    assert_unchanged(&app, &before, "no write").await;
    // An empty Operations list is a valid no-op (Microsoft's validator sends one).
    patch_204(&app, "/Groups/support", json!([])).await;
    assert_eq!(app.patch_ops("/Groups/nope", json!([])).await.status().as_u16(), 404);
}

/// Replacing the whole member list takes the role from every other holder SCIM may change,
/// also from an account deleted through SCIM (blocked and hidden, but still holding the role).
async fn replacing_the_member_list_reaches_accounts_deleted_through_scim(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let (jdoe, msmith) = (app.jdoe_id(), app.msmith_id());
    let group = create_group(&app, &entra_group("Support", "ext-support")).await;
    let id = group["id"].as_str().unwrap().to_string();
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Add", "path": "members", "value": members(&[&jdoe, &msmith])}]),
    )
    .await;
    assert_eq!(app.holders(&id).await, vec![2, 3]);
    assert_eq!(app.delete(&format!("/Users/{msmith}")).await.status().as_u16(), 204);
    assert_eq!(app.holders(&id).await, vec![2, 3], "a blocked, hidden account keeps its roles");
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Replace", "path": "members", "value": members(&[&jdoe])}]),
    )
    .await;
    assert_eq!(app.holders(&id).await, vec![2], "exactly the listed members hold the role");
    assert_eq!(member_ids(&get_json(&app, &format!("/Groups/{id}"), &[]).await), [jdoe]);
}
both!(replacing_the_member_list_reaches_accounts_deleted_through_scim);
