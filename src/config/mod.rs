//! Drupal's own configuration, read from its `settings.php`: the database connection, the table
//! prefixes and the config sync directory. Nothing here touches the database.
//!
//! - [`php`]: settings.php read exactly, by asking the PHP installed beside Drupal;
//! - [`settings_php`]: a reader of the literal forms settings.php commonly uses, without PHP —
//!   the fallback where there is no PHP, or PHP fails.
//!
//! [`read`] tries them in that order and says which one answered. [`multisite`] finds the sites
//! of a multisite codebase and reads each one's settings.php that way.

pub mod multisite;
pub mod php;
pub mod settings_php;

use std::path::Path;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::collections::BTreeMap;

/// What a URL component keeps as it is: RFC 3986's unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A socket path keeps its slashes too.
const SOCKET_PATH: &AsciiSet = &COMPONENT.remove(b'/');

/// The connection Drupal itself uses (`$databases['default']['default']`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrupalDatabase {
    /// `mysql` (Drupal's `mysqli` driver is reported as `mysqli`; both talk to MySQL/MariaDB).
    pub driver: String,
    /// Host name or address; `localhost` when settings.php leaves it out.
    pub host: String,
    pub port: Option<u16>,
    pub database: String,
    pub username: String,
    pub password: String,
    /// Table prefix (`''` on most sites); with a Drupal 7 prefix array, its `'default'` entry.
    pub prefix: String,
    /// The other entries of a Drupal 7 prefix array: tables with a prefix of their own
    /// (`'users' => 'shared_'`). Empty when the prefix is a string.
    pub prefixes: BTreeMap<String, String>,
    pub unix_socket: Option<String>,
    /// `$settings['config_sync_directory']` when it is a literal string (Drupal 8+): where
    /// `drush config:export` writes and `drush config:import` reads the site's configuration.
    pub config_sync_directory: Option<String>,
    /// The site's cache settings (read by PHP only), carried for cache backends other than the
    /// database.
    pub cache: CacheSettings,
    /// Things the reader noticed but could not follow, e.g. an `include` of settings.local.php
    /// after the database settings, which may change them.
    pub warnings: Vec<String>,
}

impl DrupalDatabase {
    /// A `mysql://` URL for mysql_async: user, password and database percent-encoded, a Unix
    /// socket as the `?socket=` query parameter.
    pub fn url(&self) -> String {
        let encode = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
        let mut url = String::from("mysql://");
        if !self.username.is_empty() || !self.password.is_empty() {
            url.push_str(&encode(&self.username));
            if !self.password.is_empty() {
                url.push(':');
                url.push_str(&encode(&self.password));
            }
            url.push('@');
        }
        match &self.unix_socket {
            Some(socket) => {
                url.push_str("localhost/");
                url.push_str(&encode(&self.database));
                url.push_str("?socket=");
                url.push_str(&utf8_percent_encode(socket, SOCKET_PATH).to_string());
            }
            None => {
                if self.host.contains(':') && !self.host.starts_with('[') {
                    // An IPv6 address needs brackets in a URL.
                    url.push('[');
                    url.push_str(&self.host);
                    url.push(']');
                } else {
                    url.push_str(&self.host);
                }
                if let Some(port) = self.port {
                    url.push(':');
                    url.push_str(&port.to_string());
                }
                url.push('/');
                url.push_str(&encode(&self.database));
            }
        }
        url
    }
}

/// settings.php's cache settings, as PHP evaluated them (JSON of the PHP values).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheSettings {
    /// `$settings['cache']`: the cache backends by bin.
    pub cache: Option<serde_json::Value>,
    /// `$settings['cache_prefix']`.
    pub cache_prefix: Option<serde_json::Value>,
    /// `$settings['redis.connection']` (the redis module).
    pub redis_connection: Option<serde_json::Value>,
    /// `$settings['memcache']` (the memcache module).
    pub memcache: Option<serde_json::Value>,
}

/// Which reader answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reader {
    /// PHP included the file: exactly what Drupal sees.
    Php { binary: String, version: String },
    /// The literal reader, and why PHP was not used.
    Literal { why_not_php: String },
}

impl std::fmt::Display for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reader::Php { binary, version } => write!(f, "by asking PHP {version} ({binary}) to include it"),
            Reader::Literal { why_not_php } => {
                write!(f, "by reading its literal values without PHP ({why_not_php})")
            }
        }
    }
}

/// Read the connection from `settings_php`: by asking `php` when it runs, otherwise (no PHP,
/// or PHP failed) with the literal reader. An answer PHP gave that cannot be used is final, but
/// the literal reader's view is added to the error where it fails too: it names the line.
pub fn read(settings_php: &Path, php: &Path) -> Result<(DrupalDatabase, Reader), String> {
    let literal = || -> Result<DrupalDatabase, String> {
        let text = std::fs::read_to_string(settings_php)
            .map_err(|e| format!("cannot read {}: {e}", settings_php.display()))?;
        settings_php::parse_settings(&text).map_err(|e| e.to_string())
    };
    match php::evaluate(php, settings_php) {
        Ok(evaluated) => {
            Ok((evaluated.database, Reader::Php { binary: php.display().to_string(), version: evaluated.php_version }))
        }
        Err(php::PhpError::Settings(e)) => Err(match literal() {
            Err(without) => {
                format!("{}: as PHP evaluates it, {e}; read without PHP: {without}", settings_php.display())
            }
            Ok(_) => format!("{}: as PHP evaluates it, {e}", settings_php.display()),
        }),
        Err(failure) => {
            let why_not_php = failure.to_string();
            match literal() {
                Ok(db) => Ok((db, Reader::Literal { why_not_php })),
                Err(e) => Err(format!("{}: {e} (PHP could not be asked: {why_not_php})", settings_php.display())),
            }
        }
    }
}
