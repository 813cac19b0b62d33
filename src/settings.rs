//! Server settings: an optional TOML file, then `DRUPAL_SCIM__*` environment variables
//! (`__` separates sections, e.g. `DRUPAL_SCIM__DATABASE__URL`). Secrets never print.

use serde::Deserialize;
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
    /// Validate and log every write as it would happen, then roll it back: nothing is written.
    #[serde(default)]
    pub dry_run: bool,
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
    pub fn load(file: Option<&std::path::Path>, defaults: &[(&str, String)]) -> Result<Settings, SettingsError> {
        let mut builder = config::Config::builder();
        for (key, value) in defaults {
            builder = builder.set_default(*key, value.as_str())?;
        }
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).required(true));
        } else {
            builder = builder.add_source(config::File::with_name("drupal-scim").required(false));
        }
        let settings: Settings = builder
            .add_source(
                config::Environment::with_prefix("DRUPAL_SCIM")
                    .prefix_separator("__")
                    .separator("__")
                    .list_separator(",")
                    .with_list_parse_key("auth.revoked"),
            )
            .build()?
            .try_deserialize()?;
        settings.check()?;
        Ok(settings)
    }

    /// Checks that cannot be expressed in types.
    pub fn check(&self) -> Result<(), SettingsError> {
        let short = std::iter::once(("auth.secret", &self.auth.secret))
            .chain(self.auth.previous_keys.iter().map(|k| ("auth.previous_keys.secret", &k.secret)))
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
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            return Err(SettingsError::Invalid("server.tls_cert and server.tls_key go together".into()));
        }
        if !self.server.base_path.starts_with('/') || self.server.base_path.ends_with('/') {
            return Err(SettingsError::Invalid(format!(
                "server.base_path must start with '/' and not end with it (got {:?})",
                self.server.base_path
            )));
        }
        if self.limits.max_page_size == 0 || self.limits.default_page_size > self.limits.max_page_size {
            return Err(SettingsError::Invalid(
                "limits.default_page_size must be between 1 and limits.max_page_size".into(),
            ));
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
            },
            database: DatabaseSettings {
                url: Secret::new(database_url),
                pool_max: default_pool_max(),
                timeout_secs: default_db_timeout(),
                table_prefix: None,
            },
            auth: AuthSettings {
                secret: Secret::new(secret),
                key_id: None,
                previous_keys: Vec::new(),
                revoked: Vec::new(),
                issuer: default_issuer(),
                audience: default_audience(),
            },
            mapping,
            limits: LimitSettings::default(),
            audit: AuditSettings::default(),
            dry_run: false,
        }
    }
}
