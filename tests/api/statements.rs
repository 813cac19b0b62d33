//! Every statement the server sends runs on every database server drupal-scim supports.
//!
//! Only MariaDB 10.11 runs here, so the statements are held against the table of SQL constructs
//! in src/drupal/sql_support.rs instead: the server runs a broad set of flows through a recording
//! proxy (wire.rs), and no statement it sent may use a construct that MySQL 5.7.8 or MariaDB
//! 10.3.7 lacks. Runs on both fixtures (`…::d10`, `…::d7`).

use crate::helpers::*;
use crate::wire::Recorder;
use drupal_scim::drupal::sql_support::{STATEMENT_FLOOR, unsupported};
use drupal_scim::settings::{Secret, Settings};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// The fixture's mapping with other [users]/[groups] choices.
fn mapping_with(users: &str, groups: &str) -> String {
    mapping_with_fields()
        .replace("deactivate = \"block\"\n", "")
        .replace("delete = \"block\"\n", "")
        .replace("link_existing = \"refuse\"\n", "")
        .replace("[users]\n", &format!("[users]\n{users}\n"))
        .replace("delete_created_roles = false\n", "")
        .replace("[groups]\n", &format!("[groups]\n{groups}\n"))
}

/// drupal-scim's account table as it was before Drupal 7 support: start-up adds `scim_id`.
const OLD_SCIM_USER: &str = "CREATE TABLE `scim_user` (`uid` int(10) unsigned NOT NULL, \
     `external_id` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL, \
     `deleted` tinyint(4) NOT NULL DEFAULT 0, `created` int(11) NOT NULL DEFAULT 0, `changed` int(11) NOT NULL DEFAULT 0, \
     PRIMARY KEY (`uid`), KEY `external_id` (`external_id`(191))) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

/// The server on `fx` after `setup` ran, its database connections made through `recorder`.
async fn spawn(fx: Fixture, recorder: &Recorder, mapping: &str, setup: &str) -> TestApp {
    let through = |settings: &mut Settings| {
        settings.database.url = Secret::new(recorder.url_through(settings.database.url.expose()));
    };
    TestApp::spawn_custom_on(fx, &test_server_url(), mapping, setup, through).await
}

fn status(expected: u16, response: &reqwest::Response, what: &str) {
    assert_eq!(response.status().as_u16(), expected, "{what}");
}

async fn json_of(response: reqwest::Response, expected: u16, what: &str) -> Value {
    status(expected, &response, what);
    response.json().await.unwrap()
}

/// Users: create (with a password too), read, filters, paging, cursors, search, PATCH, PUT,
/// deactivate, delete.
async fn user_flows(app: &TestApp) {
    let mut ids = Vec::new();
    for i in 0..4 {
        let user = app.create_user(&format!("wire.user{i}"), &format!("wire.user{i}@example.com")).await;
        ids.push(user["id"].as_str().unwrap().to_string());
    }
    let mut okta = entra_user("wire.okta", "wire.okta@example.com", "okta-1");
    okta["password"] = json!("Secret-Passw0rd!");
    json_of(app.post("/Users", &okta).await, 201, "create with a password").await;
    // A duplicate create: 409 after the uniqueness check.
    status(409, &app.post("/Users", &entra_user("wire.user0", "x@example.com", "x")).await, "duplicate");

    status(200, &app.get(&format!("/Users/{}", ids[0])).await, "read");
    for filter in [
        "userName eq \"wire.user1\"",
        "externalId eq \"okta-1\"",
        "userName sw \"wire.\" and active eq true",
        "emails[type eq \"work\"].value co \"user2\" or name.givenName eq \"Given\"",
        "name.familyName ew \"mily\"",
        "not (userName eq \"wire.user3\")",
        "meta.lastModified gt \"2000-01-01T00:00:00Z\"",
        "id eq \"00000000-0000-4000-8000-000000000000\"",
        "userName pr",
    ] {
        status(200, &app.filter_users(filter).await, filter);
    }
    status(200, &app.list_users(&[("startIndex", "2"), ("count", "2")]).await, "page");
    status(200, &app.list_users(&[("count", "0")]).await, "count only");
    status(200, &app.list_users(&[("attributes", "userName,emails"), ("sortBy", "userName")]).await, "attributes");
    status(200, &app.list_users(&[("excludedAttributes", "groups")]).await, "excludedAttributes");
    let page: Value = json_of(app.list_users(&[("cursor", ""), ("count", "2")]).await, 200, "cursor").await;
    if let Some(next) = page["nextCursor"].as_str() {
        status(200, &app.list_users(&[("cursor", next), ("count", "2")]).await, "next cursor");
    }
    let search = json!({"schemas": [SEARCH], "filter": "userName sw \"wire\"", "startIndex": 1, "count": 3});
    status(200, &app.post("/Users/.search", &search).await, "search");

    let id = &ids[0];
    let ops = json!([
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "wire.renamed@example.com"},
        {"op": "Replace", "path": "name.familyName", "value": "Renamed"},
        {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Sales"},
    ]);
    status(200, &app.patch_ops(&format!("/Users/{id}"), ops).await, "patch");
    let ops = json!([{"op": "replace", "value": {"userName": "wire.user0b", "active": false}}]);
    status(200, &app.patch_ops(&format!("/Users/{id}"), ops).await, "path-less patch");
    let ops = json!([{"op": "Replace", "path": "active", "value": "True"}]);
    status(200, &app.patch_ops(&format!("/Users/{id}"), ops).await, "reactivate");
    let ops = json!([{"op": "Remove", "path": "name.givenName"}]);
    status(200, &app.patch_ops(&format!("/Users/{id}"), ops).await, "remove a field");
    let mut put = entra_user("wire.user1", "wire.user1.put@example.com", "ext-put");
    put["timezone"] = json!("Europe/Paris");
    put["preferredLanguage"] = json!("en-US");
    status(200, &app.put(&format!("/Users/{}", ids[1]), &put).await, "put");
    let ops = json!([{"op": "Replace", "path": "password", "value": "An0ther-Passw0rd!"}]);
    status(200, &app.patch_ops(&format!("/Users/{}", ids[1]), ops).await, "password change");
    status(204, &app.delete(&format!("/Users/{}", ids[3])).await, "delete");
    status(404, &app.get(&format!("/Users/{}", ids[3])).await, "deleted");
}

/// Groups: create with members, list, filter, PATCH members and name (several roles per account,
/// so a removal renumbers the deltas), PUT, delete; a mapped group; bulk.
async fn group_flows(app: &TestApp) {
    let mut ids = Vec::new();
    for i in 0..3 {
        let user = app.create_user(&format!("wire.member{i}"), &format!("wire.member{i}@example.com")).await;
        ids.push(user["id"].as_str().unwrap().to_string());
    }
    let members = |list: &[&String]| list.iter().map(|id| json!({"value": id})).collect::<Vec<_>>();
    let first: Value = json_of(
        app.post(
            "/Groups",
            &json!({"displayName": "Wire One", "externalId": "g-1", "members": members(&[&ids[0], &ids[1]])}),
        )
        .await,
        201,
        "group",
    )
    .await;
    let second: Value = json_of(
        app.post("/Groups", &json!({"displayName": "Wire Two", "members": members(&[&ids[0], &ids[1], &ids[2]])}))
            .await,
        201,
        "second group",
    )
    .await;
    json_of(
        app.post("/Groups", &json!({"displayName": "Editors", "members": members(&[&ids[2]])})).await,
        201,
        "mapped",
    )
    .await;
    let (g1, g2) = (first["id"].as_str().unwrap(), second["id"].as_str().unwrap());

    status(200, &app.get("/Groups").await, "list groups");
    status(200, &app.get(&format!("/Groups/{g1}")).await, "read group");
    status(200, &app.get(&format!("/Groups/{g1}?excludedAttributes=members")).await, "group without members");
    for filter in ["displayName eq \"Wire One\"", "externalId eq \"g-1\"", &format!("members.value eq \"{}\"", ids[0])]
    {
        let response = app
            .client
            .get(format!("{}/Groups", app.base))
            .bearer_auth(&app.token)
            .query(&[("filter", filter)])
            .send()
            .await
            .unwrap();
        status(200, &response, filter);
    }
    status(200, &app.get(&format!("/Users/{}", ids[0])).await, "a member's groups");
    status(200, &app.filter_users(&format!("groups.value eq \"{g1}\"")).await, "users by group");

    // The first role goes: the account's later role rows are renumbered.
    let ops = json!([{"op": "Remove", "path": format!("members[value eq \"{}\"]", ids[0])}]);
    status(204, &app.patch_ops(&format!("/Groups/{g1}"), ops).await, "remove a member");
    let ops = json!([{"op": "Add", "path": "members", "value": members(&[&ids[2]])}]);
    status(204, &app.patch_ops(&format!("/Groups/{g1}"), ops).await, "add a member");
    let ops = json!([{"op": "Replace", "path": "displayName", "value": "Wire One Renamed"}]);
    status(204, &app.patch_ops(&format!("/Groups/{g1}"), ops).await, "rename");
    let ops = json!([{"op": "Remove", "path": "members", "value": members(&[&ids[1]])}]);
    status(204, &app.patch_ops(&format!("/Groups/{g2}"), ops).await, "remove by value");
    let put = json!({"displayName": "Wire Two", "members": members(&[&ids[1]])});
    status(200, &app.put(&format!("/Groups/{g2}"), &put).await, "put group");
    let ops = json!([{"op": "Remove", "path": "members"}]);
    status(204, &app.patch_ops(&format!("/Groups/{g2}"), ops).await, "remove every member");
    status(204, &app.delete(&format!("/Groups/{g1}")).await, "delete group");
    status(204, &app.delete(&format!("/Groups/{g2}")).await, "delete emptied group");

    let body = json!({"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "u1", "data": entra_user("wire.bulk1", "wire.bulk1@example.com", "b1")},
        {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"displayName": "Wire Bulk", "members": [{"value": "bulkId:u1"}]}},
        {"method": "PATCH", "path": "/Users/bulkId:u1", "data": {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": false}]}},
        {"method": "DELETE", "path": "/Users/bulkId:u1"}
    ]});
    status(200, &app.post("/Bulk", &body).await, "bulk");
    status(200, &app.get("/ServiceProviderConfig").await, "discovery");
    let health = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    status(200, &health, "healthz");
}

/// The other deprovisioning and linking choices: link an existing account, remove roles on
/// deactivation, hard delete (refused for an owner of content, done otherwise), delete a role
/// drupal-scim created.
async fn deprovision_flows(app: &TestApp) {
    // msmith and jdoe existed before drupal-scim and were never linked: the creates link them.
    app.unlink(3).await;
    app.unlink(2).await;
    let linked: Value =
        json_of(app.post("/Users", &entra_user("msmith", "mary.smith@example.org", "ext-mary")).await, 201, "link")
            .await;
    let user = app.create_user("wire.leaver", "wire.leaver@example.com").await;
    let id = user["id"].as_str().unwrap();
    let group: Value = json_of(
        app.post(
            "/Groups",
            &json!({"displayName": "Wire Leavers", "members": [{"value": id}, {"value": linked["id"]}]}),
        )
        .await,
        201,
        "group",
    )
    .await;
    let ops = json!([{"op": "Replace", "path": "active", "value": "False"}]);
    status(200, &app.patch_ops(&format!("/Users/{}", linked["id"].as_str().unwrap()), ops).await, "deactivate");
    // jdoe owns content in the fixture: linked, then deleted, it is blocked instead.
    let owner: Value =
        json_of(app.post("/Users", &entra_user("jdoe", "jdoe.linked@example.org", "ext-jdoe")).await, 201, "link")
            .await;
    status(204, &app.delete(&format!("/Users/{}", owner["id"].as_str().unwrap())).await, "owner of content: blocked");
    status(204, &app.delete(&format!("/Users/{id}")).await, "hard delete");
    status(204, &app.delete(&format!("/Groups/{}", group["id"].as_str().unwrap())).await, "delete the role");
}

/// Every statement sent while the flows ran, whitespace collapsed, without duplicates.
async fn captured(fx: Fixture) -> BTreeSet<String> {
    let recorder = Recorder::start(&test_server_url()).await;
    let editors = format!("[[groups.map]]\ndisplay_name = \"Editors\"\nrole = \"{}\"\n", editor_role(fx));
    let mut mapping = mapping_with_fields();
    mapping.push_str(&editors);
    let app = spawn(fx, &recorder, &mapping, "").await;
    user_flows(&app).await;
    group_flows(&app).await;
    let app = spawn(
        fx,
        &recorder,
        &mapping_with(
            "link_existing = \"link\"\ndeactivate = \"block_remove_roles\"\ndelete = \"delete_if_no_content\"",
            "delete_created_roles = true",
        ),
        OLD_SCIM_USER,
    )
    .await;
    deprovision_flows(&app).await;
    // `check` sends statements of its own.
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-wire-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join("drupal_mapping.toml");
    std::fs::write(&path, &mapping).unwrap();
    let url = recorder.url_through(&format!("{}/{}", test_server_url(), app.db_name));
    let report = drupal_scim::check::run(&Settings::new(&url, SECRET, path)).await;
    assert!(!report.failed(), "{report}");
    recorder.statements().iter().map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
}

fn editor_role(fx: Fixture) -> &'static str {
    match fx {
        Fixture::Drupal10 => "content_editor",
        Fixture::Drupal7 => "4",
    }
}

async fn every_statement_the_server_sends_runs_on_the_oldest_supported_servers(fx: Fixture) {
    let statements = captured(fx).await;
    // Not vacuous: the flows above reach the store's writes, locks and renumbering.
    let needles: &[&str] = match fx {
        Fixture::Drupal10 => &[
            "GET_LOCK(",
            "RELEASE_LOCK(",
            "INSERT INTO `users`",
            "UPDATE `user__roles` r JOIN",
            "DELETE x FROM",
            "ALTER TABLE",
        ],
        Fixture::Drupal7 => {
            &["GET_LOCK(", "RELEASE_LOCK(", "INSERT INTO `users`", "`sequences`", "DELETE x FROM", "ALTER TABLE"]
        }
    };
    for needle in needles {
        assert!(statements.iter().any(|s| s.contains(needle)), "no captured statement contains {needle:?}");
    }
    assert!(statements.len() >= 100, "only {} distinct statements captured: {statements:#?}", statements.len());
    let failures: Vec<String> = statements
        .iter()
        .filter_map(|sql| {
            let found = unsupported(sql, &STATEMENT_FLOOR);
            (!found.is_empty()).then(|| format!("{found:?}\n    in {sql}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} statements use SQL that {STATEMENT_FLOOR} lacks (src/drupal/sql_support.rs):\n{}",
        failures.len(),
        statements.len(),
        failures.join("\n")
    );
    eprintln!("{fx:?}: {} distinct statements checked against {STATEMENT_FLOOR}", statements.len());
}
both!(every_statement_the_server_sends_runs_on_the_oldest_supported_servers);
