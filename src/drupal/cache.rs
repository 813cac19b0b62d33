//! Cache invalidation after a commit, as Drupal's entity API does it: bump cache tags in
//! `cachetags` and delete cache rows by cid. What to invalidate is a plan ([`Invalidation`]),
//! made by the schema from what a write changed (`Schema::user_saved`, `user_deleted`,
//! `role_changed`); `after_commit` carries it out to the end.
//! A missing cache table means "nothing cached" (Drupal creates them lazily).

use crate::drupal::error::ER_NO_SUCH_TABLE;
use crate::drupal::listed;
use crate::drupal::tables::Tables;
use mysql_async::Conn;

/// What one committed write makes stale in Drupal's caches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invalidation {
    /// Cache tags whose invalidation counter goes up.
    pub tags: Vec<String>,
    /// Cache rows to delete: (bin, cids).
    pub cids: Vec<(&'static str, Vec<String>)>,
}

impl Invalidation {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.cids.iter().all(|(_, c)| c.is_empty())
    }

    /// Both plans.
    pub fn and(mut self, other: Invalidation) -> Invalidation {
        for tag in other.tags {
            if !self.tags.contains(&tag) {
                self.tags.push(tag);
            }
        }
        self.cids.extend(other.cids);
        self
    }

    /// Carry the plan out on `conn`: the tags first (one statement), then the rows.
    pub async fn apply(&self, conn: &mut Conn, tables: &Tables) -> Result<(), mysql_async::Error> {
        if !self.tags.is_empty() {
            let marks = vec!["(?, 1)"; self.tags.len()].join(", ");
            let sql = format!(
                "INSERT INTO {} (`tag`, `invalidations`) VALUES {marks} ON DUPLICATE KEY UPDATE `invalidations` = `invalidations` + 1",
                tables.t("cachetags")
            );
            let params: Vec<mysql_async::Value> = self.tags.iter().map(|t| t.as_str().into()).collect();
            missing_is_empty(listed::run(conn, sql, params).await, "cachetags")?;
        }
        for (bin, cids) in &self.cids {
            if cids.is_empty() {
                continue;
            }
            let table = format!("cache_{bin}");
            let marks = vec!["?"; cids.len()].join(", ");
            let sql = format!("DELETE FROM {} WHERE `cid` IN ({marks})", tables.t(&table));
            let params: Vec<mysql_async::Value> = cids.iter().map(|c| c.as_str().into()).collect();
            missing_is_empty(listed::run(conn, sql, params).await, &table)?;
        }
        Ok(())
    }
}

/// A cache table that does not exist holds nothing to invalidate.
fn missing_is_empty(result: Result<(), mysql_async::Error>, table: &str) -> Result<(), mysql_async::Error> {
    match result {
        Err(mysql_async::Error::Server(e)) if e.code == ER_NO_SUCH_TABLE => {
            log::debug!("cache table {table} does not exist yet: nothing to invalidate");
            Ok(())
        }
        other => other,
    }
}
