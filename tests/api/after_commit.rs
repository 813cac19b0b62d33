//! Nothing lost or half-written (issue #12 §4, §6, §7): what follows a COMMIT — Drupal's cache
//! invalidation and the audit entry — runs to the end whatever the request deadline; caches are
//! invalidated as a real Drupal 10.3 does it; a hard delete removes what Drupal's own delete
//! removes; internal failures are 500s.

use crate::helpers::*;
use mysql_async::prelude::*;
use serde_json::json;
use std::time::{Duration, Instant};

fn mapping_with_users(users_settings: &str) -> String {
    mapping_with_fields()
        .replace("delete = \"block\"\n", "")
        .replace("[users]\n", &format!("[users]\n{users_settings}\n"))
}

/// Poll `check` for up to ten seconds.
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < Duration::from_secs(10), "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Hold the row the first statement of `uid`'s cache invalidation needs (Drupal 10: the
/// `user_list` tag; Drupal 7: the account's `cache_field` entry), as Drupal itself might.
async fn hold_invalidation(app: &TestApp, uid: u32) -> mysql_async::Conn {
    app.seed_user_cache(uid).await;
    let row = match app.fixture {
        Fixture::Drupal10 => {
            app.exec("INSERT INTO cachetags (tag, invalidations) VALUES ('user_list', 5) ON DUPLICATE KEY UPDATE invalidations = 5")
                .await;
            "SELECT * FROM cachetags WHERE tag = 'user_list' FOR UPDATE".to_string()
        }
        Fixture::Drupal7 => format!("SELECT * FROM cache_field WHERE cid = 'field:user:{uid}' FOR UPDATE"),
    };
    let mut blocker = app.pool.get_conn().await.unwrap();
    blocker.query_drop("START TRANSACTION").await.unwrap();
    blocker.query_drop(row).await.unwrap();
    blocker
}

fn block_request(app: &TestApp, client: &reqwest::Client) -> reqwest::RequestBuilder {
    client
        .patch(format!("{}/Users/{}", app.base, app.jdoe_id()))
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
        .body(
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]})
                .to_string(),
        )
}

async fn blocked_audits(app: &TestApp) -> i64 {
    app.one("SELECT COUNT(*) FROM watchdog WHERE type = 'drupal_scim' AND uid = 2 AND message LIKE 'Blocked account%'")
        .await
        .unwrap()
}

async fn a_deadline_between_commit_and_invalidation_still_leaves_drupals_caches_fresh(fx: Fixture) {
    let app = TestApp::spawn_custom_on(fx, &test_server_url(), &mapping_with_fields(), "", |s| {
        s.server.request_timeout_secs = Some(1);
    })
    .await;
    // Drupal (or anyone) holds what the invalidation after the commit needs: it has to wait,
    // past the request's one-second deadline.
    let mut blocker = hold_invalidation(&app, 2).await;
    let patch = {
        let request = block_request(&app, &app.client);
        tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
    };
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // The write is committed; the cached account is still there, waiting on the lock.
    assert_eq!(app.data_column(2, "status").await, 0);
    assert!(app.user_cached(2).await);
    blocker.query_drop("COMMIT").await.unwrap();
    // The request answers what happened (the write is done), late rather than a false 503.
    assert_eq!(patch.await.unwrap(), 200);
    eventually("the cached account dropped", || async { !app.user_cached(2).await }).await;
    if fx == Fixture::Drupal10 {
        assert_eq!(app.tag_count("user_list").await, 6);
        assert_eq!(app.tag_count("user:2").await, 1);
    }
    assert_eq!(blocked_audits(&app).await, 1, "the audit entry after the commit was written");
}
both!(a_deadline_between_commit_and_invalidation_still_leaves_drupals_caches_fresh);

async fn a_client_that_hangs_up_after_the_commit_does_not_stop_the_invalidation(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    let mut blocker = hold_invalidation(&app, 2).await;
    // A client that gives up after half a second.
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(500)).build().unwrap();
    assert!(block_request(&app, &impatient).send().await.is_err(), "the client hung up");
    blocker.query_drop("COMMIT").await.unwrap();
    eventually("the cached account dropped", || async { !app.user_cached(2).await }).await;
    eventually("the audit entry written", || async { blocked_audits(&app).await == 1 }).await;
    assert_eq!(app.data_column(2, "status").await, 0);
    if fx == Fixture::Drupal10 {
        assert_eq!(app.tag_count("user:2").await, 1);
    }
}
both!(a_client_that_hangs_up_after_the_commit_does_not_stop_the_invalidation);

#[tokio::test]
async fn deleting_an_account_invalidates_what_drupal_invalidates_on_delete() {
    let app = TestApp::spawn_with_mapping(&mapping_with_users("delete = \"delete_if_no_content\"")).await;
    let user = app.create_user("gone.soon", "gone.soon@example.com").await;
    let uid = app.uid_of("gone.soon").await;
    app.seed_user_cache(uid).await;
    let before = (app.tag_count("user_list").await, app.tag_count("4xx-response").await);
    assert_eq!(app.delete(&format!("/Users/{}", user["id"].as_str().unwrap())).await.status().as_u16(), 204);
    // EntityBase::invalidateTagsOnDelete: the list tag and the account's own, no 4xx-response.
    assert_eq!(app.tag_count("user_list").await, before.0 + 1);
    assert_eq!(app.tag_count("4xx-response").await, before.1);
    assert_eq!(app.tag_count(&format!("user:{uid}")).await, 1);
    assert!(!app.user_cached(uid).await);
}

#[tokio::test]
async fn hard_delete_removes_the_rows_drupal_and_externalauth_remove() {
    let app = TestApp::spawn_with_mapping(&mapping_with_users("delete = \"delete_if_no_content\"")).await;
    // Tables of contrib and optional core modules, as their own schemas define them.
    app.exec(
        "CREATE TABLE authmap (uid int unsigned NOT NULL DEFAULT 0, provider varchar(128) NOT NULL DEFAULT '', \
         authname varchar(128) NOT NULL DEFAULT '', data longblob, PRIMARY KEY (provider, authname), KEY uid (uid)) \
         DEFAULT CHARSET=utf8mb4",
    )
    .await;
    app.exec(
        "CREATE TABLE comment_entity_statistics (entity_id int unsigned NOT NULL DEFAULT 0, \
         entity_type varchar(32) CHARACTER SET ascii NOT NULL DEFAULT 'node', field_name varchar(32) CHARACTER SET ascii NOT NULL DEFAULT '', \
         cid int NOT NULL DEFAULT 0, last_comment_timestamp int NOT NULL DEFAULT 0, last_comment_name varchar(60) DEFAULT NULL, \
         last_comment_uid int unsigned NOT NULL DEFAULT 0, comment_count int unsigned NOT NULL DEFAULT 0, \
         PRIMARY KEY (entity_id, entity_type, field_name)) DEFAULT CHARSET=utf8mb4",
    )
    .await;
    let user = app.create_user("sso.user", "sso.user@example.com").await;
    let uid = app.uid_of("sso.user").await;
    app.exec(&format!(
        "INSERT INTO authmap (uid, provider, authname) VALUES ({uid}, 'openid_connect.entra', 'sso.user')"
    ))
    .await;
    app.exec(&format!(
        "INSERT INTO users_data (uid, module, name, value, serialized) VALUES ({uid}, 'contact', 'enabled', '1', 0)"
    ))
    .await;
    app.exec(&format!(
        "INSERT INTO comment_entity_statistics (entity_id, entity_type, field_name) VALUES ({uid}, 'user', 'comment'), ({uid}, 'node', 'comment')"
    ))
    .await;
    assert_eq!(app.delete(&format!("/Users/{}", user["id"].as_str().unwrap())).await.status().as_u16(), 204);
    for (table, column) in [("authmap", "uid"), ("users_data", "uid"), ("users", "uid"), ("users_field_data", "uid")] {
        let left: i64 = app.one(&format!("SELECT COUNT(*) FROM {table} WHERE {column} = {uid}")).await.unwrap();
        assert_eq!(left, 0, "{table}");
    }
    let stats: Vec<String> =
        app.rows(&format!("SELECT entity_type FROM comment_entity_statistics WHERE entity_id = {uid}")).await;
    assert_eq!(stats, ["node"], "only the statistics of comments on the account itself go");
}

async fn an_internal_failure_is_a_500_not_the_clients_fault(fx: Fixture) {
    let app = TestApp::spawn_on(fx).await;
    // A module (or a damaged database) left a value the store cannot read as Drupal's type.
    let table = app.account_table();
    app.exec(&format!("ALTER TABLE {table} MODIFY created varchar(20) NOT NULL DEFAULT '0'")).await;
    app.exec(&format!("UPDATE {table} SET created = 'yesterday' WHERE uid = 2")).await;
    let error = expect_error(app.get(&format!("/Users/{}", app.jdoe_id())).await, 500, None).await;
    assert!(error["scimType"].is_null(), "not the client's fault: {error}");
    let detail = error["detail"].as_str().unwrap();
    assert!(detail.contains("created") && !detail.contains("yesterday"), "names the column, not the value: {detail}");
    // The other accounts still answer.
    assert_eq!(app.get(&format!("/Users/{}", app.msmith_id())).await.status().as_u16(), 200);
}
both!(an_internal_failure_is_a_500_not_the_clients_fault);
