//! Read settings.php exactly, by asking PHP: where PHP is installed beside Drupal, `php` runs a
//! small script (given on the command line, [`SCRIPT`]) that sets up what Drupal sets up before
//! it includes settings.php — `$app_root`, `$site_path`, empty `$settings`, `$databases` and
//! `$config`, `DRUPAL_ROOT` for Drupal 7 — includes the file, and prints what drupal-scim needs
//! as JSON. `getenv()`, includes (settings.local.php, a hosting platform's settings file) and
//! computed values then come out as Drupal itself sees them; nothing of the site is bootstrapped
//! and the database is not touched.
//!
//! Why not `drush sql:conf`: drush is a PHP program too (no PHP, no drush), and it bootstraps
//! the site to answer; the include gives the same connection without that.

use crate::config::settings_php::SettingsPhpError;
use crate::config::{CacheSettings, DrupalDatabase};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The PHP run as `php -r SCRIPT -- <settings.php>`. Its own variables have a prefix no
/// settings.php uses; what settings.php prints is thrown away, so only the JSON is on stdout.
pub const SCRIPT: &str = r#"
$drupal_scim_file = $argv[1];
if (!is_file($drupal_scim_file)) { fwrite(STDERR, "no such file: $drupal_scim_file\n"); exit(3); }
$drupal_scim_file = realpath($drupal_scim_file);
$site_path = 'sites/' . basename(dirname($drupal_scim_file));
$app_root = dirname(dirname(dirname($drupal_scim_file)));
if (!defined('DRUPAL_ROOT')) { define('DRUPAL_ROOT', $app_root); }
$settings = [];
$databases = [];
$config = [];
chdir($app_root);
ob_start();
include $drupal_scim_file;
ob_end_clean();
$drupal_scim_settings = is_array($settings) ? $settings : [];
echo json_encode([
  'php_version' => PHP_VERSION,
  'database' => $databases['default']['default'] ?? null,
  'config_sync_directory' => $drupal_scim_settings['config_sync_directory'] ?? ($config_directories['sync'] ?? null),
  'cache' => [
    'cache' => $drupal_scim_settings['cache'] ?? null,
    'cache_prefix' => $drupal_scim_settings['cache_prefix'] ?? null,
    'redis.connection' => $drupal_scim_settings['redis.connection'] ?? null,
    'memcache' => $drupal_scim_settings['memcache'] ?? null,
  ],
], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR), "\n";
"#;

/// Longest an included Drupal file (settings.php, sites.php) may take to run.
const TIMEOUT: Duration = Duration::from_secs(20);

/// What PHP made of a settings.php.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluated {
    pub database: DrupalDatabase,
    /// `PHP_VERSION` of the PHP that ran it.
    pub php_version: String,
}

/// Why asking PHP gave no connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhpError {
    /// There is no PHP to ask (the literal reader is the way left).
    Missing(String),
    /// PHP ran and failed, or said something that is not the script's JSON.
    Failed(String),
    /// PHP read settings.php, and what it says cannot be used.
    Settings(SettingsPhpError),
}

impl std::fmt::Display for PhpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PhpError::Missing(why) | PhpError::Failed(why) => f.write_str(why),
            PhpError::Settings(e) => write!(f, "{e}"),
        }
    }
}

/// Run `php` on `settings_php` and read its answer.
pub fn evaluate(php: &Path, settings_php: &Path) -> Result<Evaluated, PhpError> {
    run(php, SCRIPT, settings_php).and_then(|stdout| from_json(&stdout))
}

/// Run `php -r script -- file` and return what it printed. Shared by every reader that asks PHP
/// to include one of Drupal's files (settings.php here, sites.php for multisite discovery), so
/// they all get the same timeout, the same error display settings and the same failure messages.
pub(crate) fn run(php: &Path, script: &str, file: &Path) -> Result<String, PhpError> {
    let mut child = Command::new(php)
        .args(["-d", "display_errors=stderr", "-d", "log_errors=0", "-r", script, "--"])
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => PhpError::Missing(format!("no PHP found as {}", php.display())),
            _ => PhpError::Failed(format!("cannot run {}: {e}", php.display())),
        })?;
    // The pipes are read on their own threads so a chatty settings.php cannot fill one and stall.
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out = std::thread::spawn(move || read_all(stdout.as_mut()));
    let err = std::thread::spawn(move || read_all(stderr.as_mut()));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(PhpError::Failed(format!("{} did not finish within {TIMEOUT:?}", php.display())));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(PhpError::Failed(format!("waiting for {}: {e}", php.display()))),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        let said = stderr.trim();
        return Err(PhpError::Failed(format!(
            "{} could not include it ({status}){}",
            php.display(),
            if said.is_empty() { String::new() } else { format!(": {said}") }
        )));
    }
    Ok(stdout)
}

fn read_all(pipe: Option<&mut impl Read>) -> String {
    let mut text = String::new();
    if let Some(pipe) = pipe {
        let _ = pipe.read_to_string(&mut text);
    }
    text
}

/// The script's JSON (`{"php_version", "database", "config_sync_directory", "cache"}`) as a
/// connection, held to the rules of Drupal's MySQL driver and drupal-scim's.
pub fn from_json(json: &str) -> Result<Evaluated, PhpError> {
    let answer: Value = serde_json::from_str(json.trim())
        .map_err(|e| PhpError::Failed(format!("PHP's answer is not the expected JSON ({e}): {json:.200}")))?;
    let php_version = answer.get("php_version").and_then(Value::as_str).unwrap_or("?").to_string();
    let invalid = |msg: String| PhpError::Settings(SettingsPhpError::Invalid(msg));
    let conn = match answer.get("database") {
        None | Some(Value::Null) => {
            return Err(PhpError::Settings(SettingsPhpError::NotFound { includes: Vec::new() }));
        }
        Some(Value::Object(conn)) => conn,
        Some(other) => return Err(invalid(format!("{TARGET} is {other}, not an array"))),
    };
    let driver = text(conn, "driver")?.filter(|d| !d.is_empty()).unwrap_or_else(|| "mysql".into());
    if !matches!(driver.as_str(), "mysql" | "mysqli") {
        return Err(PhpError::Settings(SettingsPhpError::Unsupported(format!(
            "settings.php uses the database driver '{driver}': drupal-scim supports MySQL/MariaDB only"
        ))));
    }
    let database = text(conn, "database")?.unwrap_or_default();
    if database.is_empty() {
        return Err(invalid(format!("{TARGET} has no 'database' name")));
    }
    let port = match text(conn, "port")?.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => match raw.parse::<u16>() {
            Ok(0) => None,
            Ok(port) => Some(port),
            Err(_) => return Err(invalid(format!("'port' is {raw:?}, not a port number"))),
        },
    };
    let (prefix, prefixes) = match conn.get("prefix") {
        Some(Value::Object(entries)) => {
            let mut per_table: BTreeMap<String, String> = BTreeMap::new();
            for (table, value) in entries {
                per_table.insert(table.clone(), scalar(value, "prefix")?.unwrap_or_default());
            }
            (per_table.remove("default").unwrap_or_default(), per_table)
        }
        Some(Value::Array(_)) => return Err(invalid("'prefix' is a list, not a table → prefix array".into())),
        Some(value) => (scalar(value, "prefix")?.unwrap_or_default(), BTreeMap::new()),
        None => (String::new(), BTreeMap::new()),
    };
    let cache = answer.get("cache");
    let setting = |key: &str| cache.and_then(|c| c.get(key)).filter(|v| !v.is_null()).cloned();
    let database = DrupalDatabase {
        driver,
        host: text(conn, "host")?.filter(|h| !h.is_empty()).unwrap_or_else(|| "localhost".into()),
        port,
        database,
        username: text(conn, "username")?.unwrap_or_default(),
        password: text(conn, "password")?.unwrap_or_default(),
        prefix,
        prefixes,
        unix_socket: text(conn, "unix_socket")?.filter(|s| !s.is_empty()),
        config_sync_directory: answer.get("config_sync_directory").and_then(Value::as_str).map(String::from),
        cache: CacheSettings {
            cache: setting("cache"),
            cache_prefix: setting("cache_prefix"),
            redis_connection: setting("redis.connection"),
            memcache: setting("memcache"),
        },
        warnings: Vec::new(),
    };
    Ok(Evaluated { database, php_version })
}

const TARGET: &str = "$databases['default']['default']";

/// A text setting of the connection; absent, `null` and `false` (what `getenv()` gives for an
/// unset variable) are none.
fn text(conn: &Map<String, Value>, key: &str) -> Result<Option<String>, PhpError> {
    conn.get(key).map_or(Ok(None), |value| scalar(value, key))
}

fn scalar(value: &Value, key: &str) -> Result<Option<String>, PhpError> {
    match value {
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Null | Value::Bool(false) => Ok(None),
        other => Err(PhpError::Settings(SettingsPhpError::Invalid(format!("'{key}' is {other}, not text")))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(database: &str) -> String {
        format!(
            r#"{{"php_version":"8.2.0","database":{database},"config_sync_directory":"../config/sync","cache":{{"cache":null,"cache_prefix":"p_","redis.connection":{{"host":"redis"}},"memcache":null}}}}"#
        )
    }

    fn read(database: &str) -> Result<DrupalDatabase, PhpError> {
        from_json(&answer(database)).map(|e| e.database)
    }

    #[test]
    fn a_connection_becomes_the_database_url_and_prefixes() {
        let db = read(
            r#"{"database":"drupal","username":"us:er","password":"p@ss","host":"db","port":"3306","driver":"mysql","prefix":"","namespace":"Drupal\\mysql\\Driver\\Database\\mysql"}"#,
        )
        .unwrap();
        assert_eq!(db.url(), "mysql://us%3Aer:p%40ss@db:3306/drupal");
        assert_eq!(db.config_sync_directory.as_deref(), Some("../config/sync"));
        assert_eq!(db.cache.cache_prefix, Some(Value::from("p_")));
        assert_eq!(db.cache.redis_connection, Some(serde_json::json!({"host": "redis"})));
        assert_eq!(db.cache.cache, None);
        let evaluated = from_json(&answer(r#"{"database":"d"}"#)).unwrap();
        assert_eq!(evaluated.php_version, "8.2.0");
        assert_eq!(evaluated.database.url(), "mysql://localhost/d");
    }

    #[test]
    fn ports_sockets_and_prefix_arrays_as_php_gives_them() {
        assert_eq!(read(r#"{"database":"d","port":3307}"#).unwrap().port, Some(3307));
        assert_eq!(read(r#"{"database":"d","port":""}"#).unwrap().port, None);
        assert_eq!(read(r#"{"database":"d","port":0}"#).unwrap().port, None);
        assert!(matches!(read(r#"{"database":"d","port":"x"}"#), Err(PhpError::Settings(_))));
        let socket = read(r#"{"database":"d","username":"root","unix_socket":"/run/mysqld/mysqld.sock"}"#).unwrap();
        assert_eq!(socket.url(), "mysql://root@localhost/d?socket=/run/mysqld/mysqld.sock");
        let d7 = read(r#"{"database":"d","prefix":{"default":"main_","users":"shared_"}}"#).unwrap();
        assert_eq!(d7.prefix, "main_");
        assert_eq!(d7.prefixes, BTreeMap::from([("users".to_string(), "shared_".to_string())]));
        assert!(matches!(read(r#"{"database":"d","prefix":["x"]}"#), Err(PhpError::Settings(_))));
    }

    #[test]
    fn what_cannot_be_used_is_said() {
        assert_eq!(read("null"), Err(PhpError::Settings(SettingsPhpError::NotFound { includes: Vec::new() })));
        // getenv() of an unset variable is false: no database name.
        let unset = read(r#"{"database":false,"driver":"mysql"}"#).unwrap_err().to_string();
        assert!(unset.contains("has no 'database' name"), "{unset}");
        let pgsql = read(r#"{"database":"d","driver":"pgsql"}"#).unwrap_err().to_string();
        assert!(pgsql.contains("'pgsql'") && pgsql.contains("MySQL/MariaDB only"), "{pgsql}");
        assert!(read(r#"{"database":["d"]}"#).unwrap_err().to_string().contains("'database' is"));
        assert!(matches!(from_json("Warning: something\n{}"), Err(PhpError::Failed(_))));
    }
}
