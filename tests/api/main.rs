//! The integration tests: one binary, the real server, a real MariaDB.
mod bulk;
mod check;
mod deprovision;
mod discovery;
mod helpers;
mod logs;
mod operations;
mod paging;
mod search;
mod users_basic;
mod users_drupal_rows;
mod users_entra;
mod users_errors;
mod users_filters;
mod users_okta;
mod users_quirks;
mod versioning;
