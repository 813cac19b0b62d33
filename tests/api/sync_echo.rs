//! No echo: what the identity provider writes through drupal-scim's own SCIM server, when the
//! provider is also the sync target, is recorded as in sync and never sent back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::helpers::{Fixture, TestApp, both, mapping_with_fields, test_server_url};
use crate::sync_support::{drupal_sets_mail, named, syncer};
use drupal_scim::settings::SyncSettings;

async fn sync_never_echoes_what_the_provider_wrote(fx: Fixture) {
    let target = TestApp::spawn_on(fx).await;
    let (base, token) = (target.base.clone(), target.token.clone());
    let source = TestApp::spawn_custom_on(fx, &test_server_url(), &mapping_with_fields(), "", |s| {
        let mut sync = SyncSettings::new(&base, &token);
        sync.provider_is_target = true;
        s.sync = Some(sync);
    })
    .await;
    let (sync, _dir) = syncer(&source, &target, |s| s.provider_is_target = true).await;
    source.create_user("cleo", "cleo@example.org").await;
    let cleo = source.uid_of("cleo").await;
    let recorded: Option<String> =
        source.one(&format!("SELECT fingerprint FROM scim_sync WHERE uid = {cleo}")).await.flatten();
    assert!(recorded.is_some(), "the inbound create was recorded as in sync in its transaction");
    assert!(sync.once().await.unwrap().in_sync());
    assert_eq!(named(&target, "cleo").await, 0, "the provider's own create is not sent back");

    // A change made in Drupal afterwards does go out.
    drupal_sets_mail(&source, cleo, "cleo@drupal.example.org").await;
    assert!(sync.once().await.unwrap().in_sync());
    assert_eq!(named(&target, "cleo").await, 1);
    let there = target.uid_of("cleo").await;
    assert_eq!(target.data_column(there, "mail").await, "cleo@drupal.example.org");

    // The provider deletes an account it created (blocked and hidden here): sync does not
    // create it on the provider again.
    let gil = source.create_user("gil", "gil@example.org").await;
    let deleted = source.delete(&format!("/Users/{}", gil["id"].as_str().unwrap())).await;
    assert_eq!(deleted.status().as_u16(), 204);
    assert!(sync.once().await.unwrap().in_sync());
    assert_eq!(named(&target, "gil").await, 0, "a blocked account is not created on the target");
}
both!(sync_never_echoes_what_the_provider_wrote);
