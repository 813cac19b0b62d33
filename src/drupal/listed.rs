//! Statements whose placeholders grow with a list — a page of accounts, a chunk of a group's
//! members, the cache tags of a write that touched many accounts — are prepared, run once and
//! closed, instead of kept in the connection's statement cache.
//!
//! A prepared statement keeps one column definition per placeholder for as long as it is cached.
//! Every distinct list length is another statement, and every connection of every worker's pool
//! caches its own copies: the 1,000-member group PATCHes of the benchmark left about 5.5 MiB of
//! definitions of 500-placeholder statements in the caches (heaptrack), and each big statement
//! pushed one of the request path's small, hot statements out of the LRU. A statement that names
//! at most [`CACHED`] values keeps the cache: the same shapes come back on every request (one
//! account's read binds one value per mapped field table and the roles; a group PATCH from Entra
//! names a few members).

use mysql_async::prelude::*;
use mysql_async::{Row, Value};

/// Placeholders up to which a statement stays in the connection's statement cache.
pub const CACHED: usize = 64;

/// Run a statement that reads rows.
pub async fn rows<Q: Queryable>(q: &mut Q, sql: String, params: Vec<Value>) -> Result<Vec<Row>, mysql_async::Error> {
    if params.len() <= CACHED {
        return q.exec(sql, params).await;
    }
    let stmt = q.prep(sql).await?;
    let read = q.exec(&stmt, params).await;
    let closed = q.close(stmt).await;
    let rows = read?;
    closed?;
    Ok(rows)
}

/// Run a statement that writes.
pub async fn run<Q: Queryable>(q: &mut Q, sql: String, params: Vec<Value>) -> Result<(), mysql_async::Error> {
    if params.len() <= CACHED {
        return q.exec_drop(sql, params).await;
    }
    let stmt = q.prep(sql).await?;
    let done = q.exec_drop(&stmt, params).await;
    let closed = q.close(stmt).await;
    done?;
    closed
}
