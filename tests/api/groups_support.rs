//! Shared pieces of the Groups tests: request bodies as Entra ID and Okta send them, mappings
//! with a changed [groups] section, and readers for the rows Drupal reads (role config,
//! key_value index, user__roles, caches).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::helpers::*;
use drupal_scim::drupal::php_serialize::{PhpKey, PhpValue, serialize, unserialize};
use mysql_async::prelude::*;
use serde_json::{Value, json};

pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The second schema Entra puts on every group it creates (MS-TUT "Create Group").
pub const ENTRA_GROUP_EXT: &str = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// The body Entra ID sends to create a group: empty members, externalId = Entra objectId.
pub fn entra_group(display_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": [GROUP_SCHEMA, ENTRA_GROUP_EXT],
        "externalId": external_id,
        "displayName": display_name,
        "meta": {"resourceType": "Group"}
    })
}

/// The body Okta Group Push sends: no externalId, `members: []`.
pub fn okta_group(display_name: &str) -> Value {
    json!({"schemas": [GROUP_SCHEMA], "displayName": display_name, "members": []})
}

/// A members value list (`[{"value": id}, …]`).
pub fn members(ids: &[&str]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"value": id})).collect())
}

/// The shipped mapping (plus the fixture's fields) with `[groups]` changed: `unmapped`,
/// `delete_created_roles`, and extra text appended at the end (e.g. `[[groups.map]]` entries).
pub fn mapping_with(unmapped: &str, delete_created_roles: bool, extra: &str) -> String {
    let text = mapping_with_fields();
    assert!(text.contains("unmapped = \"create_role\"") && text.contains("delete_created_roles = false"));
    let mut text = text
        .replace("unmapped = \"create_role\"", &format!("unmapped = \"{unmapped}\""))
        .replace("delete_created_roles = false", &format!("delete_created_roles = {delete_created_roles}"));
    text.push('\n');
    text.push_str(extra);
    text
}

/// The default mapping plus one `[[groups.map]]` entry by display name.
pub fn mapping_mapping_display_name(display_name: &str, role: &str) -> String {
    mapping_with(
        "create_role",
        false,
        &format!("[[groups.map]]\ndisplay_name = \"{display_name}\"\nrole = \"{role}\"\n"),
    )
}

/// POST /Groups, asserting 201; returns the group JSON.
pub async fn create_group(app: &TestApp, body: &Value) -> Value {
    let response = app.post("/Groups", body).await;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(status, 201, "POST /Groups {body}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// GET with query parameters, URL-encoded.
pub async fn get_query(app: &TestApp, path: &str, query: &[(&str, &str)]) -> reqwest::Response {
    app.client.get(format!("{}{path}", app.base)).bearer_auth(&app.token).query(query).send().await.unwrap()
}

/// GET that must answer 200; the JSON body.
pub async fn get_json(app: &TestApp, path: &str, query: &[(&str, &str)]) -> Value {
    let response = get_query(app, path, query).await;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "GET {path} {query:?}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// PATCH ops that must answer 204 with an empty body.
pub async fn patch_204(app: &TestApp, path: &str, ops: Value) {
    let response = app.patch_ops(path, ops.clone()).await;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(status, 204, "PATCH {path} {ops}: {text}");
    assert!(text.is_empty(), "204 carries no body: {text}");
}

/// PATCH with a query string (e.g. `?attributes=members`).
pub async fn patch_query(app: &TestApp, path: &str, query: &[(&str, &str)], ops: Value) -> reqwest::Response {
    app.client
        .patch(format!("{}{path}", app.base))
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
        .query(query)
        .body(json!({"schemas": [PATCH_OP], "Operations": ops}).to_string())
        .send()
        .await
        .unwrap()
}

/// The error body of a failed request, asserting its status.
pub async fn error_of(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["schemas"][0], ERROR, "{body}");
    body
}

/// The ids (`value`s) of a group's `members`, sorted.
pub fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// One user__roles row in full.
pub type RoleRow = (String, i64, u32, u32, String, u32, String);

/// An account's user__roles rows (bundle, deleted, entity_id, revision_id, langcode, delta, role),
/// by delta.
pub async fn role_rows(app: &TestApp, uid: u32) -> Vec<RoleRow> {
    app.rows(&format!(
        "SELECT bundle, deleted, entity_id, revision_id, langcode, delta, roles_target_id FROM user__roles \
         WHERE entity_id = {uid} ORDER BY langcode, delta"
    ))
    .await
}

/// The row Drupal writes for role `role` at `delta` of account `uid` (langcode en).
pub fn role_row(uid: u32, delta: u32, role: &str) -> RoleRow {
    ("user".into(), 0, uid, uid, "en".into(), delta, role.into())
}

/// Assert an account's role rows exactly, on either fixture: on Drupal 10 the user__roles rows of
/// `roles` at deltas 0.. in that order; on Drupal 7 one users_roles (uid, rid) row per rid.
pub async fn assert_roles(app: &TestApp, uid: u32, roles: &[&str], what: &str) {
    match app.fixture {
        Fixture::Drupal10 => {
            let expected: Vec<RoleRow> = (0..).zip(roles).map(|(delta, role)| role_row(uid, delta, role)).collect();
            assert_eq!(role_rows(app, uid).await, expected, "{what}");
        }
        Fixture::Drupal7 => {
            let mut expected: Vec<(u32, u32)> = roles.iter().map(|rid| (uid, rid.parse().unwrap())).collect();
            expected.sort();
            let rows: Vec<(u32, u32)> =
                app.rows(&format!("SELECT uid, rid FROM users_roles WHERE uid = {uid} ORDER BY rid")).await;
            assert_eq!(rows, expected, "{what}");
        }
    }
}

/// A Drupal 7 `role` row: (rid, name, weight).
pub async fn d7_role(app: &TestApp, rid: &str) -> Option<(u32, String, i64)> {
    let mut conn = app.pool.get_conn().await.unwrap();
    conn.exec_first("SELECT rid, name, weight FROM role WHERE rid = ?", (rid,)).await.unwrap()
}

/// The uids holding a role, sorted (either fixture: see [`TestApp::holders`]).
pub async fn holders(app: &TestApp, role: &str) -> Vec<u32> {
    app.holders(role).await
}

/// A whole table (or a query) as text, to prove a request wrote nothing.
pub async fn snapshot(app: &TestApp, sql: &str) -> Vec<Value> {
    app.json_rows(sql).await
}

/// Everything a membership change can write: user__roles, users_field_data.changed,
/// cachetags, cache_entity, cache_config, scim_group, config and key_value (by checksum).
pub async fn membership_snapshot(app: &TestApp) -> Snapshot {
    let mut tables = Vec::new();
    for (label, sql) in [
        ("user__roles", "SELECT * FROM user__roles ORDER BY entity_id, langcode, delta"),
        ("users_field_data.changed", "SELECT uid, changed FROM users_field_data ORDER BY uid"),
        ("cachetags", "SELECT * FROM cachetags ORDER BY tag"),
        ("cache_entity", "SELECT cid FROM cache_entity ORDER BY cid"),
        ("cache_config", "SELECT cid FROM cache_config ORDER BY cid"),
        ("scim_group", "SELECT * FROM scim_group ORDER BY group_id"),
        ("config", "SELECT collection, name, MD5(data) AS md5 FROM config ORDER BY collection, name"),
        ("key_value", "SELECT collection, name, MD5(value) AS md5 FROM key_value ORDER BY collection, name"),
    ] {
        tables.push((label, app.json_rows(sql).await));
    }
    Snapshot(tables)
}

/// Rows of the tables a group request can write, to prove one wrote nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot(pub Vec<(&'static str, Vec<Value>)>);

impl Snapshot {
    /// Panic naming the table and the rows that differ.
    pub fn assert_same(&self, after: &Snapshot, what: &str) {
        for ((label, a), (_, b)) in self.0.iter().zip(after.0.iter()) {
            if a != b {
                let gone: Vec<&Value> = a.iter().filter(|r| !b.contains(r)).collect();
                let new: Vec<&Value> = b.iter().filter(|r| !a.contains(r)).collect();
                panic!("{what}: {label} changed\n  before only: {gone:?}\n  after only:  {new:?}");
            }
        }
    }
}

/// Assert a request wrote nothing since `before`.
pub async fn assert_unchanged(app: &TestApp, before: &Snapshot, what: &str) {
    before.assert_same(&membership_snapshot(app).await, what);
}

/// The raw `config.data` of one config name.
pub async fn config_raw(app: &TestApp, name: &str) -> Option<Vec<u8>> {
    let mut conn = app.pool.get_conn().await.unwrap();
    conn.exec_first("SELECT data FROM config WHERE collection = '' AND name = ?", (name,)).await.unwrap()
}

/// One config row parsed back with PHP's unserialize rules.
pub async fn config(app: &TestApp, name: &str) -> Option<PhpValue> {
    config_raw(app, name)
        .await
        .map(|data| unserialize(&data).unwrap_or_else(|e| panic!("config {name} does not unserialize: {e}")))
}

/// Overwrite one config row (as Drupal would after an admin edit).
pub async fn write_config(app: &TestApp, name: &str, value: &PhpValue) {
    let mut conn = app.pool.get_conn().await.unwrap();
    conn.exec_drop("UPDATE config SET data = ? WHERE collection = '' AND name = ?", (serialize(value), name))
        .await
        .unwrap();
}

/// The keys of a PHP array, in order (string keys as text, int keys as decimal).
pub fn keys(value: &PhpValue) -> Vec<String> {
    value
        .as_array()
        .expect("a PHP array")
        .iter()
        .map(|(k, _)| match k {
            PhpKey::Int(i) => i.to_string(),
            PhpKey::Str(s) => String::from_utf8(s.clone()).unwrap(),
        })
        .collect()
}

/// The string elements of a PHP list.
pub fn strings(value: &PhpValue) -> Vec<String> {
    value.as_array().expect("a PHP array").iter().map(|(_, v)| v.as_str().expect("a string").to_string()).collect()
}

/// A `key_value` row's value as text.
pub async fn key_value(app: &TestApp, collection: &str, name: &str) -> Option<String> {
    let mut conn = app.pool.get_conn().await.unwrap();
    let value: Option<Vec<u8>> = conn
        .exec_first("SELECT value FROM key_value WHERE collection = ? AND name = ?", (collection, name))
        .await
        .unwrap();
    value.map(|v| String::from_utf8(v).unwrap())
}

/// Put a cache_config row in place (Drupal caches misses as `b:0;`).
pub async fn seed_config_cache(app: &TestApp, cid: &str) {
    let mut conn = app.pool.get_conn().await.unwrap();
    conn.exec_drop(
        "INSERT INTO cache_config (cid, data, expire, created, serialized, tags, checksum) VALUES (?, 'b:0;', -1, '1719476990.120', 1, '', '0') \
         ON DUPLICATE KEY UPDATE data = data",
        (cid,),
    )
    .await
    .unwrap();
}

/// Put a cached user entity in cache_entity (`values:user:<uid>`).
pub async fn seed_entity_cache(app: &TestApp, uid: u32) {
    let mut conn = app.pool.get_conn().await.unwrap();
    conn.exec_drop(
        "INSERT INTO cache_entity (cid, data, expire, created, serialized, tags, checksum) VALUES (?, 'a:0:{}', -1, '1719476990.120', 1, 'entity_field_info', '0') \
         ON DUPLICATE KEY UPDATE data = data",
        (format!("values:user:{uid}"),),
    )
    .await
    .unwrap();
}

/// Whether a cache row exists.
pub async fn cached(app: &TestApp, bin: &str, cid: &str) -> bool {
    let mut conn = app.pool.get_conn().await.unwrap();
    let n: Option<i64> =
        conn.exec_first(format!("SELECT COUNT(*) FROM cache_{bin} WHERE cid = ?"), (cid,)).await.unwrap();
    n == Some(1)
}

/// `changed` of an account (users_field_data, or D7 users).
pub async fn changed_of(app: &TestApp, uid: u32) -> i64 {
    app.data_column(uid, "changed").await.as_i64().unwrap()
}

/// The scim_group row of a group: (role_id, display_name, external_id, created_by_scim, deleted).
pub async fn bridge_row(app: &TestApp, group_id: &str) -> Option<(Option<String>, String, Option<String>, i64, i64)> {
    let mut conn = app.pool.get_conn().await.unwrap();
    conn.exec_first(
        "SELECT role_id, display_name, external_id, created_by_scim, deleted FROM scim_group WHERE group_id = ?",
        (group_id,),
    )
    .await
    .unwrap()
}

/// Number of `user.role.*` config rows.
pub async fn role_count(app: &TestApp) -> i64 {
    app.one("SELECT COUNT(*) FROM config WHERE collection = '' AND name LIKE 'user.role.%'").await.unwrap()
}

/// The SCIM id of an account created through POST /Users, and its uid.
pub async fn new_user(app: &TestApp, user_name: &str) -> (String, u32) {
    let user = app.create_user(user_name, &format!("{}@example.com", user_name.to_lowercase())).await;
    let id = user["id"].as_str().unwrap().to_string();
    (id, app.uid_of(user_name).await)
}
