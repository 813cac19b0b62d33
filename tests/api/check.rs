//! `drupal-scim check`: the report an operator reads before starting the server.

use crate::helpers::*;
use drupal_scim::check::run;
use drupal_scim::settings::Settings;

async fn report_for(mapping: &str) -> drupal_scim::check::Report {
    let (db, server, pool) = fresh_database().await;
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
    assert!(text.contains("name.givenName → user__field_first_name.field_first_name_value (field, at most 255 characters)"), "{text}");
    assert!(text.contains("protected account uid 1 (admin)"), "{text}");
    assert!(text.contains("protected role administrator"), "{text}");
    assert!(text.contains("bcrypt $2y$ at cost 10"), "{text}");
    assert!(text.contains("will be created at the first start"), "check writes nothing: {text}");
}

#[tokio::test]
async fn check_fails_naming_the_line_of_a_missing_field() {
    let mapping = format!("{}\n[[users.attribute]]\nscim = \"title\"\ndrupal = \"field_job_title\"\n", mapping_with_fields());
    let report = report_for(&mapping).await;
    let text = report.to_string();
    assert!(report.failed(), "{text}");
    assert!(text.contains("field field_job_title has no table user__field_job_title"), "{text}");
    let line = mapping.lines().position(|l| l.contains("scim = \"title\"")).unwrap() + 1;
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
