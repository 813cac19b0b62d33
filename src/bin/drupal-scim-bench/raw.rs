//! The limit: the statements the server runs for one SCIM request, in the same order, issued
//! straight through mysql_async by one connection per worker — no HTTP, no JSON, no SCIM, no pool.
//! Taken from src/drupal/users.rs (search, create/create_tx, update/update_tx, load),
//! src/drupal/locks.rs, src/drupal/cache.rs, src/drupal/audit.rs and src/drupal/groups.rs
//! (list, which every rendered resource reads), and checked against the server's statements with
//! MariaDB's general log (the "Statements per request" section of the report).

use crate::scim::NewUser;
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts, OptsBuilder, Row, TxOpts, Value};

/// src/drupal/schema/modern/layout.rs accounts_from.
const ACCOUNTS: &str = "`users` u JOIN `users_field_data` d ON d.`uid` = u.`uid` AND d.`default_langcode` = 1 \
     LEFT JOIN `scim_user` s ON s.`uid` = d.`uid`";

/// src/drupal/users.rs visible_from: the accounts SCIM may reach (src/drupal/reach.rs), and the
/// condition's values.
fn visible() -> (String, Vec<Value>) {
    let (reach, params) = crate::db::reach();
    (format!("FROM {ACCOUNTS} WHERE {reach}"), params)
}

/// src/drupal/users.rs record_columns: an account's own row.
const RECORD: &str = "d.`uid`, u.`uuid`, d.`langcode`, d.`created`, d.`changed`, s.`external_id`, d.`name`, d.`mail`, d.`status`, \
     d.`timezone`, d.`preferred_langcode`, d.`preferred_admin_langcode`";

/// src/drupal/locks.rs NAME_SQL: the site's lock name for a key.
const LOCK_NAME: &str =
    "CONCAT('drupal_scim:', LEFT(SHA2(CONCAT_WS('|', CONVERT(DATABASE() USING utf8mb4), ?, ?), 256), 40))";

const FIELDS: [&str; 4] = ["field_first_name", "field_last_name", "field_department", "field_employee_number"];

/// A connection set up as the server sets up its own (src/drupal/db.rs).
pub async fn connect(url: &str) -> Result<Conn, String> {
    let opts = Opts::from_url(url).map_err(|e| e.to_string())?;
    let builder = OptsBuilder::from_opts(opts)
        .init(vec![
            "SET NAMES utf8mb4",
            "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
        ])
        // Every statement of a request stays prepared: the best the database can do.
        .stmt_cache_size(128);
    Conn::new(builder).await.map_err(|e| e.to_string())
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn e(err: mysql_async::Error) -> String {
    err.to_string()
}

/// UserStore::search from offset 0: the page (`SELECT <the accounts' rows> … LIMIT OFFSET`), and the
/// `SELECT COUNT(*)` only when the page is full. The uids.
async fn search<Q: Queryable>(q: &mut Q, filter: &str, values: Vec<Value>, limit: u64) -> Result<Vec<u32>, String> {
    let (from, mut params) = visible();
    params.extend(values);
    let mut page = params.clone();
    page.push(limit.into());
    page.push(0u64.into());
    let rows: Vec<Row> = q
        .exec(format!("SELECT {RECORD} {from} AND {filter} ORDER BY d.`uid` LIMIT ? OFFSET ?"), page)
        .await
        .map_err(e)?;
    let uids: Vec<u32> = rows.iter().filter_map(|r| r.get(0)).collect();
    if uids.len() as u64 >= limit {
        let _: Option<u64> = q.exec_first(format!("SELECT COUNT(*) {from} AND {filter}"), params).await.map_err(e)?;
    }
    Ok(uids)
}

/// src/drupal/users.rs load: the account, then its values.
async fn load<Q: Queryable>(q: &mut Q, uid: u32) -> Result<bool, String> {
    let rows: Vec<Row> =
        q.exec(format!("SELECT {RECORD} FROM {ACCOUNTS} WHERE d.`uid` IN (?)"), (uid,)).await.map_err(e)?;
    if rows.is_empty() {
        return Err(format!("load: no account {uid}"));
    }
    values(q, uid).await
}

/// src/drupal/users.rs add_values: the four mapped fields and the roles in one UNION. Whether
/// the account holds any role (only then are the groups read to render it).
async fn values<Q: Queryable>(q: &mut Q, uid: u32) -> Result<bool, String> {
    let mut parts: Vec<String> = FIELDS
        .iter()
        .enumerate()
        .map(|(k, field)| {
            format!(
                "SELECT {k} AS `k`, x.`entity_id`, x.`langcode`, x.`delta`, x.`{field}_value` AS `v` FROM `user__{field}` x \
                 WHERE x.`entity_id` IN (?) AND x.`deleted` = 0"
            )
        })
        .collect();
    parts.push(format!(
        "SELECT {}, x.`entity_id`, x.`langcode`, x.`delta`, x.`roles_target_id` FROM `user__roles` x \
         WHERE x.`entity_id` IN (?) AND x.`deleted` = 0",
        FIELDS.len()
    ));
    let params: Vec<u32> = vec![uid; parts.len()];
    let rows: Vec<(usize, u32, String, u32, String)> = q.exec(parts.join(" UNION ALL "), params).await.map_err(e)?;
    Ok(rows.iter().any(|r| r.0 == FIELDS.len()))
}

/// GroupStore::list, read to render an account that holds roles (its `groups` attribute).
async fn groups(conn: &mut Conn) -> Result<(), String> {
    let _: Vec<(String, Vec<u8>)> = conn
        .exec("SELECT `name`, `data` FROM `config` WHERE `collection` = '' AND `name` LIKE 'user.role.%'", ())
        .await
        .map_err(e)?;
    let _: Vec<Row> = conn
        .exec(
            "SELECT `group_id`, `role_id`, `display_name`, `external_id`, `created_by_scim`, `created`, `changed`, `revision` \
             FROM `scim_group` WHERE `deleted` = 0 ORDER BY `created`, `group_id`",
            (),
        )
        .await
        .map_err(e)?;
    Ok(())
}

async fn get_locks(conn: &mut Conn, values: &[&str]) -> Result<Vec<String>, String> {
    let mut keys: Vec<String> =
        values.iter().filter(|v| !v.is_empty()).map(|v| format!("account:{}", v.trim().to_lowercase())).collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Ok(keys);
    }
    // src/drupal/locks.rs NamedLocks::acquire: every lock in one statement.
    let one = format!("GET_LOCK({LOCK_NAME}, ?)");
    let sql = format!("SELECT {}", vec![one.as_str(); keys.len()].join(", "));
    let mut params: Vec<Value> = Vec::new();
    for key in &keys {
        params.extend(["`users`".into(), key.as_str().into(), 10u64.into()]);
    }
    let row: Option<Row> = conn.exec_first(sql, params).await.map_err(e)?;
    let row = row.ok_or("GET_LOCK answered no row")?;
    if !(0..row.len()).all(|i| matches!(row.get_opt::<Option<i64>, _>(i), Some(Ok(Some(1))))) {
        return Err("GET_LOCK timed out".into());
    }
    Ok(keys)
}

/// src/drupal/locks.rs NamedLocks::release: every lock by name in one statement.
async fn release_locks(conn: &mut Conn, keys: &[String]) -> Result<(), String> {
    if keys.is_empty() {
        return Ok(());
    }
    let one = format!("RELEASE_LOCK({LOCK_NAME})");
    let sql = format!("SELECT {}", vec![one.as_str(); keys.len()].join(", "));
    let mut params: Vec<Value> = Vec::new();
    for key in keys {
        params.extend(["`users`".into(), key.as_str().into()]);
    }
    conn.exec_drop(sql, params).await.map_err(e)
}

/// src/drupal/users.rs lock_current (unconditional): lock the account's row, then read where it
/// stands (src/drupal/reach.rs standing_where) and refuse unless SCIM may still reach it.
async fn lock_current<Q: Queryable>(q: &mut Q, uid: u32) -> Result<(), String> {
    q.exec_drop("SELECT `uid` FROM `users_field_data` WHERE `uid` = ? FOR UPDATE", (uid,)).await.map_err(e)?;
    let (privileged, mut params) = crate::db::privileged();
    let mut flags: Vec<Value> = vec![0u32.into(), 1u32.into()];
    flags.append(&mut params);
    flags.push(uid.into());
    let row: Option<(i64, i64, i64, i64, u32)> = q
        .exec_first(
            format!(
                "SELECT NOT (d.`uid` NOT IN (?, ?)), {privileged}, COALESCE(s.`deleted`, 0) <> 0, s.`uid` IS NOT NULL, d.`uid` \
                 FROM {ACCOUNTS} WHERE d.`uid` = ? LIMIT 1"
            ),
            flags,
        )
        .await
        .map_err(e)?;
    match row {
        Some((0, 0, 0, 1, _)) => Ok(()),
        Some(flags) => Err(format!("account {uid} is out of reach: {flags:?}")),
        None => Err(format!("no account {uid}")),
    }
}

/// src/drupal/users.rs check_unique: a subquery per (column, value), one statement.
async fn check_unique<Q: Queryable>(q: &mut Q, checks: &[(&str, &str)], except: i64) -> Result<(), String> {
    let parts: Vec<String> = checks
        .iter()
        .map(|(column, _)| {
            format!("(SELECT `uid` FROM `users_field_data` WHERE `{column}` = ? AND `uid` <> ? LIMIT 1)")
        })
        .collect();
    let params: Vec<Value> = checks.iter().flat_map(|(_, value)| [(*value).into(), except.into()]).collect();
    let row: Option<Row> = q.exec_first(format!("SELECT {}", parts.join(", ")), params).await.map_err(e)?;
    let row = row.ok_or("the uniqueness check answered no row")?;
    for (i, (column, value)) in checks.iter().enumerate() {
        if let Some(Ok(Some(uid))) = row.get_opt::<Option<u32>, _>(i) {
            return Err(format!("{column} {value:?} taken by {uid}"));
        }
    }
    Ok(())
}

async fn invalidate(conn: &mut Conn, uid: u32, created: bool) -> Result<(), String> {
    if created {
        conn.exec_drop(
            "INSERT INTO `cachetags` (`tag`, `invalidations`) VALUES (?, 1), (?, 1) ON DUPLICATE KEY UPDATE `invalidations` = `invalidations` + 1",
            ("user_list", "4xx-response"),
        )
        .await
        .map_err(e)?;
    } else {
        conn.exec_drop(
            "INSERT INTO `cachetags` (`tag`, `invalidations`) VALUES (?, 1), (?, 1), (?, 1) ON DUPLICATE KEY UPDATE `invalidations` = `invalidations` + 1",
            ("user_list", "4xx-response", format!("user:{uid}")),
        )
        .await
        .map_err(e)?;
    }
    conn.exec_drop("DELETE FROM `cache_entity` WHERE `cid` IN (?)", (format!("values:user:{uid}"),)).await.map_err(e)
}

async fn audit(conn: &mut Conn, uid: u32, message: &str, name: &str, location: &str) -> Result<(), String> {
    let variables = format!("a:1:{{s:5:\"%name\";s:{}:\"{name}\";}}", name.len());
    conn.exec_drop(
        "INSERT INTO `watchdog` (`uid`, `type`, `message`, `variables`, `severity`, `link`, `location`, `referer`, `hostname`, `timestamp`) \
         VALUES (?, 'drupal_scim', ?, ?, ?, ?, ?, '', ?, ?)",
        (uid, message, variables, 5u8, format!("<a href=\"/user/{uid}/edit\">view</a>"), location, "127.0.0.1", now()),
    )
    .await
    .map_err(e)
}

/// POST /Users of a new account: the named locks, the create transaction, the cache
/// invalidation, the audit entry.
pub async fn create(conn: &mut Conn, user: &NewUser) -> Result<u32, String> {
    // src/provision/users.rs create: no search first; it runs only when the store refuses.
    let keys = get_locks(conn, &[&user.user_name, &user.mail]).await?;
    let t = now();
    let result = async {
        let mut tx = conn.start_transaction(TxOpts::default()).await.map_err(e)?;
        check_unique(&mut tx, &[("name", &user.user_name), ("mail", &user.mail)], -1).await?;
        let uuid = uuid::Uuid::new_v4().to_string();
        tx.exec_drop("INSERT INTO `users` (`uuid`, `langcode`) VALUES (?, ?)", (&uuid, "en")).await.map_err(e)?;
        let uid = tx.last_insert_id().ok_or("no insert id")? as u32;
        let params: Vec<Value> = vec![
            uid.into(),
            "en".into(),
            user.user_name.as_str().into(),
            user.mail.as_str().into(),
            1i64.into(),
            "UTC".into(),
            "en".into(),
            Value::NULL,
            Value::NULL,
            t.into(),
            t.into(),
            0i64.into(),
            0i64.into(),
            user.mail.as_str().into(),
            1i64.into(),
        ];
        tx.exec_drop(
            "INSERT INTO `users_field_data` (`uid`, `langcode`, `name`, `mail`, `status`, `timezone`, `preferred_langcode`, \
             `preferred_admin_langcode`, `pass`, `created`, `changed`, `access`, `login`, `init`, `default_langcode`) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params,
        )
        .await
        .map_err(e)?;
        for (field, value) in [("field_first_name", &user.given), ("field_last_name", &user.family)] {
            tx.exec_drop(
                format!(
                    "INSERT INTO `user__{field}` (`bundle`, `deleted`, `entity_id`, `revision_id`, `langcode`, `delta`, `{field}_value`) \
                     VALUES ('user', 0, ?, ?, ?, ?, ?)"
                ),
                (uid, uid, "en", 0u64, value.as_str()),
            )
            .await
            .map_err(e)?;
        }
        tx.exec_drop(
            "INSERT INTO `scim_user` (`uid`, `scim_id`, `external_id`, `deleted`, `created`, `changed`) VALUES (?, ?, ?, 0, ?, ?)",
            (uid, Value::NULL, user.external_id.as_str(), t, t),
        )
        .await
        .map_err(e)?;
        // src/drupal/users.rs written_record: no read-back; a new account holds no role.
        tx.commit().await.map_err(e)?;
        Ok::<(u32, bool), String>((uid, false))
    }
    .await;
    release_locks(conn, &keys).await?;
    let (uid, roles) = result?;
    invalidate(conn, uid, true).await?;
    audit(conn, uid, "Created account %name through SCIM.", &user.user_name, "drupal-scim: POST /scim/v2/Users")
        .await?;
    if roles {
        groups(conn).await?;
    }
    Ok(uid)
}

/// GET /Users?filter=<attr> eq "…": count, page, load, groups.
pub async fn lookup(conn: &mut Conn, by_external_id: bool, value: &str) -> Result<(), String> {
    let filter = if by_external_id { "s.`external_id` = ?" } else { "d.`name` = ?" };
    let uids = search(conn, filter, vec![value.into()], 100).await?;
    let Some(uid) = uids.first() else { return Err(format!("{value} not found")) };
    if values(conn, *uid).await? {
        groups(conn).await?;
    }
    Ok(())
}

/// PATCH /Users/{id} with Entra's mail + familyName replace.
pub async fn patch(conn: &mut Conn, id: &str, mail: &str, family: &str, user_name: &str) -> Result<(), String> {
    let (from, mut params) = visible();
    params.push(id.into());
    let row: Option<Row> =
        conn.exec_first(format!("SELECT {RECORD} {from} AND u.`uuid` IN (?)"), params).await.map_err(e)?;
    let uid: u32 = row.and_then(|r| r.get(0)).ok_or_else(|| format!("no account {id}"))?;
    if values(conn, uid).await? {
        groups(conn).await?;
    }
    let keys = get_locks(conn, &[mail]).await?;
    let t = now();
    let result = async {
        let mut tx = conn.start_transaction(TxOpts::default()).await.map_err(e)?;
        lock_current(&mut tx, uid).await?;
        check_unique(&mut tx, &[("mail", mail)], i64::from(uid)).await?;
        tx.exec_drop("UPDATE `users_field_data` SET `mail` = ?, `changed` = ? WHERE `uid` = ?", (mail, t, uid)).await.map_err(e)?;
        tx.exec_drop("DELETE FROM `user__field_last_name` WHERE `entity_id` = ?", (uid,)).await.map_err(e)?;
        tx.exec_drop(
            "INSERT INTO `user__field_last_name` (`bundle`, `deleted`, `entity_id`, `revision_id`, `langcode`, `delta`, `field_last_name_value`) \
             VALUES ('user', 0, ?, ?, ?, ?, ?)",
            (uid, uid, "en", 0u64, family),
        )
        .await
        .map_err(e)?;
        let roles = load(&mut tx, uid).await?;
        tx.commit().await.map_err(e)?;
        Ok::<bool, String>(roles)
    }
    .await;
    release_locks(conn, &keys).await?;
    let roles = result?;
    invalidate(conn, uid, false).await?;
    audit(conn, uid, "Updated account %name through SCIM: @changes.", user_name, "drupal-scim: PATCH /scim/v2/Users")
        .await?;
    if roles {
        groups(conn).await?;
    }
    Ok(())
}
