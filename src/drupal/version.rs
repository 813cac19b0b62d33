//! The database server's version, as `SELECT VERSION()` reports it: which server (MySQL and the
//! servers built from it, or MariaDB) and which release. Pure: no I/O.

use std::fmt;

/// A release number, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u16, pub u16, pub u16);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Which server family: their versions are numbered independently (MariaDB 10.3 is not newer
/// than MySQL 8.0), so every minimum is given for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// MySQL, and the servers that keep its numbering (Percona Server, Amazon Aurora MySQL…).
    MySql,
    MariaDb,
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavor::MySql => "MySQL",
            Flavor::MariaDb => "MariaDB",
        })
    }
}

/// A minimum release for each family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Floor {
    pub mysql: Version,
    pub mariadb: Version,
}

impl Floor {
    /// The minimum for `flavor`.
    pub fn of(&self, flavor: Flavor) -> Version {
        match flavor {
            Flavor::MySql => self.mysql,
            Flavor::MariaDb => self.mariadb,
        }
    }

    /// The stricter of two floors, family by family.
    pub fn max(self, other: Floor) -> Floor {
        Floor { mysql: self.mysql.max(other.mysql), mariadb: self.mariadb.max(other.mariadb) }
    }
}

impl fmt::Display for Floor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MySQL ≥ {}, MariaDB ≥ {}", self.mysql, self.mariadb)
    }
}

/// A server's family and release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerVersion {
    pub flavor: Flavor,
    pub version: Version,
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.flavor, self.version)
    }
}

impl ServerVersion {
    /// Read `VERSION()`'s text: `10.11.19-MariaDB-0+deb12u1`, `8.0.36`, `5.7.8-log`,
    /// `8.0.36-28` (Percona). None when it does not start with a release number.
    pub fn parse(text: &str) -> Option<ServerVersion> {
        let text = text.trim();
        let flavor = if text.to_ascii_lowercase().contains("mariadb") { Flavor::MariaDb } else { Flavor::MySql };
        // MariaDB before 11 puts `5.5.5-` in front of its version in the connection handshake
        // (old clients expected a 5.x server), and proxies may pass that string on. Drupal strips
        // it the same way (mysql/src/Driver/Database/mysql/Connection.php).
        let text = match flavor {
            Flavor::MariaDb => text.strip_prefix("5.5.5-").unwrap_or(text),
            Flavor::MySql => text,
        };
        let number: &str = text.split(|c: char| !(c.is_ascii_digit() || c == '.')).next().unwrap_or_default();
        let mut parts = number.split('.').filter(|p| !p.is_empty()).map(str::parse::<u16>);
        let major = parts.next()?.ok()?;
        let minor = parts.next()?.ok()?;
        let patch = match parts.next() {
            Some(p) => p.ok()?,
            None => 0,
        };
        Some(ServerVersion { flavor, version: Version(major, minor, patch) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> (Flavor, Version) {
        let v = ServerVersion::parse(text).unwrap_or_else(|| panic!("{text} did not parse"));
        (v.flavor, v.version)
    }

    #[test]
    fn mariadb_versions_with_distribution_suffixes() {
        assert_eq!(parsed("10.11.19-MariaDB-0+deb12u1"), (Flavor::MariaDb, Version(10, 11, 19)));
        assert_eq!(parsed("10.3.7-MariaDB"), (Flavor::MariaDb, Version(10, 3, 7)));
        assert_eq!(parsed("10.6.18-MariaDB-log"), (Flavor::MariaDb, Version(10, 6, 18)));
        assert_eq!(parsed("11.4.2-MariaDB-ubu2404"), (Flavor::MariaDb, Version(11, 4, 2)));
        assert_eq!(parsed("10.5.23-MariaDB-cll-lve"), (Flavor::MariaDb, Version(10, 5, 23)));
    }

    #[test]
    fn mariadbs_handshake_prefix_is_not_its_version() {
        assert_eq!(parsed("5.5.5-10.3.7-MariaDB"), (Flavor::MariaDb, Version(10, 3, 7)));
        assert_eq!(parsed("5.5.5-10.11.6-MariaDB-0+deb12u1-log"), (Flavor::MariaDb, Version(10, 11, 6)));
    }

    #[test]
    fn mysql_and_the_servers_that_keep_its_numbering() {
        assert_eq!(parsed("8.0.36"), (Flavor::MySql, Version(8, 0, 36)));
        assert_eq!(parsed("5.7.8-log"), (Flavor::MySql, Version(5, 7, 8)));
        assert_eq!(parsed("5.7.44-0ubuntu0.18.04.1"), (Flavor::MySql, Version(5, 7, 44)));
        assert_eq!(parsed("8.0.36-28"), (Flavor::MySql, Version(8, 0, 36)), "Percona Server");
        assert_eq!(parsed("5.7.44-48-log"), (Flavor::MySql, Version(5, 7, 44)), "Percona Server 5.7");
        assert_eq!(parsed("8.4.0"), (Flavor::MySql, Version(8, 4, 0)));
        assert_eq!(parsed("9.1.0-commercial"), (Flavor::MySql, Version(9, 1, 0)));
        assert_eq!(parsed("8.0.mysql_aurora.3.04.0"), (Flavor::MySql, Version(8, 0, 0)));
        // The 5.5.5- prefix is MariaDB's only: a MySQL 5.5.5 is a MySQL 5.5.5.
        assert_eq!(parsed("5.5.5-log"), (Flavor::MySql, Version(5, 5, 5)));
    }

    #[test]
    fn text_without_a_release_number_is_not_a_version() {
        assert_eq!(ServerVersion::parse(""), None);
        assert_eq!(ServerVersion::parse("MariaDB"), None);
        assert_eq!(ServerVersion::parse("8"), None);
        assert_eq!(ServerVersion::parse("v8.0.1"), None);
        assert_eq!(ServerVersion::parse("99999.1.1"), None);
    }

    #[test]
    fn versions_order_numerically_and_floors_combine_per_family() {
        assert!(Version(10, 11, 0) > Version(10, 3, 7));
        assert!(Version(5, 7, 10) > Version(5, 7, 8));
        let d10 = Floor { mysql: Version(5, 7, 8), mariadb: Version(10, 3, 7) };
        let d11 = Floor { mysql: Version(8, 0, 0), mariadb: Version(10, 6, 0) };
        assert_eq!(d10.max(d11), d11);
        assert_eq!(d10.of(Flavor::MariaDb), Version(10, 3, 7));
        assert_eq!(d10.to_string(), "MySQL ≥ 5.7.8, MariaDB ≥ 10.3.7");
    }
}
