//! The server terminates HTTPS itself when given a certificate and key.

use crate::helpers::*;

#[tokio::test]
async fn the_server_speaks_tls_with_the_configured_certificate() {
    let (db, server, pool) = fresh_database().await;
    let dir = TempDir(std::env::temp_dir().join(format!("dscim-tls-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.0.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.0.join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
    std::fs::write(dir.0.join("m.toml"), mapping_with_fields()).unwrap();
    let mut settings = drupal_scim::settings::Settings::new(&format!("{server}/{db}"), SECRET, dir.0.join("m.toml"));
    settings.server.tls_cert = Some(dir.0.join("cert.pem"));
    settings.server.tls_key = Some(dir.0.join("key.pem"));
    let app = drupal_scim::startup::Application::build(settings).await.unwrap();
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    // As TestApp does: the fixture's ordinary accounts are linked, so the listing shows them.
    link_fixture_accounts(&pool, Fixture::Drupal10).await;
    pool.disconnect().await.unwrap();

    let root = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap();
    let token = drupal_scim::token::mint(SECRET, "drupal-scim", "drupal-scim", "tls", None).unwrap();
    for max in [reqwest::tls::Version::TLS_1_2, reqwest::tls::Version::TLS_1_3] {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(root.clone())
            .max_tls_version(max)
            .build()
            .unwrap();
        let r = client.get(format!("https://localhost:{port}/scim/v2/Users")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["Resources"][0]["meta"]["location"].as_str().unwrap().starts_with("https://localhost:"));
    }
    // Plain HTTP on the TLS port does not get an answer.
    let plain = reqwest::Client::new().get(format!("http://localhost:{port}/healthz")).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    drop_test_database(&server, &db).await;
}

#[tokio::test]
async fn a_certificate_without_its_key_is_a_start_up_error() {
    let dir = std::env::temp_dir();
    let mut settings = drupal_scim::settings::Settings::new("mysql://root@127.0.0.1:1/x", SECRET, dir.join("m.toml"));
    settings.server.tls_cert = Some(dir.join("cert.pem"));
    assert!(settings.check().unwrap_err().to_string().contains("tls_cert and server.tls_key go together"));
}
