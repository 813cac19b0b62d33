//! The HTTP surface (actix-web): routing, bearer auth, body limits, SCIM content type, and SCIM
//! errors as responses. Handlers only adapt requests to the `provision` services.
pub mod app;
pub mod auth;
pub mod body;
pub mod bulk;
pub mod discovery;
pub mod error;
pub mod groups;
pub mod health;
pub mod oauth;
pub mod observe;
pub mod search;
pub mod sites;
pub mod users;

pub use app::{AppState, configure};
