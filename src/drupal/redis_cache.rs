//! Drupal's caches in Redis, laid out as the `redis` module keeps them: a cache tag's
//! invalidation counter is the integer at `<prefix>:cachetags:<tag>` (raised with INCR; an item
//! is valid while its stored checksum equals the sum of its tags' counters), and a cache item is
//! the hash at `<prefix>:<bin>:<cid>` (DEL drops it). Drupal 8+ bins are named without `cache_`
//! (`entity`, `config`); Drupal 7 bins keep their table name (`cache_field`).
//!
//! The database is the truth. A plan Redis does not take after a few quick attempts is kept in
//! memory, behind any other kept plan, and a background task replays them in order once Redis
//! answers again; the SCIM request is answered as usual meanwhile. Kept plans are lost if the
//! process stops before Redis returns (README: run `drush cr` then).

use crate::drupal::cache::Invalidation;
use crate::settings::CachePrefix;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::Notify;

/// Attempts of one plan before it is kept for the replay task.
const ATTEMPTS: u32 = 3;

/// Longest wait for Redis: to connect, and for an answer.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Longest pause of the replay task between two attempts while Redis stays away.
const REPLAY_PAUSE_MAX: Duration = Duration::from_secs(5);

/// Keys the `check` survey looks at, at most (SCAN pages of 1,000).
const SURVEY_PAGES: usize = 2_000;

/// The site's Redis, shared by every request of one site.
#[derive(Clone)]
pub struct RedisCache {
    inner: Arc<Inner>,
}

struct Inner {
    conn: ConnectionManager,
    prefix: CachePrefix,
    /// Drupal 7 names its bins after their tables (`cache_field`); 8+ without `cache_`.
    bins_named_by_table: bool,
    /// Plans Redis has not taken yet, oldest first.
    pending: Mutex<VecDeque<Invalidation>>,
    wake: Notify,
    reachable: AtomicBool,
    /// The URL without credentials, for logs and `check`.
    target: String,
}

/// What `check` finds in Redis.
#[derive(Debug, Default)]
pub struct Survey {
    /// Tag counters under the configured prefix (`<prefix>:cachetags:*`), counted up to the limit.
    pub tag_keys: usize,
    /// Prefixes under which some Drupal invalidated `user_list` (keys `<p>:cachetags:user_list`).
    pub user_list_prefixes: Vec<String>,
    /// Whether the whole key space was looked at (false: the survey stopped at its limit).
    pub complete: bool,
}

impl RedisCache {
    /// A client for `url` (nothing is connected until the first use) and its replay task.
    pub fn new(url: &str, prefix: CachePrefix, bins_named_by_table: bool) -> Result<RedisCache, String> {
        let target = redacted(url);
        let client = redis::Client::open(url).map_err(|e| format!("cache.url {target}: {e}"))?;
        // The manager reconnects by itself; one quick reconnection per call keeps a request
        // from waiting long on a Redis that is down (its plan is kept and replayed instead).
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1);
        let conn =
            ConnectionManager::new_lazy_with_config(client, config).map_err(|e| format!("cache.url {target}: {e}"))?;
        let inner = Arc::new(Inner {
            conn,
            prefix,
            bins_named_by_table,
            pending: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            reachable: AtomicBool::new(true),
            target,
        });
        tokio::spawn(replay(Arc::downgrade(&inner)));
        Ok(RedisCache { inner })
    }

    /// The URL without credentials.
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    /// The prefix of the cache tags (and of every bin without a prefix of its own).
    pub fn prefix(&self) -> &CachePrefix {
        &self.inner.prefix
    }

    /// Plans waiting for Redis.
    pub fn pending(&self) -> usize {
        lock(&self.inner.pending).len()
    }

    /// Whether the last exchange with Redis succeeded.
    pub fn reachable(&self) -> bool {
        self.inner.reachable.load(Ordering::Relaxed)
    }

    /// The key of a cache tag's invalidation counter.
    pub fn tag_key(&self, tag: &str) -> String {
        format!("{}:cachetags:{tag}", self.inner.prefix.default_prefix())
    }

    /// The key of a cache item; `bin` as the plan names it (`entity`, Drupal 7's `field`).
    pub fn item_key(&self, bin: &str, cid: &str) -> String {
        let bin = if self.inner.bins_named_by_table { format!("cache_{bin}") } else { bin.to_string() };
        format!("{}:{bin}:{cid}", self.inner.prefix.for_bin(&bin))
    }

    /// Carry `plan` out in Redis: every tag's counter up by one and every item deleted, in one
    /// MULTI/EXEC round trip. Tried a few times; then kept for the replay task.
    pub async fn apply(&self, plan: Invalidation) {
        if plan.is_empty() {
            return;
        }
        let request = crate::telemetry::request_id();
        if self.keep_if_others_wait(&plan) {
            log::warn!(
                "request {request}: Redis ({}) has {} cache invalidation(s) still to replay; this one waits behind them",
                self.inner.target,
                self.pending()
            );
            return;
        }
        for attempt in 0..ATTEMPTS {
            match self.send(&plan).await {
                Ok(()) => return,
                Err(e) if attempt + 1 < ATTEMPTS => {
                    log::warn!(
                        "request {request}: cache invalidation in Redis ({}) failed (attempt {}), trying again: {e}",
                        self.inner.target,
                        attempt + 1
                    );
                    tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                }
                Err(e) => {
                    crate::telemetry::METRICS.cache_failed();
                    self.keep(plan.clone());
                    log::error!(
                        "request {request}: cache invalidation in Redis ({}) failed {ATTEMPTS} times: {e}; the write stands and the invalidation is kept ({} waiting) until Redis answers again — if drupal-scim stops first, run `drush cr`: {plan:?}",
                        self.inner.target,
                        self.pending()
                    );
                }
            }
        }
    }

    /// One round trip: `MULTI; INCR …; DEL …; EXEC`.
    async fn send(&self, plan: &Invalidation) -> Result<(), String> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for tag in &plan.tags {
            pipe.cmd("INCR").arg(self.tag_key(tag)).ignore();
        }
        let items: Vec<String> =
            plan.cids.iter().flat_map(|(bin, cids)| cids.iter().map(|cid| self.item_key(bin, cid))).collect();
        if !items.is_empty() {
            pipe.cmd("DEL").arg(items.as_slice()).ignore();
        }
        let mut conn = self.inner.conn.clone();
        let result = match tokio::time::timeout(2 * TIMEOUT, pipe.query_async::<()>(&mut conn)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} s", (2 * TIMEOUT).as_secs())),
        };
        self.inner.reachable.store(result.is_ok(), Ordering::Relaxed);
        result
    }

    /// Keep `plan` behind the others when some already wait (so nothing overtakes them).
    fn keep_if_others_wait(&self, plan: &Invalidation) -> bool {
        let mut pending = lock(&self.inner.pending);
        if pending.is_empty() {
            return false;
        }
        pending.push_back(plan.clone());
        crate::telemetry::METRICS.cache_pending(1);
        self.inner.wake.notify_one();
        true
    }

    fn keep(&self, plan: Invalidation) {
        lock(&self.inner.pending).push_back(plan);
        crate::telemetry::METRICS.cache_pending(1);
        self.inner.wake.notify_one();
    }

    /// PING, for `/healthz` and `check`.
    pub async fn ping(&self, within: Duration) -> Result<(), String> {
        let mut conn = self.inner.conn.clone();
        let result = match tokio::time::timeout(within, redis::cmd("PING").query_async::<String>(&mut conn)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", within.as_millis())),
        };
        self.inner.reachable.store(result.is_ok(), Ordering::Relaxed);
        result
    }

    /// Look for Drupal's tag counters: under the configured prefix, and which prefixes have a
    /// `user_list` counter (what a site that invalidated its People page has). Read only.
    pub async fn survey(&self) -> Result<Survey, String> {
        let mine = format!("{}:cachetags:*", glob_escape(self.inner.prefix.default_prefix()));
        let mut survey = Survey { complete: true, ..Survey::default() };
        let mut conn = self.inner.conn.clone();
        for (pattern, own) in [(mine.as_str(), true), ("*:cachetags:user_list", false)] {
            let mut cursor: u64 = 0;
            let mut pages = 0;
            loop {
                let mut page = redis::cmd("SCAN");
                page.arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(1000);
                let (next, keys): (u64, Vec<String>) =
                    match tokio::time::timeout(TIMEOUT, page.query_async(&mut conn)).await {
                        Ok(result) => result.map_err(|e| e.to_string())?,
                        Err(_) => return Err(format!("no answer within {} s", TIMEOUT.as_secs())),
                    };
                if own {
                    survey.tag_keys += keys.len();
                } else {
                    survey
                        .user_list_prefixes
                        .extend(keys.iter().filter_map(|k| k.strip_suffix(":cachetags:user_list")).map(str::to_string));
                }
                cursor = next;
                pages += 1;
                if cursor == 0 {
                    break;
                }
                if own && survey.tag_keys > 0 {
                    // One tag counter is proof enough; the key space may be large.
                    break;
                }
                if pages >= SURVEY_PAGES {
                    survey.complete = false;
                    break;
                }
            }
        }
        survey.user_list_prefixes.sort();
        survey.user_list_prefixes.dedup();
        Ok(survey)
    }
}

/// Replay kept plans, oldest first, while the cache exists.
async fn replay(cache: Weak<Inner>) {
    let mut pause = Duration::from_millis(200);
    loop {
        let Some(inner) = cache.upgrade() else { return };
        let cache = RedisCache { inner };
        let next = lock(&cache.inner.pending).front().cloned();
        let Some(plan) = next else {
            // Wake up now and then even without work, so that a dropped cache ends this task.
            let _ = tokio::time::timeout(Duration::from_secs(1), cache.inner.wake.notified()).await;
            continue;
        };
        match cache.send(&plan).await {
            Ok(()) => {
                let left = {
                    let mut pending = lock(&cache.inner.pending);
                    pending.pop_front();
                    pending.len()
                };
                crate::telemetry::METRICS.cache_pending(-1);
                pause = Duration::from_millis(200);
                if left == 0 {
                    log::info!("Redis ({}) is back: every kept cache invalidation was replayed", cache.inner.target);
                }
            }
            Err(e) => {
                log::debug!(
                    "Redis ({}) still unreachable, {} invalidation(s) kept: {e}",
                    cache.inner.target,
                    cache.pending()
                );
                drop(cache);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(REPLAY_PAUSE_MAX);
            }
        }
    }
}

fn lock(pending: &Mutex<VecDeque<Invalidation>>) -> MutexGuard<'_, VecDeque<Invalidation>> {
    match pending.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// A SCAN pattern matching `text` literally.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The URL without user, password or query (a unix socket URL carries `pass=` there).
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "(not a URL)".into() };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_show() {
        assert_eq!(redacted("redis://user:s3cret@cache.local:6380/2"), "redis://cache.local:6380/2");
        assert_eq!(redacted("rediss://:p%40ss@h/0"), "rediss://h/0");
        assert_eq!(redacted("unix:///run/redis.sock?db=1&pass=x"), "unix:///run/redis.sock");
        assert_eq!(redacted("redis://h"), "redis://h");
    }

    #[test]
    fn scan_patterns_match_the_prefix_literally() {
        assert_eq!(glob_escape("site[1]*"), "site\\[1\\]\\*");
        assert_eq!(glob_escape("lab"), "lab");
    }
}
