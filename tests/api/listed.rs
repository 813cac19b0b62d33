//! A statement whose placeholders grow with a list (a page of accounts, a chunk of a group's
//! members, a write's cache tags) is prepared for its one run and closed, so it neither stays in
//! the connection's statement cache nor pushes the request path's small statements out of it
//! (src/drupal/listed.rs). Read from the server's own per-session counters.

use crate::helpers::*;
use drupal_scim::drupal::listed;
use mysql_async::prelude::*;
use mysql_async::{Conn, Row, Value};

/// A session counter of `conn` (`Com_stmt_prepare`, `Com_stmt_close`).
async fn counter(conn: &mut Conn, name: &str) -> u64 {
    let row: Option<(String, String)> =
        conn.exec_first("SHOW SESSION STATUS WHERE Variable_name = ?", (name,)).await.unwrap();
    row.unwrap_or_else(|| panic!("no {name}")).1.parse().unwrap()
}

async fn counters(conn: &mut Conn) -> (u64, u64) {
    (counter(conn, "Com_stmt_prepare").await, counter(conn, "Com_stmt_close").await)
}

/// The statements prepared and closed on `conn` since `last`, which moves to now.
async fn since(conn: &mut Conn, last: &mut (u64, u64)) -> (u64, u64) {
    let now = counters(conn).await;
    let changed = (now.0 - last.0, now.1 - last.1);
    *last = now;
    changed
}

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The one integer a statement returned.
fn only(rows: Vec<Row>) -> i64 {
    assert_eq!(rows.len(), 1, "one row");
    let mut row = rows.into_iter().next().unwrap();
    row.take::<i64, _>(0).unwrap()
}

#[tokio::test]
async fn list_sized_statements_are_closed_after_their_run_and_small_ones_stay_prepared() {
    let pool = mysql_async::Pool::new(format!("{}/", test_server_url()).as_str());
    let mut conn = pool.get_conn().await.unwrap();
    let long = listed::CACHED + 24;

    // A statement past the limit: prepared at each run and closed after it, answering as usual.
    let sql = format!("SELECT ? IN ({})", marks(long - 1));
    let params: Vec<Value> = std::iter::once(Value::from(7)).chain((1..long as i64).map(Value::from)).collect();
    let mut last = counters(&mut conn).await;
    for _ in 0..2 {
        assert_eq!(only(listed::rows(&mut conn, sql.clone(), params.clone()).await.unwrap()), 1);
    }
    assert_eq!(since(&mut conn, &mut last).await, (2, 2), "prepared and closed at each of two runs");

    // A write past the limit: the same.
    let write = format!("DO {}", marks(long));
    listed::run(&mut conn, write, (0..long as i64).map(Value::from).collect()).await.unwrap();
    assert_eq!(since(&mut conn, &mut last).await, (1, 1), "a list-sized write is closed too");

    // Up to the limit the statement stays in the cache: prepared once for two runs, never closed.
    let small = format!("SELECT ? IN ({})", marks(listed::CACHED - 1));
    let params: Vec<Value> =
        std::iter::once(Value::from(1)).chain((1..listed::CACHED as i64).map(Value::from)).collect();
    for _ in 0..2 {
        assert_eq!(only(listed::rows(&mut conn, small.clone(), params.clone()).await.unwrap()), 1);
    }
    assert_eq!(since(&mut conn, &mut last).await, (1, 0), "a small statement is prepared once and kept");

    // A list-sized statement that prepares but fails when it runs (a scalar subquery that
    // returns two rows: error 1242) is closed all the same, and its error comes back.
    let bad = format!("SELECT (SELECT ? UNION SELECT ?) IN ({})", marks(long));
    let err = listed::rows(&mut conn, bad, (0..long as i64 + 2).map(Value::from).collect()).await.unwrap_err();
    assert!(matches!(&err, mysql_async::Error::Server(e) if e.code == 1242), "{err}");
    assert_eq!(since(&mut conn, &mut last).await, (1, 1), "prepared, failed, closed");
    drop(conn);
    pool.disconnect().await.unwrap();
}
