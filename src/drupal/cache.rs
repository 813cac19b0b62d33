//! Cache invalidation after a commit, as Drupal's entity API does it: bump cache tags in
//! `cachetags` and delete cache rows by cid. A missing cache table means "nothing cached"
//! (Drupal creates them lazily); any failure here is logged and never undoes the data write.

use crate::drupal::error::ER_NO_SUCH_TABLE;
use crate::drupal::site::Site;
use crate::drupal::tables::Tables;
use mysql_async::Conn;
use mysql_async::prelude::*;

/// Increment each tag's invalidation counter (inserting it at 1 if new).
pub async fn invalidate_tags(conn: &mut Conn, tables: &Tables, tags: &[String]) {
    if tags.is_empty() {
        return;
    }
    let marks = vec!["(?, 1)"; tags.len()].join(", ");
    let sql = format!(
        "INSERT INTO {} (`tag`, `invalidations`) VALUES {marks} ON DUPLICATE KEY UPDATE `invalidations` = `invalidations` + 1",
        tables.t("cachetags")
    );
    let params: Vec<mysql_async::Value> = tags.iter().map(|t| t.as_str().into()).collect();
    report(conn.exec_drop(sql, params).await, "cachetags");
}

/// Delete cache rows of one bin (`entity`, `config`, …) by cid.
pub async fn delete_cids(conn: &mut Conn, tables: &Tables, bin: &str, cids: &[String]) {
    if cids.is_empty() {
        return;
    }
    let marks = vec!["?"; cids.len()].join(", ");
    let table = format!("cache_{bin}");
    let sql = format!("DELETE FROM {} WHERE `cid` IN ({marks})", tables.t(&table));
    let params: Vec<mysql_async::Value> = cids.iter().map(|t| t.as_str().into()).collect();
    report(conn.exec_drop(sql, params).await, &table);
}

/// What Drupal invalidates after saving user accounts.
pub async fn user_saved(conn: &mut Conn, site: &Site, uids: &[u32], created: bool) {
    let tables = &site.tables;
    if site.is_drupal7() {
        // Drupal 7 caches no account rows in core, only the field values (field.attach.inc);
        // the contrib entitycache module keeps whole accounts in cache_entity_user by uid.
        let cids: Vec<String> = uids.iter().map(|uid| format!("field:user:{uid}")).collect();
        delete_cids(conn, tables, "field", &cids).await;
        let cids: Vec<String> = uids.iter().map(|uid| uid.to_string()).collect();
        delete_cids(conn, tables, "entity_user", &cids).await;
        return;
    }
    let mut tags = vec!["user_list".to_string(), "4xx-response".to_string()];
    if !created {
        tags.extend(uids.iter().map(|uid| format!("user:{uid}")));
    }
    invalidate_tags(conn, tables, &tags).await;
    let cids: Vec<String> = uids.iter().map(|uid| format!("values:user:{uid}")).collect();
    delete_cids(conn, tables, "entity", &cids).await;
}

fn report(result: Result<(), mysql_async::Error>, table: &str) {
    match result {
        Ok(()) => {}
        Err(mysql_async::Error::Server(e)) if e.code == ER_NO_SUCH_TABLE => {
            log::debug!("cache table {table} does not exist yet: nothing to invalidate");
        }
        Err(e) => log::warn!("cache invalidation in {table} failed (the data write stands): {e}"),
    }
}

/// Empty a whole cache bin (Drupal's `deleteAll()`).
pub async fn delete_all(conn: &mut Conn, tables: &Tables, bin: &str) {
    let table = format!("cache_{bin}");
    let sql = format!("DELETE FROM {}", tables.t(&table));
    report(conn.query_drop(sql).await, &table);
}
