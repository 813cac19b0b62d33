//! What the server knows about its own work: request counters and latencies, transaction
//! retries, the last successful write, the current request's id — and their Prometheus text.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_secs: f64,
}

/// Process-wide counters (one server per process in production; tests read deltas).
#[derive(Default)]
pub struct Metrics {
    /// By (site, method, route); the site is empty on a single-site server.
    routes: Mutex<BTreeMap<(String, String, String), RouteStats>>,
    /// Retries, post-commit failures and the last write, by the site of the request that
    /// counted them (empty on a single-site server).
    writes: Mutex<BTreeMap<String, WriteStats>>,
    cache_pending: AtomicI64,
    cache_failures: AtomicU64,
    /// Sync out, by site (empty name on a single-site server).
    sync: Mutex<BTreeMap<String, SyncStats>>,
}

/// One site's write counters.
#[derive(Default, Clone, Copy)]
struct WriteStats {
    retries: u64,
    post_commit_failures: u64,
    last_write: i64,
}

/// A write series: name, type, help text, and how to read it.
type WriteSeries = (&'static str, &'static str, &'static str, fn(&WriteStats) -> i64);

/// A sync series: name, type, help text, and how to read it.
type SyncSeries = (&'static str, &'static str, &'static str, fn(&SyncStats) -> u64);

/// One site's sync out.
#[derive(Default)]
struct SyncStats {
    pushed: u64,
    failed: u64,
    parked: u64,
    lag_secs: u64,
}

/// The counters.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::default);

/// The request being served, as the audit trail and the logs describe it.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    pub id: String,
    /// The client's address.
    pub peer: String,
    pub method: String,
    pub path: String,
    /// The site served (empty on a single-site server).
    pub site: String,
}

tokio::task_local! {
    /// The request being served (set by the HTTP layer).
    pub static REQUEST: RequestInfo;
    /// Set once the request's work sends a COMMIT: from then on its work runs to the end,
    /// whatever the request deadline (the HTTP layer reads it).
    pub static COMMITTING: std::sync::Arc<std::sync::atomic::AtomicBool>;
}

/// Note that the current request's work is committing a write.
pub fn committing() {
    let _ = COMMITTING.try_with(|flag| flag.store(true, Ordering::SeqCst));
}

/// The write series, in the order /metrics shows them.
const WRITE_SERIES: [WriteSeries; 3] = [
    (
        "drupal_scim_transaction_retries_total",
        "counter",
        "Transactions retried after a deadlock or lock wait timeout.",
        |w| w.retries as i64,
    ),
    (
        "drupal_scim_post_commit_failures_total",
        "counter",
        "Cache invalidations or audit entries that failed after their write committed (retried first).",
        |w| w.post_commit_failures as i64,
    ),
    (
        "drupal_scim_last_successful_write_timestamp_seconds",
        "gauge",
        "Unix time of the last committed write (0: none yet).",
        |w| w.last_write,
    ),
];

/// One metric (name, type, help) with a line per site: `name{site="…"} value`, and no label on a
/// single-site server.
fn per_site<'a, T: 'a>(
    out: &mut String,
    (name, kind, help): (&str, &str, &str),
    rows: impl IntoIterator<Item = (&'a String, &'a T)>,
    value: impl Fn(&T) -> String,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (site, row) in rows {
        let labels = if site.is_empty() { String::new() } else { format!("{{site=\"{site}\"}}") };
        let _ = writeln!(out, "{name}{labels} {}", value(row));
    }
}

/// A pool gauge: its name, its help text, and how to read it.
type PoolGauge = (&'static str, &'static str, fn(&crate::drupal::db::PoolGauges) -> usize);

/// `site="name",` for a site of a multisite server, nothing on a single-site one.
fn site_label(site: &str) -> String {
    if site.is_empty() { String::new() } else { format!("site=\"{site}\",") }
}

/// The current request's id, or `-` outside a request.
pub fn request_id() -> String {
    REQUEST.try_with(|r| r.id.clone()).unwrap_or_else(|_| "-".into())
}

/// The current request, if any.
pub fn request() -> Option<RequestInfo> {
    REQUEST.try_with(Clone::clone).ok()
}

impl Metrics {
    /// Count one answered request.
    pub fn observe(&self, site: &str, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Ok(mut routes) = self.routes.lock() {
            let stats = routes.entry((site.to_string(), method.to_string(), route.to_string())).or_default();
            *stats.by_status.entry(status).or_default() += 1;
            stats.count += 1;
            stats.sum_secs += secs;
            for (i, bound) in BUCKETS.iter().enumerate() {
                if secs <= *bound
                    && let Some(b) = stats.buckets.get_mut(i)
                {
                    *b += 1;
                }
            }
        }
    }

    /// A transaction was retried after a deadlock or lock wait timeout.
    pub fn retried(&self) {
        self.count_write(|w| w.retries += 1);
    }

    /// Work after a commit (cache invalidation, the audit entry) failed for good.
    pub fn post_commit_failed(&self) {
        self.count_write(|w| w.post_commit_failures += 1);
    }

    /// Invalidations waiting for the cache backend (Redis) to come back: `delta` more or fewer.
    pub fn cache_pending(&self, delta: i64) {
        self.cache_pending.fetch_add(delta, Ordering::Relaxed);
    }

    /// An invalidation the cache backend refused after its retries (it is kept and replayed).
    pub fn cache_failed(&self) {
        self.cache_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// A push the target confirmed (`ok`) or not.
    pub fn sync_outcome(&self, site: &str, ok: bool) {
        if let Ok(mut sync) = self.sync.lock() {
            let stats = sync.entry(site.to_string()).or_default();
            if ok { stats.pushed += 1 } else { stats.failed += 1 }
        }
    }

    /// After a pass: accounts parked, and seconds since the oldest unconfirmed change.
    pub fn sync_backlog(&self, site: &str, parked: usize, lag_secs: i64) {
        if let Ok(mut sync) = self.sync.lock() {
            let stats = sync.entry(site.to_string()).or_default();
            stats.parked = parked as u64;
            stats.lag_secs = u64::try_from(lag_secs).unwrap_or(0);
        }
    }

    /// A write transaction committed.
    pub fn committed(&self) {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.count_write(|w| w.last_write = now);
    }

    /// Transaction retries so far.
    pub fn retries(&self) -> u64 {
        match self.writes.lock() {
            Ok(w) => w.values().map(|s| s.retries).sum(),
            Err(poisoned) => poisoned.into_inner().values().map(|s| s.retries).sum(),
        }
    }

    /// Prometheus text exposition format.
    /// `pools`: each site's name (empty on a single-site server) and its pool's gauges.
    pub fn render(&self, pools: &[(String, crate::drupal::db::PoolGauges)]) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP drupal_scim_requests_total SCIM requests answered, by method, route and status.");
        let _ = writeln!(out, "# TYPE drupal_scim_requests_total counter");
        let routes = match self.routes.lock() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        };
        for ((site, method, route), stats) in routes.iter() {
            let site = site_label(site);
            for (status, n) in &stats.by_status {
                let _ = writeln!(
                    out,
                    "drupal_scim_requests_total{{{site}method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        let _ = writeln!(out, "# HELP drupal_scim_request_duration_seconds Time to answer a request.");
        let _ = writeln!(out, "# TYPE drupal_scim_request_duration_seconds histogram");
        for ((site, method, route), stats) in routes.iter() {
            let labels = format!("{}method=\"{method}\",route=\"{route}\"", site_label(site));
            for (bound, n) in BUCKETS.iter().zip(stats.buckets.iter()) {
                let _ = writeln!(out, "drupal_scim_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}");
            }
            let _ =
                writeln!(out, "drupal_scim_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", stats.count);
            let _ = writeln!(out, "drupal_scim_request_duration_seconds_sum{{{labels}}} {}", stats.sum_secs);
            let _ = writeln!(out, "drupal_scim_request_duration_seconds_count{{{labels}}} {}", stats.count);
        }
        drop(routes);
        let gauge = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        };
        let pool_gauges: [PoolGauge; 3] = [
            ("drupal_scim_db_connections_in_use", "Database connections held by requests.", |p| p.in_use),
            ("drupal_scim_db_connections_idle", "Open database connections waiting in the pool.", |p| p.idle),
            ("drupal_scim_db_connection_waiters", "Requests waiting for a database connection.", |p| p.waiters),
        ];
        for (name, help, read) in pool_gauges {
            per_site(&mut out, (name, "gauge", help), pools.iter().map(|(s, p)| (s, p)), |p| read(p).to_string());
        }
        self.render_writes(&mut out, WRITE_SERIES.get(..2).unwrap_or_default());
        gauge(
            &mut out,
            "drupal_scim_cache_pending",
            "Cache invalidations kept in memory until the cache backend (Redis) is reachable again.",
            u64::try_from(self.cache_pending.load(Ordering::Relaxed)).unwrap_or(0),
        );
        let _ = writeln!(
            out,
            "# HELP drupal_scim_cache_failures_total Cache invalidations the cache backend (Redis) refused after their retries; each is kept and replayed."
        );
        let _ = writeln!(out, "# TYPE drupal_scim_cache_failures_total counter");
        let _ = writeln!(out, "drupal_scim_cache_failures_total {}", self.cache_failures.load(Ordering::Relaxed));
        self.render_writes(&mut out, WRITE_SERIES.get(2..).unwrap_or_default());
        self.render_sync(&mut out);
        out
    }

    /// Update the current request's site's write counters.
    fn count_write(&self, update: impl FnOnce(&mut WriteStats)) {
        let site = REQUEST.try_with(|r| r.site.clone()).unwrap_or_default();
        if let Ok(mut writes) = self.writes.lock() {
            update(writes.entry(site).or_default());
        }
    }

    /// Write series, one line per site (one unlabelled line, 0, before any write).
    fn render_writes(&self, out: &mut String, series: &[WriteSeries]) {
        let writes: Vec<(String, WriteStats)> = match self.writes.lock() {
            Ok(w) => w.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            Err(poisoned) => poisoned.into_inner().iter().map(|(k, v)| (k.clone(), *v)).collect(),
        };
        let writes = if writes.is_empty() { vec![(String::new(), WriteStats::default())] } else { writes };
        for (name, kind, help, read) in series {
            per_site(out, (name, kind, help), writes.iter().map(|(s, w)| (s, w)), |w| read(w).max(0).to_string());
        }
    }

    /// Sync out's counters and gauges, once a sync loop has reported (none otherwise).
    fn render_sync(&self, out: &mut String) {
        let sync = match self.sync.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if sync.is_empty() {
            return;
        }
        let series: [SyncSeries; 4] = [
            ("drupal_scim_sync_pushed_total", "counter", "Pushes the sync target confirmed.", |s| s.pushed),
            ("drupal_scim_sync_failed_total", "counter", "Pushes that failed (each is tried again).", |s| s.failed),
            ("drupal_scim_sync_parked", "gauge", "Accounts whose pushes keep failing, retried less often.", |s| {
                s.parked
            }),
            (
                "drupal_scim_sync_lag_seconds",
                "gauge",
                "Age of the oldest change the sync target has not confirmed (after the last pass).",
                |s| s.lag_secs,
            ),
        ];
        for (name, kind, help, read) in series {
            per_site(out, (name, kind, help), sync.iter(), |s| read(s).to_string());
        }
    }
}
