//! The Drupal store: Drupal's own tables written exactly as Drupal's entity API writes them.
//! Knows nothing of HTTP or SCIM; receives store-neutral values and queries from the mapping.
//!
//! Everything that differs between Drupal versions is behind one boundary, [`schema`] (one
//! folder per schema: `schema/modern`, `schema/d7`); the shared store (`users`, `groups`,
//! `roles`, `membership`, `reach`, `query`, `site`) calls it and never asks which Drupal it is on.
pub mod after_commit;
pub mod audit;
pub mod cache;
pub mod cache_backend;
pub mod charset;
pub mod columns;
pub mod db;
pub mod error;
pub mod groups;
pub mod listed;
pub mod locks;
pub mod membership;
pub mod model;
pub mod password;
pub mod permissions;
pub mod php_serialize;
pub mod query;
pub mod reach;
pub mod redis_cache;
pub mod roles;
pub mod rows;
pub mod schema;
pub mod server;
pub mod site;
pub mod sql_support;
pub mod tables;
pub mod timezones;
pub mod users;
pub mod validate;
pub mod version;
