//! Paging: startIndex/count and RFC 9865 cursors, under concurrent inserts.

use crate::helpers::*;
use serde_json::Value;
use std::collections::HashSet;

/// Seed `n` accounts with bulk SQL in the shape the server writes (names `<prefix><uid>`).
pub async fn seed_users(app: &TestApp, n: u32, prefix: &str) {
    app.exec(&format!("INSERT INTO users (uuid, langcode) SELECT UUID(), 'en' FROM seq_1_to_{n}")).await;
    app.exec(&format!(
        "INSERT INTO users_field_data (uid, langcode, preferred_langcode, preferred_admin_langcode, name, pass, mail, timezone, status, created, changed, access, login, init, default_langcode) \
         SELECT u.uid, 'en', 'en', NULL, CONCAT('{prefix}', u.uid), NULL, CONCAT('{prefix}', u.uid, '@example.com'), 'UTC', 1, UNIX_TIMESTAMP(), UNIX_TIMESTAMP(), 0, 0, CONCAT('{prefix}', u.uid, '@example.com'), 1 \
         FROM users u LEFT JOIN users_field_data d ON d.uid = u.uid WHERE d.uid IS NULL"
    ))
    .await;
}

async fn page(app: &TestApp, query: &[(&str, &str)]) -> Value {
    let r = app.client.get(format!("{}/Users", app.base)).bearer_auth(&app.token).query(query).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "{query:?}");
    r.json().await.unwrap()
}

#[tokio::test]
async fn cursor_paging_through_10000_users_while_inserts_happen_has_no_duplicates_or_gaps() {
    let app = TestApp::spawn().await;
    seed_users(&app, 10_000, "seed").await;
    let expected: HashSet<String> =
        app.rows::<String>("SELECT uuid FROM users WHERE uid > 1").await.into_iter().collect();
    assert_eq!(expected.len(), 10_003, "three fixture accounts plus the seeded ones");
    let mut seen: Vec<String> = Vec::new();
    let mut cursor = String::new();
    let mut inserted = 0;
    loop {
        let body = page(&app, &[("cursor", cursor.as_str()), ("count", "700"), ("attributes", "id")]).await;
        assert!(body.get("startIndex").is_none(), "cursor pages have no startIndex");
        for r in body["Resources"].as_array().unwrap() {
            seen.push(r["id"].as_str().unwrap().to_string());
        }
        // Someone creates a user between two pages.
        app.create_user(&format!("late{inserted}"), &format!("late{inserted}@example.com")).await;
        inserted += 1;
        match body.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no resource twice");
    assert!(expected.iter().all(|id| unique.contains(id)), "no resource that existed at the start is missed");
}

#[tokio::test]
async fn a_forged_or_foreign_cursor_is_invalid_cursor() {
    let app = TestApp::spawn().await;
    let first = page(&app, &[("cursor", ""), ("count", "1")]).await;
    let next = first["nextCursor"].as_str().unwrap().to_string();
    let other_filter = app
        .client
        .get(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .query(&[("cursor", next.as_str()), ("count", "1"), ("filter", "userName pr")])
        .send()
        .await
        .unwrap();
    assert_eq!(other_filter.status().as_u16(), 400);
    let error: Value = other_filter.json().await.unwrap();
    assert_eq!(error["scimType"], "invalidCursor");
    let forged = format!("{}0", next);
    let r = app
        .client
        .get(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .query(&[("cursor", forged.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let too_many = app
        .client
        .get(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .query(&[("cursor", ""), ("count", "100000")])
        .send()
        .await
        .unwrap();
    let error: Value = too_many.json().await.unwrap();
    assert_eq!(error["scimType"], "invalidCount");
}

#[tokio::test]
async fn index_paging_is_stable_and_clamped() {
    let app = TestApp::spawn().await;
    let mut names = Vec::new();
    for start in 1..=4 {
        let body = page(&app, &[("startIndex", &start.to_string()), ("count", "1")]).await;
        assert_eq!(body["totalResults"], 3);
        assert_eq!(body["startIndex"], start);
        if let Some(r) = body["Resources"].as_array().unwrap().first() {
            names.push(r["userName"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(names, ["jdoe", "msmith", "blocked.user"]);
    let body = page(&app, &[("startIndex", "0"), ("count", "-1")]).await;
    assert_eq!(body["startIndex"], 1);
    assert_eq!(body["itemsPerPage"], 0);
}
