//! The database server the site runs on: which one it is, and whether drupal-scim supports it
//! for this site. Supported is what Drupal itself supports for the site's core, and what every
//! statement of the store runs on ([`STATEMENT_FLOOR`]); a Galera cluster node is refused.

use crate::drupal::db::Db;
use crate::drupal::error::StoreError;
use crate::drupal::rows::take;
use crate::drupal::sql_support::STATEMENT_FLOOR;
use crate::drupal::version::{Floor, ServerVersion, Version};
use mysql_async::Row;
use mysql_async::prelude::*;
use std::fmt;

pub use crate::drupal::schema::Release;

/// What each release line asks of the database server.
impl Release {
    /// The minimum Drupal asks of the database, and where that comes from.
    fn drupal_floor(self) -> (Floor, &'static str) {
        match self {
            // core/modules/mysql/src/Driver/Database/mysql/Install/Tasks.php at 11.0.0 … 11.x.
            Release::Drupal11 => {
                (Floor { mysql: Version(8, 0, 0), mariadb: Version(10, 6, 0) }, "Drupal 11's own minimum")
            }
            // The same file at 10.x (MySQL 5.7.8 has the JSON type, MariaDB 10.3.7 its equivalent).
            Release::Drupal8To10 => {
                (Floor { mysql: Version(5, 7, 8), mariadb: Version(10, 3, 7) }, "Drupal 10's own minimum")
            }
            // Drupal 7 documents MySQL 5.0.15 / MariaDB 5.1.44 (INSTALL.txt). drupal-scim holds
            // Drupal 7 sites to the statements' floor: several named locks per connection, utf8mb4
            // and the rest of the store's SQL are only checked from there on.
            Release::Drupal7 => (STATEMENT_FLOOR, "drupal-scim's minimum for Drupal 7 sites, Drupal 10's"),
        }
    }

    /// The oldest releases drupal-scim accepts for this release line.
    pub fn floor(self) -> Floor {
        self.drupal_floor().0.max(STATEMENT_FLOOR)
    }
}

/// What the server said about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// `SELECT VERSION()`.
    pub version_text: String,
    /// `@@version_comment` (names Percona Server, a distribution…), empty when absent.
    pub comment: String,
    /// `wsrep_on` is ON: a Galera cluster node (the variable does not exist elsewhere).
    pub galera: bool,
}

/// Ask the server what it is.
pub async fn inspect(db: &Db) -> Result<Server, StoreError> {
    let mut conn = db.conn().await?;
    // Rows read fallibly (rows.rs): an odd answer is an error, never a panic.
    let row: Option<Row> = conn.query_first("SELECT VERSION(), @@version_comment").await?;
    let (version_text, comment) = match row {
        Some(mut row) => (take(&mut row, 0, "VERSION()")?, take::<Option<String>>(&mut row, 1, "@@version_comment")?),
        None => (String::new(), None),
    };
    // SHOW … LIKE gives no row (not an error) where the variable does not exist: MySQL and
    // MariaDB built without Galera.
    let mut galera = false;
    for mut row in conn.query::<Row, _>("SHOW GLOBAL VARIABLES LIKE 'wsrep_on'").await? {
        let value: String = take(&mut row, 1, "wsrep_on")?;
        galera |= value.eq_ignore_ascii_case("ON") || value == "1";
    }
    Ok(Server { version_text, comment: comment.unwrap_or_default(), galera })
}

/// A supported server, for the log and the `check` report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub server: ServerVersion,
    pub version_text: String,
    pub release: Release,
    pub floor: Floor,
}

impl fmt::Display for Accepted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "database server {} (VERSION() {:?}): supported for a {} site ({})",
            self.server,
            self.version_text,
            self.release.label(),
            self.floor
        )
    }
}

/// Why drupal-scim refuses the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "the database server's version cannot be read from VERSION() = {0:?}: drupal-scim supports MySQL and MariaDB only, from the releases Drupal supports"
    )]
    Unknown(String),
    #[error(
        "the database server is {server} (VERSION() {text:?}), older than drupal-scim supports for a {release} site: {floor} ({why}); upgrade the database server",
        release = .release.label(),
        why = .release.drupal_floor().1
    )]
    TooOld { server: ServerVersion, text: String, release: Release, floor: Floor },
    #[error(
        "the database server {server} is a Galera cluster node (wsrep_on = ON), which drupal-scim does not support: it serialises writes of the same user name or e-mail address with named locks (GET_LOCK), which current Galera releases refuse (error 1235, MDEV-30473) and older ones keep on one node only, so two nodes could create the same account twice; point drupal-scim at a server that is not a Galera node"
    )]
    Galera { server: String },
}

/// Whether drupal-scim supports `server` for a site of `release`: pure, so every range is
/// tested without the servers.
pub fn decide(server: &Server, release: Release) -> Result<Accepted, Refusal> {
    let parsed =
        ServerVersion::parse(&server.version_text).ok_or_else(|| Refusal::Unknown(server.version_text.clone()))?;
    let floor = release.floor();
    if parsed.version < floor.of(parsed.flavor) {
        return Err(Refusal::TooOld { server: parsed, text: server.version_text.clone(), release, floor });
    }
    if server.galera {
        return Err(Refusal::Galera { server: parsed.to_string() });
    }
    Ok(Accepted { server: parsed, version_text: server.version_text.clone(), release, floor })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drupal::version::Flavor;

    fn server(version: &str) -> Server {
        Server { version_text: version.into(), comment: String::new(), galera: false }
    }

    fn ok(version: &str, release: Release) -> bool {
        decide(&server(version), release).is_ok()
    }

    #[test]
    fn drupal_10_floor_is_mysql_5_7_8_and_mariadb_10_3_7() {
        for release in [Release::Drupal8To10, Release::Drupal7] {
            assert!(ok("5.7.8-log", release));
            assert!(ok("8.0.36", release));
            assert!(ok("10.3.7-MariaDB", release));
            assert!(ok("5.5.5-10.3.7-MariaDB", release));
            assert!(ok("10.11.19-MariaDB-0+deb12u1", release));
            assert!(!ok("5.7.7", release));
            assert!(!ok("5.6.51-log", release));
            assert!(!ok("10.3.6-MariaDB", release));
            assert!(!ok("10.2.44-MariaDB", release));
            assert!(!ok("5.5.68-MariaDB", release));
        }
    }

    #[test]
    fn drupal_11_floor_is_mysql_8_0_and_mariadb_10_6() {
        assert!(ok("8.0.0", Release::Drupal11));
        assert!(ok("8.4.3", Release::Drupal11));
        assert!(ok("10.6.0-MariaDB", Release::Drupal11));
        assert!(ok("11.4.2-MariaDB", Release::Drupal11));
        assert!(!ok("5.7.44", Release::Drupal11));
        assert!(!ok("10.5.27-MariaDB", Release::Drupal11));
    }

    #[test]
    fn a_refusal_names_the_server_the_site_and_the_floor() {
        let e = decide(&server("10.5.27-MariaDB-log"), Release::Drupal11).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the database server is MariaDB 10.5.27 (VERSION() \"10.5.27-MariaDB-log\"), older than drupal-scim supports for a Drupal 11 site: MySQL ≥ 8.0.0, MariaDB ≥ 10.6.0 (Drupal 11's own minimum); upgrade the database server"
        );
        let e = decide(&server("5.7.5"), Release::Drupal8To10).unwrap_err();
        assert!(e.to_string().contains("MySQL 5.7.5") && e.to_string().contains("MySQL ≥ 5.7.8"), "{e}");
        let e = decide(&server("PostgreSQL"), Release::Drupal7).unwrap_err();
        assert!(matches!(e, Refusal::Unknown(_)), "{e}");
    }

    #[test]
    fn a_galera_node_is_refused_naming_get_lock() {
        let node = Server { galera: true, ..server("10.11.6-MariaDB-log") };
        let e = decide(&node, Release::Drupal8To10).unwrap_err();
        assert!(matches!(e, Refusal::Galera { .. }));
        assert!(e.to_string().contains("wsrep_on = ON") && e.to_string().contains("GET_LOCK"), "{e}");
    }

    #[test]
    fn an_accepted_server_is_reported_with_its_range() {
        let accepted = decide(&server("10.11.19-MariaDB-0+deb12u1"), Release::Drupal8To10).unwrap();
        assert_eq!(accepted.server.flavor, Flavor::MariaDb);
        assert_eq!(
            accepted.to_string(),
            "database server MariaDB 10.11.19 (VERSION() \"10.11.19-MariaDB-0+deb12u1\"): supported for a Drupal 8–10 site (MySQL ≥ 5.7.8, MariaDB ≥ 10.3.7)"
        );
    }

    #[test]
    fn no_site_is_held_below_the_floor_its_statements_are_checked_against() {
        for release in [Release::Drupal7, Release::Drupal8To10, Release::Drupal11] {
            assert_eq!(release.floor().max(STATEMENT_FLOOR), release.floor(), "{release:?}");
        }
    }
}
