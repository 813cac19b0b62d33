//! The integration tests: one binary, the real server, a real MariaDB.
mod helpers;
mod users_basic;

mod groups_support;
mod groups_flows;
mod groups_roles;
mod groups_policy;
mod groups_membership;
mod groups_query;
mod groups_large;
mod groups_lifecycle;
mod groups_edges;
