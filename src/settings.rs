//! Server settings: an optional TOML file, then `DRUPAL_SCIM__*` environment variables
//! (`__` separates sections, e.g. `DRUPAL_SCIM__DATABASE__URL`). Secrets never print.

pub mod cache;
pub mod sites;
pub mod sync;

pub use cache::{CacheBackendKind, CachePrefix, CacheSettings};
pub use sites::{Deployment, SiteSettings};
pub use sync::{SyncRemoval, SyncScope, SyncSettings};

use crate::config::DrupalDatabase;
use crate::drupal::tables::Tables;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// A string that must never reach a log or an error message.
#[derive(Clone, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Everything the server needs to run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    /// Path of drupal_mapping.toml.
    #[serde(default = "default_mapping_path")]
    pub mapping: PathBuf,
    #[serde(default)]
    pub limits: LimitSettings,
    #[serde(default)]
    pub audit: AuditSettings,
    /// Where the site keeps its caches (database, Redis, Memcache).
    #[serde(default)]
    pub cache: CacheSettings,
    /// Validate and log every write as it would happen, then roll it back: nothing is written.
    #[serde(default)]
    pub dry_run: bool,
    /// Drupal's config sync directory (`$settings['config_sync_directory']`), for `check`'s
    /// warning about roles a configuration import would delete.
    #[serde(default)]
    pub config_sync_directory: Option<PathBuf>,
    /// How `--drupal-settings` was read (by PHP, or its literal values), for `check`; not a
    /// setting.
    #[serde(skip)]
    pub drupal_settings_read: Option<String>,
    /// Sync out: push Drupal's accounts to a SCIM service provider (`drupal-scim sync`; `serve`
    /// runs it too when this section is present).
    #[serde(default)]
    pub sync: Option<SyncSettings>,
}

/// Where provisioning changes are recorded.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Also write each change to Drupal's log (the `watchdog` table, when dblog is enabled).
    #[serde(default = "default_true")]
    pub watchdog: bool,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings { watchdog: true }
    }
}

fn default_true() -> bool {
    true
}

/// The HTTP side.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on, e.g. `127.0.0.1:8080`.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Where the SCIM API lives; the Tenant URL is `public_url` + `base_path`.
    #[serde(default = "default_base_path")]
    pub base_path: String,
    /// The externally visible origin (`https://scim.example.org`), used for `meta.location`.
    /// Empty: derived from the request's Host header.
    #[serde(default)]
    pub public_url: String,
    /// HTTP worker threads; 0 = one per core.
    #[serde(default)]
    pub workers: usize,
    /// Longest time one request may take before it is answered 503 (a database that keeps its
    /// sockets open but answers nothing). Default: enough for every retry of a transaction
    /// waiting `database.timeout_secs` each (5 × that), under Entra's 60 s with the defaults.
    #[serde(default)]
    pub request_timeout_secs: Option<u64>,
    /// PEM certificate chain: with `tls_key`, the server speaks HTTPS itself (TLS 1.2 and 1.3).
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// With several sites: most database connections in use at once, all sites together (each
    /// site's `database.pool_max` bounds its own share). None: only the per-site limits.
    #[serde(default)]
    pub database_connections_max: Option<usize>,
}

/// Drupal's own database.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `mysql://user:password@host:3306/drupal`.
    pub url: Secret,
    /// Upper bound of the connection pool; small, because the database serves Drupal too.
    #[serde(default = "default_pool_max")]
    pub pool_max: usize,
    /// Seconds a request may wait for the database before it gets a 503: for a connection, and
    /// for each row or metadata lock a statement needs (a write tries up to four times).
    #[serde(default = "default_db_timeout")]
    pub timeout_secs: u64,
    /// Drupal's table prefix when given here (or read from settings.php); overrides the mapping's.
    #[serde(default)]
    pub table_prefix: Option<String>,
    /// Tables with a prefix of their own (Drupal 7's per-table prefix array: table → prefix)
    /// when given here (or read from settings.php); replaces the mapping's `[drupal.table_prefixes]`.
    #[serde(default)]
    pub table_prefixes: Option<BTreeMap<String, String>>,
}

/// Bearer token checking.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// HS256 signing secret for tokens minted by `drupal-scim token` (at least 32 bytes).
    pub secret: Secret,
    /// Key id (`kid`) of `secret`, so it can be rotated while older keys are still accepted.
    #[serde(default)]
    pub key_id: Option<String>,
    /// Older keys still accepted for verification (tokens name them by `kid`).
    #[serde(default)]
    pub previous_keys: Vec<PreviousKey>,
    /// Token ids (`jti`, printed by `drupal-scim token`) that are refused.
    #[serde(default)]
    pub revoked: Vec<String>,
    /// `iss` claim required in tokens.
    #[serde(default = "default_issuer")]
    pub issuer: String,
    /// `aud` claim required in tokens.
    #[serde(default = "default_audience")]
    pub audience: String,
    /// OAuth 2.0 clients that may get tokens with the client credentials grant at
    /// `<base>/oauth/token` (instead of a long-lived token pasted once).
    #[serde(default)]
    pub clients: Vec<OAuthClient>,
}

/// An OAuth 2.0 client (client credentials grant).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthClient {
    pub id: String,
    /// At least 32 bytes.
    pub secret: Secret,
    /// Lifetime of the tokens it gets.
    #[serde(default = "default_client_token_ttl")]
    pub token_ttl_secs: i64,
}

/// A signing key that is being rotated out: tokens with its `kid` are still accepted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousKey {
    pub id: String,
    pub secret: Secret,
}

/// Request limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Largest accepted request body in bytes.
    #[serde(default = "default_body_bytes")]
    pub body_bytes: usize,
    /// Default page size of list responses.
    #[serde(default = "default_page_size")]
    pub default_page_size: u32,
    /// Largest page size a client may ask for with `count`.
    #[serde(default = "default_max_page_size")]
    pub max_page_size: u32,
    /// Most operations in one /Bulk request.
    #[serde(default = "default_bulk_max_operations")]
    pub bulk_max_operations: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: default_listen(),
            base_path: default_base_path(),
            public_url: String::new(),
            workers: 0,
            request_timeout_secs: None,
            tls_cert: None,
            tls_key: None,
            database_connections_max: None,
        }
    }
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            body_bytes: default_body_bytes(),
            default_page_size: default_page_size(),
            max_page_size: default_max_page_size(),
            bulk_max_operations: default_bulk_max_operations(),
        }
    }
}

fn default_mapping_path() -> PathBuf {
    PathBuf::from("drupal_mapping.toml")
}
fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_base_path() -> String {
    "/scim/v2".into()
}
fn default_pool_max() -> usize {
    8
}
fn default_db_timeout() -> u64 {
    10
}
fn default_issuer() -> String {
    "drupal-scim".into()
}
fn default_client_token_ttl() -> i64 {
    3600
}

fn default_audience() -> String {
    "drupal-scim".into()
}
fn default_body_bytes() -> usize {
    1024 * 1024
}
fn default_page_size() -> u32 {
    100
}
fn default_max_page_size() -> u32 {
    1000
}
fn default_bulk_max_operations() -> usize {
    1000
}

/// A URL path with repeated slashes merged and no trailing slash: `/api//scim/` → `/api/scim`.
/// `/` alone becomes the empty string (which [`Settings::check`] refuses as a base path).
pub fn canonical_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out.trim_end_matches('/').to_string()
}

/// An absolute URL (`server.public_url`) with its path made canonical as [`canonical_path`]
/// does: `https://www.example.org/drupal//` → `https://www.example.org/drupal`. Empty stays empty.
pub fn canonical_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('/') {
            Some((authority, path)) => format!("{scheme}://{authority}{}", canonical_path(&format!("/{path}"))),
            None => url.to_string(),
        },
        None => url.trim_end_matches('/').to_string(),
    }
}

/// Why settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("settings: {0}")]
    Load(#[from] config::ConfigError),
    #[error("settings: {0}")]
    Invalid(String),
}

impl Settings {
    /// Read the optional settings file, then the `DRUPAL_SCIM__*` environment.
    /// `defaults` come first (e.g. what Drupal's settings.php says); the file and the
    /// environment override them.
    pub fn load(file: Option<&std::path::Path>, defaults: &[(&str, config::Value)]) -> Result<Settings, SettingsError> {
        Settings::load_from(file, defaults, None)
    }

    /// [`Settings::load`], with the environment given (`None`: the process's).
    fn load_from(
        file: Option<&std::path::Path>,
        defaults: &[(&str, config::Value)],
        environment: Option<config::Map<String, String>>,
    ) -> Result<Settings, SettingsError> {
        let mut builder = config::Config::builder();
        for (key, value) in defaults {
            builder = builder.set_default(*key, value.clone())?;
        }
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).required(true));
        } else {
            builder = builder.add_source(config::File::with_name("drupal-scim").required(false));
        }
        let mut settings: Settings = builder
            .add_source(
                config::Environment::with_prefix("DRUPAL_SCIM")
                    .prefix_separator("__")
                    .separator("__")
                    .list_separator(",")
                    .with_list_parse_key("auth.revoked")
                    .source(environment),
            )
            .build()?
            .try_deserialize()?;
        // Operators paste base paths and URLs as they see them (`/api/scim/`, `https://h/drupal/`):
        // keep one spelling, so that `meta.location` and the Tenant URL never carry `//` or a
        // trailing slash.
        settings.server.base_path = canonical_path(&settings.server.base_path);
        settings.server.public_url = canonical_url(&settings.server.public_url);
        settings.check()?;
        Ok(settings)
    }

    /// Setting defaults from Drupal's settings.php: the database URL, the table prefix and the
    /// per-table prefixes. The latter are given even when empty: settings.php is the authority on
    /// how the site's tables are named, so a plain string prefix there also replaces the
    /// mapping's `[drupal.table_prefixes]`. The settings file and the environment override these.
    /// `settings_php` is the file they were read from: a relative config sync directory is
    /// relative to the Drupal root, two folders above `sites/<site>/settings.php`.
    pub fn drupal_defaults(db: &DrupalDatabase, settings_php: &std::path::Path) -> Vec<(&'static str, config::Value)> {
        let per_table: config::Map<String, String> = db.prefixes.clone().into_iter().collect();
        let mut defaults = vec![
            ("database.url", db.url().into()),
            ("database.table_prefix", db.prefix.clone().into()),
            ("database.table_prefixes", per_table.into()),
        ];
        if let Some(dir) = &db.config_sync_directory {
            let dir = std::path::Path::new(dir);
            let root = settings_php.parent().and_then(std::path::Path::parent).and_then(std::path::Path::parent);
            let dir = match root {
                Some(root) if dir.is_relative() => root.join(dir),
                _ => dir.to_path_buf(),
            };
            defaults.push(("config_sync_directory", dir.to_string_lossy().into_owned().into()));
        }
        defaults.extend(cache::defaults_from_settings_php(&db.cache));
        defaults
    }

    /// Checks that cannot be expressed in types.
    pub fn check(&self) -> Result<(), SettingsError> {
        if let Some(per_table) = &self.database.table_prefixes {
            if per_table.contains_key("default") {
                return Err(SettingsError::Invalid(
                    "database.table_prefixes cannot set `default`: the default prefix is database.table_prefix".into(),
                ));
            }
            let prefix = self.database.table_prefix.as_deref().unwrap_or_default();
            Tables::with_overrides(prefix, per_table)
                .map_err(|e| SettingsError::Invalid(format!("database.table_prefix(es): {e}")))?;
        } else if let Some(prefix) = &self.database.table_prefix {
            Tables::new(prefix).map_err(|e| SettingsError::Invalid(format!("database.table_prefix: {e}")))?;
        }
        let short = std::iter::once(("auth.secret", &self.auth.secret))
            .chain(self.auth.previous_keys.iter().map(|k| ("auth.previous_keys.secret", &k.secret)))
            .chain(self.auth.clients.iter().map(|c| ("auth.clients.secret", &c.secret)))
            .find(|(_, s)| s.expose().len() < 32);
        if let Some((name, _)) = short {
            return Err(SettingsError::Invalid(format!(
                "{name} must be at least 32 bytes (generate one with `openssl rand -hex 32`)"
            )));
        }
        if let Some(id) = &self.auth.key_id
            && self.auth.previous_keys.iter().any(|k| &k.id == id)
        {
            return Err(SettingsError::Invalid(format!("auth.key_id {id:?} is also the id of a previous key")));
        }
        if let Some(c) = self.auth.clients.iter().find(|c| c.id.is_empty() || c.token_ttl_secs < 1) {
            return Err(SettingsError::Invalid(format!(
                "auth.clients: client {:?} needs a non-empty id and a positive token_ttl_secs",
                c.id
            )));
        }
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            return Err(SettingsError::Invalid("server.tls_cert and server.tls_key go together".into()));
        }
        if !self.server.base_path.starts_with('/') || self.server.base_path.ends_with('/') {
            return Err(SettingsError::Invalid(format!(
                "server.base_path must start with '/' and name a path below it, like /scim/v2 (got {:?})",
                self.server.base_path
            )));
        }
        if self.limits.max_page_size == 0 || self.limits.default_page_size > self.limits.max_page_size {
            return Err(SettingsError::Invalid(
                "limits.default_page_size must be between 1 and limits.max_page_size".into(),
            ));
        }
        self.cache.check()?;
        if let Some(sync) = &self.sync {
            sync.check()?;
        }
        Ok(())
    }

    /// Settings for tests and embedding: everything defaulted but the database, secret and mapping.
    pub fn new(database_url: &str, secret: &str, mapping: PathBuf) -> Settings {
        Settings {
            server: ServerSettings {
                listen: "127.0.0.1:0".into(),
                base_path: default_base_path(),
                public_url: String::new(),
                workers: 2,
                request_timeout_secs: None,
                tls_cert: None,
                tls_key: None,
                database_connections_max: None,
            },
            database: DatabaseSettings {
                url: Secret::new(database_url),
                pool_max: default_pool_max(),
                timeout_secs: default_db_timeout(),
                table_prefix: None,
                table_prefixes: None,
            },
            auth: AuthSettings {
                secret: Secret::new(secret),
                key_id: None,
                previous_keys: Vec::new(),
                revoked: Vec::new(),
                issuer: default_issuer(),
                audience: default_audience(),
                clients: Vec::new(),
            },
            mapping,
            limits: LimitSettings::default(),
            audit: AuditSettings::default(),
            cache: CacheSettings::default(),
            dry_run: false,
            config_sync_directory: None,
            drupal_settings_read: None,
            sync: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::settings_php::parse_settings;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    /// A settings file with `extra` after the required settings, removed again when dropped.
    struct File(PathBuf);

    impl File {
        fn new(extra: &str) -> File {
            let path = std::env::temp_dir().join(format!("drupal-scim-settings-{}.toml", uuid::Uuid::new_v4()));
            let text = format!("[auth]\nsecret = \"{SECRET}\"\n[database]\nurl = \"mysql://u@h/d\"\n{extra}");
            std::fs::write(&path, text).unwrap();
            File(path)
        }
    }

    impl Drop for File {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn load(extra: &str, defaults: &[(&str, config::Value)], env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let file = File::new(extra);
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::load_from(Some(&file.0), defaults, Some(env))
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn table_prefixes_are_unset_unless_given() {
        let s = load("", &[], &[]).unwrap();
        assert_eq!(s.database.table_prefix, None);
        assert_eq!(s.database.table_prefixes, None);
    }

    #[test]
    fn table_prefixes_from_the_settings_file() {
        let s = load(
            "table_prefix = \"main_\"\n[database.table_prefixes]\nusers = \"shared_\"\nrole = \"shareddb.\"\n",
            &[],
            &[],
        )
        .unwrap();
        assert_eq!(s.database.table_prefix.as_deref(), Some("main_"));
        assert_eq!(s.database.table_prefixes, Some(map(&[("role", "shareddb."), ("users", "shared_")])));
    }

    #[test]
    fn table_prefixes_from_the_environment() {
        let env = [
            ("DRUPAL_SCIM__DATABASE__TABLE_PREFIXES__USERS", "shared_"),
            ("DRUPAL_SCIM__DATABASE__TABLE_PREFIXES__USERS_ROLES", "shareddb.p_"),
        ];
        let s = load("[database.table_prefixes]\nusers = \"file_\"\nrole = \"shared_\"\n", &[], &env).unwrap();
        assert_eq!(
            s.database.table_prefixes,
            Some(map(&[("role", "shared_"), ("users", "shared_"), ("users_roles", "shareddb.p_")]))
        );
    }

    #[test]
    fn settings_php_prefix_array_becomes_the_defaults() {
        let php = "<?php $databases['default']['default'] = ['database' => 'site2', 'prefix' => ['default' => 'main_', 'users' => 'shared_', 'role' => 'shared_']];";
        let defaults = Settings::drupal_defaults(
            &parse_settings(php).unwrap(),
            std::path::Path::new("/var/www/html/sites/default/settings.php"),
        );
        // No settings file: settings.php and the environment are all there is.
        let env = config::Map::from([("DRUPAL_SCIM__AUTH__SECRET".to_string(), SECRET.to_string())]);
        let s = Settings::load_from(None, &defaults, Some(env)).unwrap();
        assert_eq!(s.database.url.expose(), "mysql://localhost/site2");
        assert_eq!(s.database.table_prefix.as_deref(), Some("main_"));
        assert_eq!(s.database.table_prefixes, Some(map(&[("role", "shared_"), ("users", "shared_")])));
        // The settings file overrides them table by table.
        let s = load("[database.table_prefixes]\nrole = \"other_\"\n", &defaults, &[]).unwrap();
        assert_eq!(s.database.table_prefixes, Some(map(&[("role", "other_"), ("users", "shared_")])));
    }

    #[test]
    fn settings_php_string_prefix_clears_per_table_prefixes() {
        let php = "<?php $databases['default']['default'] = ['database' => 'd', 'prefix' => 'p_'];";
        let defaults = Settings::drupal_defaults(
            &parse_settings(php).unwrap(),
            std::path::Path::new("/var/www/html/sites/default/settings.php"),
        );
        let s = load("", &defaults, &[]).unwrap();
        assert_eq!(s.database.table_prefix.as_deref(), Some("p_"));
        // Present and empty: replaces whatever [drupal.table_prefixes] the mapping has.
        assert_eq!(s.database.table_prefixes, Some(BTreeMap::new()));
    }

    #[test]
    fn bad_table_prefixes_are_refused() {
        let err = load("[database.table_prefixes]\ndefault = \"x_\"\n", &[], &[]).unwrap_err().to_string();
        assert!(err.contains("the default prefix is database.table_prefix"), "{err}");
        let err = load("[database.table_prefixes]\nusers = \"x`y\"\n", &[], &[]).unwrap_err().to_string();
        assert!(err.contains("table prefix of users"), "{err}");
        let env = [("DRUPAL_SCIM__DATABASE__TABLE_PREFIXES__USERS", "a.b.c")];
        assert!(load("", &[], &env).is_err());
        let err = load("table_prefix = \"bad prefix\"\n", &[], &[]).unwrap_err().to_string();
        assert!(err.contains("database.table_prefix"), "{err}");
    }

    #[test]
    fn base_path_and_public_url_are_kept_canonical() {
        let s =
            load("[server]\nbase_path = \"/api//scim/\"\npublic_url = \"https://www.example.org/drupal/\"\n", &[], &[])
                .unwrap();
        assert_eq!(s.server.base_path, "/api/scim");
        assert_eq!(s.server.public_url, "https://www.example.org/drupal");
        let env = [("DRUPAL_SCIM__SERVER__BASE_PATH", "/scim/v2/"), ("DRUPAL_SCIM__SERVER__PUBLIC_URL", "https://h/")];
        let s = load("", &[], &env).unwrap();
        assert_eq!((s.server.base_path.as_str(), s.server.public_url.as_str()), ("/scim/v2", "https://h"));
        for bad in ["/", "//", "scim/v2"] {
            let err = load(&format!("[server]\nbase_path = {bad:?}\n"), &[], &[]).unwrap_err().to_string();
            assert!(err.contains("server.base_path"), "{bad}: {err}");
        }
    }

    #[test]
    fn cache_settings_from_file_and_environment() {
        let s = load("", &[], &[]).unwrap();
        assert_eq!(s.cache.backend, CacheBackendKind::Database);
        let s = load("[cache]\nbackend = \"redis\"\nurl = \"redis://127.0.0.1:6379/1\"\nprefix = \"lab\"\n", &[], &[])
            .unwrap();
        assert_eq!((s.cache.backend, s.cache.prefix), (CacheBackendKind::Redis, Some(CachePrefix::One("lab".into()))));
        let s = load(
            "[cache]\nbackend = \"redis\"\nurl = \"redis://h\"\n[cache.prefix]\ndefault = \"site\"\nentity = \"ent\"\n",
            &[],
            &[],
        )
        .unwrap();
        assert_eq!(s.cache.prefix, Some(CachePrefix::PerBin(map(&[("default", "site"), ("entity", "ent")]))));
        let env = [
            ("DRUPAL_SCIM__CACHE__BACKEND", "redis"),
            ("DRUPAL_SCIM__CACHE__URL", "rediss://u:p@h:6380/3"),
            ("DRUPAL_SCIM__CACHE__PREFIX__DEFAULT", "site"),
            ("DRUPAL_SCIM__CACHE__PREFIX__CONFIG", "conf"),
        ];
        let s = load("", &[], &env).unwrap();
        assert_eq!(s.cache.url.as_ref().map(Secret::expose), Some("rediss://u:p@h:6380/3"));
        assert_eq!(s.cache.prefix, Some(CachePrefix::PerBin(map(&[("config", "conf"), ("default", "site")]))));
        let env = [("DRUPAL_SCIM__CACHE__BACKEND", "redis"), ("DRUPAL_SCIM__CACHE__URL", "redis://h")];
        let err = load("", &[], &env).unwrap_err().to_string();
        assert!(err.contains("cache.prefix"), "{err}");
        assert!(load("[cache]\nbackend = \"valkey\"\n", &[], &[]).is_err());
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_path("/scim/v2"), "/scim/v2");
        assert_eq!(canonical_path("//scim///v2//"), "/scim/v2");
        assert_eq!(canonical_path("/"), "");
        assert_eq!(canonical_url(""), "");
        assert_eq!(canonical_url("https://h"), "https://h");
        assert_eq!(canonical_url("https://h:8443//drupal//x/"), "https://h:8443/drupal/x");
    }

    #[test]
    fn sync_section_defaults_and_checks() {
        assert!(load("", &[], &[]).unwrap().sync.is_none());
        let s = load("[sync]\nbase_url = \"https://b.example/scim/v2\"\ntoken = \"t\"\n", &[], &[]).unwrap();
        let sync = s.sync.unwrap();
        assert_eq!((sync.interval_secs, sync.scope, sync.on_block), (60, SyncScope::All, SyncRemoval::Deactivate));
        assert_eq!(format!("{:?}", sync.token), "Some(Secret(***))");
        let s = load(
            "[sync]\nbase_url = \"http://b\"\ntoken = \"t\"\nscope = \"roles\"\nroles = [\"editor\", \"staff\"]\n",
            &[],
            &[],
        )
        .unwrap();
        assert_eq!(s.sync.unwrap().roles, ["editor", "staff"]);
        let err = load("[sync]\nbase_url = \"http://b\"\ntoken = \"t\"\nscope = \"roles\"\n", &[], &[]);
        assert!(err.unwrap_err().to_string().contains("sync.roles"));
        assert!(load("[sync]\nbase_url = \"b\"\ntoken = \"t\"\n", &[], &[]).is_err());
        assert!(load("[sync]\nbase_url = \"http://b\"\ntoken = \"t\"\non_block = \"x\"\n", &[], &[]).is_err());
        let oauth = "[sync.oauth]\ntoken_url = \"https://idp/token\"\nclient_id = \"c\"\nclient_secret = \"s\"\n";
        let s = load(&format!("[sync]\nbase_url = \"http://b\"\n{oauth}"), &[], &[]).unwrap();
        assert_eq!(format!("{:?}", s.sync.unwrap().oauth.unwrap().client_secret), "Secret(***)");
        for (text, expected) in [
            ("[sync]\nbase_url = \"http://b\"\n".to_string(), "needs a token"),
            (format!("[sync]\nbase_url = \"http://b\"\ntoken = \"t\"\n{oauth}"), "exclude each other"),
            (format!("[sync]\nbase_url = \"http://b\"\n{}", oauth.replace("https://idp/token", "idp")), "token_url"),
        ] {
            let e = load(&text, &[], &[]).unwrap_err().to_string();
            assert!(e.contains(expected), "{expected}: {e}");
        }
    }
}
