//! Faults: row locks held by Drupal, deadlocks, a database that dies and comes back, a
//! connection killed in the middle of a write, a statement failing at the end of one, SIGTERM
//! during a request, cache tables that cannot be written. Every write is all or nothing, every
//! wait is bounded, and the server recovers without a restart.

use crate::groups_support::*;
use crate::helpers::*;
use crate::procs::{MariaDb, ServerProcess};
use mysql_async::prelude::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Everything a write may touch, as JSON: equal before and after means nothing was written.
async fn all_rows(app_pool: &mysql_async::Pool) -> Value {
    rows_of(app_pool, &DRUPAL10_ROWS).await
}

/// Every row a SCIM write can touch on the Drupal 10 fixture.
const DRUPAL10_ROWS: [(&str, &str); 12] = [
    ("users", "SELECT * FROM users ORDER BY uid"),
    ("users_field_data", "SELECT * FROM users_field_data ORDER BY uid, langcode"),
    ("user__roles", "SELECT * FROM user__roles ORDER BY entity_id, langcode, delta"),
    ("first", "SELECT * FROM user__field_first_name ORDER BY entity_id, delta"),
    ("last", "SELECT * FROM user__field_last_name ORDER BY entity_id, delta"),
    ("department", "SELECT * FROM user__field_department ORDER BY entity_id, delta"),
    ("employee", "SELECT * FROM user__field_employee_number ORDER BY entity_id, delta"),
    ("scim_user", "SELECT * FROM scim_user ORDER BY uid"),
    ("scim_group", "SELECT * FROM scim_group ORDER BY group_id"),
    ("roles", "SELECT name, data FROM config WHERE name LIKE 'user.role.%' ORDER BY name"),
    ("key_value", "SELECT collection, name, value FROM key_value ORDER BY collection, name"),
    ("sessions", "SELECT uid, sid FROM sessions ORDER BY sid"),
];

/// Every row a SCIM write can touch on the Drupal 7 fixture.
const DRUPAL7_ROWS: [(&str, &str); 14] = [
    ("users", "SELECT * FROM users ORDER BY uid"),
    ("users_roles", "SELECT * FROM users_roles ORDER BY uid, rid"),
    ("role", "SELECT * FROM role ORDER BY rid"),
    ("role_permission", "SELECT * FROM role_permission ORDER BY rid, permission"),
    ("sequences", "SELECT * FROM sequences ORDER BY value"),
    ("first", "SELECT * FROM field_data_field_first_name ORDER BY entity_id, delta"),
    ("first_revision", "SELECT * FROM field_revision_field_first_name ORDER BY entity_id, delta"),
    ("last", "SELECT * FROM field_data_field_last_name ORDER BY entity_id, delta"),
    ("last_revision", "SELECT * FROM field_revision_field_last_name ORDER BY entity_id, delta"),
    ("department", "SELECT * FROM field_data_field_department ORDER BY entity_id, delta"),
    ("department_revision", "SELECT * FROM field_revision_field_department ORDER BY entity_id, delta"),
    ("scim_user", "SELECT * FROM scim_user ORDER BY uid"),
    ("scim_group", "SELECT * FROM scim_group ORDER BY group_id"),
    ("sessions", "SELECT uid, sid FROM sessions ORDER BY sid"),
];

/// The rows of these queries, as JSON.
async fn rows_of(app_pool: &mysql_async::Pool, queries: &[(&str, &str)]) -> Value {
    let mut conn = app_pool.get_conn().await.unwrap();
    let mut out = serde_json::Map::new();
    for &(key, sql) in queries {
        let rows: Vec<mysql_async::Row> = conn.query(sql).await.unwrap();
        let rows: Vec<Value> = rows
            .into_iter()
            .map(|row| {
                let values: Vec<Value> = (0..row.len())
                    .map(|i| match row.as_ref(i).unwrap() {
                        mysql_async::Value::NULL => Value::Null,
                        other => Value::from(other.as_sql(true)),
                    })
                    .collect();
                Value::Array(values)
            })
            .collect();
        out.insert(key.into(), Value::Array(rows));
    }
    Value::Object(out)
}

/// A request sent from a task of its own: (status, body).
fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> tokio::task::JoinHandle<(u16, String)> {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json");
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    tokio::spawn(async move {
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    })
}

fn patch_body(ops: Value) -> Option<Value> {
    Some(json!({"schemas": [PATCH_OP], "Operations": ops}))
}

/// A connection of the test's own with an open transaction that did a lot of work (so that
/// InnoDB picks the server's transaction, not this one, as the victim of a deadlock).
async fn heavy_transaction(pool: &mysql_async::Pool) -> mysql_async::Conn {
    let mut conn = pool.get_conn().await.unwrap();
    conn.query_drop("CREATE TABLE IF NOT EXISTS ballast (n INT PRIMARY KEY) ENGINE=InnoDB").await.unwrap();
    conn.query_drop("BEGIN").await.unwrap();
    conn.query_drop(
        "INSERT INTO ballast (n) WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 900) \
         SELECT a.n * 1000 + b.n FROM c a JOIN c b ON b.n <= 5",
    )
    .await
    .unwrap();
    conn
}

/// The server process's `drupal_scim_transaction_retries_total`.
async fn retries(server: &ServerProcess) -> f64 {
    metric(&server.address, "drupal_scim_transaction_retries_total").await
}

/// A database of the shared test server, the real binary serving it, and a client; on drop
/// the server is killed and the database dropped (a failing test included).
struct Spawned {
    server: ServerProcess,
    pool: mysql_async::Pool,
    db: String,
    server_url: String,
    base: String,
    token: String,
    client: reqwest::Client,
    _dir: TempDir,
}

impl Spawned {
    async fn start(env: &[(&str, &str)]) -> Spawned {
        let (db, server_url, pool) = fresh_database().await;
        let dir = TempDir(std::env::temp_dir().join(format!("dscim-faults-{}", uuid::Uuid::new_v4().simple())));
        std::fs::create_dir_all(&dir.0).unwrap();
        let mapping = dir.0.join("drupal_mapping.toml");
        std::fs::write(&mapping, mapping_with_fields()).unwrap();
        let server = ServerProcess::start(&format!("{server_url}/{db}"), &mapping, &dir.0, env).await;
        // As TestApp does: jdoe, msmith and blocked.user are accounts SCIM linked earlier.
        link_fixture_accounts(&pool, Fixture::Drupal10).await;
        let base = format!("{}/scim/v2", server.address);
        let token = drupal_scim::token::mint(SECRET, "drupal-scim", "drupal-scim", "faults", None).unwrap();
        // A generous client timeout: a test of a bounded wait fails instead of hanging.
        let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        Spawned { server, pool, db, server_url, base, token, client, _dir: dir }
    }

    async fn patch_ops(&self, path: &str, ops: Value) -> reqwest::Response {
        self.client
            .patch(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/scim+json")
            .body(json!({"schemas": [PATCH_OP], "Operations": ops}).to_string())
            .send()
            .await
            .unwrap()
    }

    fn patch_in_background(&self, path: &str, ops: Value) -> tokio::task::JoinHandle<(u16, String, Duration)> {
        let request = self
            .client
            .patch(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/scim+json")
            .body(json!({"schemas": [PATCH_OP], "Operations": ops}).to_string());
        tokio::spawn(async move {
            let start = Instant::now();
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap(), start.elapsed())
        })
    }

    async fn first_name(&self, uid: u32) -> Vec<String> {
        let mut conn = self.pool.get_conn().await.unwrap();
        conn.exec(
            "SELECT field_first_name_value FROM user__field_first_name WHERE entity_id = ? ORDER BY delta",
            (uid,),
        )
        .await
        .unwrap()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Some(mut child) = self.server.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let (server, db) = (self.server_url.clone(), self.db.clone());
        // Drop cannot await: a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                rt.block_on(drop_test_database(&server, &db));
            }
        })
        .join();
    }
}

// --- Row locks and deadlocks ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_waiting_for_a_row_lock_held_by_drupal_succeeds_once_it_is_released() {
    let app = TestApp::spawn().await;
    // Drupal saves jdoe in a transaction of its own and takes its time.
    let mut drupal = app.pool.get_conn().await.unwrap();
    drupal.query_drop("BEGIN").await.unwrap();
    drupal.query_drop("SELECT * FROM users_field_data WHERE uid = 2 FOR UPDATE").await.unwrap();
    let patch = send(
        &app,
        reqwest::Method::PATCH,
        &format!("/Users/{JDOE_UUID}"),
        patch_body(json!([
            {"op": "replace", "path": "name.givenName", "value": "Jonathan"},
            {"op": "replace", "path": "timezone", "value": "Europe/Paris"}
        ])),
    );
    wait_for_lock_wait(&app.pool, &app.db_name).await;
    assert_eq!(app.field_values(2, "field_first_name").await, vec!["John"], "nothing visible while it waits");
    drupal.query_drop("COMMIT").await.unwrap();
    let (status, body) = patch.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.field_values(2, "field_first_name").await, vec!["Jonathan"]);
    assert_eq!(app.data_column(2, "timezone").await, "Europe/Paris");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_with_drupal_is_retried_and_the_patch_lands() {
    let app = Spawned::start(&[]).await;
    let before = retries(&app.server).await;
    // Drupal holds jdoe's first-name row; the PATCH locks jdoe's account row, then waits for it.
    let mut drupal = heavy_transaction(&app.pool).await;
    drupal.query_drop("SELECT * FROM user__field_first_name WHERE entity_id = 2 FOR UPDATE").await.unwrap();
    let patch = app.patch_in_background(
        &format!("/Users/{JDOE_UUID}"),
        json!([
            {"op": "replace", "path": "name.givenName", "value": "Jonathan"},
            {"op": "replace", "path": "timezone", "value": "Europe/Paris"}
        ]),
    );
    wait_for_lock_wait(&app.pool, &app.db).await;
    // Now Drupal wants the account row: a cycle. InnoDB rolls back the lighter transaction,
    // the server's: this statement succeeds.
    drupal
        .query_drop("SELECT * FROM users_field_data WHERE uid = 2 FOR UPDATE")
        .await
        .expect("the server's transaction is the victim");
    // The server retries; its retry waits for Drupal, which gives up its locks.
    let deadline = Instant::now() + Duration::from_secs(20);
    while retries(&app.server).await == before {
        assert!(Instant::now() < deadline, "the deadlock was not retried");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drupal.query_drop("ROLLBACK").await.unwrap();
    let (status, body, _) = patch.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.first_name(2).await, vec!["Jonathan"]);
    let tz: Option<String> = app
        .pool
        .get_conn()
        .await
        .unwrap()
        .query_first("SELECT timezone FROM users_field_data WHERE uid = 2")
        .await
        .unwrap();
    assert_eq!(tz.as_deref(), Some("Europe/Paris"));
    assert_eq!(retries(&app.server).await, before + 1.0, "one retry");
    drop(drupal);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_lock_held_past_the_timeout_answers_503_within_bounds_and_writes_nothing() {
    // database.timeout_secs bounds every wait for the database, row locks included.
    let app = Spawned::start(&[("DRUPAL_SCIM__DATABASE__TIMEOUT_SECS", "1")]).await;
    let before_rows = all_rows(&app.pool).await;
    let before = retries(&app.server).await;
    let mut drupal = app.pool.get_conn().await.unwrap();
    drupal.query_drop("BEGIN").await.unwrap();
    drupal.query_drop("SELECT * FROM users_field_data WHERE uid = 2 FOR UPDATE").await.unwrap();
    let patch = app.patch_in_background(
        &format!("/Users/{JDOE_UUID}"),
        json!([
            {"op": "replace", "path": "name.givenName", "value": "Jonathan"},
            {"op": "replace", "path": "name.familyName", "value": "Dough"},
            {"op": "replace", "path": "timezone", "value": "Europe/Paris"}
        ]),
    );
    let (status, body, elapsed) = patch.await.unwrap();
    assert_eq!(status, 503, "a lock held elsewhere is a temporary condition: {body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["schemas"], json!([ERROR]));
    // Four attempts of one second each, plus backoff: well under 20 s (InnoDB's default would be 200 s).
    assert!(elapsed < Duration::from_secs(20), "answered after {elapsed:?}");
    assert_eq!(retries(&app.server).await, before + 3.0, "three retries after the first attempt, none after the last");
    drupal.query_drop("ROLLBACK").await.unwrap();
    assert_eq!(all_rows(&app.pool).await, before_rows, "nothing written");
    // And the account can be changed again at once.
    let response = app
        .patch_ops(
            &format!("/Users/{JDOE_UUID}"),
            json!([{"op": "replace", "path": "name.givenName", "value": "Jonathan"}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.first_name(2).await, vec!["Jonathan"]);
    drop(drupal);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_change_waiting_for_drupal_delays_requests_by_at_most_the_timeout() {
    // drush updb alters users_field_data while a long Drupal transaction still reads it: the
    // ALTER waits for its metadata lock, and every later statement on the table waits behind it
    // (for lock_wait_timeout, a day by default).
    let app = Spawned::start(&[("DRUPAL_SCIM__DATABASE__TIMEOUT_SECS", "1")]).await;
    let mut drupal = app.pool.get_conn().await.unwrap();
    drupal.query_drop("BEGIN").await.unwrap();
    drupal.query_drop("SELECT COUNT(*) FROM users_field_data").await.unwrap();
    let mut updb = app.pool.get_conn().await.unwrap();
    let alter = tokio::spawn(async move {
        updb.query_drop("ALTER TABLE users_field_data ADD COLUMN updb_added INT NULL").await.unwrap();
    });
    wait_for_statement(&app.pool, &app.db, "ALTER TABLE users_field_data", "metadata lock").await;
    let start = Instant::now();
    let response =
        app.client.get(format!("{}/Users/{JDOE_UUID}", app.base)).bearer_auth(&app.token).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 503, "{}", response.text().await.unwrap());
    assert!(start.elapsed() < Duration::from_secs(20), "answered after {:?}", start.elapsed());
    let patch = app.patch_in_background(
        &format!("/Users/{JDOE_UUID}"),
        json!([{"op": "replace", "path": "name.givenName", "value": "Altered"}]),
    );
    let (status, body, elapsed) = patch.await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(elapsed < Duration::from_secs(20), "answered after {elapsed:?}");
    drupal.query_drop("COMMIT").await.unwrap();
    alter.await.unwrap();
    assert_eq!(app.first_name(2).await, vec!["John"], "nothing written");
    let response = app
        .patch_ops(
            &format!("/Users/{JDOE_UUID}"),
            json!([{"op": "replace", "path": "name.givenName", "value": "Altered"}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200, "served again once the schema change is done");
    drop(drupal);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_in_a_membership_change_is_retried_and_the_member_is_added() {
    let app = TestApp::spawn().await;
    create_group(&app, &entra_group("Editors Team", "ext-editors")).await;
    // Drupal holds the group's bridge row (the membership change's last write) …
    let mut drupal = heavy_transaction(&app.pool).await;
    drupal.query_drop("SELECT * FROM scim_group WHERE group_id = 'editors_team' FOR UPDATE").await.unwrap();
    let add = send(
        &app,
        reqwest::Method::PATCH,
        "/Groups/editors_team",
        patch_body(json!([
            {"op": "add", "path": "members", "value": [{"value": JDOE_UUID}, {"value": MSMITH_UUID}]}
        ])),
    );
    wait_for_lock_wait(&app.pool, &app.db_name).await;
    // … and then wants jdoe's account row, which the membership change holds: a deadlock.
    // Its statement went through, so the server's transaction was rolled back: only a retry can
    // still add the members (before or after Drupal lets go, it makes no difference).
    drupal
        .query_drop("SELECT * FROM users_field_data WHERE uid = 2 FOR UPDATE")
        .await
        .expect("the server's transaction is the victim");
    drupal.query_drop("ROLLBACK").await.unwrap();
    let (status, body) = add.await.unwrap();
    assert_eq!(status, 204, "a deadlock is retried, not answered: {body}");
    assert_eq!(holders(&app, "editors_team").await, vec![2, 3]);
    assert_eq!(role_rows(&app, 2).await, vec![role_row(2, 0, "content_editor"), role_row(2, 1, "editors_team")]);
}

// --- The database goes away ------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_database_is_down_requests_get_503_quickly_and_service_resumes_after_a_restart() {
    let mut db = MariaDb::start(&[]).await;
    let timeout_secs = 2;
    let app =
        TestApp::spawn_custom(&db.url(), &mapping_with_fields(), "", |s| s.database.timeout_secs = timeout_secs).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let before = app.create_user("before.crash", "before.crash@example.com").await;
    let before_id = before["id"].as_str().unwrap().to_string();
    assert_eq!(client.get(format!("{}/healthz", app.address)).send().await.unwrap().status().as_u16(), 200);

    db.kill();
    let bound = Duration::from_secs(3 * timeout_secs);
    let requests: Vec<(reqwest::Method, String, Option<Value>)> = vec![
        (reqwest::Method::GET, "/Users".into(), None),
        (reqwest::Method::GET, format!("/Users/{before_id}"), None),
        (
            reqwest::Method::POST,
            "/Users".into(),
            Some(entra_user("during.crash", "during.crash@example.com", "ext-during")),
        ),
        (
            reqwest::Method::PATCH,
            format!("/Users/{before_id}"),
            patch_body(json!([{"op": "replace", "path": "active", "value": false}])),
        ),
        (reqwest::Method::DELETE, format!("/Users/{before_id}"), None),
        (reqwest::Method::GET, "/Groups".into(), None),
        (reqwest::Method::POST, "/Groups".into(), Some(entra_group("During Crash", "ext-gdc"))),
    ];
    for (method, path, body) in &requests {
        let mut request = client
            .request(method.clone(), format!("{}{path}", app.base))
            .bearer_auth(&app.token)
            .header("content-type", "application/scim+json");
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let start = Instant::now();
        let response = request.send().await.unwrap();
        assert!(start.elapsed() < bound, "{method} {path} answered after {:?}", start.elapsed());
        expect_error(response, 503, None).await;
    }
    let start = Instant::now();
    let health = client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    assert!(start.elapsed() < bound);
    assert_eq!(health.status().as_u16(), 503);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "unavailable");

    db.restart().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let health = client.get(format!("{}/healthz", app.address)).send().await.unwrap();
        if health.status().as_u16() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not recover within 30 s of the database's restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Back to normal, without a restart of drupal-scim: no stale connection fails a request.
    for _ in 0..20 {
        assert_eq!(app.get("/Users").await.status().as_u16(), 200);
    }
    assert_eq!(
        app.get(&format!("/Users/{before_id}")).await.status().as_u16(),
        200,
        "committed data survived the crash"
    );
    app.create_user("after.restart", "after.restart@example.com").await;
    let response = app
        .patch_ops(
            &format!("/Users/{before_id}"),
            json!([{"op": "replace", "path": "name.givenName", "value": "Back"}]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    create_group(&app, &entra_group("After Restart", "ext-after")).await;
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM users_field_data WHERE name = 'during.crash'").await, Some(0));
    assert_eq!(app.field_values(app.uid_of("before.crash").await, "field_first_name").await, vec!["Back"]);
}

/// Bring up a server over a MariaDB of its own, with a warm pool, and freeze that MariaDB.
/// Bind the three in this order (`let (db, app, _thaw) = …`): the thaw guard drops first.
async fn frozen_database(timeout_secs: u64) -> (MariaDb, TestApp, crate::procs::Thaw) {
    // The request deadline (server.request_timeout_secs) is what bounds a frozen database.
    let db = MariaDb::start(&[]).await;
    let app = TestApp::spawn_custom(&db.url(), &mapping_with_fields(), "", |s| {
        s.database.timeout_secs = timeout_secs;
        s.server.request_timeout_secs = Some(2 * timeout_secs);
    })
    .await;
    // Several requests at once: if the pool keeps idle connections, it keeps some now. Those
    // are the dangerous ones: a statement on an open socket nobody answers waits forever.
    let warm = futures_util::future::join_all((0..4).map(|_| app.get("/Users"))).await;
    assert!(warm.iter().all(|r| r.status().as_u16() == 200));
    tokio::time::sleep(Duration::from_millis(200)).await;
    db.signal("STOP");
    let thaw = db.thaw_on_drop();
    (db, app, thaw)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_503_within_the_timeout_while_the_database_is_frozen() {
    // A database that keeps its sockets open but answers nothing (a frozen VM, a network
    // partition): a health check that hangs tells the load balancer nothing.
    let timeout_secs = 2;
    let (db, app, _thaw) = frozen_database(timeout_secs).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    for _ in 0..3 {
        let start = Instant::now();
        let health = client.get(format!("{}/healthz", app.address)).send().await.unwrap();
        assert_eq!(health.status().as_u16(), 503);
        assert!(start.elapsed() < Duration::from_secs(3 * timeout_secs), "answered after {:?}", start.elapsed());
    }
    db.signal("CONT");
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{}/healthz", app.address)).send().await.unwrap().status().as_u16() != 200 {
        assert!(Instant::now() < deadline, "healthy again once the database answers");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.get("/Users").await.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_requests_answer_503_within_the_timeout_while_the_database_is_frozen() {
    let timeout_secs = 2;
    let (db, app, _thaw) = frozen_database(timeout_secs).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    for (method, path, body) in [
        (reqwest::Method::GET, "/Users".to_string(), None),
        (
            reqwest::Method::POST,
            "/Users".to_string(),
            Some(entra_user("frozen.user", "frozen@example.com", "ext-frozen")),
        ),
        (
            reqwest::Method::PATCH,
            format!("/Users/{JDOE_UUID}"),
            patch_body(json!([{"op": "replace", "path": "active", "value": false}])),
        ),
    ] {
        let mut request = client
            .request(method.clone(), format!("{}{path}", app.base))
            .bearer_auth(&app.token)
            .header("content-type", "application/scim+json");
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let start = Instant::now();
        let response = request.send().await;
        let response = response.unwrap_or_else(|e| panic!("{method} {path}: no answer from a frozen database: {e}"));
        assert!(
            start.elapsed() < Duration::from_secs(3 * timeout_secs),
            "{method} {path} answered after {:?}",
            start.elapsed()
        );
        expect_error(response, 503, None).await;
    }
    db.signal("CONT");
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.get("/Users").await.status().as_u16() != 200 {
        assert!(Instant::now() < deadline, "served again once the database answers");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM users_field_data WHERE name = 'frozen.user'").await, Some(0));
    assert_eq!(app.data_column(2, "status").await, 1);
}

// --- A write interrupted in the middle -----------------------------------------------------

/// KILL the server connection that waits at the gate, and expect a 503 and no trace.
async fn kill_at_gate(app: &TestApp, gate: Gate, request: tokio::task::JoinHandle<(u16, String)>) {
    let id = gate.reached().await;
    app.exec(&format!("KILL CONNECTION {id}")).await;
    let (status, body) = request.await.unwrap();
    assert_eq!(status, 503, "a lost connection is a temporary failure: {body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["schemas"], json!([ERROR]));
    gate.open().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_connection_is_killed_mid_transaction_writes_nothing() {
    let app = TestApp::spawn().await;
    let before = all_rows(&app.pool).await;
    // The create stops after users and users_field_data, at its first field row.
    let gate = Gate::shut(&app).await;
    app.exec(&format!(
        "CREATE TRIGGER gate_first BEFORE INSERT ON user__field_first_name FOR EACH ROW {}",
        gate.wait_sql()
    ))
    .await;
    let create = send(
        &app,
        reqwest::Method::POST,
        "/Users",
        Some(entra_user("killed.create", "killed@example.com", "ext-killed")),
    );
    kill_at_gate(&app, gate, create).await;
    assert_eq!(all_rows(&app.pool).await, before, "no users, users_field_data, user__* or scim_user row");
    // The named locks died with the connection: the same create goes through now.
    app.exec("DROP TRIGGER gate_first").await;
    let response = app.post("/Users", &entra_user("killed.create", "killed@example.com", "ext-killed")).await;
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM users_field_data WHERE name = 'killed.create'").await, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_whose_connection_is_killed_mid_transaction_changes_nothing() {
    let app = TestApp::spawn().await;
    let before = all_rows(&app.pool).await;
    // The PATCH stops at its last statement (the externalId), every other change made.
    let gate = Gate::shut(&app).await;
    app.exec(&format!("CREATE TRIGGER gate_bridge BEFORE INSERT ON scim_user FOR EACH ROW {}", gate.wait_sql())).await;
    let ops = json!([
        {"op": "replace", "path": "userName", "value": "john.killed"},
        {"op": "replace", "path": "name.givenName", "value": "Killed"},
        {"op": "replace", "path": "name.familyName", "value": "Midway"},
        {"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "Nowhere"},
        {"op": "replace", "path": "timezone", "value": "Asia/Tokyo"},
        {"op": "replace", "path": "active", "value": false},
        {"op": "replace", "path": "externalId", "value": "ext-killed-patch"}
    ]);
    let patch = send(&app, reqwest::Method::PATCH, &format!("/Users/{JDOE_UUID}"), patch_body(ops.clone()));
    kill_at_gate(&app, gate, patch).await;
    assert_eq!(all_rows(&app.pool).await, before, "jdoe is exactly as before, session included");
    app.exec("DROP TRIGGER gate_bridge").await;
    let response = app.patch_ops(&format!("/Users/{JDOE_UUID}"), ops).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.data_column(2, "name").await, "john.killed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_membership_change_whose_connection_is_killed_mid_transaction_changes_nothing() {
    let app = TestApp::spawn().await;
    let mut group = entra_group("Killers", "ext-killers");
    group["members"] = json!([{"value": MSMITH_UUID}]);
    create_group(&app, &group).await;
    create_group(&app, &entra_group("Other", "ext-other")).await;
    let add_other = app
        .patch_ops("/Groups/other", json!([{"op": "add", "path": "members", "value": [{"value": MSMITH_UUID}]}]))
        .await;
    assert_eq!(add_other.status().as_u16(), 204);
    let before = all_rows(&app.pool).await;
    // The change stops at its last statement (the bridge row's revision): jdoe granted, msmith
    // revoked and renumbered, both accounts touched.
    let gate = Gate::shut(&app).await;
    app.exec(&format!("CREATE TRIGGER gate_group BEFORE UPDATE ON scim_group FOR EACH ROW {}", gate.wait_sql())).await;
    let ops = json!([
        {"op": "add", "path": "members", "value": [{"value": JDOE_UUID}]},
        {"op": "remove", "path": "members", "value": [{"value": MSMITH_UUID}]}
    ]);
    let change = send(&app, reqwest::Method::PATCH, "/Groups/killers", patch_body(ops.clone()));
    kill_at_gate(&app, gate, change).await;
    assert_eq!(all_rows(&app.pool).await, before, "membership, deltas, changed and revision as before");
    app.exec("DROP TRIGGER gate_group").await;
    let response = app.patch_ops("/Groups/killers", ops).await;
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(holders(&app, "killers").await, vec![2]);
    assert_eq!(role_rows(&app, 3).await, vec![role_row(3, 0, "other")]);
}

/// One request of a fault test: (what, trigger timing, method, path, body, status without the fault).
type Case = (&'static str, &'static str, reqwest::Method, String, Option<Value>, u16);

/// A PATCH of one account's name field, mail, password and externalId (its last statement writes
/// the bridge row).
fn patch_user_case(id: &str) -> Case {
    (
        "PATCH a user",
        "BEFORE INSERT ON scim_user",
        reqwest::Method::PATCH,
        format!("/Users/{id}"),
        patch_body(json!([
            {"op": "replace", "path": "name.givenName", "value": "Signal"},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "signal@example.com"},
            {"op": "replace", "path": "password", "value": "Signal-Passphrase-77"},
            {"op": "replace", "path": "externalId", "value": "ext-jdoe"}
        ])),
        200,
    )
}

/// A PATCH of a group adding one member, removing another and renaming it.
fn group_change_case(group: &str, add: &str, remove: &str) -> Case {
    (
        "change a group's members",
        "BEFORE UPDATE ON scim_group",
        reqwest::Method::PATCH,
        format!("/Groups/{group}"),
        patch_body(json!([
            {"op": "add", "path": "members", "value": [{"value": add}]},
            {"op": "remove", "path": "members", "value": [{"value": remove}]},
            {"op": "replace", "path": "displayName", "value": "Faulty Renamed"}
        ])),
        204,
    )
}

/// Each case with a trigger making its last statement fail: a 500 and every row as before; then
/// without the trigger: its usual answer, and rows written.
async fn each_rolls_back_then_succeeds(app: &TestApp, cases: Vec<Case>, rows: &[(&str, &str)]) {
    let fail = "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected fault'";
    for (what, timing, method, path, body, success) in cases {
        let before = rows_of(&app.pool, rows).await;
        app.exec(&format!("CREATE TRIGGER fault {timing} FOR EACH ROW {fail}")).await;
        let (status, answer) = send(app, method.clone(), &path, body.clone()).await.unwrap();
        assert_eq!(status, 500, "{what}: {answer}");
        assert_eq!(rows_of(&app.pool, rows).await, before, "{what}: nothing written");
        app.exec("DROP TRIGGER fault").await;
        let (status, answer) = send(app, method, &path, body).await.unwrap();
        assert_eq!(status, success, "{what} without the fault: {answer}");
        assert_ne!(rows_of(&app.pool, rows).await, before, "{what} writes when nothing fails");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_last_statement_rolls_back_every_earlier_statement_of_each_write() {
    // A trigger makes the last statement of each write fail: every earlier statement of that
    // request must be rolled back with it. Then the same request succeeds without the trigger.
    let mapping = mapping_with_fields().replace("delete = \"block\"", "delete = \"block_remove_roles\"");
    let app = TestApp::spawn_with_mapping(&mapping).await;
    let mut group = entra_group("Faulty", "ext-faulty");
    group["members"] = json!([{"value": JDOE_UUID}]);
    create_group(&app, &group).await;
    let user = entra_user("signal.user", "signal.user@example.com", "ext-signal");
    let mut with_members = entra_group("Fresh Group", "ext-fresh");
    with_members["members"] = json!([{"value": JDOE_UUID}, {"value": MSMITH_UUID}]);
    let put = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE], "externalId": "ext-put", "userName": "msmith.put", "active": false,
        "emails": [{"primary": true, "type": "work", "value": "put@example.com"}],
        "name": {"givenName": "Put", "familyName": "Replaced"}, "timezone": "Asia/Tokyo"
    });
    let cases: Vec<Case> = vec![
        ("create a user", "BEFORE INSERT ON scim_user", reqwest::Method::POST, "/Users".into(), Some(user), 201),
        patch_user_case(JDOE_UUID),
        (
            "PUT a user",
            "BEFORE INSERT ON scim_user",
            reqwest::Method::PUT,
            format!("/Users/{MSMITH_UUID}"),
            Some(put),
            200,
        ),
        (
            "create a group with members",
            "BEFORE UPDATE ON users_field_data",
            reqwest::Method::POST,
            "/Groups".into(),
            Some(with_members),
            201,
        ),
        group_change_case("faulty", MSMITH_UUID, JDOE_UUID),
        ("delete a group", "BEFORE UPDATE ON scim_group", reqwest::Method::DELETE, "/Groups/faulty".into(), None, 204),
        (
            "delete (block) a user",
            "BEFORE INSERT ON scim_user",
            reqwest::Method::DELETE,
            format!("/Users/{JDOE_UUID}"),
            None,
            204,
        ),
    ];
    each_rolls_back_then_succeeds(&app, cases, &DRUPAL10_ROWS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_drupal7_a_failing_last_statement_rolls_back_every_earlier_statement_of_each_write() {
    // The same on Drupal 7's tables: the sequence row, the users row, both field tables,
    // users_roles and role rows go back with the failed statement.
    let mapping = mapping_with_fields().replace("delete = \"block\"", "delete = \"block_remove_roles\"");
    let app = TestApp::spawn_with_mapping_on(Fixture::Drupal7, &mapping).await;
    let (jdoe, msmith) = (app.jdoe_id(), app.msmith_id());
    let mut group = entra_group("Faulty", "ext-faulty");
    group["members"] = json!([{"value": jdoe}]);
    let rid = create_group(&app, &group).await["id"].as_str().unwrap().to_string();
    let user = entra_user("signal.user", "signal.user@example.com", "ext-signal");
    let mut with_members = entra_group("Fresh Group", "ext-fresh");
    with_members["members"] = json!([{"value": jdoe}, {"value": msmith}]);
    let cases: Vec<Case> = vec![
        ("create a user", "BEFORE INSERT ON scim_user", reqwest::Method::POST, "/Users".into(), Some(user), 201),
        patch_user_case(&jdoe),
        (
            "create a group with members",
            "BEFORE UPDATE ON users",
            reqwest::Method::POST,
            "/Groups".into(),
            Some(with_members),
            201,
        ),
        group_change_case(&rid, &msmith, &jdoe),
        ("delete a group", "BEFORE UPDATE ON scim_group", reqwest::Method::DELETE, format!("/Groups/{rid}"), None, 204),
        (
            "delete (block) a user",
            "BEFORE INSERT ON scim_user",
            reqwest::Method::DELETE,
            format!("/Users/{msmith}"),
            None,
            204,
        ),
    ];
    each_rolls_back_then_succeeds(&app, cases, &DRUPAL7_ROWS).await;
}

// --- SIGTERM ----------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_request_in_flight_finish_refuses_new_connections_and_exits_0() {
    let mut app = Spawned::start(&[]).await;
    let gate = Gate::shut_on(&app.pool, &app.db).await;
    app.pool
        .get_conn()
        .await
        .unwrap()
        .query_drop(format!(
            "CREATE TRIGGER gate_first BEFORE INSERT ON user__field_first_name FOR EACH ROW {}",
            gate.wait_sql()
        ))
        .await
        .unwrap();
    let create = {
        let request = app
            .client
            .post(format!("{}/Users", app.base))
            .bearer_auth(&app.token)
            .header("content-type", "application/scim+json")
            .body(entra_user("in.flight", "in.flight@example.com", "ext-in-flight").to_string());
        tokio::spawn(async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        })
    };
    gate.reached().await;
    app.server.signal("TERM");
    // The listener closes: new connections are refused while the request is still running.
    let addr = format!("127.0.0.1:{}", app.server.port);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(&addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting connections 10 s after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!create.is_finished(), "the request is still in flight");
    assert!(
        reqwest::Client::new().get(format!("{}/healthz", app.server.address)).send().await.is_err(),
        "a new request gets no answer"
    );
    gate.open().await;
    let (status, body) = create.await.unwrap();
    assert_eq!(status, 201, "the request in flight completes: {body}");
    let status = app.server.wait_exit(Duration::from_secs(35)).await.expect("exited within the shutdown timeout");
    assert!(status.success(), "exit status {status}: {}", app.server.log());
    let mut conn = app.pool.get_conn().await.unwrap();
    let n: Option<i64> = conn
        .query_first(
            "SELECT COUNT(*) FROM scim_user s JOIN users_field_data d ON d.uid = s.uid WHERE d.name = 'in.flight'",
        )
        .await
        .unwrap();
    assert_eq!(n, Some(1), "and it was committed");
    drop(conn);
}

// --- Cache invalidation --------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_tables_that_cannot_be_written_never_fail_or_roll_back_a_write() {
    let app = TestApp::spawn().await;
    // An upsert into this cachetags fails (strict mode: `broken` has no default) …
    app.exec("DROP TABLE cachetags").await;
    app.exec(
        "CREATE TABLE cachetags (tag varchar(255) NOT NULL PRIMARY KEY, invalidations int NOT NULL DEFAULT 0, broken int NOT NULL) ENGINE=InnoDB",
    )
    .await;
    // … and cache_entity is a view nothing can be deleted from.
    app.exec("DROP TABLE cache_entity").await;
    app.exec("CREATE VIEW cache_entity AS SELECT 'values:user:2' AS cid, 1 AS data").await;
    let created = app.create_user("cache.fault", "cache.fault@example.com").await;
    let id = created["id"].as_str().unwrap();
    let uid = app.uid_of("cache.fault").await;
    assert_eq!(app.field_values(uid, "field_first_name").await, vec!["Given"]);
    let response = app
        .patch_ops(&format!("/Users/{id}"), json!([{"op": "replace", "path": "name.givenName", "value": "Cached"}]))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.field_values(uid, "field_first_name").await, vec!["Cached"]);
    let mut group = entra_group("Cache Fault", "ext-cache-fault");
    group["members"] = json!([{"value": id}]);
    create_group(&app, &group).await;
    assert_eq!(holders(&app, "cache_fault").await, vec![uid]);
    let response = app
        .patch_ops("/Groups/cache_fault", json!([{"op": "add", "path": "members", "value": [{"value": JDOE_UUID}]}]))
        .await;
    assert_eq!(response.status().as_u16(), 204);
    assert_eq!(holders(&app, "cache_fault").await, vec![2, uid]);
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status().as_u16(), 204);
    assert_eq!(app.data_column(uid, "status").await, 0);
    assert_eq!(app.count("cachetags").await, 0, "the invalidations failed (and were logged)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_cache_row_delays_a_write_by_at_most_the_timeout_and_never_fails_it() {
    // Drupal holds the user_list cache tag (a long cache rebuild, say). The invalidation after
    // the commit waits for it at most database.timeout_secs, then gives up; the write stands.
    let app =
        TestApp::spawn_custom(&test_server_url(), &mapping_with_fields(), "", |s| s.database.timeout_secs = 1).await;
    app.exec(
        "INSERT INTO cachetags (tag, invalidations) VALUES ('user_list', 1) ON DUPLICATE KEY UPDATE invalidations = 1",
    )
    .await;
    let mut drupal = app.pool.get_conn().await.unwrap();
    drupal.query_drop("BEGIN").await.unwrap();
    drupal.query_drop("SELECT * FROM cachetags WHERE tag = 'user_list' FOR UPDATE").await.unwrap();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let start = Instant::now();
    let response = client
        .post(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
        .body(entra_user("cache.wait", "cache.wait@example.com", "ext-cache-wait").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    assert!(start.elapsed() < Duration::from_secs(15), "answered after {:?}", start.elapsed());
    drupal.query_drop("ROLLBACK").await.unwrap();
    assert_eq!(app.one::<i64>("SELECT COUNT(*) FROM users_field_data WHERE name = 'cache.wait'").await, Some(1));
}
