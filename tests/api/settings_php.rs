//! settings.php read by the real PHP: `getenv()`, an included settings.local.php and computed
//! values come out as Drupal sees them, which the literal reader refuses. These tests need
//! `php` (Debian: php-cli); without it they fail, naming the package, instead of skipping.

use crate::helpers::TempDir;
use drupal_scim::config::{self, Reader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A Drupal root in a temporary folder with `sites/default/settings.php` = `php`; returns the
/// root and the path of settings.php.
fn site(php: &str) -> (TempDir, PathBuf) {
    let root = TempDir(std::env::temp_dir().join(format!("dscim-php-{}", uuid::Uuid::new_v4().simple())));
    let dir = root.0.join("sites/default");
    std::fs::create_dir_all(&dir).unwrap();
    let settings = dir.join("settings.php");
    std::fs::write(&settings, php).unwrap();
    (root, settings)
}

/// The PHP these tests run: it must be there.
fn php() -> &'static Path {
    let found = std::process::Command::new("php").arg("-v").output().is_ok_and(|o| o.status.success());
    assert!(found, "these tests run the real PHP: install php-cli (apt-get install php-cli), or put php on PATH");
    Path::new("php")
}

/// Read `settings` by asking `php`, which must answer (not the literal reader).
fn read_by_php(settings: &Path, php: &Path) -> config::DrupalDatabase {
    let (db, reader) = config::read(settings, php).unwrap();
    assert!(matches!(reader, Reader::Php { .. }), "read {reader}, not by PHP");
    db
}

#[test]
fn php_reads_getenv_as_drupal_does() {
    let (root, settings) = site(
        "<?php\n$databases['default']['default'] = [\n  'database' => getenv('DSCIM_TEST_DB') ?: 'fallback_db',\n  'username' => getenv('DSCIM_TEST_USER'),\n  'host' => getenv('DSCIM_TEST_HOST') ?: 'localhost',\n  'driver' => 'mysql',\n];\n",
    );
    // Unset: the file's own fallbacks; getenv() of an unset variable is false, no user.
    let db = read_by_php(&settings, php());
    assert_eq!(db.url(), "mysql://localhost/fallback_db");
    // Set, as a hosting platform does (the configurable PHP is a wrapper that sets them).
    let wrapper = root.0.join("php-with-env");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\nexec env DSCIM_TEST_DB=site_db DSCIM_TEST_USER=drupal DSCIM_TEST_HOST=db.internal php \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    php();
    let db = read_by_php(&settings, &wrapper);
    assert_eq!(db.url(), "mysql://drupal@db.internal/site_db");
    // The literal reader refuses the same file, naming the line.
    let literal = config::settings_php::parse_settings(&std::fs::read_to_string(&settings).unwrap()).unwrap_err();
    assert!(literal.to_string().contains("line 3"), "{literal}");
}

#[test]
fn php_follows_the_include_of_settings_local_php_from_app_root_and_site_path() {
    let (root, settings) = site(
        "<?php\n$databases['default']['default'] = ['database' => 'prod', 'host' => 'db', 'driver' => 'mysql'];\n$settings['config_sync_directory'] = '../config/sync';\nif (file_exists($app_root . '/' . $site_path . '/settings.local.php')) {\n  include $app_root . '/' . $site_path . '/settings.local.php';\n}\n",
    );
    std::fs::write(
        root.0.join("sites/default/settings.local.php"),
        "<?php\n$databases['default']['default']['host'] = '127.0.0.1';\n$databases['default']['default']['port'] = 3307;\n$settings['config_sync_directory'] = 'sites/default/files/sync';\necho 'output of settings.local.php is thrown away';\n",
    )
    .unwrap();
    let db = read_by_php(&settings, php());
    assert_eq!(db.url(), "mysql://127.0.0.1:3307/prod");
    assert_eq!(db.config_sync_directory.as_deref(), Some("sites/default/files/sync"));
    assert!(db.warnings.is_empty(), "{:?}", db.warnings);
}

#[test]
fn php_evaluates_computed_values_and_carries_the_cache_settings() {
    let (_root, settings) = site(
        "<?php\ndefine('DSCIM_SITE', 'shop');\n$prefix = DSCIM_SITE . '_';\n$databases['default']['default'] = [\n  'database' => sprintf('%s_%d', DSCIM_SITE, 2 * 5),\n  'username' => strtolower('DRUPAL'),\n  'password' => implode(':', ['p', 'w']),\n  'prefix' => $prefix,\n  'port' => (int) ('33' . '06'),\n  'host' => 'db',\n];\n$settings['cache']['default'] = 'cache.backend.redis';\n$settings['cache_prefix'] = $prefix;\n$settings['redis.connection']['host'] = 'redis';\n",
    );
    let db = read_by_php(&settings, php());
    assert_eq!(db.url(), "mysql://drupal:p%3Aw@db:3306/shop_10");
    assert_eq!(db.prefix, "shop_");
    assert_eq!(db.cache.cache, Some(serde_json::json!({"default": "cache.backend.redis"})));
    assert_eq!(db.cache.cache_prefix, Some(serde_json::json!("shop_")));
    assert_eq!(db.cache.redis_connection, Some(serde_json::json!({"host": "redis"})));
    assert_eq!(db.cache.memcache, None);
    // --drupal-settings then defaults drupal-scim's [cache] to the same Redis and prefix.
    let defaults = drupal_scim::settings::Settings::drupal_defaults(&db, &settings);
    let get = |k: &str| defaults.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone().into_string().unwrap());
    assert_eq!(get("cache.backend").as_deref(), Some("redis"));
    assert_eq!(get("cache.url").as_deref(), Some("redis://redis:6379/0"));
    assert_eq!(get("cache.prefix").as_deref(), Some("shop_"));
}

#[test]
fn drupal7_settings_see_drupal_root_and_a_prefix_array() {
    let (root, settings) = site(
        "<?php\n$databases = array('default' => array('default' => array(\n  'database' => basename(DRUPAL_ROOT),\n  'driver' => 'mysql',\n  'prefix' => array('default' => 'main_', 'users' => 'shared_'),\n)));\n",
    );
    let db = read_by_php(&settings, php());
    assert_eq!(db.database, root.0.file_name().unwrap().to_str().unwrap());
    assert_eq!(db.prefix, "main_");
    assert_eq!(db.prefixes.get("users").map(String::as_str), Some("shared_"));
}

#[test]
fn without_php_the_literal_reader_answers_and_says_so() {
    let (_root, settings) =
        site("<?php\n$databases['default']['default'] = ['database' => 'd', 'host' => 'h', 'driver' => 'mysql'];\n");
    let (db, reader) = config::read(&settings, Path::new("/nonexistent/php")).unwrap();
    assert_eq!(db.url(), "mysql://h/d");
    assert_eq!(reader, Reader::Literal { why_not_php: "no PHP found as /nonexistent/php".into() });
    assert!(reader.to_string().contains("without PHP"), "{reader}");
}

#[test]
fn a_php_error_falls_back_to_the_literal_reader() {
    // A fatal error in PHP (an undefined function); the literal values are still readable.
    let (_root, settings) = site(
        "<?php\n$databases['default']['default'] = ['database' => 'd', 'host' => 'h', 'driver' => 'mysql'];\ndscim_no_such_function();\n",
    );
    let (db, reader) = config::read(&settings, php()).unwrap();
    assert_eq!(db.url(), "mysql://h/d");
    let Reader::Literal { why_not_php } = reader else { panic!("read by PHP") };
    assert!(why_not_php.contains("dscim_no_such_function"), "{why_not_php}");
}
