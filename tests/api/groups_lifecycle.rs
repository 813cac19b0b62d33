//! Groups: a group that comes back — Entra deletes a group when it leaves the provisioning scope
//! and POSTs it again when it returns; Drupal admins delete roles by hand.

use crate::groups_support::*;
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn a_deleted_group_can_be_created_again_on_its_kept_role() {
    let app = TestApp::spawn().await;
    create_group(&app, &entra_group("Drupal Editors", "ext-de")).await;
    patch_204(
        &app,
        "/Groups/drupal_editors",
        json!([{"op": "Add", "path": "members", "value": members(&[MSMITH_UUID])}]),
    )
    .await;
    assert_eq!(app.delete("/Groups/drupal_editors").await.status().as_u16(), 204);
    let role = config_raw(&app, "user.role.drupal_editors").await.expect("kept");

    // Entra: the group is back in scope. Match finds nothing, so it POSTs again.
    let found = get_json(
        &app,
        "/Groups",
        &[("filter", "displayName eq \"Drupal Editors\""), ("excludedAttributes", "members")],
    )
    .await;
    assert_eq!(found["totalResults"], 0);
    let again = create_group(&app, &entra_group("Drupal Editors", "ext-de")).await;
    assert_eq!(again["id"], "drupal_editors", "the group lands on its old role");
    assert_eq!(role_count(&app).await, 5, "no drupal_editors_2");
    assert_eq!(config_raw(&app, "user.role.drupal_editors").await.unwrap(), role, "the role is reused as it is");
    assert_eq!(
        bridge_row(&app, "drupal_editors").await,
        Some((Some("drupal_editors".into()), "Drupal Editors".into(), Some("ext-de".into()), 1, 0))
    );
    assert_eq!(holders(&app, "drupal_editors").await, Vec::<u32>::new(), "memberships do not come back by themselves");
    patch_204(
        &app,
        "/Groups/drupal_editors",
        json!([{"op": "Add", "path": "members", "value": members(&[MSMITH_UUID])}]),
    )
    .await;
    assert_eq!(role_rows(&app, 3).await, vec![role_row(3, 0, "drupal_editors")]);
    // Still a SCIM-created role: renaming relabels it.
    patch_204(&app, "/Groups/drupal_editors", json!([{"op": "Replace", "path": "displayName", "value": "Editors"}]))
        .await;
    assert_eq!(config(&app, "user.role.drupal_editors").await.unwrap().get("label").unwrap().as_str(), Some("Editors"));
}

#[tokio::test]
async fn a_group_whose_role_an_admin_deleted_can_be_created_again() {
    let app = TestApp::spawn().await;
    create_group(&app, &entra_group("Sales", "ext-sales")).await;
    // The admin deletes the role in Drupal (config, actions, assignments).
    app.exec("DELETE FROM config WHERE name IN ('user.role.sales', 'system.action.user_add_role_action.sales', 'system.action.user_remove_role_action.sales')").await;
    assert_eq!(app.get("/Groups/sales").await.status().as_u16(), 404);
    let found = get_json(&app, "/Groups", &[("filter", "displayName eq \"Sales\"")]).await;
    assert_eq!(found["totalResults"], 0);
    // Entra, not finding it, creates it again: a new role.
    let again = create_group(&app, &entra_group("Sales", "ext-sales")).await;
    let id = again["id"].as_str().unwrap().to_string();
    let role = config(&app, &format!("user.role.{id}")).await.expect("a new role");
    assert_eq!(role.get("label").unwrap().as_str(), Some("Sales"));
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Add", "path": "members", "value": members(&[MSMITH_UUID])}]),
    )
    .await;
    assert_eq!(holders(&app, &id).await, vec![3]);
    assert_eq!(get_json(&app, "/Groups", &[("excludedAttributes", "members")]).await["totalResults"], 1);
}
