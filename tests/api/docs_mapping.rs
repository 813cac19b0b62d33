//! README.md's worked mapping (names, department, employee number, job title) is real: its TOML
//! block(s), marked `# worked-mapping`, are appended to the shipped mapping, the server starts on
//! the Drupal 10 fixture with them, and a user shaped as Entra sends it lands in the Drupal fields
//! the README promises. The README's table must name exactly the pairs the TOML maps.

use crate::helpers::*;
use serde_json::{Value, json};

/// The first line of every TOML block of the worked mapping in README.md.
const MARKER: &str = "# worked-mapping";
/// The heading of the README section that holds the table and the block(s).
const HEADING: &str = "#### Worked mapping";

/// The ```toml blocks of README.md whose first line is the marker, in order.
fn worked_blocks(readme: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```toml" {
            continue;
        }
        let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        if body.first().is_some_and(|first| first.starts_with(MARKER)) {
            blocks.push(body.join("\n"));
        }
    }
    blocks
}

/// The (scim, drupal) pairs of `[[users.attribute]]` entries in a TOML text.
fn pairs(toml_text: &str) -> Vec<(String, String)> {
    let table: toml::Table = toml::from_str(toml_text).expect("the worked mapping is valid TOML");
    let entries = table["users"]["attribute"].as_array().expect("[[users.attribute]] entries");
    entries
        .iter()
        .map(|e| (e["scim"].as_str().unwrap().to_string(), e["drupal"].as_str().unwrap().to_string()))
        .collect()
}

/// The pairs the README's worked table names in its `drupal_mapping.toml` column
/// (`` `scim` → `drupal` ``): the table rows between [`HEADING`] and the first TOML block.
fn table_pairs(readme: &str) -> Vec<(String, String)> {
    let section = &readme[readme.find(HEADING).expect("the worked mapping section")..];
    let section = &section[..section.find("```toml").expect("the worked mapping's TOML block")];
    let mut out = Vec::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        for cell in row.split('|').map(str::trim) {
            let Some((scim, drupal)) = cell.split_once(" → ") else { continue };
            let unquote = |s: &str| s.trim().trim_matches('`').to_string();
            if drupal.trim().starts_with("`field_") {
                out.push((unquote(scim), unquote(drupal)));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_readme_worked_mapping_stores_what_entra_sends_in_the_drupal_fields() {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let blocks = worked_blocks(&readme);
    assert!(!blocks.is_empty(), "README.md has no ```toml block starting with {MARKER:?}");
    let mapped: Vec<(String, String)> = blocks.iter().flat_map(|b| pairs(b)).collect();
    let mut in_table = table_pairs(&readme);
    let mut in_toml = mapped.clone();
    in_table.sort();
    in_toml.sort();
    assert_eq!(in_table, in_toml, "the README's worked table and its TOML name the same pairs");
    let expected = [
        ("name.givenName", "field_first_name"),
        ("name.familyName", "field_last_name"),
        (&*format!("{ENTERPRISE}:department"), "field_department"),
        (&*format!("{ENTERPRISE}:employeeNumber"), "field_employee_number"),
        ("title", "field_job_title"),
    ]
    .map(|(s, d)| (s.to_string(), d.to_string()));
    assert_eq!(mapped, expected, "the worked mapping covers the fields this test checks");

    let mut mapping = std::fs::read_to_string(repo_path("drupal_mapping.toml")).unwrap();
    for block in &blocks {
        mapping.push('\n');
        mapping.push_str(block);
        mapping.push('\n');
    }
    let setup = format!("{}{}", field_table_sql("field_job_title"), field_storage_config_sql("field_job_title", 1));
    let app = TestApp::spawn_custom_on(Fixture::Drupal10, &test_server_url(), &mapping, &setup, |_| {}).await;

    // A create as Entra sends it with its default user mappings, employeeId → employeeNumber added.
    let body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": "3f1c2a9e-6a55-4a0e-9d2b-0c1d2e3f4a5b",
        "userName": "alice.martin@example.org",
        "active": true,
        "displayName": "Alice Martin",
        "title": "Editor-in-chief",
        "preferredLanguage": "en-US",
        "emails": [{"primary": true, "type": "work", "value": "alice.martin@example.org"}],
        "phoneNumbers": [{"type": "work", "value": "+33 1 23 45 67 89"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Alice Martin", "familyName": "Martin", "givenName": "Alice"},
        "roles": [],
        ENTERPRISE: {"department": "  Newsroom ", "employeeNumber": "E-4711"}
    });
    let response = app.post("/Users", &body).await;
    assert_eq!(response.status().as_u16(), 201);
    let user: Value = response.json().await.unwrap();
    let id = user["id"].as_str().unwrap().to_string();
    assert_eq!(user["title"], "Editor-in-chief");
    assert_eq!(user[ENTERPRISE]["department"], "Newsroom", "transform = \"trim\"");
    let uid = app.uid_of("alice.martin@example.org").await;
    for (field, value) in [
        ("field_first_name", "Alice"),
        ("field_last_name", "Martin"),
        ("field_department", "Newsroom"),
        ("field_employee_number", "E-4711"),
        ("field_job_title", "Editor-in-chief"),
    ] {
        assert_eq!(app.field_values(uid, field).await, vec![value], "{field}");
    }

    // Entra's later update: capitalised ops, URN paths for the enterprise attributes.
    let response = app
        .patch_ops(
            &format!("/Users/{id}"),
            json!([
                {"op": "Replace", "path": "title", "value": "Managing editor"},
                {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Features"},
                {"op": "Replace", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "E-4712"},
                {"op": "Replace", "path": "name.givenName", "value": "Alicia"}
            ]),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    for (field, value) in [
        ("field_first_name", "Alicia"),
        ("field_last_name", "Martin"),
        ("field_department", "Features"),
        ("field_employee_number", "E-4712"),
        ("field_job_title", "Managing editor"),
    ] {
        assert_eq!(app.field_values(uid, field).await, vec![value], "{field} after the PATCH");
    }
}
