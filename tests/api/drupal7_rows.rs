//! Drupal 7: the exact rows a Drupal 7 site would hold after each SCIM write (tests/fixtures/
//! drupal7.sql), how the schema is detected and pinned, the protected admin role, roles by rid,
//! hard deletes, sessions and cache_field. The Entra and Okta flows themselves run on Drupal 7 in
//! users_entra, users_okta and groups_flows (`…::d7`).

use crate::groups_support::*;
use crate::helpers::*;
use serde_json::{Value, json};

const D7: Fixture = Fixture::Drupal7;

/// The shipped mapping plus the fixture's fields, with `[users]` settings replaced.
fn mapping_with_users(settings: &str) -> String {
    let text = mapping_with_fields();
    assert!(text.contains("delete = \"block\"\n"));
    text.replace("delete = \"block\"\n", "").replace("[users]\n", &format!("[users]\n{settings}\n"))
}

/// The shipped mapping plus the fixture's fields, with `[drupal] core` pinned.
fn mapping_with_core(core: &str) -> String {
    let text = mapping_with_fields();
    assert!(text.contains("core = \"auto\""));
    text.replace("core = \"auto\"", &format!("core = \"{core}\""))
}

/// The start-up error of a server that must not start.
async fn start_error(fixture: Fixture, mapping: &str) -> String {
    match TestApp::try_spawn_on(fixture, mapping).await {
        Ok(_) => panic!("the server started on {fixture:?}"),
        Err(e) => e,
    }
}

/// Seconds since the epoch.
fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The bridge row of an account: (scim_id, external_id, deleted).
async fn scim_user_row(app: &TestApp, uid: u32) -> Option<(String, Option<String>, i64)> {
    app.rows(&format!("SELECT scim_id, external_id, deleted FROM scim_user WHERE uid = {uid}")).await.pop()
}

/// The `sequences` table (db_next_id keeps only the highest value).
async fn sequences(app: &TestApp) -> Vec<u32> {
    app.rows("SELECT value FROM sequences ORDER BY value").await
}

/// Sessions of an account.
async fn sessions_of(app: &TestApp, uid: u32) -> i64 {
    app.one(&format!("SELECT COUNT(*) FROM sessions WHERE uid = {uid}")).await.unwrap()
}

#[tokio::test]
async fn d7_fixture_mirrors_the_d10_accounts_for_the_shared_tests() {
    // Both fixtures, read through the fixture-aware readers, show the same accounts: what lets
    // one test body run on both. No server needed.
    let d10 = TestApp::database_only_on(Fixture::Drupal10).await;
    let d7 = TestApp::database_only_on(D7).await;
    for uid in [1, 2, 3, 4] {
        let (a, b) = (d10.account(uid).await, d7.account(uid).await);
        for key in ["name", "mail", "status", "timezone", "init", "created", "changed", "access", "login"] {
            assert_eq!(a[key], b[key], "uid {uid}: {key}");
        }
        for field in ["field_first_name", "field_last_name", "field_department", "field_employee_number"] {
            assert_eq!(d10.field_values(uid, field).await, d7.field_values(uid, field).await, "uid {uid}: {field}");
        }
    }
    assert_eq!(d7.field_values(3, "field_department").await, vec!["Recherche & Développement"]);
    assert_eq!(d7.field_values(2, "field_employee_number").await, vec!["E-1002"]);
    for app in [&d10, &d7] {
        assert_eq!(app.uid_of("jdoe").await, 2);
        assert_eq!(app.role_ids_of(2).await, vec![app.editor_role()]);
        assert_eq!(app.holders(app.editor_role()).await, vec![2]);
        assert!(app.user_cached(2).await, "the fixture's stale cached copy of jdoe");
    }
    assert_eq!(d7.role_ids_of(1).await, vec!["3"]);
    assert_eq!(d10.role_label("content_editor").await.as_deref(), Some("Content editor"));
    assert_eq!(d7.role_label("4").await.as_deref(), Some("editor"));
    assert_eq!(d7.role_label("3").await.as_deref(), Some("administrator"));
    assert!(d7.user_cached(3).await);
    assert_eq!(sequences(&d7).await, vec![4]);
    // The fixture's hashes are real Drupal 7 hashes of the documented passwords.
    for (uid, plain) in [(1, "admin-pass"), (2, "jdoe-pass"), (3, "msmith-pass"), (4, "blocked-pass")] {
        d7.assert_password(uid, plain).await;
    }
    assert_eq!(d7.jdoe_id(), "00000000-0000-4000-8000-000000000002");
    assert_eq!(d7_derived_id(0x1234_5678), "00000000-0000-4000-8000-000012345678");
}

#[tokio::test]
async fn d7_is_detected_and_a_core_pin_must_match_the_database() {
    // "10" still starts on Drupal 10.
    TestApp::spawn_with_mapping_on(Fixture::Drupal10, &mapping_with_core("10")).await;
    // "auto" and "7" start on the Drupal 7 fixture.
    for core in ["auto", "7"] {
        let app = TestApp::spawn_with_mapping_on(D7, &mapping_with_core(core)).await;
        let body = expect_list(app.list_users(&[]).await).await;
        assert_eq!(body["totalResults"], 3, "core = {core:?}: jdoe, msmith, blocked.user");
    }
    // A pin that contradicts the database names both.
    let error = start_error(D7, &mapping_with_core("10")).await;
    assert!(names_both_versions(&error), "names Drupal 7 and the pin 10: {error}");
    let error = start_error(Fixture::Drupal10, &mapping_with_core("7")).await;
    assert!(names_both_versions(&error), "names the pin 7 and Drupal 8–11: {error}");
}

/// Whether a start-up error names Drupal 7 and Drupal 10 (or 8–11), and is no parse error.
fn names_both_versions(error: &str) -> bool {
    let modern = error.contains("10") || error.contains("8–11") || error.contains("8-11");
    error.contains('7') && modern && !error.contains("must be") && !error.contains("not supported")
}

#[tokio::test]
async fn d7_detection_needs_no_config_table() {
    // A `variable` table *and* a `config` table is not Drupal 7; nor is it a Drupal 8–11 site
    // (no users_field_data): the server refuses to start.
    let result = TestApp::try_spawn_custom_on(
        D7,
        &test_server_url(),
        &mapping_with_fields(),
        "CREATE TABLE config (collection varchar(255) NOT NULL DEFAULT '', name varchar(255) NOT NULL DEFAULT '', \
         data longblob, PRIMARY KEY (collection, name))",
        |_| {},
    )
    .await;
    let error = result.err().expect("a D7 database with a config table is not taken for Drupal 7");
    assert!(error.contains("users_field_data"), "checked as a Drupal 8–11 database: {error}");
}

#[tokio::test]
async fn d7_refuses_preferred_admin_langcode_and_bcrypt_at_start_up() {
    let admin_langcode = format!(
        "{}\n[[users.attribute]]\nscim = \"locale\"\ndrupal = \"preferred_admin_langcode\"\n",
        mapping_with_fields()
    );
    let bcrypt = mapping_with_fields().replace("password_hash = \"auto\"", "password_hash = \"bcrypt\"");
    assert_ne!(bcrypt, mapping_with_fields());
    // Both are fine on Drupal 10.
    TestApp::spawn_with_mapping_on(Fixture::Drupal10, &admin_langcode).await;
    TestApp::spawn_with_mapping_on(Fixture::Drupal10, &bcrypt).await;

    let error = start_error(D7, &admin_langcode).await;
    assert!(error.contains("preferred_admin_langcode") && !error.contains("not supported"), "{error}");
    let error = start_error(D7, &bcrypt).await;
    assert!(error.contains("bcrypt") && !error.contains("not supported"), "{error}");
}

#[tokio::test]
async fn d7_create_writes_the_users_row_fields_bridge_and_sequence_drupal_7_has() {
    let app = TestApp::spawn_on(D7).await;
    let start = now();
    let body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": "ext-ada",
        "userName": "ada.lovelace",
        "active": true,
        "password": "Analytical-Engine-1843",
        "emails": [{"primary": true, "type": "work", "value": "ada@example.com"}],
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "timezone": "Europe/London",
        "preferredLanguage": "en-US",
        ENTERPRISE: {"department": "Mathématiques", "employeeNumber": "1815"}
    });
    let response = app.post("/Users", &body).await;
    assert_eq!(response.status().as_u16(), 201);
    let user: Value = response.json().await.unwrap();
    let id = user["id"].as_str().unwrap().to_string();
    let end = now();

    assert_eq!(sequences(&app).await, vec![5], "db_next_id: uid 5, only the highest value kept");
    let row = app.json_rows("SELECT * FROM users WHERE uid = 5").await.pop().expect("uid 5");
    let pass = row["pass"].as_str().unwrap().to_string();
    let created = row["created"].as_i64().unwrap();
    assert!((start..=end).contains(&created), "created {created} in [{start}, {end}]");
    assert_eq!(
        row,
        json!({
            "uid": 5, "name": "ada.lovelace", "pass": pass, "mail": "ada@example.com", "theme": "",
            "signature": "", "signature_format": null, "created": created, "changed": created, "access": 0,
            "login": 0, "status": 1, "timezone": "Europe/London", "language": "en", "picture": 0,
            "init": "ada@example.com", "data": null
        })
    );
    app.assert_password(5, "Analytical-Engine-1843").await;
    assert!(uuid::Uuid::parse_str(&id).is_ok_and(|u| u.get_version_num() == 4), "{id}");
    assert_eq!(scim_user_row(&app, 5).await, Some((id.clone(), Some("ext-ada".into()), 0)));
    assert_eq!(app.field_values(5, "field_first_name").await, vec!["Ada"]);
    assert_eq!(app.field_values(5, "field_last_name").await, vec!["Lovelace"]);
    assert_eq!(app.field_values(5, "field_department").await, vec!["Mathématiques"]);
    assert_eq!(app.field_values(5, "field_employee_number").await, vec!["1815"]);
    assert_eq!(app.role_ids_of(5).await, Vec::<String>::new(), "rids 1 and 2 are never stored");
    assert_eq!(app.get(&format!("/Users/{id}")).await.json::<Value>().await.unwrap()["userName"], "ada.lovelace");

    // The least a client sends: no password, mail, time zone or language; inactive.
    let response = app.post("/Users", &json!({"schemas": [USER_SCHEMA], "userName": "bare", "active": false})).await;
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(sequences(&app).await, vec![6]);
    let row = app.json_rows("SELECT * FROM users WHERE uid = 6").await.pop().expect("uid 6");
    let created = row["created"].as_i64().unwrap();
    assert_eq!(
        row,
        json!({
            "uid": 6, "name": "bare", "pass": "", "mail": "", "theme": "", "signature": "",
            "signature_format": null, "created": created, "changed": created, "access": 0, "login": 0,
            "status": 0, "timezone": "UTC", "language": "", "picture": 0, "init": "", "data": null
        }),
        "the site's date_default_timezone, no password, no mail"
    );
    for field in ["field_first_name", "field_last_name", "field_department", "field_employee_number"] {
        assert_eq!(app.field_values(6, field).await, Vec::<String>::new(), "{field}");
    }
    assert_eq!(app.count("users").await, 7);
}

#[tokio::test]
async fn d7_uid_allocation_follows_sequences_not_max_uid() {
    // db_next_id: a sequences value above MAX(uid) (a uid handed out, then the account deleted)
    // is never reused.
    let app = TestApp::try_spawn_custom_on(
        D7,
        &test_server_url(),
        &mapping_with_fields(),
        "INSERT INTO sequences VALUES (9)",
        |_| {},
    )
    .await
    .unwrap();
    app.create_user("after.gap", "after.gap@example.com").await;
    assert_eq!(app.uid_of("after.gap").await, 10);
    assert_eq!(sequences(&app).await, vec![10]);
}

#[tokio::test]
async fn d7_preexisting_accounts_get_derived_ids_written_on_first_write() {
    // Accounts that existed before SCIM and that it never linked: with link_existing = "link"
    // SCIM reaches them by their derived ids, and their first write links them.
    let app = TestApp::spawn_with_mapping_on(D7, &mapping_linking_existing()).await;
    for uid in [2, 3, 4] {
        app.unlink(uid).await;
    }
    let body = expect_list(app.list_users(&[]).await).await;
    let ids: Vec<&str> = body["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [d7_derived_id(2), d7_derived_id(3), d7_derived_id(4)]);
    assert_eq!(app.get(&format!("/Users/{}", app.jdoe_id())).await.json::<Value>().await.unwrap()["userName"], "jdoe");
    assert_eq!(app.names_matching(&format!("id eq \"{}\"", app.msmith_id())).await, ["msmith"]);
    assert_eq!(scim_user_row(&app, 2).await, None, "nothing written by reading");
    // uid 0, uid 1 and uids nobody has: 404, whatever their derived id.
    for uid in [0, 1, 99] {
        expect_error(app.get(&format!("/Users/{}", d7_derived_id(uid))).await, 404, None).await;
    }

    let response = app
        .patch_ops(
            &format!("/Users/{}", app.jdoe_id()),
            json!([{"op": "replace", "path": "name.givenName", "value": "Jon"}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["id"], app.jdoe_id().as_str());
    assert_eq!(scim_user_row(&app, 2).await, Some((d7_derived_id(2), None, 0)));
    assert_eq!(link_audits(&app, 2).await, 1, "the link is in Drupal's log");
    assert_eq!(scim_user_row(&app, 3).await, None, "only the account written is linked");
    // A rename keeps it.
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.jdoe_id()),
            json!([{"op": "replace", "path": "userName", "value": "john.doe"}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(scim_user_row(&app, 2).await, Some((d7_derived_id(2), None, 0)));
    assert_eq!(link_audits(&app, 2).await, 1, "linked once");
    assert_eq!(app.names_matching(&format!("id eq \"{}\"", app.jdoe_id())).await, ["john.doe"]);

    // With the default link_existing = "refuse" the same unlinked account is out of reach.
    let refusing = TestApp::spawn_on(D7).await;
    refusing.unlink(3).await;
    expect_error(refusing.get(&format!("/Users/{}", d7_derived_id(3))).await, 404, None).await;
    assert!(refusing.names_matching(&format!("id eq \"{}\"", d7_derived_id(3))).await.is_empty());
}

#[tokio::test]
async fn d7_update_sets_changed_and_drops_cache_field_and_only_block_or_password_ends_sessions() {
    let app = TestApp::spawn_on(D7).await;
    let jdoe = app.jdoe_id();
    let start = now();
    let response = app
        .patch_ops(&format!("/Users/{jdoe}"), json!([{"op": "replace", "path": "name.givenName", "value": "Johnny"}]))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(app.data_column(2, "changed").await.as_i64().unwrap() >= start, "changed = now");
    assert_eq!(app.field_values(2, "field_first_name").await, vec!["Johnny"]);
    assert!(!app.user_cached(2).await, "cache_field field:user:2 deleted");
    assert!(app.user_cached(3).await, "msmith's cache_field row stays");
    assert_eq!(sessions_of(&app, 2).await, 1, "a profile change keeps the session");

    // A password change ends the account's sessions, and only its own.
    let response = app
        .patch_ops(&format!("/Users/{jdoe}"), json!([{"op": "replace", "path": "password", "value": "n3w-pass"}]))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    app.assert_password(2, "n3w-pass").await;
    assert_eq!(sessions_of(&app, 2).await, 0);
    assert_eq!(sessions_of(&app, 1).await, 1);

    // Blocking ends the sessions too.
    app.exec("INSERT INTO sessions (uid, sid, ssid, hostname, timestamp) VALUES (3, 'sid-msmith', '', '127.0.0.1', 1)")
        .await;
    let response = app
        .patch_ops(&format!("/Users/{}", app.msmith_id()), json!([{"op": "replace", "path": "active", "value": false}]))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(3, "status").await, 0);
    assert_eq!(sessions_of(&app, 3).await, 0);
    assert!(!app.user_cached(3).await, "cache_field field:user:3 deleted");
    // preferredLanguage lands in users.language.
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.msmith_id()),
            json!([{"op": "replace", "path": "preferredLanguage", "value": "en-GB"}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(3, "preferred_langcode").await, "en");
}

#[tokio::test]
async fn d7_password_count_follows_the_password_count_log2_variable() {
    // variable_set() writes the row and clears the variables cache.
    let setup = "INSERT INTO variable (name, value) VALUES ('password_count_log2', 'i:11;'); \
                 DELETE FROM cache_bootstrap WHERE cid = 'variables'";
    let app =
        TestApp::try_spawn_custom_on(D7, &test_server_url(), &mapping_with_fields(), setup, |_| {}).await.unwrap();
    let mut body = entra_user("counted", "counted@example.com", "ext-counted");
    body["password"] = json!("c0unt-eleven");
    assert_eq!(app.post("/Users", &body).await.status().as_u16(), 201);
    let hash = app.data_column(5, "pass").await.as_str().unwrap().to_string();
    assert!(hash.starts_with("$S$9"), "2^11 iterations: itoa64[11] = '9': {hash}");
    assert_eq!(hash.len(), 55);
    if let Some(expected) = phpass_reference("c0unt-eleven", &hash) {
        assert_eq!(hash, expected);
    }
}

#[tokio::test]
async fn d7_groups_are_roles_and_their_ids_are_rids() {
    let app = TestApp::spawn_on(D7).await;
    let first = create_group(&app, &entra_group("Sales", "ext-sales")).await;
    let second = create_group(&app, &okta_group("Support Desk")).await;
    assert_eq!((first["id"].as_str(), second["id"].as_str()), (Some("5"), Some("6")));
    assert_eq!(d7_role(&app, "5").await, Some((5, "Sales".into(), 4)));
    assert_eq!(d7_role(&app, "6").await, Some((6, "Support Desk".into(), 5)), "weight = max(weight) + 1");
    let roles: Vec<(u32, String, i64)> = app.rows("SELECT rid, name, weight FROM role ORDER BY rid").await;
    assert_eq!(roles.len(), 6);
    assert_eq!(
        roles[..4],
        [
            (1, "anonymous user".to_string(), 0),
            (2, "authenticated user".to_string(), 1),
            (3, "administrator".to_string(), 2),
            (4, "editor".to_string(), 3)
        ]
    );
    assert_eq!(app.count("role_permission").await, 16, "a new role has no permissions");

    // Members: users_roles (uid, rid) rows, no deltas; jdoe keeps rid 4.
    let (ann, ann_uid) = new_user(&app, "ann").await;
    patch_204(&app, "/Groups/5", json!([{"op": "add", "path": "members", "value": members(&[&ann, &app.jdoe_id()])}]))
        .await;
    let rows: Vec<(u32, u32)> = app.rows("SELECT uid, rid FROM users_roles ORDER BY uid, rid").await;
    assert_eq!(rows, [(1, 3), (2, 4), (2, 5), (ann_uid, 5)]);
    let read = get_json(&app, "/Groups/5", &[]).await;
    let mut expected = vec![ann.clone(), app.jdoe_id()];
    expected.sort();
    assert_eq!(member_ids(&read), expected);
    // The user's groups show SCIM groups only (never rid 1, 2, or the admin role).
    let jdoe = get_json(&app, &format!("/Users/{}", app.jdoe_id()), &[]).await;
    let groups: Vec<&str> = jdoe["groups"].as_array().unwrap().iter().map(|g| g["value"].as_str().unwrap()).collect();
    assert_eq!(groups, ["5"], "{jdoe}");

    // Only the two SCIM groups are listed; the built-in and admin roles are never reachable.
    let all = get_json(&app, "/Groups", &[]).await;
    assert_eq!(all["totalResults"], 2, "{all}");
    for rid in ["1", "2", "3"] {
        expect_error(app.get(&format!("/Groups/{rid}")).await, 404, None).await;
        let ops = json!([{"op": "add", "path": "members", "value": members(&[&app.msmith_id()])}]);
        assert_eq!(app.patch_ops(&format!("/Groups/{rid}"), ops).await.status().as_u16(), 404, "rid {rid}");
        assert_eq!(app.delete(&format!("/Groups/{rid}")).await.status().as_u16(), 404, "rid {rid}");
    }
    assert_eq!(app.role_ids_of(3).await, Vec::<String>::new(), "msmith never got rid 1, 2 or 3");
    assert_eq!(app.role_ids_of(1).await, vec!["3"]);

    // Renaming relabels role.name; the rid stays.
    patch_204(&app, "/Groups/6", json!([{"op": "replace", "path": "displayName", "value": "Help Desk"}])).await;
    assert_eq!(d7_role(&app, "6").await, Some((6, "Help Desk".into(), 5)));
    // role.name is unique: a rename or create onto a taken name is a conflict, nothing written.
    let response =
        app.patch_ops("/Groups/6", json!([{"op": "replace", "path": "displayName", "value": "editor"}])).await;
    assert_eq!(error_of(response, 409).await["scimType"], "uniqueness");
    for name in ["administrator", "Administrator", "editor", "anonymous user", "Authenticated user"] {
        let response = app.post("/Groups", &entra_group(name, "ext-taken")).await;
        assert_eq!(error_of(response, 409).await["scimType"], "uniqueness", "{name}");
    }
    assert_eq!(app.count("role").await, 6);
    assert_eq!(d7_role(&app, "6").await, Some((6, "Help Desk".into(), 5)));
}

#[tokio::test]
async fn d7_group_delete_keeps_the_role_unless_delete_created_roles() {
    let grant = |rid: &str| {
        format!(
            "INSERT INTO role_permission (rid, permission, module) VALUES ({rid}, 'access content overview', 'node')"
        )
    };
    // Default: the memberships go, the role and its permissions stay.
    let app = TestApp::spawn_on(D7).await;
    create_group(&app, &entra_group("Sales", "ext-sales")).await;
    app.exec(&grant("5")).await;
    patch_204(&app, "/Groups/5", json!([{"op": "add", "path": "members", "value": members(&[&app.msmith_id()])}]))
        .await;
    assert_eq!(app.holders("5").await, vec![3]);
    assert_eq!(app.delete("/Groups/5").await.status().as_u16(), 204);
    assert_eq!(app.holders("5").await, Vec::<u32>::new());
    assert_eq!(d7_role(&app, "5").await, Some((5, "Sales".into(), 4)));
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM role_permission WHERE rid = 5").await, Some(1));
    assert_eq!(app.get("/Groups/5").await.status().as_u16(), 404);

    // delete_created_roles = true: role, role_permission and users_roles rows of the rid go.
    let app = TestApp::spawn_with_mapping_on(D7, &mapping_with("create_role", true, "")).await;
    create_group(&app, &entra_group("Sales", "ext-sales")).await;
    app.exec(&grant("5")).await;
    let (ann, _) = new_user(&app, "ann").await;
    patch_204(&app, "/Groups/5", json!([{"op": "add", "path": "members", "value": members(&[&ann, &app.jdoe_id()])}]))
        .await;
    let permissions_before: Vec<(u32, String)> =
        app.rows("SELECT rid, permission FROM role_permission WHERE rid <> 5 ORDER BY rid, permission").await;
    assert_eq!(app.delete("/Groups/5").await.status().as_u16(), 204);
    assert_eq!(d7_role(&app, "5").await, None);
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM role_permission WHERE rid = 5").await, Some(0));
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM users_roles WHERE rid = 5").await, Some(0));
    let rows: Vec<(u32, u32)> = app.rows("SELECT uid, rid FROM users_roles ORDER BY uid, rid").await;
    assert_eq!(rows, [(1, 3), (2, 4)], "other roles untouched");
    let permissions_after: Vec<(u32, String)> =
        app.rows("SELECT rid, permission FROM role_permission ORDER BY rid, permission").await;
    assert_eq!(permissions_after, permissions_before);
    assert_eq!(app.count("role").await, 4);
}

#[tokio::test]
async fn d7_groups_map_accepts_a_role_name_or_a_rid() {
    for role in ["editor", "4"] {
        let app = TestApp::spawn_with_mapping_on(D7, &mapping_mapping_display_name("Editors", role)).await;
        let group = create_group(&app, &entra_group("Editors", "ext-ed")).await;
        assert_eq!(group["id"], "4", "role = {role:?}");
        assert_eq!(app.count("role").await, 4, "no role created for a mapped group");
        // jdoe already holds rid 4, so the mapped group shows jdoe as a member.
        assert_eq!(member_ids(&get_json(&app, "/Groups/4", &[]).await), [app.jdoe_id()]);
        patch_204(&app, "/Groups/4", json!([{"op": "add", "path": "members", "value": members(&[&app.msmith_id()])}]))
            .await;
        assert_eq!(app.holders("4").await, vec![2, 3]);
        // Renaming a mapped group changes only its SCIM name.
        patch_204(&app, "/Groups/4", json!([{"op": "replace", "path": "displayName", "value": "Editors EU"}])).await;
        assert_eq!(d7_role(&app, "4").await, Some((4, "editor".into(), 3)));
        assert_eq!(get_json(&app, "/Groups/4", &[]).await["displayName"], "Editors EU");
    }
}

#[tokio::test]
async fn d7_admin_role_is_protected_by_name_by_rid_and_by_user_admin_role() {
    for role in ["administrator", "3"] {
        let error = start_error(D7, &mapping_mapping_display_name("Admins", role)).await;
        assert!(error.contains("protected") && !error.contains("not supported"), "role = {role:?}: {error}");
    }
    // protected_roles by name covers a mapping by rid, and the other way round.
    for (protected, mapped) in [("editor", "4"), ("4", "editor")] {
        let mapping = mapping_mapping_display_name("Editors", mapped).replace(
            "protected_roles = [\"administrator\"]",
            &format!("protected_roles = [\"administrator\", \"{protected}\"]"),
        );
        let error = start_error(D7, &mapping).await;
        assert!(error.contains("protected"), "protected {protected:?}, mapped {mapped:?}: {error}");
    }
    // The admin role is whatever user_admin_role names.
    let setup = "UPDATE variable SET value = 's:1:\"4\";' WHERE name = 'user_admin_role'; \
                 DELETE FROM cache_bootstrap WHERE cid = 'variables'";
    let result = TestApp::try_spawn_custom_on(
        D7,
        &test_server_url(),
        &mapping_mapping_display_name("Editors", "editor"),
        setup,
        |_| {},
    )
    .await;
    let error = result.err().expect("rid 4 is the admin role now");
    assert!(error.contains("protected"), "{error}");

    // Members of the admin role are untouchable through any group.
    let app = TestApp::spawn_on(D7).await;
    let response = app
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "Ops", "members": members(&[&app.admin_id()])}),
        )
        .await;
    error_of(response, 400).await;
    assert_eq!(app.count("role").await, 4, "no role created");
    assert_eq!(app.role_ids_of(1).await, vec!["3"]);
}

#[tokio::test]
async fn d7_hard_delete_removes_every_row_of_an_account_owning_nothing() {
    let app = TestApp::spawn_with_mapping_on(D7, &mapping_with_users("delete = \"delete_if_no_content\"")).await;
    // Give blocked.user (uid 4, owns nothing) a row in every table Drupal 7's delete empties.
    for sql in [
        "INSERT INTO users_roles (uid, rid) VALUES (4, 4)",
        "INSERT INTO sessions (uid, sid, ssid, hostname, timestamp) VALUES (4, 'sid-blocked', '', '127.0.0.1', 1)",
        "INSERT INTO authmap (uid, authname, module) VALUES (4, 'https://blocked.openid.example.com/', 'openid')",
        "INSERT INTO field_data_field_first_name VALUES ('user', 'user', 0, 4, 4, 'und', 0, 'Blocked', NULL)",
        "INSERT INTO field_revision_field_first_name VALUES ('user', 'user', 0, 4, 4, 'und', 0, 'Blocked', NULL)",
        "INSERT INTO field_data_field_department VALUES ('user', 'user', 0, 4, 4, 'und', 0, 'Gone', NULL)",
        "INSERT INTO field_revision_field_department VALUES ('user', 'user', 0, 4, 4, 'und', 0, 'Gone', NULL)",
    ] {
        app.exec(sql).await;
    }
    app.seed_user_cache(4).await;
    // blocked.user is linked (its bridge row holds the derived id): a write, then DELETE.
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.blocked_id()),
            json!([{"op": "replace", "path": "name.familyName", "value": "User"}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(scim_user_row(&app, 4).await.map(|r| r.0), Some(d7_derived_id(4)));
    let response = app.delete(&format!("/Users/{}", app.blocked_id())).await;
    assert_eq!(response.status().as_u16(), 204);
    assert!(response.headers().get("warning").is_none());
    for (table, column) in [
        ("users", "uid"),
        ("users_roles", "uid"),
        ("sessions", "uid"),
        ("authmap", "uid"),
        ("scim_user", "uid"),
        ("field_data_field_first_name", "entity_id"),
        ("field_revision_field_first_name", "entity_id"),
        ("field_data_field_last_name", "entity_id"),
        ("field_revision_field_last_name", "entity_id"),
        ("field_data_field_department", "entity_id"),
        ("field_revision_field_department", "entity_id"),
    ] {
        assert_eq!(
            app.one::<i64>(&format!("SELECT COUNT(*) FROM {table} WHERE {column} = 4")).await,
            Some(0),
            "{table}"
        );
    }
    assert!(!app.user_cached(4).await, "cache_field field:user:4 deleted");
    assert_eq!(app.count("users").await, 4, "the other accounts stay");
    assert_eq!(app.holders("4").await, vec![2]);
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM authmap WHERE uid = 3").await, Some(1), "msmith's OpenID stays");
    expect_error(app.get(&format!("/Users/{}", app.blocked_id())).await, 404, None).await;
}

#[tokio::test]
async fn d7_hard_delete_blocks_an_account_owning_a_node_revision_comment_or_file() {
    let app = TestApp::spawn_with_mapping_on(D7, &mapping_with_users("delete = \"delete_if_no_content\"")).await;
    let mut owners = Vec::new();
    for (name, sql) in [
        (
            "node.owner",
            "INSERT INTO node (nid, vid, type, language, title, uid) VALUES (3, 3, 'page', 'und', 'Mine', {uid})",
        ),
        (
            "revision.owner",
            "INSERT INTO node_revision (nid, vid, uid, title, log, timestamp) VALUES (1, 4, {uid}, 'Edited', '', 1)",
        ),
        (
            "comment.owner",
            "INSERT INTO comment (pid, nid, uid, subject, thread, language) VALUES (0, 2, {uid}, 'Hi', '02/', 'und')",
        ),
        (
            "file.owner",
            "INSERT INTO file_managed (uid, filename, uri, filemime) VALUES ({uid}, 'f.txt', 'public://f.txt', 'text/plain')",
        ),
    ] {
        let (id, uid) = new_user(&app, name).await;
        app.exec(&sql.replace("{uid}", &uid.to_string())).await;
        owners.push((id, uid));
    }
    for (id, uid) in &owners {
        let response = app.delete(&format!("/Users/{id}")).await;
        assert_eq!(response.status().as_u16(), 204);
        let warning = response.headers()["warning"].to_str().unwrap().to_string();
        assert!(warning.contains("blocked, not deleted"), "{warning}");
        assert_eq!(app.data_column(*uid, "status").await, 0, "uid {uid} blocked and kept");
        assert_eq!(scim_user_row(&app, *uid).await.map(|r| r.2), Some(1), "uid {uid} hidden from SCIM");
        expect_error(app.get(&format!("/Users/{id}")).await, 404, None).await;
    }
    // jdoe owns node 2 and file 1 in the fixture.
    let response = app.delete(&format!("/Users/{}", app.jdoe_id())).await;
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(app.data_column(2, "status").await, 0);
    assert_eq!(app.role_ids_of(2).await, vec!["4"], "a blocked account keeps its rows");
    assert_eq!(app.field_values(2, "field_first_name").await, vec!["John"]);
}

#[tokio::test]
async fn d7_refuses_a_plus_in_user_names_that_drupal_10_accepts() {
    for fixture in [Fixture::Drupal10, D7] {
        let app = TestApp::spawn_on(fixture).await;
        let before = app.count("users").await;
        let response = app.post("/Users", &entra_user("first+tag@example.com", "tag@example.com", "ext-tag")).await;
        if fixture == D7 {
            let error = expect_error(response, 400, Some("invalidValue")).await;
            assert!(error["detail"].as_str().unwrap().contains("Drupal 7"), "{error}");
            assert_eq!(app.count("users").await, before, "nothing written");
        } else {
            assert_eq!(response.status().as_u16(), 201);
        }
    }
}

/// Drupal 7 tables are often 3-byte `utf8`: a value they cannot hold (an emoji) is the client's
/// problem (400, nothing written), and a filter for one simply matches nobody.
#[tokio::test]
async fn d7_values_a_utf8_table_cannot_hold_are_a_400_and_filters_on_them_match_nothing() {
    let app = TestApp::spawn_on(D7).await;
    let before = app.count("users").await;
    let mut body = entra_user("emoji.user", "emoji.user@example.com", "ext-emoji");
    body["name"]["givenName"] = json!("Ada 🚀");
    let error = expect_error(app.post("/Users", &body).await, 400, Some("invalidValue")).await;
    assert!(error["detail"].as_str().unwrap().contains("utf8mb4"), "{error}");
    assert_eq!(app.count("users").await, before, "nothing written");
    assert_eq!(app.rows::<u32>("SELECT value FROM sequences").await, vec![4], "the sequence row went back too");
    let response = app
        .patch_ops(
            &format!("/Users/{}", app.jdoe_id()),
            json!([{"op": "replace", "path": "userName", "value": "jdoe🚀"}]),
        )
        .await;
    expect_error(response, 400, Some("invalidValue")).await;
    assert_eq!(app.names_matching("userName eq \"jdoe🚀\"").await, Vec::<String>::new());
    assert_eq!(app.names_matching("name.givenName co \"🚀\"").await, Vec::<String>::new());
    assert_eq!(app.names_matching("userName eq \"jdoe\"").await, vec!["jdoe"]);
    assert_eq!(app.names_matching("id eq \"🚀\"").await, Vec::<String>::new());
    // A role name is a utf8 column too.
    let before = app.count("role").await;
    let response = app.post("/Groups", &crate::groups_support::entra_group("Rockets 🚀", "ext-rockets")).await;
    let error = expect_error(response, 400, Some("invalidValue")).await;
    assert!(error["detail"].as_str().unwrap().contains("utf8mb4"), "{error}");
    assert_eq!(app.count("role").await, before);
}
