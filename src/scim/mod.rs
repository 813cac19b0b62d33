//! The SCIM protocol (RFC 7643 / RFC 7644): pure, no I/O, knows nothing of Drupal.
//!
//! `filter` and `path` parse what clients send, `patch` applies PATCH operations to an in-memory
//! resource, `schema` holds the RFC attribute definitions, `list` and `projection` shape answers,
//! `resource` normalises incoming bodies, `discovery` answers the discovery endpoints.
pub mod discovery;
pub mod cursor;
pub mod error;
pub mod filter;
pub mod list;
pub mod patch;
pub mod path;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod version;
