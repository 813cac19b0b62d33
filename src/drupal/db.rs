//! The connection pool to Drupal's database: every connection speaks utf8mb4, refuses to truncate
//! silently (strict mode), and reads committed data, as Drupal's own connection does.

use crate::drupal::error::StoreError;
use mysql_async::{Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, Transaction};
use std::time::Duration;

/// How many times a transaction that hit a deadlock or lock wait timeout is tried.
pub const ATTEMPTS: u32 = 4;

/// After attempt `attempt` (from 0) of a transaction ended in `result`: true when it is worth
/// another attempt (a deadlock or lock wait timeout, and attempts left), after a short wait that
/// grows with the attempt, with jitter. The last attempt's failure is returned as it is: no
/// retry is counted and nobody waits for nothing.
pub async fn retry<T>(result: &Result<T, StoreError>, attempt: u32) -> bool {
    let retry = matches!(result, Err(e) if e.is_retryable()) && attempt + 1 < ATTEMPTS;
    if retry {
        crate::telemetry::METRICS.retried();
        let base = 10u64 << attempt.min(6);
        let jitter = rand::random::<u64>() % base.max(1);
        tokio::time::sleep(Duration::from_millis(base + jitter)).await;
    }
    retry
}

/// How long an idle connection is kept in the pool (then closed down to none).
const IDLE_TTL: Duration = Duration::from_secs(60);

/// Prepared statements kept per connection (mysql_async's default is 10).
const STMT_CACHE: usize = 64;

/// Connections to Drupal's database, and the time a request may wait for one.
///
/// One pool per thread that asks (each actix worker runs a single-threaded runtime): a
/// connection's socket is registered with the reactor of the thread that opened it, so a
/// connection opened by one worker and used by another is woken through the first worker's
/// thread — late whenever that thread is busy. `pool_max` bounds the connections in use at once
/// across the threads; each thread's idle ones close after a minute.
#[derive(Clone)]
pub struct Db {
    pools: std::sync::Arc<Pools>,
    timeout: Duration,
    /// Dry run: every transaction is rolled back instead of committed, no cache is touched.
    dry_run: bool,
    /// Where committed writes invalidate Drupal's caches besides these tables (Redis).
    cache: crate::drupal::cache_backend::CacheBackend,
    /// Connections in use at once across every site of a multisite server (None: this pool's
    /// own limit only).
    shared_limit: Option<std::sync::Arc<tokio::sync::Semaphore>>,
}

/// The pools of one database, by thread.
struct Pools {
    opts: Opts,
    by_thread: std::sync::Mutex<Vec<(std::thread::ThreadId, Pool)>>,
    /// `pool_max`: connections in use at once, all threads together.
    in_use: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Pools {
    /// This thread's pool (made at its first request).
    fn here(&self) -> Pool {
        let id = std::thread::current().id();
        let mut pools = match self.by_thread.lock() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((_, pool)) = pools.iter().find(|(t, _)| *t == id) {
            return pool.clone();
        }
        let pool = Pool::new(self.opts.clone());
        pools.push((id, pool.clone()));
        pool
    }

    fn all(&self) -> Vec<Pool> {
        match self.by_thread.lock() {
            Ok(p) => p.iter().map(|(_, pool)| pool.clone()).collect(),
            Err(poisoned) => poisoned.into_inner().iter().map(|(_, pool)| pool.clone()).collect(),
        }
    }
}

/// A connection from the pool, holding its place under `pool_max` and its share of the limit
/// every site shares (if any) until it goes back.
pub struct Pooled {
    conn: Conn,
    _place: tokio::sync::OwnedSemaphorePermit,
    _share: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// The pool gauges /metrics shows, all threads' pools together.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolGauges {
    pub in_use: usize,
    pub idle: usize,
    pub waiters: usize,
}

impl std::ops::Deref for Pooled {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

impl Db {
    /// Build the pool (connections are opened lazily).
    pub fn new(url: &str, pool_max: usize, timeout: Duration) -> Result<Db, StoreError> {
        let opts = Opts::from_url(url).map_err(|e| StoreError::Unavailable(format!("bad database URL: {e}")))?;
        let constraints =
            PoolConstraints::new(0, pool_max.max(1)).ok_or_else(|| StoreError::Unavailable("bad pool size".into()))?;
        let wait = timeout.as_secs().max(1);
        let pool_opts = PoolOpts::default()
            .with_constraints(constraints)
            // Keep returned connections (up to pool_max) for a minute of idleness. Without a TTL,
            // mysql_async keeps only `min` = 0 idle connections: every request opened fresh ones
            // (TCP connect, the set-up queries, ~10 round trips each) — more work than the request.
            .with_inactive_connection_ttl(IDLE_TTL)
            // No COM_RESET_CONNECTION when a connection comes back: it would drop the session
            // settings and every prepared statement. Connections that hold named locks opt in to
            // the reset (locks.rs), which releases the locks if a request is cancelled first.
            .with_reset_connection(false);
        let builder = OptsBuilder::from_opts(opts)
            .pool_opts(pool_opts)
            // `setup`, not `init`: these run again after a reset, so a reset connection keeps them.
            .setup(vec![
                "SET NAMES utf8mb4".to_string(),
                // Strict mode makes an over-long value an error instead of a silent truncation.
                "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'".to_string(),
                "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED".to_string(),
                // A row lock held by Drupal (InnoDB's default wait: 50 s) or a schema change in
                // progress (metadata locks: a day) is waited for as long as the database may
                // take, then the statement fails (1205) and the transaction is retried.
                format!("SET SESSION innodb_lock_wait_timeout = {wait}, lock_wait_timeout = {wait}"),
            ])
            // Every statement of a create or PATCH (about 20 distinct ones) stays prepared.
            .stmt_cache_size(STMT_CACHE)
            .wait_timeout(Some(28800));
        let pools = Pools {
            opts: builder.into(),
            by_thread: std::sync::Mutex::new(Vec::new()),
            in_use: std::sync::Arc::new(tokio::sync::Semaphore::new(pool_max.max(1))),
        };
        Ok(Db {
            pools: std::sync::Arc::new(pools),
            timeout,
            dry_run: false,
            cache: Default::default(),
            shared_limit: None,
        })
    }

    /// The same pool, counted against a limit shared with other sites' pools.
    pub fn sharing(mut self, limit: Option<std::sync::Arc<tokio::sync::Semaphore>>) -> Db {
        self.shared_limit = limit;
        self
    }

    /// A connection, or `Unavailable` when none can be had within the timeout: a place under
    /// this database's `pool_max` and a connection from this thread's pool first, then a share
    /// of the limit every site shares. In that order, a site whose requests queue for its own
    /// connections holds no share while it waits: its queue cannot starve the others.
    pub async fn conn(&self) -> Result<Pooled, StoreError> {
        let get = async {
            let unavailable = |e: &dyn std::fmt::Display| StoreError::Unavailable(e.to_string());
            let place = self.pools.in_use.clone().acquire_owned().await.map_err(|e| unavailable(&e))?;
            let conn = self.pools.here().get_conn().await.map_err(|e| unavailable(&e))?;
            let share = match &self.shared_limit {
                Some(limit) => {
                    Some(limit.clone().acquire_owned().await.map_err(|e| StoreError::Unavailable(e.to_string()))?)
                }
                None => None,
            };
            Ok(Pooled { conn, _place: place, _share: share })
        };
        match tokio::time::timeout(self.timeout, get).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Unavailable("timed out waiting for a database connection".into())),
        }
    }

    /// The same pool in dry-run mode (validate and run every statement, then roll back).
    pub fn dry_run(mut self, on: bool) -> Db {
        self.dry_run = on;
        self
    }

    /// The same pool, with the site's cache backend.
    pub fn with_cache(mut self, cache: crate::drupal::cache_backend::CacheBackend) -> Db {
        self.cache = cache;
        self
    }

    /// The site's cache backend.
    pub fn cache(&self) -> &crate::drupal::cache_backend::CacheBackend {
        &self.cache
    }

    /// Whether writes really happen (false in dry-run mode).
    pub fn writes(&self) -> bool {
        !self.dry_run
    }

    /// End a write transaction: commit it, or roll it back in dry-run mode.
    pub async fn finish(&self, tx: Transaction<'_>) -> Result<(), StoreError> {
        if self.dry_run {
            tx.rollback().await?;
            log::info!("[dry-run] rolled back a write transaction (request {})", crate::telemetry::request_id());
        } else {
            crate::telemetry::committing();
            tx.commit().await?;
            crate::telemetry::METRICS.committed();
        }
        Ok(())
    }

    /// The pools' gauges, for /metrics.
    pub fn pool_metrics(&self) -> PoolGauges {
        use std::sync::atomic::Ordering::Relaxed;
        self.pools.all().iter().map(Pool::metrics).fold(PoolGauges::default(), |g, m| PoolGauges {
            in_use: g.in_use + m.connections_in_use.load(Relaxed),
            idle: g.idle + m.connections_in_pool.load(Relaxed),
            waiters: g.waiters + m.active_wait_requests.load(Relaxed),
        })
    }

    /// The configured wait for the database.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Close every connection (graceful shutdown).
    pub async fn close(self) {
        for pool in self.pools.all() {
            let _ = pool.disconnect().await;
        }
    }
}

/// Evaluate a transaction expression, again while [`retry`] says it is worth it.
macro_rules! retrying {
    ($attempt:expr) => {{
        let mut attempt = 0;
        loop {
            let result = $attempt;
            if !$crate::drupal::db::retry(&result, attempt).await {
                break result;
            }
            attempt += 1;
        }
    }};
}
pub(crate) use retrying;
