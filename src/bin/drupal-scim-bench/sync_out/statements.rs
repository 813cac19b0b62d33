//! What one poll of the sync loop costs the database: every statement of the loop's connections
//! from MariaDB's slow log (to a table, `long_query_time = 0`, so every statement is in it, with
//! its time and the rows it examined), cut into passes, and EXPLAIN of the incremental poll.

use crate::db::{self, e};
use mysql_async::Conn;
use mysql_async::prelude::*;
use std::time::Instant;

/// One statement the loop ran.
#[derive(Debug, Clone)]
pub struct Statement {
    pub micros: u64,
    pub rows_examined: u64,
    pub rows_sent: u64,
    pub text: String,
}

/// The statements of one pass, in order.
#[derive(Debug, Clone, Default)]
pub struct Pass {
    pub statements: Vec<Statement>,
}

impl Pass {
    /// MariaDB's time for the whole pass, µs.
    pub fn micros(&self) -> u64 {
        self.statements.iter().map(|s| s.micros).sum()
    }

    pub fn rows_examined(&self) -> u64 {
        self.statements.iter().map(|s| s.rows_examined).sum()
    }

    /// The incremental poll: the account ids changed since the last pass.
    pub fn poll(&self) -> Option<&Statement> {
        self.statements.iter().find(|s| s.text.starts_with("SELECT d.`uid`") && s.text.contains(">= "))
    }

    /// The look-up of accounts gone from Drupal or the scope (src/sync/scope.rs `orphans`: a
    /// DELETE and a SELECT over the state table, alias `st`): MariaDB's time (µs) and rows examined.
    pub fn orphans(&self) -> (u64, u64) {
        self.statements
            .iter()
            .filter(|s| s.text.contains("scim_sync` st "))
            .fold((0, 0), |(t, r), s| (t + s.micros, r + s.rows_examined))
    }
}

/// Log every statement of connections opened from now on (the loop's), to `mysql.slow_log`.
/// Connections already open keep their `long_query_time` and are not logged.
pub async fn start_capture(conn: &mut Conn) -> Result<(), String> {
    for sql in [
        "SET GLOBAL log_output = 'TABLE'",
        "SET GLOBAL slow_query_log = 0",
        "TRUNCATE TABLE mysql.slow_log",
        "SET GLOBAL long_query_time = 0",
        "SET GLOBAL slow_query_log = 1",
    ] {
        conn.query_drop(sql).await.map_err(e)?;
    }
    Ok(())
}

/// Stop logging (and put `long_query_time` back to its default for later connections).
pub async fn stop_capture(conn: &mut Conn) -> Result<(), String> {
    conn.query_drop("SET GLOBAL slow_query_log = 0").await.map_err(e)?;
    conn.query_drop("SET GLOBAL long_query_time = 10").await.map_err(e)
}

/// The database's clock, to the microsecond, as the slow log writes it.
pub async fn db_now(conn: &mut Conn) -> Result<String, String> {
    let now: Option<String> = conn.query_first("SELECT CAST(NOW(6) AS CHAR)").await.map_err(e)?;
    now.ok_or_else(|| "NOW(6): no row".into())
}

/// The passes on database `db` that began between `from` and `to` (values of [`db_now`]). A
/// pass begins with the loop's `SELECT UNIX_TIMESTAMP()`.
pub async fn passes(conn: &mut Conn, db: &str, from: &str, to: &str) -> Result<Vec<Pass>, String> {
    let rows: Vec<(u64, u64, u64, Vec<u8>)> = conn
        .exec(
            "SELECT CAST(TIME_TO_SEC(query_time) * 1000000 AS UNSIGNED), rows_examined, rows_sent, sql_text \
             FROM mysql.slow_log WHERE db = ? AND start_time >= ? AND start_time < ? ORDER BY start_time",
            (db, from, to),
        )
        .await
        .map_err(e)?;
    let mut passes: Vec<Pass> = Vec::new();
    for (micros, rows_examined, rows_sent, text) in rows {
        let text = String::from_utf8_lossy(&text).trim().to_string();
        if text.eq_ignore_ascii_case("SELECT UNIX_TIMESTAMP()") {
            passes.push(Pass::default());
        }
        // Statements before the first pass's start belong to the pass before the window.
        if let Some(pass) = passes.last_mut() {
            pass.statements.push(Statement { micros, rows_examined, rows_sent, text });
        }
    }
    Ok(passes)
}

/// The incremental poll run again from here `times` times: its median wall time (ms), and
/// EXPLAIN as a markdown table.
pub async fn rerun_poll(conn: &mut Conn, sql: &str, times: usize) -> Result<(f64, String), String> {
    let mut ms = Vec::with_capacity(times);
    for _ in 0..times {
        let t = Instant::now();
        let _: Vec<mysql_async::Row> = conn.query(sql).await.map_err(e)?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    let median = ms.get(ms.len() / 2).copied().unwrap_or(0.0);
    Ok((median, db::explain(conn, sql).await?))
}
