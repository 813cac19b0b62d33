//! Groups: edges of the flows — deleted users leaving groups, role deletion and deltas,
//! single-valued attribute ops, mapping errors at start-up.

use crate::groups_support::*;
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn removing_a_scim_deleted_user_from_a_group_revokes_the_role() {
    let app = TestApp::spawn().await;
    create_group(&app, &entra_group("Support", "ext-support")).await;
    patch_204(
        &app,
        "/Groups/support",
        json!([{"op": "Add", "path": "members", "value": members(&[MSMITH_UUID, JDOE_UUID])}]),
    )
    .await;
    // Entra deletes the user first (blocked and hidden by the default policy) …
    assert_eq!(app.delete(&format!("/Users/{MSMITH_UUID}")).await.status().as_u16(), 204);
    // … then sends the membership removal: the role must go, or the blocked account keeps it.
    let tag = app.tag_count("user:3").await;
    patch_204(&app, "/Groups/support", json!([{"op": "Remove", "path": "members", "value": members(&[MSMITH_UUID])}]))
        .await;
    assert_eq!(role_rows(&app, 3).await, Vec::<RoleRow>::new(), "removal in Entra removes the role");
    assert_eq!(app.tag_count("user:3").await, tag + 1);
    // Same with the filter style.
    assert_eq!(app.delete(&format!("/Users/{JDOE_UUID}")).await.status().as_u16(), 204);
    patch_204(&app, "/Groups/support", json!([{"op": "remove", "path": format!("members[value eq \"{JDOE_UUID}\"]")}]))
        .await;
    assert_eq!(role_rows(&app, 2).await, vec![role_row(2, 0, "content_editor")]);
    // But a SCIM-deleted user cannot be added.
    error_of(
        app.patch_ops("/Groups/support", json!([{"op": "Add", "path": "members", "value": members(&[MSMITH_UUID])}]))
            .await,
        400,
    )
    .await;
    assert_eq!(role_rows(&app, 3).await, Vec::<RoleRow>::new());
}

#[tokio::test]
async fn deleting_a_created_role_keeps_every_holders_deltas_contiguous() {
    let app = TestApp::spawn_with_mapping(&mapping_with("create_role", true, "")).await;
    create_group(&app, &entra_group("Temp Team", "ext-temp")).await;
    patch_204(&app, "/Groups/temp_team", json!([{"op": "Add", "path": "members", "value": members(&[JDOE_UUID])}]))
        .await;
    // The super user got the role too, by hand in Drupal, between two others.
    app.exec("INSERT INTO user__roles VALUES ('user', 0, 1, 1, 'en', 1, 'temp_team'), ('user', 0, 1, 1, 'en', 2, 'content_editor')").await;
    let admin_tag = app.tag_count("user:1").await;
    assert_eq!(app.delete("/Groups/temp_team").await.status().as_u16(), 204);
    assert_eq!(holders(&app, "temp_team").await, Vec::<u32>::new(), "no assignment of a deleted role is left");
    assert_eq!(role_rows(&app, 2).await, vec![role_row(2, 0, "content_editor")]);
    assert_eq!(
        role_rows(&app, 1).await,
        vec![role_row(1, 0, "administrator"), role_row(1, 1, "content_editor")],
        "uid 1 keeps its other roles, deltas 0..n-1"
    );
    assert_eq!(app.tag_count("user:1").await, admin_tag + 1, "its account changed");
}

#[tokio::test]
async fn single_valued_attributes_take_add_and_replace() {
    let app = TestApp::spawn().await;
    create_group(&app, &entra_group("Support", "ext-support")).await;
    // Entra sometimes sends Add for single-valued attributes.
    patch_204(&app, "/Groups/support", json!([{"op": "Add", "path": "displayName", "value": "Support Desk"}])).await;
    assert_eq!(config(&app, "user.role.support").await.unwrap().get("label").unwrap().as_str(), Some("Support Desk"));
    patch_204(&app, "/Groups/support", json!([{"op": "Replace", "path": "externalId", "value": "ext-new"}])).await;
    assert_eq!(bridge_row(&app, "support").await.unwrap().2.as_deref(), Some("ext-new"));
    let found = get_json(&app, "/Groups", &[("filter", "externalId eq \"ext-new\"")]).await;
    assert_eq!(found["totalResults"], 1);
    // Entra's path-less form (aadOptscim062020).
    patch_204(&app, "/Groups/support", json!([{"op": "replace", "value": {"displayName": "Support Tier 1"}}])).await;
    assert_eq!(config(&app, "user.role.support").await.unwrap().get("label").unwrap().as_str(), Some("Support Tier 1"));
    // displayName cannot be removed.
    error_of(app.patch_ops("/Groups/support", json!([{"op": "Remove", "path": "displayName"}])).await, 400).await;
    assert_eq!(bridge_row(&app, "support").await.unwrap().1, "Support Tier 1");
}

#[tokio::test]
async fn a_group_map_naming_a_missing_role_stops_the_server_naming_the_line() {
    let mapping =
        mapping_with("create_role", false, "[[groups.map]]\ndisplay_name = \"Editors\"\nrole = \"no_such_role\"\n");
    let line = mapping.lines().position(|l| l == "role = \"no_such_role\"").unwrap() + 1;
    let error = TestApp::try_spawn(&mapping).await.err().expect("the role does not exist");
    assert!(error.contains(&format!("line {line}")) && error.contains("no_such_role"), "{error}");
    let mapping =
        mapping_with("create_role", false, "[[groups.map]]\ndisplay_name = \"Everyone\"\nrole = \"authenticated\"\n");
    let error = TestApp::try_spawn(&mapping).await.err().expect("built-in roles cannot be mapped");
    assert!(error.contains("authenticated"), "{error}");
}

#[tokio::test]
async fn concurrent_membership_changes_keep_deltas_unique_and_contiguous() {
    let app = TestApp::spawn().await;
    let groups: Vec<String> = ["G1", "G2", "G3", "G4", "G5", "G6"].into_iter().map(|n| n.to_lowercase()).collect();
    for g in &groups {
        create_group(&app, &entra_group(&g.to_uppercase(), &format!("ext-{g}"))).await;
    }
    // Every group adds jdoe and msmith at once, in parallel requests.
    let mut tasks = tokio::task::JoinSet::new();
    for g in &groups {
        for user in [JDOE_UUID, MSMITH_UUID] {
            let (client, url, token) = (app.client.clone(), format!("{}/Groups/{g}", app.base), app.token.clone());
            tasks.spawn(async move {
                let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "Add", "path": "members", "value": [{"value": user}]}]});
                client.patch(url).bearer_auth(token).header("content-type", "application/scim+json").body(body.to_string()).send().await.unwrap().status().as_u16()
            });
        }
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), 204);
    }
    for uid in [2u32, 3] {
        let rows = role_rows(&app, uid).await;
        let deltas: Vec<u32> = rows.iter().map(|r| r.5).collect();
        assert_eq!(deltas, (0..rows.len() as u32).collect::<Vec<_>>(), "uid {uid}: {rows:?}");
        let mut roles: Vec<String> = rows.iter().map(|r| r.6.clone()).filter(|r| r != "content_editor").collect();
        roles.sort();
        assert_eq!(roles, groups, "uid {uid}");
    }
    // And remove them all again in parallel, half by each style.
    let mut tasks = tokio::task::JoinSet::new();
    for (i, g) in groups.iter().enumerate() {
        for user in [JDOE_UUID, MSMITH_UUID] {
            let (client, url, token) = (app.client.clone(), format!("{}/Groups/{g}", app.base), app.token.clone());
            let op = if i % 2 == 0 {
                json!({"op": "Remove", "path": "members", "value": [{"value": user}]})
            } else {
                json!({"op": "remove", "path": format!("members[value eq \"{user}\"]")})
            };
            tasks.spawn(async move {
                let body = json!({"schemas": [PATCH_OP], "Operations": [op]});
                client
                    .patch(url)
                    .bearer_auth(token)
                    .header("content-type", "application/scim+json")
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            });
        }
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), 204);
    }
    assert_eq!(role_rows(&app, 2).await, vec![role_row(2, 0, "content_editor")]);
    assert_eq!(role_rows(&app, 3).await, Vec::<RoleRow>::new());
}

#[tokio::test]
async fn concurrent_identical_creates_converge_on_one_group() {
    let app = TestApp::spawn().await;
    // A client that timed out re-sends the create while the first is still being handled.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (client, url, token) = (app.client.clone(), format!("{}/Groups", app.base), app.token.clone());
        tasks.spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(entra_group("Drupal Editors", "ext-de").to_string())
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        });
    }
    while let Some(result) = tasks.join_next().await {
        let (status, body) = result.unwrap();
        assert_eq!(status, 201, "{body}");
    }
    assert_eq!(role_count(&app).await, 5, "one role");
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM scim_group").await, Some(1));
}
