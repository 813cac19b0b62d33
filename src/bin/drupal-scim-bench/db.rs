//! Direct database work of the benchmark: load the fixture, seed accounts in bulk, EXPLAIN the
//! lookups, trace a request's statements with the general log, describe the server.

use drupal_scim::drupal::permissions::ESCALATING_PERMISSIONS;
use drupal_scim::drupal::schema::fragments::like_escape;
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts, OptsBuilder, Row, Value};
use std::future::Future;

pub fn e(err: mysql_async::Error) -> String {
    err.to_string()
}

/// The server URL without the database name, and the database name.
pub fn split_url(url: &str) -> Result<(String, String), String> {
    let trimmed = url.trim_end_matches('/');
    let (head, db) = trimmed.rsplit_once('/').ok_or("database URL has no database name")?;
    if db.is_empty() || db.contains('@') || db.contains(':') {
        return Err(format!("database URL {url:?} must end with /DBNAME"));
    }
    Ok((format!("{head}/"), db.to_string()))
}

/// A new database loaded with the Drupal fixture (dropped first if it exists).
pub async fn load_fixture(url: &str, fixture: &str) -> Result<(), String> {
    let (server, db) = split_url(url)?;
    if !db.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(format!("database name {db:?}: letters, digits and _ only"));
    }
    let mut conn = Conn::new(Opts::from_url(&server).map_err(|e| e.to_string())?).await.map_err(e)?;
    conn.query_drop(format!("DROP DATABASE IF EXISTS `{db}`")).await.map_err(e)?;
    conn.query_drop(format!("CREATE DATABASE `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"))
        .await
        .map_err(e)?;
    conn.disconnect().await.map_err(e)?;
    let text = std::fs::read_to_string(fixture).map_err(|err| format!("{fixture}: {err}"))?;
    let mut conn = admin(url).await?;
    conn.query_drop(text).await.map_err(e)?;
    conn.disconnect().await.map_err(e)
}

/// A plain connection for the benchmark's own statements.
pub async fn admin(url: &str) -> Result<Conn, String> {
    let opts = OptsBuilder::from_opts(Opts::from_url(url).map_err(|e| e.to_string())?).init(vec!["SET NAMES utf8mb4"]);
    Conn::new(opts).await.map_err(e)
}

/// Link the fixture's accounts jdoe, msmith and blocked.user (uids 2–4) as a SCIM link would, so
/// SCIM can reach them (as `tests/api/helpers.rs` `link_fixture_accounts` does): an account SCIM
/// neither created nor linked is out of its reach. Run once the server has created its tables.
pub async fn link_fixture_accounts(conn: &mut Conn) -> Result<(), String> {
    conn.query_drop(
        "INSERT IGNORE INTO scim_user (uid, deleted, created, changed) VALUES (2,0,0,0),(3,0,0,0),(4,0,0,0)",
    )
    .await
    .map_err(e)
}

/// The roles the mapping protects by default (`[groups] protected_roles`, src/mapping/model.rs).
const PROTECTED_ROLES: [&str; 1] = ["administrator"];

/// The privileged-role condition of src/drupal/schema/modern/layout.rs `privileged_sql` (an
/// `EXISTS` over `user__roles` and the roles' `config` rows: a protected role, Drupal's
/// administrator flag or an escalating permission) on alias `d`, with `?` placeholders, and its
/// values.
pub fn privileged() -> (String, Vec<Value>) {
    let mut params: Vec<Value> = PROTECTED_ROLES.iter().map(|r| Value::from(*r)).collect();
    let mut patterns = vec![r#"s:8:"is_admin";b:1;"#.to_string()];
    patterns.extend(ESCALATING_PERMISSIONS.iter().map(|p| format!(r#"s:{}:"{p}";"#, p.len())));
    params.extend(patterns.iter().map(|p| Value::from(format!("%{}%", like_escape(p)))));
    let likes = vec!["pc.`data` LIKE ?"; patterns.len()].join(" OR ");
    let roles = vec!["?"; PROTECTED_ROLES.len()].join(", ");
    let sql = format!(
        "EXISTS (SELECT 1 FROM `user__roles` pr WHERE pr.`entity_id` = d.`uid` AND pr.`deleted` = 0 AND (pr.`roles_target_id` IN ({roles}) OR \
         FIND_IN_SET(pr.`roles_target_id`, (SELECT GROUP_CONCAT(SUBSTRING(pc.`name`, 11)) FROM `config` pc \
         WHERE pc.`collection` = '' AND pc.`name` LIKE 'user.role.%' AND ({likes}))) > 0))"
    );
    (sql, params)
}

/// What SCIM may reach (src/drupal/reach.rs `reach_sql` with the bench's settings: uids 0 and 1
/// protected, the default protected roles, link_existing not "link"): the condition on aliases
/// `d` and `s` with `?` placeholders, and its values.
pub fn reach() -> (String, Vec<Value>) {
    let (privileged, more) = privileged();
    let mut params: Vec<Value> = vec![0u32.into(), 1u32.into()];
    params.extend(more);
    let sql = format!(
        "d.`uid` NOT IN (?, ?) AND s.`uid` IS NOT NULL AND (s.`deleted` IS NULL OR s.`deleted` = 0) AND NOT {privileged}"
    );
    (sql, params)
}

/// `sql` with its `?` placeholders replaced by `params` as SQL literals (for EXPLAIN and the
/// benchmark's own counts; `sql` must hold no `?` of its own).
pub fn inline(sql: &str, params: &[Value]) -> String {
    let mut values = params.iter();
    let mut out = String::with_capacity(sql.len() + 64 * params.len());
    for c in sql.chars() {
        if c == '?' {
            out.push_str(&values.next().map_or_else(|| "?".into(), |v| v.as_sql(false)));
        } else {
            out.push(c);
        }
    }
    out
}

/// The reach condition as SQL text.
pub fn reach_sql() -> String {
    let (sql, params) = reach();
    inline(&sql, &params)
}

/// Accounts SCIM can see (what totalResults of an unfiltered GET /Users counts): linked, not
/// protected, not deleted through SCIM, holding no privileged role.
pub async fn visible_users(conn: &mut Conn) -> Result<u64, String> {
    let n: Option<u64> = conn
        .query_first(format!(
            "SELECT COUNT(*) FROM `users` u JOIN `users_field_data` d ON d.`uid` = u.`uid` AND d.`default_langcode` = 1 \
             LEFT JOIN `scim_user` s ON s.`uid` = d.`uid` WHERE {}",
            reach_sql()
        ))
        .await
        .map_err(e)?;
    Ok(n.unwrap_or(0))
}

/// The name, mail and externalId of a seeded account (from its uid, so no read-back is needed).
pub fn seeded_name(uid: u64) -> String {
    format!("seed.{uid}@contoso.onmicrosoft.com")
}
pub fn seeded_mail(uid: u64) -> String {
    format!("seed.user{uid}@contoso.com")
}
pub fn seeded_external_id(uid: u64) -> String {
    format!("5eed0000-0000-4000-8000-{uid:012}")
}
const NAME_SQL: &str = "CONCAT('seed.', u.uid, '@contoso.onmicrosoft.com')";
const MAIL_SQL: &str = "CONCAT('seed.user', u.uid, '@contoso.com')";
const EXT_SQL: &str = "CONCAT('5eed0000-0000-4000-8000-', LPAD(u.uid, 12, '0'))";

/// Add `n` accounts with bulk SQL in the shape the server writes them: users, users_field_data
/// (Drupal's defaults), the two name fields Entra sends, and scim_user with an externalId.
/// Returns the uids added (InnoDB leaves AUTO_INCREMENT gaps between two INSERT … SELECT, so
/// they are read back rather than assumed consecutive).
pub async fn seed(conn: &mut Conn, n: u64) -> Result<Vec<u64>, String> {
    let before: Option<u64> = conn.query_first("SELECT COALESCE(MAX(uid), 0) FROM users").await.map_err(e)?;
    let before = before.unwrap_or(0);
    let mut left = n;
    // MariaDB's sequence engine: seq_1_to_N.
    while left > 0 {
        let chunk = left.min(50_000);
        conn.query_drop(format!("INSERT INTO users (uuid, langcode) SELECT UUID(), 'en' FROM seq_1_to_{chunk}"))
            .await
            .map_err(e)?;
        left -= chunk;
    }
    let after: Option<u64> = conn.query_first("SELECT MAX(uid) FROM users").await.map_err(e)?;
    let after = after.unwrap_or(0);
    let range = format!("u.uid > {before} AND u.uid <= {after}");
    let statements = [
        format!(
            "INSERT INTO users_field_data (uid, langcode, preferred_langcode, preferred_admin_langcode, name, pass, mail, timezone, status, created, changed, access, login, init, default_langcode) \
             SELECT u.uid, 'en', 'en', NULL, {NAME_SQL}, NULL, {MAIL_SQL}, 'UTC', 1, UNIX_TIMESTAMP(), UNIX_TIMESTAMP(), 0, 0, {MAIL_SQL}, 1 FROM users u WHERE {range}"
        ),
        format!(
            "INSERT INTO user__field_first_name (bundle, deleted, entity_id, revision_id, langcode, delta, field_first_name_value) \
             SELECT 'user', 0, u.uid, u.uid, 'en', 0, 'Seed' FROM users u WHERE {range}"
        ),
        format!(
            "INSERT INTO user__field_last_name (bundle, deleted, entity_id, revision_id, langcode, delta, field_last_name_value) \
             SELECT 'user', 0, u.uid, u.uid, 'en', 0, CONCAT('User', u.uid) FROM users u WHERE {range}"
        ),
        format!(
            "INSERT INTO scim_user (uid, external_id, deleted, created, changed) \
             SELECT u.uid, {EXT_SQL}, 0, UNIX_TIMESTAMP(), UNIX_TIMESTAMP() FROM users u WHERE {range}"
        ),
    ];
    for sql in statements {
        conn.query_drop(sql).await.map_err(e)?;
    }
    for t in ["users", "users_field_data", "scim_user", "user__field_first_name", "user__field_last_name"] {
        conn.query_drop(format!("ANALYZE TABLE {t}")).await.map_err(e)?;
    }
    conn.query(format!("SELECT uid FROM users WHERE uid > {before} AND uid <= {after} ORDER BY uid")).await.map_err(e)
}

/// A result set as a markdown table.
pub fn markdown_rows(rows: &[Row]) -> String {
    let Some(first) = rows.first() else { return "(no rows)\n".into() };
    let names: Vec<String> = first.columns_ref().iter().map(|c| c.name_str().into_owned()).collect();
    let mut out = format!("| {} |\n|{}\n", names.join(" | "), "---|".repeat(names.len()));
    for row in rows {
        let cells: Vec<String> = (0..names.len())
            .map(|i| match row.as_ref(i) {
                Some(Value::NULL) | None => "NULL".into(),
                Some(Value::Bytes(b)) => String::from_utf8_lossy(b).replace('|', "\\|"),
                Some(v) => v.as_sql(true),
            })
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// `EXPLAIN` of a statement, as a markdown table.
pub async fn explain(conn: &mut Conn, sql: &str) -> Result<String, String> {
    let rows: Vec<Row> = conn.query(format!("EXPLAIN {sql}")).await.map_err(e)?;
    Ok(markdown_rows(&rows))
}

/// One statement the general log recorded.
#[derive(Debug, Clone)]
pub struct Logged {
    pub thread: u64,
    pub command: String,
    pub argument: String,
}

/// Run `work` with MariaDB's general log on; every statement of other connections meanwhile.
pub async fn trace<F, T>(conn: &mut Conn, work: F) -> Result<(T, Vec<Logged>), String>
where
    F: Future<Output = T>,
{
    conn.query_drop("SET GLOBAL log_output = 'TABLE'").await.map_err(e)?;
    conn.query_drop("TRUNCATE TABLE mysql.general_log").await.map_err(e)?;
    conn.query_drop("SET GLOBAL general_log = 1").await.map_err(e)?;
    let out = work.await;
    // Let connections the server closes after the request log their Quit.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    conn.query_drop("SET GLOBAL general_log = 0").await.map_err(e)?;
    let rows: Vec<(u64, String, Vec<u8>)> = conn
        .query("SELECT thread_id, command_type, argument FROM mysql.general_log WHERE thread_id <> CONNECTION_ID() ORDER BY event_time")
        .await
        .map_err(e)?;
    conn.query_drop("TRUNCATE TABLE mysql.general_log").await.map_err(e)?;
    Ok((
        out,
        rows.into_iter()
            .map(|(thread, command, a)| Logged { thread, command, argument: String::from_utf8_lossy(&a).into_owned() })
            .collect(),
    ))
}

/// Facts about the database server that decide the figures.
pub async fn describe(conn: &mut Conn) -> Result<Vec<(String, String)>, String> {
    let row: Option<Row> = conn
        .query_first(
            "SELECT VERSION(), @@innodb_flush_log_at_trx_commit, @@sync_binlog, @@log_bin, @@innodb_buffer_pool_size DIV 1048576, \
             @@innodb_doublewrite, @@innodb_flush_method, @@max_connections, @@tx_isolation",
        )
        .await
        .map_err(e)?;
    let row = row.ok_or("no row")?;
    let names = [
        "version",
        "innodb_flush_log_at_trx_commit",
        "sync_binlog",
        "log_bin",
        "innodb_buffer_pool_size (MiB)",
        "innodb_doublewrite",
        "innodb_flush_method",
        "max_connections",
        "default isolation (the server sets READ COMMITTED per connection)",
    ];
    Ok(names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let v = match row.as_ref(i) {
                Some(Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
                Some(v) => v.as_sql(true),
                None => String::new(),
            };
            (n.to_string(), v)
        })
        .collect())
}
