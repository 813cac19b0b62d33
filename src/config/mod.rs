//! Drupal's own configuration, read from its `settings.php`: the database connection, the table
//! prefixes and the config sync directory. Nothing here touches the database.
//!
//! - [`settings_php`]: a reader of the literal forms settings.php commonly uses, without PHP.

pub mod settings_php;

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
