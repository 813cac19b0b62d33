//! The OAuth 2.0 client credentials grant, both ways: the token endpoint a site offers at
//! `<base>/oauth/token`, and sync out fetching (and renewing) its tokens from one.

use crate::helpers::*;
use crate::sync_support::{named, syncer_to};
use drupal_scim::settings::sync::SyncOAuth;
use drupal_scim::settings::{OAuthClient, Secret};
use drupal_scim::sync::oauth::Credentials;
use serde_json::Value;
use std::time::Duration;

const CLIENT_SECRET: &str = "client-secret-0123456789abcdef0123456789";

async fn with_client(fx: Fixture, ttl: i64) -> TestApp {
    TestApp::spawn_custom_on(fx, &test_server_url(), &mapping_with_fields(), "", |s| {
        s.auth.clients =
            vec![OAuthClient { id: "sync-a".into(), secret: Secret::new(CLIENT_SECRET), token_ttl_secs: ttl }];
    })
    .await
}

async fn token_request(app: &TestApp, basic: Option<(&str, &str)>, form: &str) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/oauth/token", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string());
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_token_endpoint_issues_tokens_to_its_clients_only() {
    let app = with_client(Fixture::Drupal10, 600).await;
    let issued = token_request(&app, Some(("sync-a", CLIENT_SECRET)), "grant_type=client_credentials").await;
    assert_eq!(issued.status().as_u16(), 200);
    assert_eq!(issued.headers()["cache-control"], "no-store");
    let body: Value = issued.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    let token = body["access_token"].as_str().unwrap();
    let listed = app.client.get(format!("{}/Users", app.base)).bearer_auth(token).send().await.unwrap();
    assert_eq!(listed.status().as_u16(), 200, "the token opens the SCIM API");

    let in_body = format!("grant_type=client_credentials&client_id=sync-a&client_secret={CLIENT_SECRET}");
    assert_eq!(token_request(&app, None, &in_body).await.status().as_u16(), 200, "credentials in the body");
    for (basic, form, status, error) in [
        (Some(("sync-a", "wrong-secret")), "grant_type=client_credentials", 401, "invalid_client"),
        (Some(("someone", CLIENT_SECRET)), "grant_type=client_credentials", 401, "invalid_client"),
        (None, "grant_type=client_credentials", 401, "invalid_client"),
        (Some(("sync-a", CLIENT_SECRET)), "grant_type=password&username=a&password=b", 400, "unsupported_grant_type"),
        (Some(("sync-a", CLIENT_SECRET)), "scope=x", 400, "invalid_request"),
    ] {
        let response = token_request(&app, basic, form).await;
        assert_eq!(response.status().as_u16(), status, "{form}");
        if status == 401 {
            assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
        }
        assert_eq!(response.json::<Value>().await.unwrap()["error"], error, "{form}");
    }
    let json = app
        .client
        .post(format!("{}/oauth/token", app.base))
        .basic_auth("sync-a", Some(CLIENT_SECRET))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status().as_u16(), 400, "RFC 6749 bodies are form-encoded");
    let get = app.client.get(format!("{}/oauth/token", app.base)).send().await.unwrap();
    assert_eq!(get.status().as_u16(), 405);
}

#[tokio::test]
async fn a_sync_client_keeps_its_token_until_it_expires_or_is_refused() {
    let app = with_client(Fixture::Drupal10, 2).await;
    let oauth = SyncOAuth {
        token_url: format!("{}/oauth/token", app.base),
        client_id: "sync-a".into(),
        client_secret: Secret::new(CLIENT_SECRET),
        scope: Some("scim".into()),
    };
    let credentials = Credentials::new(None, Some(&oauth));
    let http = reqwest::Client::new();
    let first = credentials.bearer(&http).await.unwrap().expose().to_string();
    assert_eq!(credentials.bearer(&http).await.unwrap().expose(), first, "cached while valid");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let second = credentials.bearer(&http).await.unwrap().expose().to_string();
    assert_ne!(second, first, "fetched again once expired");
    assert!(credentials.refused().await);
    assert_ne!(credentials.bearer(&http).await.unwrap().expose(), second, "fetched again once refused");

    let wrong = SyncOAuth { client_secret: Secret::new("not-the-secret"), ..oauth };
    let err = Credentials::new(None, Some(&wrong)).bearer(&http).await.err().unwrap().to_string();
    assert!(err.contains("token endpoint answered 401 (invalid_client)") && !err.contains("not-the-secret"), "{err}");
}

async fn sync_pushes_with_client_credentials(fx: Fixture) {
    let source = TestApp::spawn_on(fx).await;
    let target = with_client(fx, 600).await;
    source.create_user("oauth.ada", "oauth.ada@example.org").await;
    let (sync, _dir) = syncer_to(&source, &target.base, "", |s| {
        s.token = None;
        s.oauth = Some(SyncOAuth {
            token_url: format!("{}/oauth/token", target.base),
            client_id: "sync-a".into(),
            client_secret: Secret::new(CLIENT_SECRET),
            scope: None,
        });
    })
    .await;
    let report = sync.once().await.unwrap();
    assert!(report.in_sync(), "{report:?}");
    assert_eq!(named(&target, "oauth.ada").await, 1);
}
both!(sync_pushes_with_client_credentials);
