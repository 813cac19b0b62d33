//! The integration tests: one binary, the real server, a real MariaDB.
mod bulk;
mod check;
mod deprovision;
mod filter_sql;
mod helpers;
mod injection;
mod limits;
mod operations;
mod paging;
mod search;
mod users_basic;
mod versioning;
