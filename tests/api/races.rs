//! Races: many clients writing the same account or group at once. Each test asserts on the rows
//! Drupal reads, not just on the answers: one account per claimed name or mail, no lost update,
//! user__roles without duplicates or delta gaps.

use crate::groups_support::*;
use crate::helpers::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Send every body as its own POST /Users at once; the (status, body) answers.
async fn post_all(app: &TestApp, bodies: Vec<Value>) -> Vec<(u16, Value)> {
    let mut tasks = tokio::task::JoinSet::new();
    for body in bodies {
        let (client, url, token) = (app.client.clone(), format!("{}/Users", app.base), app.token.clone());
        tasks.spawn(async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        });
    }
    let mut out = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        out.push(answer.unwrap());
    }
    out
}

/// Every row any user table holds for accounts created by the test (uid ≥ FIRST_NEW_UID).
async fn new_account_rows(app: &TestApp) -> Value {
    let mut out = serde_json::Map::new();
    for (table, column) in [
        ("users", "uid"),
        ("users_field_data", "uid"),
        ("user__field_first_name", "entity_id"),
        ("user__field_last_name", "entity_id"),
        ("user__roles", "entity_id"),
        ("scim_user", "uid"),
    ] {
        let rows = app
            .json_rows(&format!("SELECT {column} AS uid FROM {table} WHERE {column} >= {FIRST_NEW_UID} ORDER BY 1"))
            .await;
        out.insert(table.into(), Value::Array(rows));
    }
    Value::Object(out)
}

/// One winner: exactly one 201, the rest 409 uniqueness errors; returns the winner's body.
fn one_winner(answers: &[(u16, Value)]) -> Value {
    let winners: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 201).map(|(_, b)| b).collect();
    assert_eq!(winners.len(), 1, "exactly one create wins: {answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 201) {
        assert_eq!(*status, 409, "the others conflict: {body}");
        assert_eq!(body["scimType"], "uniqueness", "{body}");
    }
    winners[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_creates_of_one_user_name_with_different_external_ids_make_one_account() {
    let app = TestApp::spawn().await;
    let bodies = (0..32)
        .map(|i| {
            let name = if i % 2 == 0 { "race.name" } else { "Race.Name" };
            entra_user(name, &format!("race.{i}@example.com"), &format!("ext-race-{i}"))
        })
        .collect();
    let answers = post_all(&app, bodies).await;
    let winner = one_winner(&answers);
    let uid = app.uid_of("race.name").await;
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM users_field_data WHERE name = 'race.name'").await, Some(1));
    // One set of rows, all of the winner: no orphan users row, field row or bridge row from a loser.
    let one = json!([{"uid": uid}]);
    assert_eq!(
        new_account_rows(&app).await,
        json!({"users": one, "users_field_data": one, "user__field_first_name": one, "user__field_last_name": one,
               "user__roles": [], "scim_user": one})
    );
    let ext: Option<String> = app.one(&format!("SELECT external_id FROM scim_user WHERE uid = {uid}")).await;
    assert_eq!(ext.as_deref(), winner["externalId"].as_str(), "the bridge row is the winner's");
    assert_eq!(app.data_column(uid, "mail").await, winner["emails"][0]["value"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_creates_of_one_mail_with_different_user_names_make_one_account() {
    // Drupal has no unique key on mail: only the server's named locks keep it unique.
    let app = TestApp::spawn().await;
    let bodies = (0..32)
        .map(|i| {
            let mail = if i % 2 == 0 { "shared.race@example.com" } else { "Shared.Race@Example.com" };
            entra_user(&format!("mail.race.{i}"), mail, &format!("ext-mail-race-{i}"))
        })
        .collect();
    let answers = post_all(&app, bodies).await;
    let winner = one_winner(&answers);
    assert_eq!(
        app.one::<i64>("SELECT COUNT(*) FROM users_field_data WHERE mail = 'shared.race@example.com'").await,
        Some(1)
    );
    let uid = app.uid_of(winner["userName"].as_str().unwrap()).await;
    let one = json!([{"uid": uid}]);
    assert_eq!(
        new_account_rows(&app).await,
        json!({"users": one, "users_field_data": one, "user__field_first_name": one, "user__field_last_name": one,
               "user__roles": [], "scim_user": one})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_identical_reposts_answer_one_id_and_make_one_account() {
    // Entra re-sends a create whose answer it did not get; all of them converge (RFC 7644 allows
    // 409 here, Entra then has to look the account up: converging is friendlier and by design).
    let app = TestApp::spawn().await;
    let body = entra_user("same.post", "same.post@example.com", "ext-same-post");
    let answers = post_all(&app, vec![body; 32]).await;
    let ids: BTreeSet<&str> = answers.iter().filter_map(|(_, b)| b["id"].as_str()).collect();
    assert_eq!(ids.len(), 1, "one id for all: {answers:?}");
    // The server answers a converged re-send like the create itself (201, the same resource).
    assert!(answers.iter().all(|(s, _)| *s == 201), "every re-send succeeds: {answers:?}");
    let uid = app.uid_of("same.post").await;
    let one = json!([{"uid": uid}]);
    assert_eq!(
        new_account_rows(&app).await,
        json!({"users": one, "users_field_data": one, "user__field_first_name": one, "user__field_last_name": one,
               "user__roles": [], "scim_user": one})
    );
    let uuid: String = app.one(&format!("SELECT uuid FROM users WHERE uid = {uid}")).await.unwrap();
    assert_eq!(ids.into_iter().next(), Some(uuid.as_str()));
}

/// Extra text fields so that sixteen different attributes of one account can be patched at once.
const EXTRA_FIELDS: [(&str, &str); 7] = [
    ("displayName", "field_display_name"),
    ("nickName", "field_nick_name"),
    ("title", "field_title"),
    ("userType", "field_user_type"),
    ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter", "field_cost_center"),
    ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization", "field_organization"),
    ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division", "field_division"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_patches_of_sixteen_attributes_lose_no_update() {
    // Each PATCH reads the account, applies its operation and writes: it must write only what it
    // changed, or the last writer would put back the values the others replaced.
    let mut mapping = mapping_with_fields();
    let mut setup = String::new();
    for (scim, field) in EXTRA_FIELDS {
        mapping.push_str(&format!("\n[[users.attribute]]\nscim = \"{scim}\"\ndrupal = \"{field}\"\n"));
        setup.push_str(&field_table_sql(field));
        setup.push_str(&field_storage_config_sql(field, 1));
    }
    let app = TestApp::spawn_custom(&crate::helpers::test_server_url(), &mapping, &setup, |_| {}).await;
    let old_pass: String = app.one("SELECT pass FROM users_field_data WHERE uid = 2").await.unwrap();
    let old_changed: i64 = app.one("SELECT changed FROM users_field_data WHERE uid = 2").await.unwrap();
    let mut patches: Vec<(String, Value)> = vec![
        ("userName".into(), json!("john.doe")),
        ("emails[type eq \"work\"].value".into(), json!("john.doe@example.org")),
        ("active".into(), json!(false)),
        ("password".into(), json!("Concurrent-Passphrase-42")),
        ("timezone".into(), json!("Europe/Paris")),
        ("name.givenName".into(), json!("Johnny")),
        ("name.familyName".into(), json!("Doe-Smith")),
        (format!("{ENTERPRISE}:department"), json!("Newsroom")),
        (format!("{ENTERPRISE}:employeeNumber"), json!("E-9999")),
    ];
    for (scim, field) in EXTRA_FIELDS {
        patches.push((scim.to_string(), json!(format!("value of {field}"))));
    }
    assert_eq!(patches.len(), 16);
    let mut tasks = tokio::task::JoinSet::new();
    for (path, value) in patches {
        let (client, url, token) = (app.client.clone(), format!("{}/Users/{JDOE_UUID}", app.base), app.token.clone());
        tasks.spawn(async move {
            let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": path, "value": value}]});
            let response = client
                .patch(url)
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            (path, response.status().as_u16(), response.text().await.unwrap())
        });
    }
    while let Some(answer) = tasks.join_next().await {
        let (path, status, body) = answer.unwrap();
        assert_eq!(status, 200, "PATCH {path}: {body}");
    }
    assert_eq!(app.data_column(2, "name").await, "john.doe");
    assert_eq!(app.data_column(2, "mail").await, "john.doe@example.org");
    assert_eq!(app.data_column(2, "status").await, 0);
    assert_eq!(app.data_column(2, "timezone").await, "Europe/Paris");
    let pass: String = app.one("SELECT pass FROM users_field_data WHERE uid = 2").await.unwrap();
    assert!(pass != old_pass && pass.starts_with("$2y$"), "the password changed");
    assert!(app.data_column(2, "changed").await.as_i64().unwrap() > old_changed);
    assert_eq!(app.field_values(2, "field_first_name").await, vec!["Johnny"]);
    assert_eq!(app.field_values(2, "field_last_name").await, vec!["Doe-Smith"]);
    assert_eq!(app.field_values(2, "field_department").await, vec!["Newsroom"]);
    assert_eq!(app.field_values(2, "field_employee_number").await, vec!["E-9999"]);
    for (_, field) in EXTRA_FIELDS {
        assert_eq!(app.field_values(2, field).await, vec![format!("value of {field}")], "{field}");
    }
    // One users_field_data row, untouched neighbours.
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM users_field_data WHERE uid = 2").await, Some(1));
    assert_eq!(app.field_values(3, "field_first_name").await, vec!["Mary"]);
}

/// user__roles rows by (uid, role) that occur more than once, and accounts whose deltas are not
/// exactly 0..n-1.
async fn role_row_problems(app: &TestApp) -> (Vec<Value>, Vec<Value>) {
    let duplicates = app
        .json_rows(
            "SELECT entity_id, roles_target_id, COUNT(*) AS n FROM user__roles \
             GROUP BY entity_id, langcode, roles_target_id HAVING COUNT(*) > 1",
        )
        .await;
    let gaps = app
        .json_rows(
            "SELECT entity_id, COUNT(*) AS n, MIN(delta) AS lo, MAX(delta) AS hi FROM user__roles \
             GROUP BY entity_id, langcode, deleted HAVING MIN(delta) <> 0 OR MAX(delta) <> COUNT(*) - 1",
        )
        .await;
    (duplicates, gaps)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_membership_changes_of_one_group_end_exactly_right() {
    let app = TestApp::spawn().await;
    let mut users: Vec<(String, u32)> = Vec::new();
    for i in 0..48 {
        let user = app.create_user(&format!("member.{i}"), &format!("member.{i}@example.com")).await;
        users.push((user["id"].as_str().unwrap().to_string(), app.uid_of(&format!("member.{i}")).await));
    }
    let ids =
        |range: std::ops::Range<usize>| -> Vec<String> { users[range].iter().map(|(id, _)| id.clone()).collect() };
    // Everyone already holds another role, so the racing grants and revokes work at delta 1 and 2.
    let everyone: Vec<Value> = ids(0..48).into_iter().map(|id| json!({"value": id})).collect();
    let mut other = entra_group("Everyone Else", "ext-else");
    other["members"] = Value::Array(everyone);
    create_group(&app, &other).await;
    let mut racers = entra_group("Racers", "ext-racers");
    racers["members"] = Value::Array(ids(0..16).into_iter().map(|id| json!({"value": id})).collect());
    let group = create_group(&app, &racers).await;
    let gid = group["id"].as_str().unwrap().to_string();
    // 8 clients remove two members each (u0..u15), 8 clients add four each (u16..u47): disjoint.
    let mut tasks = tokio::task::JoinSet::new();
    for client_no in 0..16usize {
        let op = if client_no < 8 {
            let gone = ids(client_no * 2..client_no * 2 + 2);
            if client_no % 2 == 0 {
                json!([{"op": "remove", "path": "members", "value": gone.iter().map(|id| json!({"value": id})).collect::<Vec<_>>()}])
            } else {
                json!([
                    {"op": "remove", "path": format!("members[value eq \"{}\"]", gone[0])},
                    {"op": "remove", "path": format!("members[value eq \"{}\"]", gone[1])}
                ])
            }
        } else {
            let k = client_no - 8;
            let new = ids(16 + k * 4..16 + k * 4 + 4);
            json!([{"op": "add", "path": "members", "value": new.iter().map(|id| json!({"value": id})).collect::<Vec<_>>()}])
        };
        let (client, url, token) = (app.client.clone(), format!("{}/Groups/{gid}", app.base), app.token.clone());
        tasks.spawn(async move {
            let body = json!({"schemas": [PATCH_OP], "Operations": op});
            let response = client
                .patch(url)
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        });
    }
    while let Some(answer) = tasks.join_next().await {
        let (status, body) = answer.unwrap();
        assert_eq!(status, 204, "{body}");
    }
    let expected: BTreeSet<u32> = users[16..].iter().map(|(_, uid)| *uid).collect();
    let held: BTreeSet<u32> = holders(&app, &gid).await.into_iter().collect();
    assert_eq!(held, expected, "exactly the members added, none of those removed");
    let shown: BTreeSet<String> = app.get(&format!("/Groups/{gid}")).await.json::<Value>().await.unwrap()["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(shown, ids(16..48).into_iter().collect::<BTreeSet<_>>());
    assert_eq!(holders(&app, "everyone_else").await.len(), 48, "the other role is untouched");
    assert_eq!(role_row_problems(&app).await, (vec![], vec![]), "no duplicate rows, deltas 0..n-1 per account");
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM user__roles WHERE entity_id >= 5").await, Some(48 + 32));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_added_while_the_account_is_being_deactivated_keeps_deltas_contiguous() {
    // deactivate = "block_remove_roles": the deactivation deletes the account's SCIM roles and
    // renumbers the rest while a group PATCH gives it another role. The grant must see the
    // renumbered rows (or wait for them), not the committed ones it read before.
    let mapping = mapping_with_fields().replace("deactivate = \"block\"", "deactivate = \"block_remove_roles\"");
    let app = TestApp::spawn_with_mapping(&mapping).await;
    let mut first = entra_group("First", "ext-first");
    first["members"] = json!([{"value": JDOE_UUID}]);
    create_group(&app, &first).await;
    create_group(&app, &entra_group("Second", "ext-second")).await;
    assert_eq!(role_rows(&app, 2).await, vec![role_row(2, 0, "content_editor"), role_row(2, 1, "first")]);
    // The deactivation stops just before its commit (ending jdoe's session is its last step).
    let gate = Gate::shut(&app).await;
    app.exec(&format!("CREATE TRIGGER gate_sessions BEFORE DELETE ON sessions FOR EACH ROW {}", gate.wait_sql())).await;
    let deactivate = {
        let (client, url, token) = (app.client.clone(), format!("{}/Users/{JDOE_UUID}", app.base), app.token.clone());
        tokio::spawn(async move {
            let body =
                json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]});
            let r = client
                .patch(url)
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    };
    gate.reached().await;
    let add = {
        let (client, url, token) = (app.client.clone(), format!("{}/Groups/second", app.base), app.token.clone());
        tokio::spawn(async move {
            let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": JDOE_UUID}]}]});
            let r = client
                .patch(url)
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    };
    // The group change now waits for a row the deactivation holds.
    wait_for_lock_wait(&app.pool, &app.db_name).await;
    gate.open().await;
    let (status, body) = deactivate.await.unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) = add.await.unwrap();
    assert_eq!(status, 204, "{body}");
    assert_eq!(app.data_column(2, "status").await, 0);
    assert_eq!(role_rows(&app, 2).await, vec![role_row(2, 0, "content_editor"), role_row(2, 1, "second")]);
    assert_eq!(role_row_problems(&app).await, (vec![], vec![]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_added_while_the_account_is_being_deleted_leaves_no_orphan_role_row() {
    // delete = "delete_if_no_content" removes the account's rows; a group PATCH adding it at the
    // same time must not leave a user__roles row behind for an account that no longer exists.
    let mapping = mapping_with_fields().replace("delete = \"block\"", "delete = \"delete_if_no_content\"");
    let app = TestApp::spawn_with_mapping(&mapping).await;
    let user = app.create_user("short.lived", "short.lived@example.com").await;
    let id = user["id"].as_str().unwrap().to_string();
    let uid = app.uid_of("short.lived").await;
    create_group(&app, &entra_group("Team", "ext-team")).await;
    // The delete stops at its last statement, after every other row of the account is gone.
    let gate = Gate::shut(&app).await;
    app.exec(&format!("CREATE TRIGGER gate_scim_user BEFORE DELETE ON scim_user FOR EACH ROW {}", gate.wait_sql()))
        .await;
    let delete = {
        let (client, url, token) = (app.client.clone(), format!("{}/Users/{id}", app.base), app.token.clone());
        tokio::spawn(async move { client.delete(url).bearer_auth(token).send().await.unwrap().status().as_u16() })
    };
    gate.reached().await;
    let add = {
        let (client, url, token) = (app.client.clone(), format!("{}/Groups/team", app.base), app.token.clone());
        let id = id.clone();
        tokio::spawn(async move {
            let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]});
            let r = client
                .patch(url)
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    };
    wait_for_lock_wait(&app.pool, &app.db_name).await;
    gate.open().await;
    assert_eq!(delete.await.unwrap(), 204);
    let (status, body) = add.await.unwrap();
    // Either answer is honest (the member was there when the request came, and is gone now)…
    assert!(matches!(status, 204 | 400), "{status} {body}");
    // …but no row may point at the deleted account.
    assert_eq!(app.one::<i64>(&format!("SELECT COUNT(*) FROM users WHERE uid = {uid}")).await, Some(0));
    assert_eq!(role_rows(&app, uid).await, Vec::<RoleRow>::new(), "no orphan user__roles row");
    assert_eq!(app.one::<i64>(&format!("SELECT COUNT(*) FROM users_field_data WHERE uid = {uid}")).await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sites_on_one_server_never_wait_for_each_others_locks() {
    // Named locks (GET_LOCK) are server-wide, not per database: two Drupal sites on one MariaDB
    // server (multisite, staging next to production) must not serialise on each other's names.
    let site_a = TestApp::spawn().await;
    let site_b =
        TestApp::spawn_custom(&test_server_url(), &mapping_with_fields(), "", |s| s.database.timeout_secs = 2).await;
    // Site A creates a user and a group; both stop inside their transactions, locks held.
    let gate = Gate::shut(&site_a).await;
    site_a.exec(&format!("CREATE TRIGGER gate_user BEFORE INSERT ON scim_user FOR EACH ROW {}", gate.wait_sql())).await;
    site_a
        .exec(&format!("CREATE TRIGGER gate_group BEFORE INSERT ON scim_group FOR EACH ROW {}", gate.wait_sql()))
        .await;
    let post = |app: &TestApp, path: &str, body: Value| {
        let (client, url, token) = (app.client.clone(), format!("{}{path}", app.base), app.token.clone());
        tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    };
    let a_user = post(&site_a, "/Users", entra_user("same.name", "same.name@example.com", "ext-a"));
    let a_group = post(&site_a, "/Groups", entra_group("Same Group", "ext-group-a"));
    gate.reached_by(2).await;
    // Site B claims the same user name, mail and group name meanwhile: nothing to wait for.
    let b_user = site_b.post("/Users", &entra_user("same.name", "same.name@example.com", "ext-b")).await;
    assert_eq!(b_user.status().as_u16(), 201, "{}", b_user.text().await.unwrap());
    let b_group = site_b.post("/Groups", &entra_group("Same Group", "ext-group-b")).await;
    assert_eq!(b_group.status().as_u16(), 201, "{}", b_group.text().await.unwrap());
    gate.open().await;
    let (status, body) = a_user.await.unwrap();
    assert_eq!(status, 201, "{body}");
    let (status, body) = a_group.await.unwrap();
    assert_eq!(status, 201, "{body}");
    for app in [&site_a, &site_b] {
        assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM users_field_data WHERE name = 'same.name'").await, Some(1));
        assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM scim_group").await, Some(1));
    }
}
