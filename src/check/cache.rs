//! `check`'s lines about the cache backend: where invalidations go, and for Redis whether
//! Drupal's tag counters are where drupal-scim will raise them.

use super::{Level, Report};
use crate::drupal::cache_backend::{CacheBackend, MEMCACHE_NOT_INVALIDATED};
use crate::drupal::site::Site;
use crate::settings::{CachePrefix, CacheSettings};
use std::time::Duration;

/// Append the cache backend's lines to `report`.
pub async fn report(settings: &CacheSettings, site: &Site, report: &mut Report) {
    let backend = match CacheBackend::from_settings(settings, site) {
        Ok(b) => b,
        Err(e) => {
            report.push(Level::Error, e);
            return;
        }
    };
    let redis = match &backend {
        CacheBackend::Database => return,
        CacheBackend::Memcache => {
            report.push(Level::Warn, MEMCACHE_NOT_INVALIDATED);
            return;
        }
        CacheBackend::Redis(redis) => redis,
    };
    let prefix = redis.prefix().default_prefix().to_string();
    report.push(
        Level::Info,
        format!(
            "caches in Redis at {}: after each write, INCR {prefix}:cachetags:<tag> and DEL the account's items (and the same in the database tables)",
            redis.target()
        ),
    );
    if let CachePrefix::PerBin(map) = redis.prefix() {
        for (bin, p) in map.iter().filter(|(bin, _)| bin.as_str() != "default") {
            report.push(Level::Info, format!("bin {bin} has its own prefix: its items are {p}:{bin}:<cid>"));
        }
    }
    if let Err(e) = redis.ping(Duration::from_secs(2)).await {
        report.push(
            Level::Warn,
            format!(
                "Redis at {} does not answer ({e}): the server starts anyway and keeps every invalidation in memory until Redis answers",
                redis.target()
            ),
        );
        return;
    }
    report.push(Level::Ok, format!("Redis at {} answers", redis.target()));
    match redis.survey().await {
        Ok(survey) if survey.tag_keys > 0 => report.push(
            Level::Ok,
            format!("Drupal's cache tag counters found under the prefix {prefix:?} ({prefix}:cachetags:…)"),
        ),
        Ok(survey) => {
            let seen = if survey.user_list_prefixes.is_empty() {
                format!(
                    "none has one yet{} (save an account in Drupal, then look again: redis-cli --scan --pattern '*:cachetags:user_list')",
                    if survey.complete { "" } else { " among the keys looked at" }
                )
            } else {
                let list: Vec<String> = survey.user_list_prefixes.iter().map(|p| format!("{p:?}")).collect();
                format!("they end in :cachetags:user_list under {}", list.join(", "))
            };
            report.push(
                Level::Warn,
                format!(
                    "no key {prefix}:cachetags:* in Redis: the prefix may not be the one Drupal uses, and then the People page stays stale. Keys ending in :cachetags:user_list show the prefix in use — {seen}. Set cache.prefix to Drupal's $settings['cache_prefix'] (README: Sites that keep caches in Redis)"
                ),
            );
        }
        Err(e) => report.push(Level::Warn, format!("cannot look for Drupal's keys in Redis: {e}")),
    }
}
