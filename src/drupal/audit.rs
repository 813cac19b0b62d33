//! The audit trail: every provisioning change goes to the server log with the request id, and —
//! when dblog is enabled (a `watchdog` table exists) — to Drupal's own log, so it shows under
//! Reports → Recent log messages with type `drupal_scim`.

use crate::drupal::after_commit;
use crate::drupal::db::Db;
use crate::drupal::php_serialize::{PhpValue, serialize};
use crate::drupal::tables::Tables;
use crate::telemetry;
use mysql_async::prelude::*;

/// Drupal's RfcLogLevel values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Warning = 4,
    Notice = 5,
    Info = 6,
}

/// One audit entry: a message with Drupal placeholders (`%name`, `@count`) and their values.
#[derive(Debug, Clone)]
pub struct Entry {
    pub severity: Severity,
    pub message: &'static str,
    pub variables: Vec<(&'static str, String)>,
    /// The account the entry is about (0 when none).
    pub uid: u32,
    /// A Drupal path to link to, e.g. `/user/7/edit`.
    pub link: Option<String>,
}

impl Entry {
    /// The message with its placeholders filled in, for the server log.
    pub fn text(&self) -> String {
        let mut text = self.message.to_string();
        for (key, value) in &self.variables {
            text = text.replace(key, value);
        }
        text
    }
}

/// Where audit entries go.
#[derive(Clone)]
pub struct Audit {
    db: Db,
    tables: Tables,
    watchdog: bool,
}

impl Audit {
    /// `watchdog`: write entries to Drupal's log table too.
    pub fn new(db: Db, tables: Tables, watchdog: bool) -> Audit {
        Audit { db, tables, watchdog }
    }

    /// Record an entry after a committed change. Failures are logged, never returned.
    pub async fn record(&self, entry: Entry) {
        let request = telemetry::request().unwrap_or_default();
        let prefix = if self.db.writes() { "" } else { "[dry-run] would have: " };
        let site = if request.site.is_empty() { String::new() } else { format!(" site={}", request.site) };
        log::info!(
            "audit id={}{site}: {prefix}{}",
            if request.id.is_empty() { "-" } else { &request.id },
            entry.text()
        );
        let location = format!("drupal-scim: {} {}", request.method, request.path);
        self.in_drupal_log(entry, location, &request.peer).await;
    }

    /// Write an entry to Drupal's log only (when dblog is on): for work that logs its own lines,
    /// such as sync out. `location` is what Drupal shows as the entry's location; `peer` its
    /// hostname.
    pub async fn in_drupal_log(&self, entry: Entry, location: String, peer: &str) {
        if !self.watchdog || !self.db.writes() {
            return;
        }
        let variables = PhpValue::assoc(entry.variables.iter().map(|(k, v)| (*k, PhpValue::str(v))));
        let link = entry.link.as_ref().map(|l| format!("<a href=\"{l}\">view</a>"));
        let hostname: String = peer.chars().filter(char::is_ascii).take(128).collect();
        let sql = format!(
            "INSERT INTO {} (`uid`, `type`, `message`, `variables`, `severity`, `link`, `location`, `referer`, `hostname`, `timestamp`) \
             VALUES (?, 'drupal_scim', ?, ?, ?, ?, ?, '', ?, ?)",
            self.tables.t("watchdog")
        );
        let params = (
            entry.uid,
            entry.message,
            serialize(&variables),
            entry.severity as u8,
            link,
            location,
            hostname,
            time::OffsetDateTime::now_utc().unix_timestamp(),
        );
        // After the commit, to the end: in a task of its own (a client hanging up or the
        // request deadline cannot drop it), tried a few times, a final failure counted.
        let db = self.db.clone();
        after_commit::detached("the audit entry", async move {
            after_commit::retried("writing the audit entry to Drupal's watchdog table", || {
                let (db, sql, params) = (db.clone(), sql.clone(), params.clone());
                async move {
                    let mut conn = db.conn().await.map_err(|e| e.to_string())?;
                    conn.exec_drop(sql, params).await.map_err(|e| e.to_string())
                }
            })
            .await;
        })
        .await;
    }
}

/// Remembers which accounts an entry was already written for, so that a condition seen on every
/// request (an account that went out of SCIM's reach) is logged once per run, not every time.
#[derive(Clone, Default)]
pub struct OnceEach(std::sync::Arc<std::sync::Mutex<std::collections::HashSet<u32>>>);

impl OnceEach {
    /// True the first time `uid` is seen.
    pub fn first_time(&self, uid: u32) -> bool {
        match self.0.lock() {
            Ok(mut seen) => seen.insert(uid),
            // A poisoned set: say it again rather than never.
            Err(_) => true,
        }
    }
}
