//! The `[cache]` settings: where the Drupal site keeps its caches, so that what a write makes
//! stale is invalidated where Drupal reads it (see README, "Sites that keep caches in Redis").

use crate::settings::{Secret, SettingsError};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Where the site's cache bins and cache-tag checksums live.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CacheBackendKind {
    /// Drupal's own `cache_*` and `cachetags` tables (Drupal's default).
    #[default]
    Database,
    /// The `redis` module (`$settings['cache']['default'] = 'cache.backend.redis'`).
    Redis,
    /// The `memcache` module: drupal-scim cannot invalidate it (README says why); declaring it
    /// makes start-up and `check` say so.
    Memcache,
}

impl CacheBackendKind {
    /// The name used in settings, logs and `/healthz`.
    pub fn name(self) -> &'static str {
        match self {
            CacheBackendKind::Database => "database",
            CacheBackendKind::Redis => "redis",
            CacheBackendKind::Memcache => "memcache",
        }
    }
}

/// Drupal's `$settings['cache_prefix']`: one string, or a map of bin → prefix with a `default`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum CachePrefix {
    /// Every key of the site starts with this.
    One(String),
    /// `default` for the cache tags and every bin not named; a bin named (as it appears in the
    /// keys: `entity`, `config`, or Drupal 7's `cache_field`) has its own.
    PerBin(BTreeMap<String, String>),
}

impl CachePrefix {
    /// The prefix of the cache-tag checksums (`<prefix>:cachetags:<tag>`): the redis module
    /// reads it without a bin, so it is the string or the `default` entry.
    pub fn default_prefix(&self) -> &str {
        match self {
            CachePrefix::One(p) => p,
            CachePrefix::PerBin(map) => map.get("default").map(String::as_str).unwrap_or_default(),
        }
    }

    /// The prefix of the items of `bin` (`<prefix>:<bin>:<cid>`).
    pub fn for_bin(&self, bin: &str) -> &str {
        match self {
            CachePrefix::One(p) => p,
            CachePrefix::PerBin(map) => map.get(bin).map(String::as_str).unwrap_or_else(|| self.default_prefix()),
        }
    }
}

/// The `[cache]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// `database` (default), `redis` or `memcache`.
    #[serde(default)]
    pub backend: CacheBackendKind,
    /// Redis: `redis://[user][:password@]host[:port][/db]`, `rediss://…` for TLS, or
    /// `unix:///path/redis.sock?db=N&user=…&pass=…`.
    #[serde(default)]
    pub url: Option<Secret>,
    /// Redis: the site's `$settings['cache_prefix']`.
    #[serde(default)]
    pub prefix: Option<CachePrefix>,
}

impl CacheSettings {
    /// Redis settings for tests and embedding.
    pub fn redis(url: &str, prefix: CachePrefix) -> CacheSettings {
        CacheSettings { backend: CacheBackendKind::Redis, url: Some(Secret::new(url)), prefix: Some(prefix) }
    }

    /// Checks that cannot be expressed in types.
    pub fn check(&self) -> Result<(), SettingsError> {
        let invalid = |m: String| Err(SettingsError::Invalid(m));
        if self.backend != CacheBackendKind::Redis {
            if self.url.is_some() || self.prefix.is_some() {
                return invalid(format!(
                    "cache.url and cache.prefix are Redis settings, but cache.backend is {:?}: set cache.backend = \"redis\"",
                    self.backend.name()
                ));
            }
            return Ok(());
        }
        match &self.url {
            None => {
                return invalid(
                    "cache.backend = \"redis\" needs cache.url (redis://host:6379/0, rediss://… or unix:///path?db=0)"
                        .into(),
                );
            }
            Some(url) => {
                let scheme = url.expose().split_once("://").map(|(s, _)| s).unwrap_or_default();
                if !matches!(scheme, "redis" | "rediss" | "unix" | "redis+unix") {
                    return invalid("cache.url must start with redis://, rediss:// (TLS) or unix:// (a socket)".into());
                }
            }
        }
        // The redis module never uses an empty prefix: when `cache_prefix` is unset or empty it
        // computes one (README lists what each version computes). Guessing it would invalidate
        // keys Drupal never reads, so the operator gives it.
        const COMPUTED: &str = "the redis module then computes a prefix of its own; give the one your site uses (`redis-cli --scan --pattern '*:cachetags:user_list'` shows it)";
        match &self.prefix {
            None => {
                return invalid(format!(
                    "cache.backend = \"redis\" needs cache.prefix: Drupal's $settings['cache_prefix'] (if that is unset, {COMPUTED})"
                ));
            }
            Some(CachePrefix::One(p)) if p.is_empty() => return invalid(format!("cache.prefix is empty: {COMPUTED}")),
            Some(CachePrefix::One(_)) => {}
            Some(CachePrefix::PerBin(map)) => {
                if !map.contains_key("default") {
                    return invalid("cache.prefix as a per-bin table needs a `default` entry (the prefix of the cache tags and of every other bin)".into());
                }
                if let Some((bin, _)) = map.iter().find(|(_, p)| p.is_empty()) {
                    return invalid(format!("cache.prefix.{bin} is empty: {COMPUTED}"));
                }
            }
        }
        Ok(())
    }
}

/// Setting defaults for `[cache]` from what settings.php (read by PHP) says about Drupal's
/// caches: `$settings['cache']` naming the redis module's backend (`cache.backend.redis`) for
/// the default bin or any bin makes the backend `redis` (memcache's, `memcache`);
/// `$settings['redis.connection']` (host or unix socket, port, password, base) gives the URL and
/// `$settings['cache_prefix']` (a string, or per bin with `default`) the prefix. Nothing is
/// returned for a site whose caches stay in the database.
pub fn defaults_from_settings_php(cache: &crate::config::CacheSettings) -> Vec<(&'static str, config::Value)> {
    use serde_json::Value;
    let backends: Vec<&str> = match &cache.cache {
        Some(Value::Object(map)) => {
            let mut names: Vec<&str> = map.get("default").and_then(Value::as_str).into_iter().collect();
            if let Some(Value::Object(bins)) = map.get("bins") {
                names.extend(bins.values().filter_map(Value::as_str));
            }
            names
        }
        _ => Vec::new(),
    };
    let mut defaults = Vec::new();
    if backends.iter().any(|b| b.contains("memcache")) && !backends.iter().any(|b| b.contains("redis")) {
        defaults.push(("cache.backend", "memcache".into()));
        return defaults;
    }
    if !backends.iter().any(|b| b.contains("redis")) {
        return defaults;
    }
    defaults.push(("cache.backend", "redis".into()));
    if let Some(Value::Object(conn)) = &cache.redis_connection {
        let text = |key: &str| match conn.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let host = text("host").unwrap_or_else(|| "127.0.0.1".into());
        let base = text("base");
        let password = text("password");
        let url = if host.starts_with('/') {
            let mut query = Vec::new();
            query.extend(base.map(|b| format!("db={b}")));
            query.extend(password.map(|p| format!("pass={}", utf8_percent_encode(&p, NON_ALPHANUMERIC))));
            let query = if query.is_empty() { String::new() } else { format!("?{}", query.join("&")) };
            format!("unix://{host}{query}")
        } else {
            let auth = password.map(|p| format!(":{}@", utf8_percent_encode(&p, NON_ALPHANUMERIC))).unwrap_or_default();
            let port = text("port").unwrap_or_else(|| "6379".into());
            format!("redis://{auth}{host}:{port}/{}", base.unwrap_or_else(|| "0".into()))
        };
        defaults.push(("cache.url", url.into()));
    }
    match &cache.cache_prefix {
        Some(Value::String(prefix)) if !prefix.is_empty() => defaults.push(("cache.prefix", prefix.clone().into())),
        Some(Value::Object(bins)) => {
            let map: config::Map<String, String> =
                bins.iter().filter_map(|(bin, p)| p.as_str().map(|p| (bin.clone(), p.to_string()))).collect();
            defaults.push(("cache.prefix", map.into()));
        }
        _ => {}
    }
    defaults
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn per_bin_prefix_falls_back_to_default() {
        let p = CachePrefix::PerBin(map(&[("default", "site"), ("entity", "ent")]));
        assert_eq!(p.default_prefix(), "site");
        assert_eq!(p.for_bin("entity"), "ent");
        assert_eq!(p.for_bin("config"), "site");
        let p = CachePrefix::One("lab".into());
        assert_eq!((p.default_prefix(), p.for_bin("entity")), ("lab", "lab"));
    }

    #[test]
    fn redis_needs_url_and_prefix() {
        let ok = CacheSettings::redis("redis://127.0.0.1:6379/2", CachePrefix::One("lab".into()));
        assert!(ok.check().is_ok());
        let mut s = ok.clone();
        s.url = None;
        assert!(s.check().unwrap_err().to_string().contains("cache.url"));
        let mut s = ok.clone();
        s.prefix = None;
        assert!(s.check().unwrap_err().to_string().contains("cache_prefix"));
        let mut s = ok.clone();
        s.prefix = Some(CachePrefix::One(String::new()));
        assert!(s.check().unwrap_err().to_string().contains("computes a prefix"));
        let mut s = ok.clone();
        s.prefix = Some(CachePrefix::PerBin(map(&[("entity", "x")])));
        assert!(s.check().unwrap_err().to_string().contains("default"));
        let mut s = ok.clone();
        s.url = Some(Secret::new("http://h"));
        assert!(s.check().is_err());
        let s = CacheSettings { url: Some(Secret::new("redis://h")), ..CacheSettings::default() };
        assert!(s.check().unwrap_err().to_string().contains("cache.backend"));
    }

    #[test]
    fn settings_php_of_a_redis_cached_site_gives_the_cache_defaults() {
        use serde_json::json;
        let cache = crate::config::CacheSettings {
            cache: Some(json!({"default": "cache.backend.redis"})),
            cache_prefix: Some(json!("lab")),
            redis_connection: Some(
                json!({"interface": "PhpRedis", "host": "redis.internal", "port": 6380, "password": "p@ss", "base": 2}),
            ),
            memcache: None,
        };
        let defaults = defaults_from_settings_php(&cache);
        let get = |k: &str| defaults.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone().into_string().unwrap());
        assert_eq!(get("cache.backend").as_deref(), Some("redis"));
        assert_eq!(get("cache.url").as_deref(), Some("redis://:p%40ss@redis.internal:6380/2"));
        assert_eq!(get("cache.prefix").as_deref(), Some("lab"));
        // A socket, and a per-bin prefix.
        let cache = crate::config::CacheSettings {
            cache: Some(json!({"bins": {"render": "cache.backend.redis"}})),
            cache_prefix: Some(json!({"default": "site", "entity": "ent"})),
            redis_connection: Some(json!({"host": "/run/redis.sock", "base": 1})),
            memcache: None,
        };
        let defaults = defaults_from_settings_php(&cache);
        let url = defaults.iter().find(|(k, _)| *k == "cache.url").unwrap().1.clone().into_string().unwrap();
        assert_eq!(url, "unix:///run/redis.sock?db=1");
        assert!(defaults.iter().any(|(k, _)| *k == "cache.prefix"));
        // Memcache, and caches in the database.
        let memcache = crate::config::CacheSettings {
            cache: Some(json!({"default": "cache.backend.memcache"})),
            ..Default::default()
        };
        let defaults = defaults_from_settings_php(&memcache);
        assert_eq!(defaults.len(), 1);
        assert!(defaults_from_settings_php(&crate::config::CacheSettings::default()).is_empty());
    }
}
