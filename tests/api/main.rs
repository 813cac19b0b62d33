//! The integration tests: one binary, the real server, a real MariaDB.
mod check;
mod helpers;
mod users_basic;
