//! `drupal-scim check`: the report an operator reads before starting the server.

use crate::helpers::*;
use drupal_scim::check::run;
use drupal_scim::settings::Settings;
use mysql_async::prelude::*;

async fn report_for(mapping: &str) -> drupal_scim::check::Report {
    report_on(Fixture::Drupal10, mapping).await
}

async fn report_on(fixture: Fixture, mapping: &str) -> drupal_scim::check::Report {
    let (db, server, pool) = fresh_database_on(&test_server_url(), fixture).await;
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-check-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join("drupal_mapping.toml");
    std::fs::write(&path, mapping).unwrap();
    let report = run(&Settings::new(&format!("{server}/{db}"), SECRET, path)).await;
    pool.disconnect().await.unwrap();
    drop_test_database(&server, &db).await;
    report
}

#[tokio::test]
async fn check_reports_every_mapped_attribute_and_passes_on_a_stock_site() {
    let report = report_for(&mapping_with_fields()).await;
    let text = report.to_string();
    assert!(!report.failed(), "{text}");
    assert!(text.contains("userName → users_field_data.name (column, at most 60 characters)"), "{text}");
    assert!(
        text.contains("name.givenName → user__field_first_name.field_first_name_value (field, at most 255 characters)"),
        "{text}"
    );
    assert!(text.contains("protected account uid 1 (admin)"), "{text}");
    assert!(text.contains("protected role administrator"), "{text}");
    assert!(text.contains("bcrypt $2y$ at cost 10"), "{text}");
    assert!(text.contains("will be created at the first start"), "check writes nothing: {text}");
}

#[tokio::test]
async fn check_names_the_drupal7_tables_of_the_same_mapping() {
    let report = report_on(Fixture::Drupal7, &mapping_with_fields()).await;
    let text = report.to_string();
    assert!(!report.failed(), "{text}");
    assert!(text.contains("connected; Drupal 7 schema"), "{text}");
    assert!(text.contains("userName → users.name (column, at most 60 characters)"), "{text}");
    assert!(text.contains("preferredLanguage → users.language (column, at most 12 characters)"), "{text}");
    assert!(
        text.contains(
            "name.givenName → field_data_field_first_name.field_first_name_value (+ field_revision_field_first_name) (field, at most 255 characters)"
        ),
        "{text}"
    );
    assert!(text.contains("protected account uid 1 (admin)"), "{text}");
    assert!(text.contains("protected role 3 (\"administrator\")"), "{text}");
    assert!(text.contains("phpass $S$ with 2^15 rounds"), "{text}");
    assert!(text.contains("cache_field entry"), "{text}");
}

#[tokio::test]
async fn check_fails_naming_the_line_of_a_missing_field() {
    let mapping =
        format!("{}\n[[users.attribute]]\nscim = \"title\"\ndrupal = \"field_job_title\"\n", mapping_with_fields());
    let report = report_for(&mapping).await;
    let text = report.to_string();
    assert!(report.failed(), "{text}");
    assert!(text.contains("field field_job_title has no table user__field_job_title"), "{text}");
    // The appended entry, not the shipped file's commented example of the same mapping.
    let line = mapping.lines().position(|l| l == "scim = \"title\"").unwrap() + 1;
    assert!(text.contains(&format!("line {line}:")), "{text}");
}

#[tokio::test]
async fn check_fails_on_a_bad_mapping_file_with_its_line() {
    let report = report_for("version = 1\n[users]\nprotected_uid = [0]\n").await;
    let text = report.to_string();
    assert!(report.failed());
    assert!(text.contains("line 3"), "{text}");
    assert!(text.contains("protected_uid"), "{text}");
}

/// A settings.php for the test database as Drupal's installer writes it, with `prefix` as the
/// PHP text of the prefix.
fn settings_php(server: &str, db: &str, prefix: &str) -> String {
    // mysql://user[:pass]@host:port
    let rest = server.trim_start_matches("mysql://");
    let (userinfo, hostport) = rest.rsplit_once('@').unwrap();
    let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "3306"));
    format!(
        "<?php\n// $databases['default']['default'] = ['database' => 'not_this_one'];\n$databases['default']['default'] = array (\n  'database' => '{db}',\n  'username' => '{user}',\n  'password' => '{pass}',\n  'prefix' => {prefix},\n  'host' => '{host}',\n  'port' => '{port}',\n  'namespace' => 'Drupal\\\\mysql\\\\Driver\\\\Database\\\\mysql',\n  'driver' => 'mysql',\n  'autoload' => 'core/modules/mysql/src/Driver/Database/mysql/',\n);\n$settings['hash_salt'] = 'x';\n"
    )
}

#[tokio::test]
async fn check_reads_the_database_from_drupals_settings_php() {
    let (db, server, pool) = fresh_database().await;
    pool.disconnect().await.unwrap();
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-sphp-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let php = settings_php(&server, &db, "''");
    std::fs::write(dir.0.join("settings.php"), php).unwrap();
    std::fs::write(dir.0.join("drupal_mapping.toml"), mapping_with_fields()).unwrap();
    let out = check_with_settings_php(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("connected; Drupal 8–11 schema"), "{stdout}");
    // A settings.php that reads the environment cannot be evaluated: a clear error, exit 2.
    std::fs::write(
        dir.0.join("env.php"),
        "<?php\n$databases['default']['default'] = ['database' => getenv('DB'), 'driver' => 'mysql'];\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_drupal-scim"))
        .args(["check", "--drupal-settings"])
        .arg(dir.0.join("env.php"))
        .env("DRUPAL_SCIM__AUTH__SECRET", SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("getenv") && stderr.contains("line 2"), "{stderr}");
    drop_test_database(&server, &db).await;
}

#[tokio::test]
async fn check_reports_the_per_table_prefixes_of_a_settings_php_prefix_array() {
    let (db, server, pool) = fresh_database().await;
    pool.disconnect().await.unwrap();
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-sphp-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    // A Drupal 7-style prefix array whose entries all resolve to the stock tables.
    let php = settings_php(&server, &db, "array('default' => '', 'sessions' => '', 'users' => '')");
    std::fs::write(dir.0.join("settings.php"), php).unwrap();
    // settings.php's array replaces the mapping's [drupal.table_prefixes] as a whole.
    let mapping =
        mapping_with_fields().replacen("\n[users]\n", "\n[drupal.table_prefixes]\nrole = \"ignored_\"\n\n[users]\n", 1);
    std::fs::write(dir.0.join("drupal_mapping.toml"), mapping).unwrap();
    let out = check_with_settings_php(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("table sessions has its own prefix \"\""), "{stdout}");
    assert!(stdout.contains("table users has its own prefix \"\""), "{stdout}");
    assert!(!stdout.contains("ignored_"), "{stdout}");
    drop_test_database(&server, &db).await;
}

/// `drupal-scim check --drupal-settings` on the settings.php and drupal_mapping.toml in `dir`.
fn check_with_settings_php(dir: &TempDir) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_drupal-scim"))
        .args(["check", "--drupal-settings"])
        .arg(dir.0.join("settings.php"))
        .env_remove("DRUPAL_SCIM__DATABASE__URL")
        .env("DRUPAL_SCIM__AUTH__SECRET", SECRET)
        .env("DRUPAL_SCIM__MAPPING", dir.0.join("drupal_mapping.toml"))
        .output()
        .unwrap()
}

#[tokio::test]
async fn check_warns_when_a_role_scim_created_is_missing_from_the_config_sync_directory() {
    // A server creates a role for a group, then check runs against the same database.
    let app = TestApp::spawn().await;
    assert_eq!(app.post("/Groups", &serde_json::json!({"displayName": "Deploy Team"})).await.status().as_u16(), 201);
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-sync-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let mapping = dir.0.join("drupal_mapping.toml");
    std::fs::write(&mapping, mapping_with_fields()).unwrap();
    let sync = dir.0.join("config-sync");
    std::fs::create_dir_all(&sync).unwrap();
    let mut settings = Settings::new(&format!("{}/{}", test_server_url(), app.db_name), SECRET, mapping);
    settings.config_sync_directory = Some(sync.clone());
    let text = run(&settings).await.to_string();
    assert!(text.contains("WARN  role deploy_team was created through SCIM but"), "{text}");
    assert!(text.contains("drush cim"), "{text}");
    // Exported: no warning.
    std::fs::write(sync.join("user.role.deploy_team.yml"), "id: deploy_team\n").unwrap();
    let text = run(&settings).await.to_string();
    assert!(!text.contains("WARN  role deploy_team"), "{text}");
    assert!(text.contains("role deploy_team (created through SCIM) is exported"), "{text}");
}

#[test]
fn a_relative_config_sync_directory_is_read_from_settings_php_against_the_drupal_root() {
    let php = "<?php\n$databases['default']['default'] = ['database' => 'd', 'username' => 'u', 'password' => 'p', 'host' => 'h', 'driver' => 'mysql'];\n$settings['config_sync_directory'] = '../config/sync';\n";
    let db = drupal_scim::config::settings_php::parse_settings(php).unwrap();
    assert_eq!(db.config_sync_directory.as_deref(), Some("../config/sync"));
    let defaults = Settings::drupal_defaults(&db, std::path::Path::new("/var/www/html/web/sites/default/settings.php"));
    let dir = defaults.iter().find(|(k, _)| *k == "config_sync_directory").unwrap().1.clone().into_string().unwrap();
    assert_eq!(dir, "/var/www/html/web/../config/sync");
}

#[tokio::test]
async fn check_reports_the_database_server_and_the_range_supported_for_the_site() {
    let report = report_for(&mapping_with_fields()).await;
    let text = report.to_string();
    assert!(!report.failed(), "{text}");
    // Only MariaDB runs here; its version is read from the server, not assumed.
    assert!(text.contains("ok    database server MariaDB "), "{text}");
    assert!(text.contains("supported for a Drupal 8–10 site (MySQL ≥ 5.7.8, MariaDB ≥ 10.3.7)"), "{text}");

    let report = report_on(Fixture::Drupal7, &mapping_with_fields()).await;
    let text = report.to_string();
    assert!(!report.failed(), "{text}");
    assert!(text.contains("supported for a Drupal 7 site (MySQL ≥ 5.7.8, MariaDB ≥ 10.3.7)"), "{text}");
}

#[tokio::test]
async fn a_drupal_11_site_is_held_to_drupal_11s_minimum() {
    // Drupal 11.1's first system update is 11100; no 10.x site has a schema version that high.
    let (db, server, pool) = fresh_database().await;
    let mut conn = pool.get_conn().await.unwrap();
    conn.query_drop("UPDATE key_value SET value = 'i:11100;' WHERE collection = 'system.schema' AND name = 'system'")
        .await
        .unwrap();
    drop(conn);
    pool.disconnect().await.unwrap();
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-check-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join("drupal_mapping.toml");
    std::fs::write(&path, mapping_with_fields()).unwrap();
    let report = run(&Settings::new(&format!("{server}/{db}"), SECRET, path)).await;
    let text = report.to_string();
    drop_test_database(&server, &db).await;
    assert!(!report.failed(), "MariaDB 10.11 is above Drupal 11's 10.6: {text}");
    assert!(text.contains("supported for a Drupal 11 site (MySQL ≥ 8.0.0, MariaDB ≥ 10.6.0)"), "{text}");
}
