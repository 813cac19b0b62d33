//! Drupal 7 under concurrency and in a shared-users multisite: uids from `sequences` stay unique
//! when SCIM creates race each other and Drupal's own `db_next_id()`, and per-table prefixes put
//! the shared tables in another database while everything else stays in the site's own.

use crate::groups_support::*;
use crate::helpers::*;
use mysql_async::prelude::*;
use serde_json::{Value, json};

const D7: Fixture = Fixture::Drupal7;

#[tokio::test]
async fn d7_concurrent_creates_and_drupals_own_allocations_never_share_a_uid() {
    let app = std::sync::Arc::new(TestApp::spawn_on(D7).await);
    // Drupal itself hands out ids from the same table while SCIM creates accounts.
    let drupal = {
        let pool = app.pool.clone();
        tokio::spawn(async move {
            let mut conn = pool.get_conn().await.unwrap();
            let mut ids = Vec::new();
            for _ in 0..20 {
                conn.query_drop("INSERT INTO sequences () VALUES ()").await.unwrap();
                ids.push(conn.last_insert_id().unwrap() as u32);
                tokio::task::yield_now().await;
            }
            ids
        })
    };
    let creates: Vec<_> = (0..24)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let response = app
                    .post(
                        "/Users",
                        &entra_user(&format!("racer{i}"), &format!("racer{i}@example.com"), &format!("ext-{i}")),
                    )
                    .await;
                assert_eq!(response.status().as_u16(), 201, "racer{i}");
            })
        })
        .collect();
    for create in creates {
        create.await.unwrap();
    }
    let drupal_ids = drupal.await.unwrap();
    let uids: Vec<u32> = app.rows("SELECT uid FROM users WHERE name LIKE 'racer%' ORDER BY uid").await;
    assert_eq!(uids.len(), 24);
    let mut distinct = uids.clone();
    distinct.dedup();
    assert_eq!(distinct, uids, "every account its own uid");
    assert!(uids.iter().all(|u| *u > 4), "above the fixture's accounts: {uids:?}");
    for id in &drupal_ids {
        assert!(!uids.contains(id), "uid {id} was handed to Drupal and to SCIM: {uids:?} / {drupal_ids:?}");
    }
    let highest: u32 = app.one("SELECT MAX(value) FROM sequences").await.unwrap();
    assert!(highest >= *uids.last().unwrap(), "the sequence is never behind the accounts");
    // The next create after the race is still above everything handed out.
    let user = app.create_user("after.race", "after.race@example.com").await;
    let uid = app.uid_of("after.race").await;
    assert!(uid > highest, "uid {uid} after {highest}");
    assert_eq!(app.get(&format!("/Users/{}", user["id"].as_str().unwrap())).await.status().as_u16(), 200);
}

/// Moves the shared tables of the fixture into their own database (with a prefix), as a Drupal 7
/// shared-users multisite keeps them, and returns the SQL and the mapping's prefix table.
fn shared_setup(shared: &str) -> (String, String) {
    let tables = ["users", "sessions", "role", "authmap", "sequences"];
    let renames: Vec<String> = tables.iter().map(|t| format!("{t} TO `{shared}`.shared_{t}")).collect();
    let sql = format!("CREATE DATABASE `{shared}` CHARACTER SET utf8; RENAME TABLE {};", renames.join(", "));
    let prefixes: Vec<String> = tables.iter().map(|t| format!("{t} = \"{shared}.shared_\"")).collect();
    (sql, format!("\n[drupal.table_prefixes]\n{}\n", prefixes.join("\n")))
}

#[tokio::test]
async fn d7_shared_users_multisite_writes_each_table_where_its_prefix_says() {
    let shared = format!("dscim_shared_{}", uuid::Uuid::new_v4().simple());
    let (setup, prefixes) = shared_setup(&shared);
    let mapping = format!("{}{prefixes}", mapping_with_fields());
    let app = TestApp::spawn_custom_on(D7, &test_server_url(), &mapping, &setup, |_| {}).await;
    let mut conn = app.pool.get_conn().await.unwrap();
    // jdoe was linked to SCIM earlier: its bridge row is shared with it (scim_user follows users).
    conn.query_drop(format!(
        "INSERT INTO `{shared}`.shared_scim_user (uid, scim_id, deleted, created, changed) VALUES (2, '{}', 0, 0, 0)",
        d7_derived_id(2)
    ))
    .await
    .unwrap();

    // The shared accounts are found where the prefix puts them.
    let found = app.filter_users("userName eq \"jdoe\"").await.json::<Value>().await.unwrap();
    assert_eq!(found["Resources"][0]["id"], d7_derived_id(2));
    assert_eq!(found["Resources"][0]["name"]["givenName"], "John", "fields stay in the site's database");
    let unlinked = app.filter_users("userName eq \"msmith\"").await.json::<Value>().await.unwrap();
    assert_eq!(unlinked["totalResults"], 0, "msmith has no shared bridge row: out of reach: {unlinked}");

    let user = app.create_user("shared.ada", "shared.ada@example.com").await;
    let id = user["id"].as_str().unwrap().to_string();
    let sql = format!("SELECT uid FROM `{shared}`.shared_users WHERE name = 'shared.ada'");
    let uid: u32 = conn.query_first(sql).await.unwrap().expect("the account is in the shared users table");
    assert_eq!(uid, 5);
    let in_site: Option<u32> = conn.query_first("SHOW TABLES LIKE 'users'").await.unwrap();
    assert_eq!(in_site, None, "no users table appeared in the site's own database");
    let sql = format!("SELECT value FROM `{shared}`.shared_sequences");
    assert_eq!(conn.query::<u32, _>(sql).await.unwrap(), vec![5], "uids come from the shared sequence");
    // The account's SCIM state is shared with it: scim_user follows users.
    let sql = format!("SELECT scim_id, external_id FROM `{shared}`.shared_scim_user WHERE uid = 5");
    let bridge: Option<(String, Option<String>)> = conn.query_first(sql).await.unwrap();
    assert_eq!(bridge.map(|b| b.0), Some(id.clone()));
    let field: Vec<String> =
        conn.query("SELECT field_first_name_value FROM field_data_field_first_name WHERE entity_id = 5").await.unwrap();
    assert_eq!(field, vec!["Given"]);

    // Roles are shared too (`role`), their assignments are the site's own (`users_roles`).
    let group = create_group(&app, &entra_group("Shared Editors", "ext-shared")).await;
    let rid = group["id"].as_str().unwrap().to_string();
    let sql = format!("SELECT name FROM `{shared}`.shared_role WHERE rid = {rid}");
    assert_eq!(conn.query_first::<String, _>(sql).await.unwrap().as_deref(), Some("Shared Editors"));
    patch_204(&app, &format!("/Groups/{rid}"), json!([{"op": "add", "path": "members", "value": members(&[&id])}]))
        .await;
    let holders: Vec<u32> = conn.query(format!("SELECT uid FROM users_roles WHERE rid = {rid}")).await.unwrap();
    assert_eq!(holders, vec![5]);
    let sql = format!("SELECT COUNT(*) FROM `{shared}`.shared_scim_group WHERE group_id = '{rid}'");
    assert_eq!(conn.query_first::<i64, _>(sql).await.unwrap(), Some(1), "scim_group follows role");

    // Blocking ends the account's sessions in the shared sessions table.
    conn.query_drop(format!(
        "INSERT INTO `{shared}`.shared_sessions (uid, sid, ssid, hostname, timestamp) VALUES (5, 'sid-ada', '', '127.0.0.1', 1)"
    ))
    .await
    .unwrap();
    let response =
        app.patch_ops(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    assert_eq!(response.status().as_u16(), 200);
    let sql = format!("SELECT COUNT(*) FROM `{shared}`.shared_sessions WHERE uid = 5");
    assert_eq!(conn.query_first::<i64, _>(sql).await.unwrap(), Some(0));
    drop(conn);
    drop(app);
    drop_test_database(&test_server_url(), &shared).await;
}

#[tokio::test]
async fn d7_with_one_string_prefix_writes_only_prefixed_tables() {
    let fixture = std::fs::read_to_string(repo_path("tests/fixtures/drupal7.sql")).unwrap();
    let tables: Vec<&str> = fixture
        .lines()
        .filter_map(|l| l.strip_prefix("CREATE TABLE `"))
        .filter_map(|rest| rest.split('`').next())
        .collect();
    assert!(tables.contains(&"users") && tables.contains(&"field_data_field_first_name"));
    let renames: Vec<String> = tables.iter().map(|t| format!("`{t}` TO `d7_{t}`")).collect();
    let setup = format!("RENAME TABLE {};", renames.join(", "));
    let mapping = mapping_with_fields().replace("table_prefix = \"\"", "table_prefix = \"d7_\"");
    let app = TestApp::spawn_custom_on(D7, &test_server_url(), &mapping, &setup, |_| {}).await;
    let user = app.create_user("prefixed.ada", "prefixed.ada@example.com").await;
    assert_eq!(app.one::<u32>("SELECT uid FROM d7_users WHERE name = 'prefixed.ada'").await, Some(5));
    assert_eq!(app.rows::<u32>("SELECT value FROM d7_sequences").await, vec![5]);
    assert_eq!(
        app.one::<String>("SELECT scim_id FROM d7_scim_user WHERE uid = 5").await.as_deref(),
        user["id"].as_str()
    );
    assert_eq!(
        app.rows::<String>("SELECT field_first_name_value FROM d7_field_revision_field_first_name WHERE entity_id = 5")
            .await,
        vec!["Given"]
    );
    let unprefixed: Vec<String> =
        app.rows("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE 'd7\\_%'").await;
    assert_eq!(unprefixed, Vec::<String>::new(), "nothing outside the prefix");
}
