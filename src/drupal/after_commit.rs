//! Work that follows a COMMIT and must not be cut short: Drupal's caches must learn of every
//! committed write, or a blocked account keeps loading as active from `values:user:N`. The work
//! runs in a task of its own, so neither a client that hangs up nor the request deadline can
//! stop it half-way; the request waits for it as long as it is allowed to. A failing statement
//! is tried again a few times on a fresh connection; a final failure is logged and counted
//! (`drupal_scim_post_commit_failures_total`). On a site whose caches are in Redis the same
//! plan then goes to Redis ([`crate::drupal::redis_cache`]), which keeps what it cannot deliver.

use crate::drupal::cache::Invalidation;
use crate::drupal::db::Db;
use crate::drupal::tables::Tables;
use mysql_async::Conn;
use std::time::Duration;

/// How many times the work is tried.
const ATTEMPTS: u32 = 3;

/// Invalidate Drupal's caches as `plan` says, to the end. `conn` (the request's connection,
/// if it can be handed over) serves the first attempt; later ones take one from the pool.
pub async fn invalidate(db: &Db, tables: &Tables, conn: Option<Conn>, plan: Invalidation) {
    if plan.is_empty() || !db.writes() {
        return;
    }
    let db = db.clone();
    let tables = tables.clone();
    let request = crate::telemetry::request_id();
    let task = tokio::spawn(async move {
        apply_in_database(&db, &tables, conn, &plan, &request).await;
        if let Some(redis) = db.cache().redis() {
            redis.apply(plan).await;
        }
    });
    // Waiting on the handle is cancel-safe: if this request is dropped, the task goes on.
    if let Err(e) = task.await {
        crate::telemetry::METRICS.post_commit_failed();
        log::error!("cache invalidation task stopped: {e}");
    }
}

/// The plan in Drupal's own tables, tried [`ATTEMPTS`] times.
async fn apply_in_database(db: &Db, tables: &Tables, conn: Option<Conn>, plan: &Invalidation, request: &str) {
    let mut conn = conn;
    for attempt in 0..ATTEMPTS {
        let result = match conn.take() {
            Some(mut c) => plan.apply(&mut c, tables).await.map_err(|e| e.to_string()),
            None => match db.conn().await {
                Ok(mut c) => plan.apply(&mut c, tables).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            },
        };
        match result {
            Ok(()) => return,
            Err(e) if attempt + 1 < ATTEMPTS => {
                log::warn!("request {request}: cache invalidation failed (attempt {}), trying again: {e}", attempt + 1);
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            Err(e) => {
                crate::telemetry::METRICS.post_commit_failed();
                log::error!(
                    "request {request}: cache invalidation failed {ATTEMPTS} times; the data write stands, but Drupal may show stale data until its caches are cleared (drush cr): {e} — plan: {plan:?}"
                );
            }
        }
    }
}
