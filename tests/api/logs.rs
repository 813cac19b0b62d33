//! Secrets never reach the log, at any level: run the real binary with RUST_LOG=trace, send a
//! token, a password and a bad token, and read everything it printed.

use crate::helpers::*;
use serde_json::json;
use std::process::{Command, Stdio};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn tokens_passwords_hashes_and_authorization_headers_never_appear_in_logs() {
    let (db, server, pool) = fresh_database().await;
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-logs-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let mapping = dir.0.join("drupal_mapping.toml");
    std::fs::write(&mapping, mapping_with_fields()).unwrap();
    let log_path = dir.0.join("server.log");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_drupal-scim"))
        .arg("serve")
        .env("DRUPAL_SCIM__DATABASE__URL", format!("{server}/{db}"))
        .env("DRUPAL_SCIM__AUTH__SECRET", SECRET)
        .env("DRUPAL_SCIM__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("DRUPAL_SCIM__MAPPING", &mapping)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::from(std::fs::File::create(dir.0.join("stdout.log")).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()))
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "the server did not come up: {}", std::fs::read_to_string(&log_path).unwrap_or_default());

    let token = drupal_scim::token::mint(SECRET, "drupal-scim", "drupal-scim", "logs", None).unwrap();
    let password = "Xq7-correct-horse-battery-staple";
    let mut body = entra_user("logged.user", "logged@example.com", "ext-log");
    body["password"] = json!(password);
    let created = client.post(format!("{base}/scim/v2/Users")).bearer_auth(&token).json(&body).send().await.unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let id = created.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let new_password = "Zr9-another-long-passphrase";
    let patch =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "password", "value": new_password}]});
    let r = client.patch(format!("{base}/scim/v2/Users/{id}")).bearer_auth(&token).json(&patch).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let bad = client
        .get(format!("{base}/scim/v2/Users"))
        .header("Authorization", "Bearer not-a-real-token-value-1234")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 401);
    let hash: String = {
        use mysql_async::prelude::*;
        let mut conn = pool.get_conn().await.unwrap();
        conn.query_first("SELECT pass FROM users_field_data WHERE name = 'logged.user'").await.unwrap().unwrap()
    };
    assert!(hash.starts_with("$2y$10$"));

    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log_path).unwrap() + &std::fs::read_to_string(dir.0.join("stdout.log")).unwrap();
    assert!(log.contains("POST /scim/v2/Users 201"), "the access log is there: {}", &log[..log.len().min(2000)]);
    assert!(log.contains("TRACE"), "trace logging was on, so every level was checked");
    for secret in [token.as_str(), password, new_password, hash.as_str(), "not-a-real-token-value-1234", SECRET] {
        assert!(!log.contains(secret), "the log contains a secret ({} characters long)", secret.len());
    }
    let hash_prefix = hash.get(..20).unwrap();
    assert!(!log.contains(hash_prefix), "the log contains part of a password hash");
    assert!(!log.to_ascii_lowercase().contains("authorization: bearer"), "the log contains an Authorization header");
    pool.disconnect().await.unwrap();
    drop_test_database(&server, &db).await;
}
