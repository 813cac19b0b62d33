//! The Drupal store: Drupal's own tables written exactly as Drupal's entity API writes them.
//! Knows nothing of HTTP or SCIM; receives store-neutral values and queries from the mapping.
pub mod after_commit;
pub mod audit;
pub mod cache;
pub mod cardinality;
pub mod charset;
pub mod columns;
pub mod db;
pub mod drupal7;
pub mod error;
pub mod groups;
pub mod layout;
pub mod locks;
pub mod membership;
pub mod model;
pub mod password;
pub mod php_serialize;
pub mod query;
pub mod reach;
pub mod roles;
pub mod rows;
pub mod settings_php;
pub mod site;
pub mod tables;
pub mod timezones;
pub mod users;
pub mod validate;
