//! ETags: meta.version, the ETag header, If-Match (412) and If-None-Match (304). Every test runs on
//! both fixtures (`…::d10`, `…::d7`).

use crate::helpers::*;
use serde_json::{Value, json};

fn etag(r: &reqwest::Response) -> String {
    r.headers()["etag"].to_str().unwrap().to_string()
}

async fn user_etag_round_trip_and_stale_if_match_is_412_with_nothing_written(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let path = format!("/Users/{}", app.jdoe_id());
    let first = app.get(&path).await;
    let tag = etag(&first);
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["meta"]["version"], tag.as_str());
    let not_modified = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(&app.token)
        .header("If-None-Match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status().as_u16(), 304);

    let ops =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "name.givenName", "value": "Johnny"}]});
    let ok = app
        .client
        .patch(format!("{}{path}", app.base))
        .bearer_auth(&app.token)
        .header("If-Match", &tag)
        .body(ops.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let new_tag = etag(&ok);
    assert_ne!(new_tag, tag);

    let stale =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "name.givenName", "value": "Jack"}]});
    let refused = app
        .client
        .patch(format!("{}{path}", app.base))
        .bearer_auth(&app.token)
        .header("If-Match", &tag)
        .body(stale.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 412);
    let err: Value = refused.json().await.unwrap();
    assert_eq!(err["status"], "412");
    assert_eq!(app.field_values(2, "field_first_name").await, vec!["Johnny"], "the stale write changed nothing");

    let del = app
        .client
        .delete(format!("{}{path}", app.base))
        .bearer_auth(&app.token)
        .header("If-Match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status().as_u16(), 412);
    assert_eq!(app.data_column(2, "status").await, 1, "the stale delete changed nothing");
    let del = app
        .client
        .delete(format!("{}{path}", app.base))
        .bearer_auth(&app.token)
        .header("If-Match", &new_tag)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status().as_u16(), 204);
}
both!(user_etag_round_trip_and_stale_if_match_is_412_with_nothing_written);

async fn group_version_changes_with_membership(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let created = app
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Versioned"}),
        )
        .await;
    assert_eq!(created.status().as_u16(), 201);
    let v1 = etag(&created);
    // The role's machine name on Drupal 10, the next rid on Drupal 7.
    let group = if app.is_d7() { "5" } else { "versioned" };
    let path = format!("/Groups/{group}");
    let add =
        app.patch_ops(&path, json!([{"op": "add", "path": "members", "value": [{"value": app.jdoe_id()}]}])).await;
    assert_eq!(add.status().as_u16(), 204);
    assert_eq!(app.holders(group).await, vec![2]);
    let v2 = etag(&app.get(&path).await);
    assert_ne!(v1, v2, "a membership change is a change of the group");
    let stale = app
        .client
        .patch(format!("{}{path}", app.base))
        .bearer_auth(&app.token)
        .header("If-Match", &v1)
        .body(json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "members"}]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status().as_u16(), 412);
    assert_eq!(app.holders(group).await, vec![2], "the stale remove changed nothing");
}
both!(group_version_changes_with_membership);

async fn service_provider_config_advertises_etags(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let spc: Value = app.get("/ServiceProviderConfig").await.json().await.unwrap();
    assert_eq!(spc["etag"]["supported"], true);
}
both!(service_provider_config_advertises_etags);
