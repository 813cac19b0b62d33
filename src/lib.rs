//! drupal-scim: a SCIM 2.0 service provider whose storage is an existing Drupal site's database.
//!
//! Dependencies point down only:
//! - [`http`]: actix-web routes, bearer auth, body limits, SCIM errors as responses.
//! - [`provision`]: the use cases (create a user, patch a group, …) tying the layers together.
//! - [`scim`]: the protocol, pure: filters, paths, PATCH, list responses, discovery.
//! - [`mapping`]: drupal_mapping.toml, where SCIM names meet Drupal names.
//! - [`drupal`]: the store: Drupal's tables, one transaction per write, cache invalidation.
//! - [`settings`], [`config`], [`token`], [`startup`], [`check`]: configuration (ours, and Drupal's
//!   settings.php), bearer tokens, building the server, and the `check` report.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod check;
pub mod config;
pub mod drupal;
pub mod http;
pub mod mapping;
pub mod provision;
pub mod scim;
pub mod settings;
pub mod startup;
pub mod sync;
pub mod telemetry;
pub mod tls;
pub mod token;
