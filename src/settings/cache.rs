//! The `[cache]` settings: where the Drupal site keeps its caches, so that what a write makes
//! stale is invalidated where Drupal reads it (see README, "Sites that keep caches in Redis").

use crate::settings::{Secret, SettingsError};
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
        const COMPUTED: &str = "the redis module then computes a prefix of its own; give the one your site uses (drupal-scim check lists the prefixes it finds)";
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
}
