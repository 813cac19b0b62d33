//! What an operator sees: Drupal's own log (watchdog), dry-run, metrics, request ids.

use crate::helpers::*;
use serde_json::{Value, json};

#[tokio::test]
async fn provisioning_changes_appear_in_drupals_recent_log_messages() {
    let app = TestApp::spawn().await;
    let before: i64 = app.one("SELECT COUNT(*) FROM watchdog").await.unwrap();
    let user = app.create_user("audited", "audited@example.com").await;
    let id = user["id"].as_str().unwrap();
    app.patch_ops(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    let uid = app.uid_of("audited").await;
    let rows = app
        .json_rows("SELECT uid, type, message, variables, severity, link, location FROM watchdog WHERE type = 'drupal_scim' ORDER BY wid")
        .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["uid"], uid);
    assert_eq!(rows[0]["message"], "Created account %name through SCIM.");
    assert_eq!(rows[0]["variables"], "a:1:{s:5:\"%name\";s:7:\"audited\";}");
    assert_eq!(rows[0]["severity"], 5);
    assert_eq!(rows[0]["link"], format!("<a href=\"/user/{uid}/edit\">view</a>"));
    assert!(rows[0]["location"].as_str().unwrap().starts_with("drupal-scim: POST /scim/v2/Users"));
    assert_eq!(rows[1]["message"], "Blocked account %name through SCIM.");
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM watchdog").await.unwrap(), before + 2);
}

#[tokio::test]
async fn the_watchdog_can_be_turned_off() {
    let (db, server, pool) = fresh_database().await;
    pool.disconnect().await.unwrap();
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("m.toml"), mapping_with_fields()).unwrap();
    let mut settings = drupal_scim::settings::Settings::new(&format!("{server}/{db}"), SECRET, dir.0.join("m.toml"));
    settings.audit.watchdog = false;
    let app = drupal_scim::startup::Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}/scim/v2", app.port());
    tokio::spawn(app.run_until_stopped());
    let token = drupal_scim::token::mint(SECRET, "drupal-scim", "drupal-scim", "t", None).unwrap();
    let r = reqwest::Client::new()
        .post(format!("{base}/Users"))
        .bearer_auth(&token)
        .json(&entra_user("quiet", "quiet@example.com", "q"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let pool = mysql_async::Pool::new(format!("{server}/{db}").as_str());
    let mut conn = pool.get_conn().await.unwrap();
    use mysql_async::prelude::*;
    let n: Option<i64> = conn.query_first("SELECT COUNT(*) FROM watchdog WHERE type = 'drupal_scim'").await.unwrap();
    assert_eq!(n, Some(0));
    drop(conn);
    pool.disconnect().await.unwrap();
    drop_test_database(&server, &db).await;
}

/// Row counts and sums a dry run must leave as they were.
type Snapshot = (i64, i64, i64, i64, i64, i64, i64, i64, i64);

#[tokio::test]
async fn dry_run_validates_and_answers_but_writes_nothing() {
    let (db, server, pool) = fresh_database().await;
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("m.toml"), mapping_with_fields()).unwrap();
    let mut settings = drupal_scim::settings::Settings::new(&format!("{server}/{db}"), SECRET, dir.0.join("m.toml"));
    settings.dry_run = true;
    let app = drupal_scim::startup::Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}/scim/v2", app.port());
    tokio::spawn(app.run_until_stopped());
    // As TestApp does: jdoe is an account SCIM linked earlier (before the snapshot is taken).
    link_fixture_accounts(&pool, Fixture::Drupal10).await;
    let token = drupal_scim::token::mint(SECRET, "drupal-scim", "drupal-scim", "t", None).unwrap();
    let client = reqwest::Client::new();
    use mysql_async::prelude::*;
    let mut conn = pool.get_conn().await.unwrap();
    let snapshot = "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM users_field_data), (SELECT COUNT(*) FROM user__roles), \
        (SELECT SUM(invalidations) FROM cachetags), (SELECT COUNT(*) FROM watchdog), (SELECT COUNT(*) FROM config), (SELECT COUNT(*) FROM scim_user), \
        (SELECT COUNT(*) FROM sessions), (SELECT status FROM users_field_data WHERE uid = 2)";
    let before: Option<Snapshot> = conn.query_first(snapshot).await.unwrap();

    let created = client
        .post(format!("{base}/Users"))
        .bearer_auth(&token)
        .json(&entra_user("ghost", "ghost@example.com", "g"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201, "the answer is what would have happened");
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["userName"], "ghost");
    let dup = client
        .post(format!("{base}/Users"))
        .bearer_auth(&token)
        .json(&entra_user("jdoe", "x@example.com", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status().as_u16(), 409, "validation still runs");
    let disable = json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let r = client.patch(format!("{base}/Users/{JDOE_UUID}")).bearer_auth(&token).json(&disable).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let group = client
        .post(format!("{base}/Groups"))
        .bearer_auth(&token)
        .json(&json!({"displayName": "Ghosts", "members": [{"value": JDOE_UUID}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(group.status().as_u16(), 201);

    let after: Option<Snapshot> = conn.query_first(snapshot).await.unwrap();
    assert_eq!(before, after, "not one row changed");
    drop(conn);
    pool.disconnect().await.unwrap();
    drop_test_database(&server, &db).await;
}

#[tokio::test]
async fn metrics_count_requests_in_prometheus_format_and_every_answer_has_a_request_id() {
    let app = TestApp::spawn().await;
    let r = app.get("/Users?count=1").await;
    assert!(r.headers().get("x-request-id").is_some());
    let mine = app
        .client
        .get(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .header("X-Request-Id", "entra-req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.headers()["x-request-id"], "entra-req-42");
    let text = app.client.get(format!("{}/metrics", app.address)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("# TYPE drupal_scim_requests_total counter"), "{text}");
    assert!(
        text.contains("drupal_scim_requests_total{method=\"GET\",route=\"/scim/v2/Users\",status=\"200\"}"),
        "{text}"
    );
    assert!(
        text.contains(
            "drupal_scim_request_duration_seconds_bucket{method=\"GET\",route=\"/scim/v2/Users\",le=\"+Inf\"}"
        ),
        "{text}"
    );
    assert!(text.contains("drupal_scim_db_connections_in_use "), "{text}");
    assert!(text.contains("drupal_scim_transaction_retries_total "), "{text}");
    assert!(text.contains("drupal_scim_last_successful_write_timestamp_seconds "), "{text}");
    // Every sample line is `name{labels} value` or `name value`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "bad sample line {line:?}");
    }
}
