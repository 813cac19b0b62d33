//! Where a site's caches live, and so where an [`Invalidation`](crate::drupal::cache::Invalidation)
//! plan is carried out after a commit: Drupal's database tables always (a site may leave some
//! bins there), and Redis too when the site keeps its caches there. Memcache cannot be reached
//! exactly (README, "Memcache"): it is named so that start-up and `check` can say so.

use crate::drupal::redis_cache::RedisCache;
use crate::drupal::site::Site;
use crate::settings::{CacheBackendKind, CacheSettings};
use std::time::Duration;

/// What start-up and `check` say on a site that declares Memcache.
pub const MEMCACHE_NOT_INVALIDATED: &str = "cache.backend = \"memcache\": drupal-scim does not invalidate Memcache (its tag timestamps and key placement cannot be reproduced exactly outside PHP); accounts provisioned or changed show late on the People page until the caches are cleared — keep the entity and data bins and the cache tags in the database ($settings['cache']['bins']['entity'] = 'cache.backend.database', same for data, and no memcache cache_tags service), or run `drush cr` after provisioning runs";

/// The cache backend of one site.
#[derive(Clone, Default)]
pub enum CacheBackend {
    /// Drupal's `cache_*` and `cachetags` tables only.
    #[default]
    Database,
    /// The `redis` module's keys, and the database tables.
    Redis(RedisCache),
    /// Declared Memcache: only the database tables are reached.
    Memcache,
}

impl CacheBackend {
    /// The backend the settings name, for `site`. Connects to nothing yet.
    pub fn from_settings(settings: &CacheSettings, site: &Site) -> Result<CacheBackend, String> {
        match settings.backend {
            CacheBackendKind::Database => Ok(CacheBackend::Database),
            CacheBackendKind::Memcache => Ok(CacheBackend::Memcache),
            CacheBackendKind::Redis => {
                let (Some(url), Some(prefix)) = (&settings.url, &settings.prefix) else {
                    return Err("cache.backend = \"redis\" needs cache.url and cache.prefix".into());
                };
                Ok(CacheBackend::Redis(RedisCache::new(
                    url.expose(),
                    prefix.clone(),
                    site.schema.cache_bins_named_by_table(),
                )?))
            }
        }
    }

    /// Which backend this is.
    pub fn kind(&self) -> CacheBackendKind {
        match self {
            CacheBackend::Database => CacheBackendKind::Database,
            CacheBackend::Redis(_) => CacheBackendKind::Redis,
            CacheBackend::Memcache => CacheBackendKind::Memcache,
        }
    }

    /// The Redis client, when the site's caches are in Redis.
    pub fn redis(&self) -> Option<&RedisCache> {
        match self {
            CacheBackend::Redis(r) => Some(r),
            _ => None,
        }
    }

    /// The backend's state for `/healthz`: never what decides the status (the database does).
    pub async fn health(&self) -> serde_json::Value {
        match self {
            CacheBackend::Redis(redis) => {
                let state = match redis.ping(Duration::from_secs(1)).await {
                    Ok(()) => "reachable",
                    Err(_) => "unreachable",
                };
                serde_json::json!({"backend": "redis", "state": state, "pending": redis.pending()})
            }
            CacheBackend::Memcache => serde_json::json!({"backend": "memcache", "state": "not invalidated"}),
            CacheBackend::Database => serde_json::json!({"backend": "database"}),
        }
    }
}

/// The backend the settings name, said in the log as start-up builds it.
pub fn announce(settings: &CacheSettings, site: &Site) -> Result<CacheBackend, String> {
    let backend = CacheBackend::from_settings(settings, site)?;
    match &backend {
        CacheBackend::Database => {
            log::info!("Drupal's caches: invalidated in the database (cachetags, cache_* tables)")
        }
        CacheBackend::Redis(redis) => log::info!(
            "Drupal's caches: invalidated in Redis at {} under the prefix {:?}, and in the database",
            redis.target(),
            redis.prefix()
        ),
        CacheBackend::Memcache => log::warn!("{MEMCACHE_NOT_INVALIDATED}"),
    }
    Ok(backend)
}
