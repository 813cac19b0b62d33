//! Test harness: every test gets a fresh database loaded from tests/fixtures/drupal10.sql (or,
//! for the tests shared by both schemas, tests/fixtures/drupal7.sql) and the real server on a
//! random port, and talks HTTP to it. The database is a real MariaDB (TEST_DATABASE_URL, set by
//! scripts/test.sh).
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

/// Which Drupal schema a test database is loaded with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fixture {
    /// tests/fixtures/drupal10.sql: Drupal 8–11 (users_field_data, user__*, roles as config).
    Drupal10,
    /// tests/fixtures/drupal7.sql: Drupal 7 (users, users_roles, role, field_data_*).
    Drupal7,
}

impl Fixture {
    /// The fixture's SQL file, relative to the repository.
    pub fn sql_file(self) -> &'static str {
        match self {
            Fixture::Drupal10 => "tests/fixtures/drupal10.sql",
            Fixture::Drupal7 => "tests/fixtures/drupal7.sql",
        }
    }
}

/// A shared test body `async fn name(fx: Fixture)`, run once per fixture as the tests
/// `name::d10` and `name::d7`.
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn d10() {
                super::$name($crate::helpers::Fixture::Drupal10).await
            }
            #[tokio::test]
            async fn d7() {
                super::$name($crate::helpers::Fixture::Drupal7).await
            }
        }
    };
}
pub(crate) use both;

/// The SCIM id of an account that existed before drupal-scim on Drupal 7 (which has no uuid):
/// `00000000-0000-4000-8000-` and the uid as 12 lowercase hex digits.
pub fn d7_derived_id(uid: u32) -> String {
    format!("00000000-0000-4000-8000-{uid:012x}")
}

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

/// The `config` row Drupal writes for the storage of a plain-text user field
/// (`field.storage.user.<field>`), allowing `cardinality` values (-1: unlimited): what a test
/// that adds a field table must add with it, as drupal-scim reads the cardinality from it.
pub fn field_storage_config_sql(field: &str, cardinality: i64) -> String {
    use drupal_scim::drupal::php_serialize::{PhpValue, serialize};
    let data = PhpValue::assoc([
        ("uuid", PhpValue::str(&uuid::Uuid::new_v4().to_string())),
        ("langcode", PhpValue::str("en")),
        ("status", PhpValue::Bool(true)),
        ("dependencies", PhpValue::assoc([("module", PhpValue::list(vec![PhpValue::str("user")]))])),
        ("id", PhpValue::str(&format!("user.{field}"))),
        ("field_name", PhpValue::str(field)),
        ("entity_type", PhpValue::str("user")),
        ("type", PhpValue::str("string")),
        (
            "settings",
            PhpValue::assoc([
                ("max_length", PhpValue::Int(255)),
                ("case_sensitive", PhpValue::Bool(false)),
                ("is_ascii", PhpValue::Bool(false)),
            ]),
        ),
        ("module", PhpValue::str("core")),
        ("locked", PhpValue::Bool(false)),
        ("cardinality", PhpValue::Int(cardinality)),
        ("translatable", PhpValue::Bool(true)),
        ("indexes", PhpValue::empty_array()),
        ("persist_with_no_fields", PhpValue::Bool(false)),
        ("custom_storage", PhpValue::Bool(false)),
    ]);
    let data = String::from_utf8(serialize(&data)).unwrap().replace('\\', "\\\\").replace('\'', "''");
    format!("INSERT INTO `config` (`collection`, `name`, `data`) VALUES ('', 'field.storage.user.{field}', '{data}');")
}

/// A plain-text user field's table as Drupal 10 creates it (`user__<field>`), for tests that
/// add a field the fixture lacks.
pub fn field_table_sql(field: &str) -> String {
    format!(
        "CREATE TABLE `user__{field}` (
          `bundle` varchar(128) CHARACTER SET ascii NOT NULL DEFAULT '',
          `deleted` tinyint(4) NOT NULL DEFAULT 0,
          `entity_id` int(10) unsigned NOT NULL,
          `revision_id` int(10) unsigned NOT NULL,
          `langcode` varchar(32) CHARACTER SET ascii NOT NULL DEFAULT '',
          `delta` int(10) unsigned NOT NULL,
          `{field}_value` varchar(255) NOT NULL,
          PRIMARY KEY (`entity_id`,`deleted`,`delta`,`langcode`)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;"
    )
}

/// [`mapping_with_fields`] with `[users] link_existing = "link"`: accounts SCIM never linked are
/// reachable, and their first SCIM write links them.
pub fn mapping_linking_existing() -> String {
    let text = mapping_with_fields();
    assert!(text.contains("link_existing = \"refuse\"\n"));
    text.replace("link_existing = \"refuse\"\n", "link_existing = \"link\"\n")
}

/// The audit entries in Drupal's log saying that SCIM linked the existing account `uid`.
pub async fn link_audits(app: &TestApp, uid: u32) -> i64 {
    let sql = format!(
        "SELECT COUNT(*) FROM watchdog WHERE type = 'drupal_scim' AND uid = {uid} AND message LIKE 'Linked the existing account %'"
    );
    app.one(&sql).await.unwrap()
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
    /// The schema the database was loaded with.
    pub fixture: Fixture,
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
    fresh_database_on(&server_url(), Fixture::Drupal10).await
}

/// A fresh database loaded with `fixture` on a given server (`mysql://user@host:port`, no
/// database): its name, the server URL, and a pool on it.
pub async fn fresh_database_on(server: &str, fixture: Fixture) -> (String, String, mysql_async::Pool) {
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
    let sql = std::fs::read_to_string(repo_path(fixture.sql_file())).unwrap();
    let mut conn = pool.get_conn().await.unwrap();
    conn.query_drop(sql).await.unwrap_or_else(|e| panic!("load {}: {e}", fixture.sql_file()));
    drop(conn);
    (db_name, server, pool)
}

/// The fixture's accounts jdoe (2), msmith (3) and blocked.user (4) stand for accounts SCIM
/// created or linked earlier: they get bridge rows (no externalId), so SCIM reaches them with
/// the default `link_existing = "refuse"`. On Drupal 7 the row carries the account's derived id,
/// as SCIM's linking write stores it; on 8+ `scim_id` is NULL, as there (users.uuid is the id).
/// admin (1) stays unlinked and protected. A test of accounts SCIM never linked calls
/// [`TestApp::unlink`]. Sites whose bridge table has another name (table prefixes) keep every
/// account unlinked. Call it once the server has started (it creates the bridge table).
pub async fn link_fixture_accounts(pool: &mysql_async::Pool, fixture: Fixture) {
    let rows: Vec<String> = [2, 3, 4]
        .into_iter()
        .map(|uid| match fixture {
            Fixture::Drupal10 => format!("({uid}, NULL, 0, 0, 0)"),
            Fixture::Drupal7 => format!("({uid}, '{}', 0, 0, 0)", d7_derived_id(uid)),
        })
        .collect();
    let mut conn = pool.get_conn().await.unwrap();
    let _ = conn
        .query_drop(format!(
            "INSERT IGNORE INTO `scim_user` (`uid`, `scim_id`, `deleted`, `created`, `changed`) VALUES {}",
            rows.join(", ")
        ))
        .await;
}

impl TestApp {
    /// Every row of the bridge table `scim_user`, as JSON: equal before and after a refused
    /// request means it wrote no bridge row (the fixture's accounts have theirs from the start).
    pub async fn bridge_rows(&self) -> Value {
        Value::Array(self.json_rows("SELECT * FROM scim_user ORDER BY uid").await)
    }

    /// Make an account one SCIM never created nor linked (drop its bridge row).
    pub async fn unlink(&self, uid: u32) {
        self.exec(&format!("DELETE FROM scim_user WHERE uid = {uid}")).await;
    }

    /// Spawn on the Drupal 10 fixture with the default mapping plus the fixture's fields.
    pub async fn spawn() -> TestApp {
        Self::spawn_on(Fixture::Drupal10).await
    }

    /// Spawn on the Drupal 10 fixture with a given drupal_mapping.toml text.
    pub async fn spawn_with_mapping(mapping: &str) -> TestApp {
        Self::spawn_with_mapping_on(Fixture::Drupal10, mapping).await
    }

    /// Spawn on the Drupal 10 fixture, returning the start-up error instead of panicking.
    pub async fn try_spawn(mapping: &str) -> Result<TestApp, String> {
        Self::try_spawn_on(Fixture::Drupal10, mapping).await
    }

    /// Spawn on `fixture` with the default mapping plus the fixture's fields.
    pub async fn spawn_on(fixture: Fixture) -> TestApp {
        Self::spawn_with_mapping_on(fixture, &mapping_with_fields()).await
    }

    /// Spawn on `fixture` with a given drupal_mapping.toml text.
    pub async fn spawn_with_mapping_on(fixture: Fixture, mapping: &str) -> TestApp {
        Self::try_spawn_on(fixture, mapping).await.unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// Spawn on `fixture`, returning the start-up error instead of panicking.
    pub async fn try_spawn_on(fixture: Fixture, mapping: &str) -> Result<TestApp, String> {
        Self::try_spawn_custom_on(fixture, &server_url(), mapping, "", |_| {}).await
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

    /// A database loaded with `fixture` and no server: for tests of the fixture itself and of the
    /// fixture-aware readers. Its HTTP helpers have nothing to talk to.
    pub async fn database_only_on(fixture: Fixture) -> TestApp {
        let (db_name, server, pool) = fresh_database_on(&server_url(), fixture).await;
        let dir = std::env::temp_dir().join(format!("dscim-no-server-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        TestApp {
            fixture,
            address: String::new(),
            base: String::new(),
            token: String::new(),
            client: reqwest::Client::new(),
            pool,
            db_name,
            server_url: server,
            _mapping_dir: TempDir(dir),
        }
    }

    /// [`TestApp::spawn_custom`], returning the start-up error instead of panicking.
    pub async fn try_spawn_custom(
        server: &str,
        mapping: &str,
        setup_sql: &str,
        tweak: impl FnOnce(&mut Settings),
    ) -> Result<TestApp, String> {
        Self::try_spawn_custom_on(Fixture::Drupal10, server, mapping, setup_sql, tweak).await
    }

    /// [`TestApp::spawn_custom`] on a given fixture.
    pub async fn spawn_custom_on(
        fixture: Fixture,
        server: &str,
        mapping: &str,
        setup_sql: &str,
        tweak: impl FnOnce(&mut Settings),
    ) -> TestApp {
        Self::try_spawn_custom_on(fixture, server, mapping, setup_sql, tweak)
            .await
            .unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// [`TestApp::try_spawn_custom`] on a given fixture.
    pub async fn try_spawn_custom_on(
        fixture: Fixture,
        server: &str,
        mapping: &str,
        setup_sql: &str,
        tweak: impl FnOnce(&mut Settings),
    ) -> Result<TestApp, String> {
        let _ = env_logger::builder().is_test(true).try_init();
        let (db_name, server, pool) = fresh_database_on(server, fixture).await;
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
        link_fixture_accounts(&pool, fixture).await;
        let token = drupal_scim::token::mint(SECRET, "drupal-scim", "drupal-scim", "tests", None).unwrap();
        Ok(TestApp {
            fixture,
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

    /// A view of one site of a multisite server: its SCIM base, its token, its database (which
    /// is dropped with the view, as `dir` is removed).
    pub fn site_view(
        fixture: Fixture,
        base: String,
        token: String,
        db: (String, String, mysql_async::Pool),
        dir: PathBuf,
    ) -> TestApp {
        let (db_name, server_url, pool) = db;
        let address = base.split("/scim/").next().unwrap_or_default().to_string();
        TestApp {
            fixture,
            address,
            base,
            token,
            client: reqwest::Client::new(),
            pool,
            db_name,
            server_url,
            _mapping_dir: TempDir(dir),
        }
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

    /// A cache tag's invalidation count (0 when absent, and always 0 on Drupal 7, which has no
    /// cache tags: shared bodies read counts freely and assert them on Drupal 10 only).
    pub async fn tag_count(&self, tag: &str) -> i64 {
        if self.fixture == Fixture::Drupal7 {
            return 0;
        }
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

    /// Number of rows of a table.
    pub async fn count(&self, table: &str) -> i64 {
        self.one(&format!("SELECT COUNT(*) FROM `{table}`")).await.unwrap()
    }
}

/// Readers that know where each fixture keeps what, so that a test body shared by both fixtures
/// never writes raw Drupal 10 (or Drupal 7) SQL.
impl TestApp {
    /// Whether this is the Drupal 7 fixture.
    pub fn is_d7(&self) -> bool {
        self.fixture == Fixture::Drupal7
    }

    /// The SCIM id of a fixture account: its uuid on Drupal 10, the derived id on Drupal 7.
    fn fixture_id(&self, uid: u32, uuid: &str) -> String {
        match self.fixture {
            Fixture::Drupal10 => uuid.to_string(),
            Fixture::Drupal7 => d7_derived_id(uid),
        }
    }

    /// jdoe's SCIM id (uid 2).
    pub fn jdoe_id(&self) -> String {
        self.fixture_id(2, JDOE_UUID)
    }

    /// msmith's SCIM id (uid 3).
    pub fn msmith_id(&self) -> String {
        self.fixture_id(3, MSMITH_UUID)
    }

    /// blocked.user's SCIM id (uid 4).
    pub fn blocked_id(&self) -> String {
        self.fixture_id(4, BLOCKED_UUID)
    }

    /// The super user's would-be SCIM id (uid 1, never visible).
    pub fn admin_id(&self) -> String {
        self.fixture_id(1, ADMIN_UUID)
    }

    /// The anonymous account's would-be SCIM id (uid 0, never visible).
    pub fn anon_id(&self) -> String {
        self.fixture_id(0, ANON_UUID)
    }

    /// The fixture's administrator role: `administrator` on Drupal 10, rid 3 on 7 (never listed).
    pub fn admin_role(&self) -> &'static str {
        match self.fixture {
            Fixture::Drupal10 => "administrator",
            Fixture::Drupal7 => "3",
        }
    }

    /// The role jdoe holds in the fixture: `content_editor` on Drupal 10, rid 4 ("editor") on 7.
    pub fn editor_role(&self) -> &'static str {
        match self.fixture {
            Fixture::Drupal10 => "content_editor",
            Fixture::Drupal7 => "4",
        }
    }

    /// The table holding an account's name, mail, status, pass…: users_field_data or D7 users.
    pub fn account_table(&self) -> &'static str {
        match self.fixture {
            Fixture::Drupal10 => "users_field_data",
            Fixture::Drupal7 => "users",
        }
    }

    /// The uid of an account by name.
    pub async fn uid_of(&self, name: &str) -> u32 {
        self.try_uid_of(name).await.unwrap_or_else(|| panic!("account {name:?} exists"))
    }

    /// The uid of an account by name, None when there is none.
    pub async fn try_uid_of(&self, name: &str) -> Option<u32> {
        let mut conn = self.pool.get_conn().await.unwrap();
        conn.exec_first(format!("SELECT uid FROM {} WHERE name = ?", self.account_table()), (name,)).await.unwrap()
    }

    /// The account names matching a SQL LIKE pattern, sorted.
    pub async fn names_like(&self, pattern: &str) -> Vec<String> {
        let mut conn = self.pool.get_conn().await.unwrap();
        conn.exec(format!("SELECT name FROM {} WHERE name LIKE ? ORDER BY name", self.account_table()), (pattern,))
            .await
            .unwrap()
    }

    /// An account's main row, with the same keys on both fixtures: name, mail, status, pass,
    /// timezone, init, created, changed, access, login, language (D10 preferred_langcode, D7
    /// users.language).
    pub async fn account(&self, uid: u32) -> Value {
        let language = match self.fixture {
            Fixture::Drupal10 => "preferred_langcode",
            Fixture::Drupal7 => "language",
        };
        let rows = self
            .json_rows(&format!(
                "SELECT name, mail, status, pass, timezone, init, created, changed, access, login, {language} AS language \
                 FROM {} WHERE uid = {uid}",
                self.account_table()
            ))
            .await;
        assert_eq!(rows.len(), 1, "one {} row for uid {uid}: {rows:?}", self.account_table());
        rows[0].clone()
    }

    /// One column of an account's main row (users_field_data, or D7 users; `preferred_langcode`
    /// means D7's `language`).
    pub async fn data_column(&self, uid: u32, column: &str) -> Value {
        let column = match (self.fixture, column) {
            (Fixture::Drupal7, "preferred_langcode") => "language",
            (_, column) => column,
        };
        let rows =
            self.json_rows(&format!("SELECT `{column}` AS v FROM {} WHERE uid = {uid}", self.account_table())).await;
        assert_eq!(rows.len(), 1, "one {} row for uid {uid}", self.account_table());
        rows[0]["v"].clone()
    }

    /// The SCIM id stored for an account: users.uuid on Drupal 10, scim_user.scim_id on 7.
    pub async fn stored_scim_id(&self, uid: u32) -> Option<String> {
        match self.fixture {
            Fixture::Drupal10 => self.one(&format!("SELECT uuid FROM users WHERE uid = {uid}")).await,
            // A bridge row without one (an account linked before the column existed) has none.
            Fixture::Drupal7 => {
                self.one::<Option<String>>(&format!("SELECT scim_id FROM scim_user WHERE uid = {uid}")).await.flatten()
            }
        }
    }

    /// The roles an account holds: D10 user__roles targets by delta, D7 users_roles rids by rid.
    pub async fn role_ids_of(&self, uid: u32) -> Vec<String> {
        match self.fixture {
            Fixture::Drupal10 => {
                self.rows(&format!("SELECT roles_target_id FROM user__roles WHERE entity_id = {uid} ORDER BY delta"))
                    .await
            }
            Fixture::Drupal7 => {
                self.rows(&format!("SELECT CAST(rid AS CHAR) FROM users_roles WHERE uid = {uid} ORDER BY rid")).await
            }
        }
    }

    /// The uids holding a role (a D10 role id, or a D7 rid as text), sorted.
    pub async fn holders(&self, role_id: &str) -> Vec<u32> {
        let mut conn = self.pool.get_conn().await.unwrap();
        let sql = match self.fixture {
            Fixture::Drupal10 => "SELECT entity_id FROM user__roles WHERE roles_target_id = ? ORDER BY entity_id",
            Fixture::Drupal7 => "SELECT uid FROM users_roles WHERE rid = ? ORDER BY uid",
        };
        conn.exec(sql, (role_id,)).await.unwrap()
    }

    /// Number of role memberships stored (user__roles or users_roles rows).
    pub async fn membership_count(&self) -> i64 {
        match self.fixture {
            Fixture::Drupal10 => self.count("user__roles").await,
            Fixture::Drupal7 => self.count("users_roles").await,
        }
    }

    /// A role's label: the D10 config `user.role.<id>` label, or the D7 role.name of a rid.
    pub async fn role_label(&self, role_id: &str) -> Option<String> {
        let mut conn = self.pool.get_conn().await.unwrap();
        match self.fixture {
            Fixture::Drupal10 => {
                let data: Option<Vec<u8>> = conn
                    .exec_first(
                        "SELECT data FROM config WHERE collection = '' AND name = ?",
                        (format!("user.role.{role_id}"),),
                    )
                    .await
                    .unwrap();
                data.map(|d| {
                    let value = drupal_scim::drupal::php_serialize::unserialize(&d).unwrap();
                    value.get("label").and_then(|l| l.as_str()).expect("a role label").to_string()
                })
            }
            Fixture::Drupal7 => conn.exec_first("SELECT name FROM role WHERE rid = ?", (role_id,)).await.unwrap(),
        }
    }

    /// The values of a configurable field for one account, in delta order. On Drupal 7 it also
    /// asserts the rows are exactly what Drupal writes (user/user, not deleted, revision_id = uid,
    /// language und, deltas 0.., format NULL) and that field_revision_<f> holds the same rows.
    pub async fn field_values(&self, uid: u32, field: &str) -> Vec<String> {
        if !self.is_d7() {
            return self
                .rows(&format!("SELECT `{field}_value` FROM `user__{field}` WHERE entity_id = {uid} ORDER BY delta"))
                .await;
        }
        let read = |table: String| async move {
            self.json_rows(&format!("SELECT * FROM `{table}` WHERE entity_id = {uid} ORDER BY entity_type, delta"))
                .await
        };
        let data = read(format!("field_data_{field}")).await;
        let revision = read(format!("field_revision_{field}")).await;
        assert_eq!(revision, data, "field_revision_{field} mirrors field_data_{field} for uid {uid}");
        let value_column = format!("{field}_value");
        let mut values = Vec::new();
        for (delta, row) in data.iter().enumerate() {
            let value = row[&value_column].as_str().expect("a value").to_string();
            let expected = serde_json::json!({
                "entity_type": "user", "bundle": "user", "deleted": 0, "entity_id": uid, "revision_id": uid,
                "language": "und", "delta": delta, value_column.clone(): value, format!("{field}_format"): null
            });
            assert_eq!(row, &expected, "field_data_{field} row {delta} of uid {uid}");
            values.push(value);
        }
        values
    }

    /// Everything Drupal (and the bridge) stores for one account, as JSON, to prove that a
    /// refused request wrote nothing.
    pub async fn snapshot(&self, uid: u32) -> Value {
        let mut queries: Vec<(String, String)> =
            vec![("users".into(), format!("SELECT * FROM users WHERE uid = {uid}"))];
        let mut add = |key: &str, sql: String| queries.push((key.to_string(), sql));
        match self.fixture {
            Fixture::Drupal10 => {
                add("users_field_data", format!("SELECT * FROM users_field_data WHERE uid = {uid} ORDER BY langcode"));
                add("user__roles", format!("SELECT * FROM user__roles WHERE entity_id = {uid} ORDER BY delta"));
                for (key, field) in USER_FIELDS {
                    add(key, format!("SELECT * FROM user__{field} WHERE entity_id = {uid} ORDER BY delta"));
                }
                add("cache_entity", format!("SELECT cid FROM cache_entity WHERE cid = 'values:user:{uid}'"));
            }
            Fixture::Drupal7 => {
                add("users_roles", format!("SELECT * FROM users_roles WHERE uid = {uid} ORDER BY rid"));
                for (key, field) in USER_FIELDS {
                    let order = "ORDER BY entity_type, delta";
                    add(key, format!("SELECT * FROM field_data_{field} WHERE entity_id = {uid} {order}"));
                    add(
                        &format!("{key}_revision"),
                        format!("SELECT * FROM field_revision_{field} WHERE entity_id = {uid} {order}"),
                    );
                }
                add("cache_field", format!("SELECT cid FROM cache_field WHERE cid = 'field:user:{uid}'"));
            }
        }
        add("scim_user", format!("SELECT * FROM scim_user WHERE uid = {uid}"));
        add("sessions", format!("SELECT uid, sid FROM sessions WHERE uid = {uid} ORDER BY sid"));
        let mut out = serde_json::Map::new();
        for (key, sql) in queries {
            out.insert(key, Value::Array(self.json_rows(&sql).await));
        }
        Value::Object(out)
    }

    /// Put a cached copy of an account where Drupal keeps one: cache_entity `values:user:<uid>`
    /// on Drupal 10, cache_field `field:user:<uid>` on 7.
    pub async fn seed_user_cache(&self, uid: u32) {
        let sql = match self.fixture {
            Fixture::Drupal10 => format!(
                "INSERT INTO cache_entity (cid, data, expire, created, serialized, tags, checksum) \
                 VALUES ('values:user:{uid}', 'a:0:{{}}', -1, '1719476990.120', 1, 'entity_field_info', '0') \
                 ON DUPLICATE KEY UPDATE data = data"
            ),
            Fixture::Drupal7 => format!(
                "INSERT INTO cache_field (cid, data, expire, created, serialized) \
                 VALUES ('field:user:{uid}', 'a:0:{{}}', 0, 1719476990, 1) ON DUPLICATE KEY UPDATE data = data"
            ),
        };
        self.exec(&sql).await;
    }

    /// Whether Drupal still has a cached copy of the account (see [`TestApp::seed_user_cache`]).
    pub async fn user_cached(&self, uid: u32) -> bool {
        let sql = match self.fixture {
            Fixture::Drupal10 => format!("SELECT COUNT(*) FROM cache_entity WHERE cid = 'values:user:{uid}'"),
            Fixture::Drupal7 => format!("SELECT COUNT(*) FROM cache_field WHERE cid = 'field:user:{uid}'"),
        };
        self.one::<i64>(&sql).await == Some(1)
    }

    /// Assert an account's password hash is what this Drupal writes, and that it verifies `plain`
    /// (and not another password): bcrypt `$2y$10$` (60 chars) on Drupal 10; phpass `$S$D`
    /// (55 chars) on Drupal 7, checked against tests/data/phpass_vector.py when python3 exists.
    pub async fn assert_password(&self, uid: u32, plain: &str) {
        let hash = self.data_column(uid, "pass").await;
        let hash = hash.as_str().expect("a hash in pass").to_string();
        match self.fixture {
            Fixture::Drupal10 => {
                assert!(hash.starts_with("$2y$10$"), "PHP's bcrypt prefix at the site's cost: {hash}");
                assert_eq!(hash.len(), 60, "{hash}");
                assert!(bcrypt::verify(plain, &hash).unwrap(), "the hash verifies {plain:?}");
                assert!(!bcrypt::verify(format!("{plain}x"), &hash).unwrap());
            }
            Fixture::Drupal7 => {
                assert!(hash.starts_with("$S$D"), "Drupal 7's phpass SHA-512 at 2^15: {hash}");
                assert_eq!(hash.len(), 55, "{hash}");
                assert!(hash.bytes().skip(3).all(|b| ITOA64.contains(&b)), "itoa64 characters only: {hash}");
                if let Some(expected) = phpass_reference(plain, &hash) {
                    assert_eq!(hash, expected, "the hash verifies {plain:?}");
                    assert_ne!(phpass_reference(&format!("{plain}x"), &hash), Some(hash.clone()));
                }
            }
        }
    }
}

/// The fixtures' four user fields: (snapshot key, field name).
const USER_FIELDS: [(&str, &str); 4] = [
    ("first", "field_first_name"),
    ("last", "field_last_name"),
    ("department", "field_department"),
    ("employee", "field_employee_number"),
];

/// phpass's alphabet (Drupal 7 password.inc).
const ITOA64: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// What Drupal 7 computes for `plain` with the count and salt of `hash`, from the independent
/// reference tests/data/phpass_vector.py; None (with a note) when python3 is not installed.
pub fn phpass_reference(plain: &str, hash: &str) -> Option<String> {
    let count = ITOA64.iter().position(|&c| Some(&c) == hash.as_bytes().get(3)).expect("a count character");
    let output = std::process::Command::new("python3")
        .arg(repo_path("tests/data/phpass_vector.py"))
        .args([plain, &hash[4..12], &count.to_string()])
        .output();
    match output {
        Ok(out) => {
            assert!(out.status.success(), "phpass_vector.py: {}", String::from_utf8_lossy(&out.stderr));
            Some(String::from_utf8(out.stdout).unwrap().trim().to_string())
        }
        Err(e) => {
            eprintln!("python3 not available ({e}): the $S$ hash is checked for its format only");
            None
        }
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
