//! A mapped field that allows more than one value is refused at start-up and by `check`, with
//! its line: SCIM would show its first value only and write one back, so a PATCH of `active`
//! alone would delete the others. Where the field's storage settings are missing, that is said
//! instead of guessed.

use crate::helpers::*;
use drupal_scim::settings::Settings;

/// SQL giving a fixture field `cardinality` (-1: unlimited), as the field's settings form does:
/// the `cardinality` key of its storage config on Drupal 10, `field_config.cardinality` on 7.
fn set_cardinality(fx: Fixture, field: &str, cardinality: i64) -> String {
    match fx {
        Fixture::Drupal10 => format!(
            "UPDATE config SET data = REPLACE(data, 's:11:\"cardinality\";i:1;', 's:11:\"cardinality\";i:{cardinality};') \
             WHERE collection = '' AND name = 'field.storage.user.{field}';"
        ),
        Fixture::Drupal7 => {
            format!("UPDATE field_config SET cardinality = {cardinality} WHERE field_name = '{field}' AND deleted = 0;")
        }
    }
}

/// The line of drupal_mapping.toml that maps `field` (the line of its `scim =`).
fn line_of(mapping: &str, field: &str) -> usize {
    let lines: Vec<&str> = mapping.lines().collect();
    let drupal = lines.iter().position(|l| l.trim() == format!("drupal = \"{field}\"")).unwrap();
    lines[..drupal].iter().rposition(|l| l.trim_start().starts_with("scim =")).unwrap() + 1
}

/// `drupal-scim check` on a fresh `fx` database after `setup_sql`.
async fn check_after(fx: Fixture, setup_sql: &str, mapping: &str) -> drupal_scim::check::Report {
    let (db, server, pool) = fresh_database_on(&test_server_url(), fx).await;
    if !setup_sql.is_empty() {
        let mut conn = pool.get_conn().await.unwrap();
        mysql_async::prelude::Queryable::query_drop(&mut conn, setup_sql).await.unwrap();
    }
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-card-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join("drupal_mapping.toml");
    std::fs::write(&path, mapping).unwrap();
    let report = drupal_scim::check::run(&Settings::new(&format!("{server}/{db}"), SECRET, path)).await;
    pool.disconnect().await.unwrap();
    drop_test_database(&server, &db).await;
    report
}

async fn a_multi_value_field_is_refused_at_start_up_and_by_check_naming_its_line(fx: Fixture) {
    let mapping = mapping_with_fields();
    let setup =
        format!("{}{}", set_cardinality(fx, "field_department", -1), set_cardinality(fx, "field_employee_number", 3));
    let department = line_of(&mapping, "field_department");
    let employee = line_of(&mapping, "field_employee_number");
    let unlimited = format!(
        "line {department}: field_department allows any number of values (cardinality -1, unlimited) but SCIM maps it to the single-valued attribute urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department; drupal-scim never truncates a field"
    );
    let three = format!("line {employee}: field_employee_number allows 3 values (cardinality 3) but SCIM maps it");

    let error = match TestApp::try_spawn_custom_on(fx, &test_server_url(), &mapping, &setup, |_| {}).await {
        Ok(_) => panic!("the server started with multi-value fields mapped"),
        Err(e) => e,
    };
    assert!(error.contains(&unlimited), "{error}");
    assert!(error.contains(&three), "every such field is named at once: {error}");

    let report = check_after(fx, &setup, &mapping).await;
    let text = report.to_string();
    assert!(report.failed(), "{text}");
    assert!(text.contains(&format!("ERROR {unlimited}")), "{text}");
    assert!(text.contains(&format!("ERROR {three}")), "{text}");

    // Cardinality 1 (the fixtures' own) is what SCIM maps: the same mapping starts.
    let app = TestApp::try_spawn_custom_on(fx, &test_server_url(), &mapping, "", |_| {}).await;
    let app = app.unwrap_or_else(|e| panic!("single-value fields are accepted: {e}"));
    assert_eq!(app.get("/Users?count=1").await.status().as_u16(), 200);
    let report = check_after(fx, "", &mapping).await;
    assert!(!report.failed(), "{report}");
}

both!(a_multi_value_field_is_refused_at_start_up_and_by_check_naming_its_line);

async fn a_field_without_storage_settings_is_refused_rather_than_guessed(fx: Fixture) {
    let mapping = mapping_with_fields();
    let (setup, missing) = match fx {
        Fixture::Drupal10 => (
            "DELETE FROM config WHERE name = 'field.storage.user.field_last_name';",
            "the config row field.storage.user.field_last_name is missing",
        ),
        Fixture::Drupal7 => (
            "DELETE FROM field_config WHERE field_name = 'field_last_name';",
            "the field_config row of field_last_name is missing",
        ),
    };
    let line = line_of(&mapping, "field_last_name");
    let expected =
        format!("line {line}: field_last_name: {missing}, so drupal-scim cannot tell how many values the field allows");
    let error = match TestApp::try_spawn_custom_on(fx, &test_server_url(), &mapping, setup, |_| {}).await {
        Ok(_) => panic!("the server started without the field's storage settings"),
        Err(e) => e,
    };
    assert!(error.contains(&expected), "{error}");
    let report = check_after(fx, setup, &mapping).await;
    assert!(report.failed() && report.to_string().contains(&format!("ERROR {expected}")), "{report}");
}

both!(a_field_without_storage_settings_is_refused_rather_than_guessed);
