//! What a token holder can reach (issue #12 §1, §2): privileged accounts — holders of an
//! administrator role or of a role with a permission that leads to every account — and accounts
//! SCIM never created or linked are invisible to every route and untouched by every write, and
//! an account that gains such a role in Drupal drops out of reach at once. Each test runs on both
//! fixtures (`…::d10`, `…::d7`) and asserts on the rows Drupal reads.

use crate::helpers::*;
use mysql_async::prelude::*;
use serde_json::{Value, json};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn mapping_with_users(users_settings: &str) -> String {
    mapping_with_fields()
        .replace("link_existing = \"refuse\"\n", "")
        .replace("[users]\n", &format!("[users]\n{users_settings}\n"))
}

/// Give `uid` the fixture's administrator role, as Drupal's People page would.
async fn make_administrator(app: &TestApp, uid: u32) {
    let sql = match app.fixture {
        Fixture::Drupal10 => format!(
            "INSERT INTO user__roles (bundle, deleted, entity_id, revision_id, langcode, delta, roles_target_id) \
             SELECT 'user', 0, {uid}, {uid}, 'en', COALESCE(MAX(delta) + 1, 0), 'administrator' FROM user__roles WHERE entity_id = {uid}"
        ),
        Fixture::Drupal7 => format!("INSERT INTO users_roles (uid, rid) VALUES ({uid}, 3)"),
    };
    app.exec(&sql).await;
}

/// A new role holding `permission` (and nothing that is an administrator flag), given to `uid`.
async fn grant_role_with_permission(app: &TestApp, uid: u32, permission: &str) -> String {
    match app.fixture {
        Fixture::Drupal10 => {
            let data = format!(
                r#"a:9:{{s:4:"uuid";s:36:"0b0f6c2e-1d2e-4c3b-9a4d-5e6f7a8b9c0d";s:8:"langcode";s:2:"en";s:6:"status";b:1;s:12:"dependencies";a:0:{{}}s:2:"id";s:8:"helpdesk";s:5:"label";s:8:"Helpdesk";s:6:"weight";i:5;s:8:"is_admin";b:0;s:11:"permissions";a:2:{{i:0;s:14:"access content";i:1;s:{}:"{permission}";}}}}"#,
                permission.len()
            );
            app.exec(&format!(
                "INSERT INTO config (collection, name, data) VALUES ('', 'user.role.helpdesk', '{data}')"
            ))
            .await;
            app.exec(&format!(
                "INSERT INTO user__roles (bundle, deleted, entity_id, revision_id, langcode, delta, roles_target_id) \
                 SELECT 'user', 0, {uid}, {uid}, 'en', COALESCE(MAX(delta) + 1, 0), 'helpdesk' FROM user__roles WHERE entity_id = {uid}"
            ))
            .await;
            "helpdesk".into()
        }
        Fixture::Drupal7 => {
            app.exec("INSERT INTO role (rid, name, weight) VALUES (9, 'helpdesk', 9)").await;
            app.exec(&format!(
                "INSERT INTO role_permission (rid, permission, module) VALUES (9, 'access content', 'node'), (9, '{permission}', 'user')"
            ))
            .await;
            app.exec(&format!("INSERT INTO users_roles (uid, rid) VALUES ({uid}, 9)")).await;
            "9".into()
        }
    }
}

/// The ids a full listing of /Users shows.
async fn listed_ids(app: &TestApp) -> Vec<String> {
    let list = expect_list(app.list_users(&[("count", "1000")]).await).await;
    list["Resources"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

/// Every read and write route against one account (`id`, `uid`, `name`, `mail`) that SCIM must
/// not reach: nothing finds it, nothing changes a row Drupal reads, and a create naming it is a
/// 409 whose detail is `detail_has` and never names its uid.
async fn assert_out_of_reach(app: &TestApp, id: &str, uid: u32, name: &str, mail: &str, detail_has: &str) {
    let before = app.snapshot(uid).await;
    let path = format!("/Users/{id}");
    expect_error(app.get(&path).await, 404, None).await;
    for filter in [format!("userName eq \"{name}\""), format!("emails[type eq \"work\"].value eq \"{mail}\"")] {
        let list = expect_list(app.filter_users(&filter).await).await;
        assert_eq!(list["totalResults"], 0, "{filter}: {list}");
        let search = app.post("/Users/.search", &json!({"filter": filter})).await;
        assert_eq!(expect_list(search).await["totalResults"], 0, "{filter} via .search");
    }
    let root_search = app.post("/.search", &json!({"filter": format!("userName eq \"{name}\"")})).await;
    assert_eq!(expect_list(root_search).await["totalResults"], 0);
    assert!(!listed_ids(app).await.contains(&id.to_string()), "listed");
    // Writes that would hand a token holder a login: a new mail, a password, a new name.
    let takeover = json!([
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "attacker@example.net"},
        {"op": "replace", "path": "password", "value": "Attacker-Chosen-1"},
        {"op": "replace", "path": "userName", "value": "taken.over"}
    ]);
    expect_error(app.patch_ops(&path, takeover.clone()).await, 404, None).await;
    expect_error(app.patch_ops(&path, json!([{"op": "replace", "path": "active", "value": false}])).await, 404, None)
        .await;
    expect_error(app.put(&path, &entra_user("taken.over", "attacker@example.net", "x")).await, 404, None).await;
    expect_error(app.delete(&path).await, 404, None).await;
    let bulk = json!({"schemas": [BULK], "Operations": [
        {"method": "PATCH", "path": path, "data": {"schemas": [PATCH_OP], "Operations": takeover}},
        {"method": "PUT", "path": path, "data": entra_user("taken.over", "attacker@example.net", "x")},
        {"method": "DELETE", "path": path}
    ]});
    let answer: Value = app.post("/Bulk", &bulk).await.json().await.unwrap();
    let statuses: Vec<&str> =
        answer["Operations"].as_array().unwrap().iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["404", "404", "404"], "{answer}");
    // Never a group member.
    let group = app.post("/Groups", &json!({"displayName": "Reach Team", "members": [{"value": id}]})).await;
    expect_error(group, 400, None).await;
    let team = app.post("/Groups", &json!({"displayName": "Reach Team"})).await;
    assert_eq!(team.status().as_u16(), 201);
    let team: Value = team.json().await.unwrap();
    let team_path = format!("/Groups/{}", team["id"].as_str().unwrap());
    let add = app.patch_ops(&team_path, json!([{"op": "add", "path": "members", "value": [{"value": id}]}])).await;
    expect_error(add, 400, None).await;
    // Creates naming it: 409, the reason, never its uid.
    for (user_name, user_mail) in [(name, "someone.else@example.com"), ("someone.else", mail)] {
        let error = expect_error(app.post("/Users", &entra_user(user_name, user_mail, "ext-x")).await, 409, None).await;
        let detail = error["detail"].as_str().unwrap();
        assert!(detail.contains(detail_has), "{detail}");
        assert!(!detail.contains(&format!("uid {uid}")) && !detail.contains(&format!("({uid})")), "{detail}");
    }
    assert_eq!(app.snapshot(uid).await, before, "no row Drupal reads changed");
}

async fn an_administrator_is_out_of_reach_on_every_route(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    // jdoe is an account SCIM manages, until someone makes it an administrator in Drupal.
    let id = app.jdoe_id();
    assert_eq!(app.get(&format!("/Users/{id}")).await.status().as_u16(), 200);
    make_administrator(&app, 2).await;
    assert_out_of_reach(&app, &id, 2, "jdoe", "jdoe@example.com", "protected").await;
    // The role that makes it privileged is no group either.
    let groups = expect_list(app.get("/Groups").await).await;
    let ids: Vec<&str> = groups["Resources"].as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert!(!ids.contains(&app.admin_role()), "{groups}");
}
both!(an_administrator_is_out_of_reach_on_every_route);

async fn a_role_with_administer_users_makes_its_holders_privileged(fx: Fixture) {
    for permission in ["administer users", "administer permissions"] {
        let app = TestApp::spawn_on(fx).await;
        grant_role_with_permission(&app, 3, permission).await;
        assert_out_of_reach(&app, &app.msmith_id(), 3, "msmith", "msmith@example.com", "protected").await;
    }
    // A role without such a permission changes nothing.
    let app = TestApp::spawn_on(fx).await;
    grant_role_with_permission(&app, 3, "access content overview").await;
    assert_eq!(app.get(&format!("/Users/{}", app.msmith_id())).await.status().as_u16(), 200);
}
both!(a_role_with_administer_users_makes_its_holders_privileged);

async fn a_mapping_to_a_role_with_an_escalating_permission_stops_the_server(fx: Fixture) {
    // The role exists before the server starts, so start-up sees it.
    let setup = match fx {
        Fixture::Drupal10 => {
            let data = r#"a:9:{s:4:"uuid";s:36:"0b0f6c2e-1d2e-4c3b-9a4d-5e6f7a8b9c0d";s:8:"langcode";s:2:"en";s:6:"status";b:1;s:12:"dependencies";a:0:{}s:2:"id";s:8:"helpdesk";s:5:"label";s:8:"Helpdesk";s:6:"weight";i:5;s:8:"is_admin";b:0;s:11:"permissions";a:1:{i:0;s:16:"administer users";}}"#;
            format!("INSERT INTO config (collection, name, data) VALUES ('', 'user.role.helpdesk', '{data}')")
        }
        Fixture::Drupal7 => "INSERT INTO role (rid, name, weight) VALUES (9, 'helpdesk', 9); \
             INSERT INTO role_permission (rid, permission, module) VALUES (9, 'administer users', 'user');"
            .to_string(),
    };
    let mapping =
        format!("{}\n[[groups.map]]\ndisplay_name = \"Helpdesk\"\nrole = \"helpdesk\"\n", mapping_with_fields());
    let error =
        TestApp::try_spawn_custom_on(fx, &test_server_url(), &mapping, &setup, |_| {}).await.err().expect("refused");
    assert!(error.contains("protected") && error.contains("helpdesk"), "{error}");
}
both!(a_mapping_to_a_role_with_an_escalating_permission_stops_the_server);

async fn an_account_that_becomes_privileged_is_reported_once_in_the_audit_log(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let id = app.jdoe_id();
    make_administrator(&app, 2).await;
    for _ in 0..3 {
        expect_error(app.get(&format!("/Users/{id}")).await, 404, None).await;
    }
    let entries: i64 = app
        .one("SELECT COUNT(*) FROM watchdog WHERE type = 'drupal_scim' AND uid = 2 AND message LIKE '%protected role%'")
        .await
        .unwrap();
    assert_eq!(entries, 1);
}
both!(an_account_that_becomes_privileged_is_reported_once_in_the_audit_log);

async fn unlinked_accounts_are_invisible_by_default(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    // msmith existed before drupal-scim and was never linked.
    app.unlink(3).await;
    let id = app.msmith_id();
    assert_out_of_reach(&app, &id, 3, "msmith", "msmith@example.com", "link_existing").await;
    // Entra's flow: its match finds nothing, its create gets the 409 naming the setting.
    assert_eq!(app.count("scim_user").await, 2, "still unlinked");
}
both!(unlinked_accounts_are_invisible_by_default);

async fn with_link_the_first_write_links_an_existing_account_once(fx: Fixture) {
    let app = TestApp::spawn_with_mapping_on(fx, &mapping_with_users("link_existing = \"link\"")).await;
    app.unlink(3).await;
    // Entra matches first…
    let found = expect_list(app.filter_users("userName eq \"msmith\"").await).await;
    assert_eq!(found["totalResults"], 1);
    let id = found["Resources"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM scim_user WHERE uid = 3").await, Some(0), "reading links nothing");
    // …then PATCHes what differs: that write links the account.
    let patched = app
        .patch_ops(&format!("/Users/{id}"), json!([{"op": "replace", "path": "name.givenName", "value": "Maria"}]))
        .await;
    assert_eq!(patched.status().as_u16(), 200);
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM scim_user WHERE uid = 3 AND deleted = 0").await, Some(1));
    let again = app
        .patch_ops(&format!("/Users/{id}"), json!([{"op": "replace", "path": "name.givenName", "value": "Mary"}]))
        .await;
    assert_eq!(again.status().as_u16(), 200);
    let linked: i64 = app
        .one("SELECT COUNT(*) FROM watchdog WHERE type = 'drupal_scim' AND uid = 3 AND message LIKE 'Linked the existing account%'")
        .await
        .unwrap();
    assert_eq!(linked, 1, "audited once");
    assert_eq!(app.field_values(3, "field_first_name").await, vec!["Mary".to_string()]);
}
both!(with_link_the_first_write_links_an_existing_account_once);

async fn two_conditional_patches_with_one_etag_cannot_both_succeed(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let path = format!("/Users/{}", app.jdoe_id());
    let etag = app.get(&path).await.headers()["etag"].to_str().unwrap().to_string();
    // Hold jdoe's row as Drupal saving the account would: both PATCHes pass their If-Match
    // check against the same version and queue behind the lock.
    let mut blocker = app.pool.get_conn().await.unwrap();
    let table = app.account_table();
    blocker.query_drop("START TRANSACTION").await.unwrap();
    blocker.query_drop(format!("SELECT uid FROM {table} WHERE uid = 2 FOR UPDATE")).await.unwrap();
    let send = |mail: &'static str| {
        let request = app
            .client
            .patch(format!("{}{path}", app.base))
            .bearer_auth(&app.token)
            .header("content-type", "application/scim+json")
            .header("if-match", etag.clone())
            .body(
                json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "emails[type eq \"work\"].value", "value": mail}]})
                    .to_string(),
            );
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let first = tokio::spawn(send("first@example.com"));
    let second = tokio::spawn(send("second@example.com"));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    blocker.query_drop("COMMIT").await.unwrap();
    let mut statuses = vec![first.await.unwrap(), second.await.unwrap()];
    statuses.sort();
    assert_eq!(statuses, [200, 412]);
    let mail: String = app.one(&format!("SELECT mail FROM {table} WHERE uid = 2 AND mail <> ''")).await.unwrap();
    assert!(["first@example.com", "second@example.com"].contains(&mail.as_str()), "{mail}");
}
both!(two_conditional_patches_with_one_etag_cannot_both_succeed);

async fn a_group_whose_role_gains_an_escalating_permission_is_out_of_reach(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let member = app.create_user("group.member", "group.member@example.com").await;
    let member_id = member["id"].as_str().unwrap();
    let group = app.post("/Groups", &json!({"displayName": "Helpers", "members": [{"value": member_id}]})).await;
    assert_eq!(group.status().as_u16(), 201);
    let group: Value = group.json().await.unwrap();
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());
    // Someone gives the role `administer users` in Drupal.
    match fx {
        Fixture::Drupal10 => {
            app.exec(
                r#"UPDATE config SET data = REPLACE(data, 's:11:"permissions";a:0:{}', 's:11:"permissions";a:1:{i:0;s:16:"administer users";}') WHERE name = 'user.role.helpers'"#,
            )
            .await
        }
        Fixture::Drupal7 => {
            let rid = group["id"].as_str().unwrap();
            app.exec(&format!("INSERT INTO role_permission (rid, permission, module) VALUES ({rid}, 'administer users', 'user')"))
                .await
        }
    }
    let role = if fx == Fixture::Drupal10 { "helpers".to_string() } else { group["id"].as_str().unwrap().to_string() };
    let holders = app.holders(&role).await;
    expect_error(app.get(&path).await, 404, None).await;
    let other = app.create_user("other.member", "other.member@example.com").await;
    let add = json!([{"op": "add", "path": "members", "value": [{"value": other["id"]}]}]);
    expect_error(app.patch_ops(&path, add).await, 404, None).await;
    expect_error(app.delete(&path).await, 404, None).await;
    assert_eq!(app.holders(&role).await, holders, "nobody granted or revoked the role");
    // Its holder is now privileged too.
    expect_error(app.get(&format!("/Users/{member_id}")).await, 404, None).await;
}
both!(a_group_whose_role_gains_an_escalating_permission_is_out_of_reach);

async fn with_link_a_create_never_takes_over_an_account_scim_already_manages(fx: Fixture) {
    let app = TestApp::spawn_with_mapping_on(fx, &mapping_linking_existing()).await;
    // Okta creates without an externalId.
    let mut body = entra_user("okta.person", "okta.person@example.com", "unused");
    body.as_object_mut().unwrap().remove("externalId");
    assert_eq!(app.post("/Users", &body).await.status().as_u16(), 201);
    let uid = app.uid_of("okta.person").await;
    let before = app.snapshot(uid).await;
    // Someone else's create naming it is refused, not an adoption.
    let intruder = entra_user("okta.person", "someone.else@example.com", "ext-intruder");
    expect_error(app.post("/Users", &intruder).await, 409, Some("uniqueness")).await;
    assert_eq!(app.snapshot(uid).await, before);
    assert_eq!(link_audits(&app, uid).await, 0);
}
both!(with_link_a_create_never_takes_over_an_account_scim_already_manages);
