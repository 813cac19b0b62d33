//! drupal_mapping.toml: the only place where SCIM names meet Drupal names.
//! `file` is the on-disk form, `model` the validated meaning, `users` converts resources and
//! records, `query` turns SCIM filters into store-neutral queries, `check` validates the mapping
//! against the live site's facts.
pub mod check;
pub mod file;
pub mod model;
pub mod query;
pub mod users;
