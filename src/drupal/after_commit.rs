//! Work that follows a COMMIT and must not be cut short: Drupal's caches must learn of every
//! committed write, or a blocked account keeps loading as active from `values:user:N`. The work
//! runs in a task of its own, so neither a client that hangs up nor the request deadline can
//! stop it half-way; the request waits for it as long as it is allowed to. A failing statement
//! is tried again a few times on a fresh connection; a final failure is logged and counted
//! (`drupal_scim_post_commit_failures_total`). On a site whose caches are in Redis the same
//! plan then goes to Redis ([`crate::drupal::redis_cache`]), which keeps what it cannot deliver.

use crate::drupal::cache::Invalidation;
use crate::drupal::db::Db;
use crate::drupal::db::Pooled;
use crate::drupal::tables::Tables;
use std::future::Future;
use std::time::Duration;

/// How many times the work is tried.
const ATTEMPTS: u32 = 3;

/// Run `work` in a task of its own (still known as the current request, for the logs) and wait
/// for it: waiting on the handle is cancel-safe, so if the caller is dropped (a client hangs up,
/// a deadline passes), the task goes on to the end.
pub async fn detached<W: Future<Output = ()> + Send + 'static>(what: &str, work: W) {
    let request = crate::telemetry::request().unwrap_or_default();
    if let Err(e) = tokio::spawn(crate::telemetry::REQUEST.scope(request, work)).await {
        crate::telemetry::METRICS.post_commit_failed();
        log::error!("{what} stopped: {e}");
    }
}

/// Run `attempt` until it succeeds, [`ATTEMPTS`] times at most (100 ms, then 200 ms apart); a
/// final failure is logged with `what` and counted (`drupal_scim_post_commit_failures_total`).
pub async fn retried<F, Fut>(what: &str, mut attempt: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let request = crate::telemetry::request_id();
    for n in 0..ATTEMPTS {
        match attempt().await {
            Ok(()) => return,
            Err(e) if n + 1 < ATTEMPTS => {
                log::warn!("request {request}: {what} failed (attempt {}), trying again: {e}", n + 1);
                tokio::time::sleep(Duration::from_millis(100 << n)).await;
            }
            Err(e) => {
                crate::telemetry::METRICS.post_commit_failed();
                log::error!("request {request}: {what} failed {ATTEMPTS} times; the data write stands: {e}");
            }
        }
    }
}

/// Invalidate Drupal's caches as `plan` says, to the end. `conn` (the request's connection,
/// if it can be handed over) serves the first attempt; later ones take one from the pool.
pub async fn invalidate(db: &Db, tables: &Tables, conn: Option<Pooled>, plan: Invalidation) {
    if plan.is_empty() || !db.writes() {
        return;
    }
    let db = db.clone();
    let tables = tables.clone();
    detached("cache invalidation", async move {
        let mut first = conn;
        let what = format!(
            "cache invalidation (Drupal may show stale data until its caches are cleared, drush cr; plan: {plan:?})"
        );
        retried(&what, || {
            let (db, tables, plan, conn) = (db.clone(), tables.clone(), plan.clone(), first.take());
            async move {
                let mut conn = match conn {
                    Some(c) => c,
                    None => db.conn().await.map_err(|e| e.to_string())?,
                };
                plan.apply(&mut conn, &tables).await.map_err(|e| e.to_string())
            }
        })
        .await;
        if let Some(redis) = db.cache().redis() {
            redis.apply(plan).await;
        }
    })
    .await;
}
