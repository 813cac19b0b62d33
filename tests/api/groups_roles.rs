//! Groups: the role config Drupal reads — what creating a role writes, what a rename rewrites
//! and keeps, and what `delete_created_roles = true` removes.

use crate::groups_support::*;
use crate::helpers::*;
use drupal_scim::drupal::php_serialize::{PhpKey, PhpValue, serialize};
use serde_json::json;

const ROLE_KEYS: [&str; 9] =
    ["uuid", "langcode", "status", "dependencies", "id", "label", "weight", "is_admin", "permissions"];
const ACTION_KEYS: [&str; 9] =
    ["uuid", "langcode", "status", "dependencies", "id", "label", "type", "plugin", "configuration"];

fn is_v4_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok_and(|u| u.get_version_num() == 4) && s == s.to_lowercase() && s.len() == 36
}

/// Check the role row and its two actions exactly as Drupal writes them; returns the role uuid.
async fn assert_role_rows(app: &TestApp, id: &str, label: &str, weight: i64) -> String {
    let name = format!("user.role.{id}");
    let role = config(app, &name).await.unwrap_or_else(|| panic!("config {name}"));
    assert_eq!(keys(&role), ROLE_KEYS, "Drupal's key order, no _core");
    let uuid = role.get("uuid").unwrap().as_str().unwrap().to_string();
    assert!(is_v4_uuid(&uuid), "{uuid}");
    assert_eq!(role.get("langcode"), Some(&PhpValue::str("en")));
    assert_eq!(role.get("status"), Some(&PhpValue::Bool(true)));
    assert_eq!(role.get("dependencies"), Some(&PhpValue::empty_array()));
    assert_eq!(role.get("id"), Some(&PhpValue::str(id)));
    assert_eq!(role.get("label"), Some(&PhpValue::str(label)));
    assert_eq!(role.get("weight"), Some(&PhpValue::Int(weight)));
    assert_eq!(role.get("is_admin"), Some(&PhpValue::Bool(false)));
    assert_eq!(role.get("permissions"), Some(&PhpValue::empty_array()));
    // Byte for byte what PHP's serialize() gives (s:N counts bytes).
    let expected = format!(
        r#"a:9:{{s:4:"uuid";s:36:"{uuid}";s:8:"langcode";s:2:"en";s:6:"status";b:1;s:12:"dependencies";a:0:{{}}s:2:"id";s:{}:"{id}";s:5:"label";s:{}:"{label}";s:6:"weight";i:{weight};s:8:"is_admin";b:0;s:11:"permissions";a:0:{{}}}}"#,
        id.len(),
        label.len()
    );
    assert_eq!(String::from_utf8(config_raw(app, &name).await.unwrap()).unwrap(), expected);
    assert_eq!(
        key_value(app, "config.entity.key_store.user_role", &format!("uuid:{uuid}")).await,
        Some(format!(r#"a:1:{{i:0;s:{}:"{name}";}}"#, name.len()))
    );

    let mut action_uuids = Vec::new();
    for (plugin, text) in [
        ("user_add_role_action", format!("Add the {label} role to the selected user(s)")),
        ("user_remove_role_action", format!("Remove the {label} role from the selected user(s)")),
    ] {
        let action_name = format!("system.action.{plugin}.{id}");
        let action = config(app, &action_name).await.unwrap_or_else(|| panic!("config {action_name}"));
        assert_eq!(keys(&action), ACTION_KEYS);
        let action_uuid = action.get("uuid").unwrap().as_str().unwrap().to_string();
        assert!(is_v4_uuid(&action_uuid));
        assert_eq!(action.get("langcode"), Some(&PhpValue::str("en")));
        assert_eq!(action.get("status"), Some(&PhpValue::Bool(true)));
        let deps = action.get("dependencies").unwrap();
        assert_eq!(keys(deps), ["config", "module"]);
        assert_eq!(strings(deps.get("config").unwrap()), [name.as_str()]);
        assert_eq!(strings(deps.get("module").unwrap()), ["user"]);
        assert_eq!(action.get("id"), Some(&PhpValue::str(&format!("{plugin}.{id}"))));
        assert_eq!(action.get("label"), Some(&PhpValue::str(&text)));
        assert_eq!(action.get("type"), Some(&PhpValue::str("user")));
        assert_eq!(action.get("plugin"), Some(&PhpValue::str(plugin)));
        let configuration = action.get("configuration").unwrap();
        assert_eq!(keys(configuration), ["rid"]);
        assert_eq!(configuration.get("rid"), Some(&PhpValue::str(id)));
        assert_eq!(
            key_value(app, "config.entity.key_store.action", &format!("uuid:{action_uuid}")).await,
            Some(format!(r#"a:1:{{i:0;s:{}:"{action_name}";}}"#, action_name.len()))
        );
        action_uuids.push(action_uuid);
    }
    assert!(
        action_uuids[0] != action_uuids[1] && !action_uuids.contains(&uuid),
        "every config entity has its own uuid"
    );
    uuid
}

#[tokio::test]
async fn creating_a_group_writes_the_role_rows_drupal_writes() {
    let app = TestApp::spawn().await;
    // Drupal caches misses: a page that looked for the role before it existed left FALSE rows.
    for cid in [
        "user.role.drupal_editors",
        "system.action.user_add_role_action.drupal_editors",
        "system.action.user_remove_role_action.drupal_editors",
    ] {
        seed_config_cache(&app, cid).await;
    }
    let (role_list, action_list) =
        (app.tag_count("config:user_role_list").await, app.tag_count("config:action_list").await);
    let kv_before: i64 = app.one("SELECT COUNT(*) FROM key_value").await.unwrap();
    let config_before: i64 = app.one("SELECT COUNT(*) FROM config").await.unwrap();

    let group = create_group(&app, &entra_group("Drupal Editors", "ext-de")).await;
    assert_eq!(group["id"], "drupal_editors");
    assert_role_rows(&app, "drupal_editors", "Drupal Editors", 4).await;
    assert_eq!(
        app.one::<i64>("SELECT COUNT(*) FROM config").await.unwrap(),
        config_before + 3,
        "the role and its two actions"
    );
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM key_value").await.unwrap(), kv_before + 3);

    // Caches: the role's and the actions' cids and the APCu timestamp go, the rest stays.
    for cid in [
        "user.role.drupal_editors",
        "system.action.user_add_role_action.drupal_editors",
        "system.action.user_remove_role_action.drupal_editors",
        "last_write_timestamp_cache_config",
    ] {
        assert!(!cached(&app, "config", cid).await, "cache_config {cid} deleted");
    }
    assert!(cached(&app, "config", "system.site").await);
    assert!(cached(&app, "config", "user.role.content_editor").await);
    assert_eq!(app.tag_count("config:user_role_list").await, role_list + 1);
    assert_eq!(app.tag_count("config:action_list").await, action_list + 1);
    assert_eq!(
        app.tag_count("config:user.role.drupal_editors").await,
        0,
        "a new config does not invalidate its own tag"
    );

    let bridge = bridge_row(&app, "drupal_editors").await.unwrap();
    assert_eq!(bridge, (Some("drupal_editors".into()), "Drupal Editors".into(), Some("ext-de".into()), 1, 0));
}

#[tokio::test]
async fn role_weights_machine_names_and_non_ascii_labels() {
    let app = TestApp::spawn().await;
    // weight = max + 1 each time (fixture: administrator has 3).
    assert_eq!(create_group(&app, &entra_group("Drupal Editors", "e1")).await["id"], "drupal_editors");
    assert_role_rows(&app, "drupal_editors", "Drupal Editors", 4).await;
    // PHP counts bytes: "Rédacteurs" is s:11.
    assert_eq!(create_group(&app, &entra_group("Rédacteurs", "e2")).await["id"], "redacteurs");
    assert_role_rows(&app, "redacteurs", "Rédacteurs", 5).await;
    assert!(
        String::from_utf8(config_raw(&app, "user.role.redacteurs").await.unwrap())
            .unwrap()
            .contains(r#"s:5:"label";s:11:"Rédacteurs";"#)
    );
    // A machine-name collision gets _2, _3.
    assert_eq!(create_group(&app, &entra_group("Drupal-Editors", "e3")).await["id"], "drupal_editors_2");
    assert_role_rows(&app, "drupal_editors_2", "Drupal-Editors", 6).await;
    assert_eq!(create_group(&app, &entra_group("drupal editors!", "e4")).await["id"], "drupal_editors_3");
    // Collides with the fixture's content_editor (label "Content editor" differs from "Content-Editor").
    assert_eq!(create_group(&app, &entra_group("Content-Editor", "e5")).await["id"], "content_editor_2");
    assert_role_rows(&app, "content_editor_2", "Content-Editor", 8).await;
    // A weight an admin set by hand is respected.
    let mut editor = config(&app, "user.role.content_editor").await.unwrap();
    editor.set("weight", PhpValue::Int(40)).unwrap();
    write_config(&app, "user.role.content_editor", &editor).await;
    assert_eq!(create_group(&app, &entra_group("Sales", "e6")).await["id"], "sales");
    assert_role_rows(&app, "sales", "Sales", 41).await;
    // The Users and Groups role list keeps unrelated roles unchanged.
    assert_eq!(role_count(&app).await, 4 + 6);
}

#[tokio::test]
async fn renaming_a_scim_created_group_relabels_its_role_and_keeps_every_other_key() {
    let app = TestApp::spawn().await;
    let group = create_group(&app, &entra_group("Marketing", "ext-mkt")).await;
    let id = group["id"].as_str().unwrap().to_string();
    assert_eq!(id, "marketing");
    // An admin grants permissions in Drupal: permissions and dependencies change. The `_core` key
    // is added too, so the test also proves keys drupal-scim never writes survive.
    let mut role = config(&app, "user.role.marketing").await.unwrap();
    role.set(
        "dependencies",
        PhpValue::assoc([("module", PhpValue::list(vec![PhpValue::str("node"), PhpValue::str("toolbar")]))]),
    )
    .unwrap();
    role.set(
        "permissions",
        PhpValue::list(vec![
            PhpValue::str("access content overview"),
            PhpValue::str("access toolbar"),
            PhpValue::str("create article content"),
        ]),
    )
    .unwrap();
    let mut with_core = Vec::new();
    for (k, v) in role.as_array().unwrap() {
        with_core.push((k.clone(), v.clone()));
        if *k == PhpKey::str("dependencies") {
            with_core.push((
                PhpKey::str("_core"),
                PhpValue::assoc([("default_config_hash", PhpValue::str("abcDEF123_-xyz"))]),
            ));
        }
    }
    let role = PhpValue::Array(with_core);
    write_config(&app, "user.role.marketing", &role).await;
    seed_config_cache(&app, "user.role.marketing").await;
    seed_config_cache(&app, "last_write_timestamp_cache_config").await;
    let (own_tag, role_list) =
        (app.tag_count("config:user.role.marketing").await, app.tag_count("config:user_role_list").await);

    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Replace", "path": "displayName", "value": "Marketing Ünits"}]),
    )
    .await;

    let after = config(&app, "user.role.marketing").await.unwrap();
    let mut expected = role.clone();
    expected.set("label", PhpValue::str("Marketing Ünits")).unwrap();
    assert_eq!(after, expected, "only the label changed, every other key kept in place");
    assert_eq!(
        String::from_utf8(config_raw(&app, "user.role.marketing").await.unwrap()).unwrap(),
        String::from_utf8(serialize(&expected)).unwrap()
    );
    assert!(
        String::from_utf8(config_raw(&app, "user.role.marketing").await.unwrap())
            .unwrap()
            .contains(r#"s:5:"label";s:16:"Marketing Ünits";"#)
    );
    assert_eq!(app.tag_count("config:user.role.marketing").await, own_tag + 1);
    assert_eq!(app.tag_count("config:user_role_list").await, role_list + 1);
    assert!(!cached(&app, "config", "user.role.marketing").await);
    assert!(!cached(&app, "config", "last_write_timestamp_cache_config").await);
    assert_eq!(bridge_row(&app, &id).await.unwrap().1, "Marketing Ünits");
    let read = get_json(&app, &format!("/Groups/{id}"), &[]).await;
    assert_eq!(read["displayName"], "Marketing Ünits");
    assert_eq!(read["id"], "marketing", "the id (machine name) never changes");
}

#[tokio::test]
async fn renaming_a_mapped_group_changes_only_its_scim_display_name() {
    let app = TestApp::spawn_with_mapping(&mapping_mapping_display_name("Drupal Editors", "content_editor")).await;
    let editor_before = config_raw(&app, "user.role.content_editor").await.unwrap();
    let roles_before = role_count(&app).await;
    let group = create_group(&app, &entra_group("Drupal Editors", "ext-de")).await;
    let id = group["id"].as_str().unwrap().to_string();
    assert_eq!(id, "content_editor");
    assert_eq!(role_count(&app).await, roles_before, "no role created for a mapped group");
    assert_eq!(
        bridge_row(&app, &id).await.unwrap(),
        (Some("content_editor".into()), "Drupal Editors".into(), Some("ext-de".into()), 0, 0)
    );
    // jdoe already holds content_editor, so the mapped group shows jdoe as a member.
    assert_eq!(member_ids(&get_json(&app, &format!("/Groups/{id}"), &[]).await), [JDOE_UUID]);
    // Members added get the mapped role.
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Add", "path": "members", "value": members(&[MSMITH_UUID])}]),
    )
    .await;
    assert_eq!(role_rows(&app, 3).await, vec![role_row(3, 0, "content_editor")]);

    let (own_tag, role_list) =
        (app.tag_count("config:user.role.content_editor").await, app.tag_count("config:user_role_list").await);
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Replace", "path": "displayName", "value": "Drupal Editors (EU)"}]),
    )
    .await;
    assert_eq!(
        config_raw(&app, "user.role.content_editor").await.unwrap(),
        editor_before,
        "the site's role is not renamed"
    );
    assert_eq!(app.tag_count("config:user.role.content_editor").await, own_tag);
    assert_eq!(app.tag_count("config:user_role_list").await, role_list);
    assert!(cached(&app, "config", "user.role.content_editor").await);
    assert_eq!(bridge_row(&app, &id).await.unwrap().1, "Drupal Editors (EU)");
    let found = get_json(
        &app,
        "/Groups",
        &[("filter", "displayName eq \"Drupal Editors (EU)\""), ("excludedAttributes", "members")],
    )
    .await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], "content_editor");
}

#[tokio::test]
async fn renaming_to_another_roles_label_is_a_conflict() {
    let app = TestApp::spawn().await;
    let group = create_group(&app, &entra_group("Marketing", "ext-mkt")).await;
    let id = group["id"].as_str().unwrap();
    let before = config_raw(&app, "user.role.marketing").await;
    for taken in ["Content editor", "administrator"] {
        let response = app
            .patch_ops(&format!("/Groups/{id}"), json!([{"op": "Replace", "path": "displayName", "value": taken}]))
            .await;
        let error = error_of(response, 409).await;
        assert_eq!(error["scimType"], "uniqueness", "{error}");
    }
    assert_eq!(config_raw(&app, "user.role.marketing").await, before);
    assert_eq!(bridge_row(&app, id).await.unwrap().1, "Marketing");
}

#[tokio::test]
async fn delete_with_delete_created_roles_removes_the_role_its_actions_and_index_rows() {
    let app = TestApp::spawn_with_mapping(&mapping_with(
        "create_role",
        true,
        "[[groups.map]]\ndisplay_name = \"Editors\"\nrole = \"content_editor\"\n",
    ))
    .await;
    let group = create_group(&app, &entra_group("Temp Team", "ext-temp")).await;
    let id = group["id"].as_str().unwrap().to_string();
    assert_eq!(id, "temp_team");
    let role_uuid =
        config(&app, "user.role.temp_team").await.unwrap().get("uuid").unwrap().as_str().unwrap().to_string();
    let mut action_uuids = Vec::new();
    for name in ["system.action.user_add_role_action.temp_team", "system.action.user_remove_role_action.temp_team"] {
        action_uuids.push(config(&app, name).await.unwrap().get("uuid").unwrap().as_str().unwrap().to_string());
    }
    patch_204(
        &app,
        &format!("/Groups/{id}"),
        json!([{"op": "Add", "path": "members", "value": members(&[MSMITH_UUID, JDOE_UUID])}]),
    )
    .await;
    assert_eq!(role_rows(&app, 2).await, vec![role_row(2, 0, "content_editor"), role_row(2, 1, "temp_team")]);
    for cid in [
        "user.role.temp_team",
        "system.action.user_add_role_action.temp_team",
        "system.action.user_remove_role_action.temp_team",
        "last_write_timestamp_cache_config",
    ] {
        seed_config_cache(&app, cid).await;
    }
    seed_entity_cache(&app, 1).await;
    seed_entity_cache(&app, 3).await;
    let (role_list, action_list, own, msmith, values) = (
        app.tag_count("config:user_role_list").await,
        app.tag_count("config:action_list").await,
        app.tag_count("config:user.role.temp_team").await,
        app.tag_count("user:3").await,
        app.tag_count("user_values").await,
    );
    let kv_before: i64 = app.one("SELECT COUNT(*) FROM key_value").await.unwrap();

    assert_eq!(app.delete(&format!("/Groups/{id}")).await.status().as_u16(), 204);
    assert_eq!(app.get(&format!("/Groups/{id}")).await.status().as_u16(), 404);
    for name in [
        "user.role.temp_team",
        "system.action.user_add_role_action.temp_team",
        "system.action.user_remove_role_action.temp_team",
    ] {
        assert!(config_raw(&app, name).await.is_none(), "{name} deleted");
        assert!(!cached(&app, "config", name).await);
    }
    assert!(!cached(&app, "config", "last_write_timestamp_cache_config").await);
    assert_eq!(key_value(&app, "config.entity.key_store.user_role", &format!("uuid:{role_uuid}")).await, None);
    for uuid in &action_uuids {
        assert_eq!(key_value(&app, "config.entity.key_store.action", &format!("uuid:{uuid}")).await, None);
    }
    assert_eq!(
        app.one::<i64>("SELECT COUNT(*) FROM key_value").await.unwrap(),
        kv_before - 3,
        "only its three index rows"
    );
    assert_eq!(holders(&app, "temp_team").await, Vec::<u32>::new());
    assert_eq!(role_rows(&app, 2).await, vec![role_row(2, 0, "content_editor")], "deltas closed up");
    // A real Drupal 10.3 deleting a role invalidates `user_values`, the tag of every cached
    // account, and the tags of the role's two actions; the accounts whose roles changed are
    // also dropped from the entity cache.
    assert_eq!(app.tag_count("user_values").await, values + 1);
    for action in ["user_add_role_action", "user_remove_role_action"] {
        assert_eq!(app.tag_count(&format!("config:system.action.{action}.temp_team")).await, 1, "{action}");
    }
    assert!(!app.user_cached(3).await, "the holder's cached account is gone");
    assert_eq!(app.tag_count("config:user_role_list").await, role_list + 1);
    assert_eq!(app.tag_count("config:action_list").await, action_list + 1);
    assert_eq!(app.tag_count("config:user.role.temp_team").await, own + 1);
    assert_eq!(app.tag_count("user:3").await, msmith + 1);
    assert_eq!(bridge_row(&app, &id).await, None);
    // The other roles are untouched.
    assert_eq!(role_count(&app).await, 4);

    // A mapped group's role was not created by SCIM: it stays even with delete_created_roles.
    let mapped = create_group(&app, &entra_group("Editors", "ext-ed")).await;
    assert_eq!(mapped["id"], "content_editor");
    let editor = config_raw(&app, "user.role.content_editor").await;
    assert_eq!(app.delete("/Groups/content_editor").await.status().as_u16(), 204);
    assert_eq!(config_raw(&app, "user.role.content_editor").await, editor);
    assert!(config_raw(&app, "system.action.user_add_role_action.content_editor").await.is_some());
    assert_eq!(holders(&app, "content_editor").await, Vec::<u32>::new(), "its memberships go");
}
