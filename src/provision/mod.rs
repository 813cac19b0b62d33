//! The use cases: what each SCIM request does, tying the protocol (`scim`), the mapping and the
//! Drupal store together. Testable without HTTP; the http layer only adapts requests to these.
pub mod bulk;
pub mod errors;
pub mod groups;
pub mod users;

pub use groups::GroupService;
pub use users::UserService;
