//! The integration tests: one binary, the real server, a real MariaDB.
mod helpers;
mod users_basic;
mod users_entra;
mod users_quirks;
mod users_okta;
mod users_filters;
mod users_errors;
mod discovery;
mod users_drupal_rows;
