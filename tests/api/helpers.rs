//! Test harness: every test gets a fresh database loaded from tests/fixtures/drupal10.sql and
//! the real server on a random port, and talks HTTP to it. The database is a real MariaDB
//! (TEST_DATABASE_URL, set by scripts/test.sh).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use drupal_scim::settings::Settings;
use drupal_scim::startup::Application;
use mysql_async::prelude::*;
use serde_json::Value;
use std::path::PathBuf;

pub const SECRET: &str = "test-secret-0123456789abcdef0123456789";
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The fixture's accounts (uid, name, uuid).
pub const ADMIN_UUID: &str = "3bb89aac-5e14-41d9-ae91-2a186ddece7a";
pub const ANON_UUID: &str = "b57f41ed-8f5f-400c-a72a-e98db001275b";
pub const JDOE_UUID: &str = "d8d06222-121f-4f6b-9851-59451bb64899";
pub const MSMITH_UUID: &str = "aaa75725-c243-456a-a2a1-e44b4c8bb397";
pub const BLOCKED_UUID: &str = "bfece36f-8782-4990-9fa7-3ab30134e7b3";

/// The shipped default mapping plus the fixture's four fields, as a site operator would add them
/// (tests/fixtures/fields_mapping.toml, which the benchmark appends too).
pub fn mapping_with_fields() -> String {
    let mut text = std::fs::read_to_string(repo_path("drupal_mapping.toml")).unwrap();
    text.push('\n');
    text.push_str(&std::fs::read_to_string(repo_path("tests/fixtures/fields_mapping.toml")).unwrap());
    text
}

/// A raw request with a body the JSON helpers cannot produce.
pub async fn send_raw(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.client
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(&app.token)
        .header("content-type", "application/scim+json")
        .body(body)
        .send()
        .await
        .unwrap()
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A running server over its own database.
pub struct TestApp {
    pub address: String,
    pub base: String,
    pub token: String,
    pub client: reqwest::Client,
    pub pool: mysql_async::Pool,
    pub db_name: String,
    server_url: String,
    _mapping_dir: TempDir,
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The shared test server's URL (`mysql://user@host:port`, no database).
pub fn test_server_url() -> String {
    server_url()
}

fn server_url() -> String {
    let url = std::env::var("TEST_DATABASE_URL")
        .expect("TEST_DATABASE_URL is not set: run the tests with scripts/test.sh (it starts a throwaway MariaDB)");
    let url = url.trim_end_matches('/').to_string();
    // Strip a database name if one was given: each test creates its own.
    match url.rsplit_once('/') {
        Some((head, tail))
            if !head.ends_with('/') && !tail.contains('@') && head.contains("//") && head.matches('/').count() >= 2 =>
        {
            head.to_string()
        }
        _ => url,
    }
}

/// A fresh database loaded with the Drupal 10 fixture; returns its name and a pool on it.
pub async fn fresh_database() -> (String, String, mysql_async::Pool) {
    fresh_database_on(&server_url()).await
}

/// A fresh database loaded with the Drupal 10 fixture on a given server (`mysql://user@host:port`,
/// no database): its name, the server URL, and a pool on it.
pub async fn fresh_database_on(server: &str) -> (String, String, mysql_async::Pool) {
    let server = server.trim_end_matches('/').to_string();
    let db_name = format!("dscim_{}", uuid::Uuid::new_v4().simple());
    let admin = mysql_async::Pool::new(format!("{server}/").as_str());
    let mut conn = admin.get_conn().await.expect("connect to TEST_DATABASE_URL");
    conn.query_drop(format!("CREATE DATABASE `{db_name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"))
        .await
        .unwrap();
    drop(conn);
    admin.disconnect().await.unwrap();
    let url = format!("{server}/{db_name}");
    let pool = mysql_async::Pool::new(url.as_str());
    let fixture = std::fs::read_to_string(repo_path("tests/fixtures/drupal10.sql")).unwrap();
    let mut conn = pool.get_conn().await.unwrap();
    conn.query_drop(fixture).await.expect("load tests/fixtures/drupal10.sql");
    drop(conn);
    (db_name, server, pool)
}

impl TestApp {
    /// Spawn with the default mapping plus the fixture's fields.
    pub async fn spawn() -> TestApp {
        Self::spawn_with_mapping(&mapping_with_fields()).await
    }

    /// Spawn with a given drupal_mapping.toml text.
    pub async fn spawn_with_mapping(mapping: &str) -> TestApp {
        Self::try_spawn(mapping).await.unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// Spawn, returning the start-up error instead of panicking.
    pub async fn try_spawn(mapping: &str) -> Result<TestApp, String> {
        Self::try_spawn_custom(&server_url(), mapping, "", |_| {}).await
    }

    /// Spawn on a given MariaDB server (`mysql://root@127.0.0.1:port`), running `setup_sql` on the
    /// fresh database before the server starts, with settings adjusted by `tweak`.
    pub async fn spawn_custom(
        server: &str,
        mapping: &str,
        setup_sql: &str,
        tweak: impl FnOnce(&mut Settings),
    ) -> TestApp {
        Self::try_spawn_custom(server, mapping, setup_sql, tweak)
            .await
            .unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// [`TestApp::spawn_custom`], returning the start-up error instead of panicking.
    pub async fn try_spawn_custom(
        server: &str,
        mapping: &str,
        setup_sql: &str,
        tweak: impl FnOnce(&mut Settings),
    ) -> Result<TestApp, String> {
        let _ = env_logger::builder().is_test(true).try_init();
        let (db_name, server, pool) = fresh_database_on(server).await;
        if !setup_sql.is_empty() {
            let mut conn = pool.get_conn().await.unwrap();
            conn.query_drop(setup_sql).await.expect("setup SQL");
        }
        let dir = std::env::temp_dir().join(format!("dscim-mapping-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mapping_path = dir.join("drupal_mapping.toml");
        std::fs::write(&mapping_path, mapping).unwrap();
        let mut settings = Settings::new(&format!("{server}/{db_name}"), SECRET, mapping_path);
        tweak(&mut settings);
        let app = match Application::build(settings.clone()).await {
            Ok(app) => app,
            Err(e) => {
                drop_database(&server, &db_name).await;
                return Err(e.to_string());
            }
        };
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let token = drupal_scim::token::mint(SECRET, "drupal-scim", "drupal-scim", "tests", None).unwrap();
        Ok(TestApp {
            base: format!("{address}/scim/v2"),
            address,
            token,
            client: reqwest::Client::new(),
            pool,
            db_name,
            server_url: server,
            _mapping_dir: TempDir(dir),
        })
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/scim+json")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.req(reqwest::Method::GET, path).send().await.unwrap()
    }
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.req(reqwest::Method::POST, path).body(body.to_string()).send().await.unwrap()
    }
    pub async fn put(&self, path: &str, body: &Value) -> reqwest::Response {
        self.req(reqwest::Method::PUT, path).body(body.to_string()).send().await.unwrap()
    }
    pub async fn patch(&self, path: &str, body: &Value) -> reqwest::Response {
        self.req(reqwest::Method::PATCH, path).body(body.to_string()).send().await.unwrap()
    }
    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.req(reqwest::Method::DELETE, path).send().await.unwrap()
    }
    /// PATCH with a list of operations.
    pub async fn patch_ops(&self, path: &str, ops: Value) -> reqwest::Response {
        self.patch(path, &serde_json::json!({"schemas": [PATCH_OP], "Operations": ops})).await
    }

    /// GET /Users with a filter, URL-encoded.
    pub async fn filter_users(&self, filter: &str) -> reqwest::Response {
        self.client
            .get(format!("{}/Users", self.base))
            .bearer_auth(&self.token)
            .query(&[("filter", filter)])
            .send()
            .await
            .unwrap()
    }

    /// POST a minimal Entra-shaped user and return its JSON (asserting 201).
    pub async fn create_user(&self, user_name: &str, mail: &str) -> Value {
        let response = self.post("/Users", &entra_user(user_name, mail, &uuid::Uuid::new_v4().to_string())).await;
        assert_eq!(response.status().as_u16(), 201, "create {user_name}");
        response.json().await.unwrap()
    }

    /// Rows of a query on the test database.
    pub async fn rows<T: FromRow + Send + 'static>(&self, sql: &str) -> Vec<T> {
        let mut conn = self.pool.get_conn().await.unwrap();
        conn.query(sql).await.unwrap()
    }

    /// Rows as JSON objects keyed by column name (ints as numbers, text as strings, NULL as null).
    pub async fn json_rows(&self, sql: &str) -> Vec<Value> {
        let mut conn = self.pool.get_conn().await.unwrap();
        let rows: Vec<mysql_async::Row> = conn.query(sql).await.unwrap();
        rows.into_iter()
            .map(|row| {
                let mut obj = serde_json::Map::new();
                for (i, col) in row.columns_ref().iter().enumerate() {
                    let v = match row.as_ref(i).unwrap() {
                        mysql_async::Value::NULL => Value::Null,
                        mysql_async::Value::Int(n) => Value::from(*n),
                        mysql_async::Value::UInt(n) => Value::from(*n),
                        mysql_async::Value::Bytes(b) => {
                            let text = String::from_utf8_lossy(b).into_owned();
                            // Integer columns come back as text over the text protocol.
                            match text.parse::<i64>() {
                                Ok(n) if col.column_type().is_numeric_type() => Value::from(n),
                                _ => Value::from(text),
                            }
                        }
                        other => Value::from(other.as_sql(true)),
                    };
                    obj.insert(col.name_str().into_owned(), v);
                }
                Value::Object(obj)
            })
            .collect()
    }

    /// One value of a query (None when no row).
    pub async fn one<T: FromValue + Send + 'static>(&self, sql: &str) -> Option<T> {
        let mut conn = self.pool.get_conn().await.unwrap();
        conn.query_first(sql).await.unwrap()
    }

    /// The uid of an account by name.
    pub async fn uid_of(&self, name: &str) -> u32 {
        let mut conn = self.pool.get_conn().await.unwrap();
        conn.exec_first("SELECT uid FROM users_field_data WHERE name = ?", (name,))
            .await
            .unwrap()
            .expect("account exists")
    }

    /// A cache tag's invalidation count (0 when absent).
    pub async fn tag_count(&self, tag: &str) -> i64 {
        let mut conn = self.pool.get_conn().await.unwrap();
        conn.exec_first("SELECT invalidations FROM cachetags WHERE tag = ?", (tag,)).await.unwrap().unwrap_or(0)
    }

    /// Run a statement on the test database.
    pub async fn exec(&self, sql: &str) {
        let mut conn = self.pool.get_conn().await.unwrap();
        conn.query_drop(sql).await.unwrap();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let server = self.server_url.clone();
        let db = self.db_name.clone();
        // Drop the database from a thread of its own: Drop cannot await.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                rt.block_on(drop_database(&server, &db));
            }
        })
        .join();
    }
}

/// Drop a test database.
pub async fn drop_test_database(server: &str, db: &str) {
    drop_database(server, db).await;
}

async fn drop_database(server: &str, db: &str) {
    let pool = mysql_async::Pool::new(format!("{server}/").as_str());
    if let Ok(mut conn) = pool.get_conn().await {
        let _ = conn.query_drop(format!("DROP DATABASE IF EXISTS `{db}`")).await;
    }
    let _ = pool.disconnect().await;
}

/// The body Entra ID sends to create a user (MS-TUT "Create User").
pub fn entra_user(user_name: &str, mail: &str, external_id: &str) -> Value {
    serde_json::json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": mail}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Given Family", "familyName": "Family", "givenName": "Given"},
        "roles": []
    })
}

/// The fixture's first created account gets this uid (AUTO_INCREMENT after uid 4).
pub const FIRST_NEW_UID: u32 = 5;

impl TestApp {
    /// GET /Users with query parameters, URL-encoded.
    pub async fn list_users(&self, params: &[(&str, &str)]) -> reqwest::Response {
        self.client.get(format!("{}/Users", self.base)).bearer_auth(&self.token).query(params).send().await.unwrap()
    }

    /// The userNames a filter finds, in answer order (asserting 200).
    pub async fn names_matching(&self, filter: &str) -> Vec<String> {
        let response = self.filter_users(filter).await;
        assert_eq!(response.status().as_u16(), 200, "filter {filter:?}");
        let body: Value = response.json().await.unwrap();
        body["Resources"]
            .as_array()
            .map(|items| items.iter().map(|r| r["userName"].as_str().unwrap_or_default().to_string()).collect())
            .unwrap_or_default()
    }

    /// Everything Drupal (and the bridge) stores for one account, as JSON, to prove that a
    /// refused request wrote nothing.
    pub async fn snapshot(&self, uid: u32) -> Value {
        let mut out = serde_json::Map::new();
        let queries = [
            ("users", format!("SELECT * FROM users WHERE uid = {uid}")),
            ("users_field_data", format!("SELECT * FROM users_field_data WHERE uid = {uid} ORDER BY langcode")),
            ("user__roles", format!("SELECT * FROM user__roles WHERE entity_id = {uid} ORDER BY delta")),
            ("first", format!("SELECT * FROM user__field_first_name WHERE entity_id = {uid} ORDER BY delta")),
            ("last", format!("SELECT * FROM user__field_last_name WHERE entity_id = {uid} ORDER BY delta")),
            ("department", format!("SELECT * FROM user__field_department WHERE entity_id = {uid} ORDER BY delta")),
            ("employee", format!("SELECT * FROM user__field_employee_number WHERE entity_id = {uid} ORDER BY delta")),
            ("scim_user", format!("SELECT * FROM scim_user WHERE uid = {uid}")),
            ("sessions", format!("SELECT uid, sid FROM sessions WHERE uid = {uid} ORDER BY sid")),
            ("cache_entity", format!("SELECT cid FROM cache_entity WHERE cid = 'values:user:{uid}'")),
        ];
        for (key, sql) in queries {
            out.insert(key.to_string(), Value::Array(self.json_rows(&sql).await));
        }
        Value::Object(out)
    }

    /// Number of rows of a table.
    pub async fn count(&self, table: &str) -> i64 {
        self.one(&format!("SELECT COUNT(*) FROM `{table}`")).await.unwrap()
    }

    /// A column of users_field_data for one account.
    pub async fn data_column(&self, uid: u32, column: &str) -> Value {
        let rows = self.json_rows(&format!("SELECT `{column}` AS v FROM users_field_data WHERE uid = {uid}")).await;
        assert_eq!(rows.len(), 1, "one users_field_data row for uid {uid}");
        rows[0]["v"].clone()
    }

    /// The values of a configurable field for one account, in delta order.
    pub async fn field_values(&self, uid: u32, field: &str) -> Vec<String> {
        self.rows(&format!("SELECT `{field}_value` FROM `user__{field}` WHERE entity_id = {uid} ORDER BY delta")).await
    }
}

/// Assert a SCIM error answer (RFC 7644 §3.12) and return its body: the status, the Error schema,
/// `status` as a string, the SCIM media type, and `scimType` when one is expected.
pub async fn expect_error(response: reqwest::Response, status: u16, scim_type: Option<&str>) -> Value {
    assert_eq!(response.status().as_u16(), status, "HTTP status");
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    assert_eq!(content_type.as_deref(), Some("application/scim+json"), "SCIM media type on a {status}");
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(body["schemas"], serde_json::json!([ERROR]), "{body}");
    assert_eq!(body["status"], Value::from(status.to_string()), "status is a string: {body}");
    match scim_type {
        Some(t) => assert_eq!(body["scimType"], t, "{body}"),
        None => assert!(body.get("scimType").is_none() || body["scimType"].is_string(), "{body}"),
    }
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "a detail: {body}");
    body
}

/// Assert a ListResponse (200, integer paging fields) and return it.
pub async fn expect_list(response: reqwest::Response) -> Value {
    assert_eq!(response.status().as_u16(), 200, "a list answers 200");
    assert_eq!(response.headers()["content-type"], "application/scim+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["schemas"], serde_json::json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]), "{body}");
    for key in ["totalResults", "startIndex", "itemsPerPage"] {
        assert!(body[key].is_u64(), "{key} is an integer: {body}");
    }
    body
}

/// A counter or gauge from `GET /metrics` of the server at `address` (`http://127.0.0.1:port`).
pub async fn metric(address: &str, name: &str) -> f64 {
    let text = reqwest::get(format!("{address}/metrics")).await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no metric {name} in:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// A SQL string literal. information_schema.PROCESSLIST is read over the text protocol only:
/// MariaDB 10.11 was seen to crash executing it as a prepared statement under load.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// Wait (up to 20 s) until a connection to database `db` other than `pool`'s runs a statement
/// whose text contains `needle` (as `information_schema.PROCESSLIST` shows it), and return that
/// connection's id. `state` narrows it down (e.g. "User sleep", "Update", or "" for any).
pub async fn wait_for_statement(pool: &mysql_async::Pool, db: &str, needle: &str, state: &str) -> u64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut conn = pool.get_conn().await.unwrap();
    loop {
        let found: Option<u64> = conn
            .query_first(format!(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = {} AND ID <> CONNECTION_ID() \
                 AND INFO LIKE CONCAT('%', {}, '%') AND ({} = '' OR STATE LIKE CONCAT('%', {}, '%')) ORDER BY ID LIMIT 1",
                lit(db),
                lit(needle),
                lit(state),
                lit(state)
            ))
            .await
            .unwrap();
        if let Some(id) = found {
            return id;
        }
        let all: Vec<(u64, Option<String>, Option<String>)> = conn
            .query(format!("SELECT ID, STATE, INFO FROM information_schema.PROCESSLIST WHERE DB = {}", lit(db)))
            .await
            .unwrap();
        assert!(std::time::Instant::now() < deadline, "no connection ran {needle:?} ({state:?}); processlist: {all:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Wait (up to 20 s) until a transaction on database `db` waits for a row lock.
pub async fn wait_for_lock_wait(pool: &mysql_async::Pool, db: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut conn = pool.get_conn().await.unwrap();
    loop {
        // InnoDB refreshes what INNODB_TRX shows only when it was not read for 100 ms.
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        let waiting: Option<i64> = conn
            .query_first(format!(
                "SELECT COUNT(*) FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p \
                 ON p.ID = t.trx_mysql_thread_id WHERE t.trx_state = 'LOCK WAIT' AND p.DB = {}",
                lit(db)
            ))
            .await
            .unwrap();
        if waiting.unwrap_or(0) > 0 {
            return;
        }
        if std::time::Instant::now() > deadline {
            let all: Vec<(String, u64, Option<String>, Option<String>)> = conn
                .query(
                    "SELECT t.trx_state, t.trx_mysql_thread_id, p.DB, t.trx_query FROM information_schema.INNODB_TRX t \
                     LEFT JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id",
                )
                .await
                .unwrap();
            let procs: Vec<(u64, Option<String>, Option<String>)> = conn
                .query(format!("SELECT ID, STATE, INFO FROM information_schema.PROCESSLIST WHERE DB = {}", lit(db)))
                .await
                .unwrap();
            panic!("no transaction on {db} started waiting for a lock: {all:?}; processes {procs:?}");
        }
    }
}

/// A gate a test holds open or shut: a named lock. A trigger that takes and gives back the gate
/// stops the server's transaction right there until the test opens it.
pub struct Gate {
    conn: mysql_async::Conn,
    pool: mysql_async::Pool,
    db: String,
    pub name: String,
}

impl Gate {
    /// Shut a new gate on the test app's database (the test's own connection holds the lock).
    pub async fn shut(app: &TestApp) -> Gate {
        Gate::shut_on(&app.pool, &app.db_name).await
    }

    /// Shut a new gate for database `db`, reached through `pool`.
    pub async fn shut_on(pool: &mysql_async::Pool, db: &str) -> Gate {
        let name = format!("dscim_gate_{}", &db[db.len().saturating_sub(14)..]);
        let mut conn = pool.get_conn().await.unwrap();
        let got: Option<i64> = conn.exec_first("SELECT GET_LOCK(?, 5)", (&name,)).await.unwrap();
        assert_eq!(got, Some(1));
        Gate { conn, pool: pool.clone(), db: db.to_string(), name }
    }

    /// A trigger body that waits at the gate (up to 60 s).
    pub fn wait_sql(&self) -> String {
        format!("BEGIN SET @dscim_gate = GET_LOCK('{0}', 60); SET @dscim_gate = RELEASE_LOCK('{0}'); END", self.name)
    }

    /// Wait until a server connection waits at the gate; its connection id.
    pub async fn reached(&self) -> u64 {
        wait_for_statement(&self.pool, &self.db, &self.name, "User lock").await
    }

    /// Wait (up to 20 s) until `n` server connections wait at the gate.
    pub async fn reached_by(&self, n: i64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut conn = self.pool.get_conn().await.unwrap();
        loop {
            let waiting: Option<i64> = conn
                .query_first(format!(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE CONCAT('%', {}, '%') \
                     AND STATE LIKE '%User lock%' AND ID <> CONNECTION_ID()",
                    lit(&self.name)
                ))
                .await
                .unwrap();
            if waiting.unwrap_or(0) >= n {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{n} connections did not reach the gate");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Open the gate: whoever waits passes.
    pub async fn open(mut self) {
        self.conn.exec_drop("SELECT RELEASE_LOCK(?)", (&self.name,)).await.unwrap();
    }
}
