//! What SCIM may reach: the accounts a token holder can see and change. Everything else —
//! uid 0 and 1, `protected_uids`, every account that holds a privileged role, and (unless the
//! mapping says `link_existing = "link"`) every account SCIM neither created nor linked — is
//! invisible to every route and untouchable by every write.
//!
//! Privilege is read live, inside the statement that reads or locks the account: an account that
//! gains an administrator role in Drupal drops out of reach at once, with no cache to go stale.

use crate::drupal::error::StoreError;
pub use crate::drupal::site::Reach;
use crate::drupal::site::Site;
use mysql_async::prelude::*;
use mysql_async::{Row, Value};

pub use crate::drupal::permissions::{ESCALATING_PERMISSIONS, escalates};

/// Where an account stands with SCIM, for a refusal's detail and the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// uid 0/1 or a `protected_uids` entry.
    Protected,
    /// Holds a privileged role (`linked`: SCIM created or linked it before).
    Privileged { linked: bool },
    /// Deleted through SCIM (blocked and kept in Drupal).
    Deleted,
    /// Neither created nor linked by SCIM, and linking is not allowed.
    Unlinked,
    /// SCIM may reach it (`linked`: it has a bridge row; an unlinked one is reachable only with
    /// `link_existing = "link"`, and its first SCIM write links it).
    Reachable { linked: bool },
}

impl Site {
    /// The condition on aliases `d` (the account row) and `s` (the bridge row) that an account
    /// SCIM may change meets; `include_deleted`: accounts deleted through SCIM count too (a
    /// role SCIM granted is still SCIM's to take away).
    pub fn reach_sql(&self, include_deleted: bool, params: &mut Vec<Value>) -> String {
        let mut parts = vec![self.protected_uids_sql(params)];
        if !self.reach.unlinked_reachable {
            parts.push("s.`uid` IS NOT NULL".into());
        }
        if !include_deleted {
            parts.push("(s.`deleted` IS NULL OR s.`deleted` = 0)".into());
        }
        parts.push(format!("NOT {}", self.privileged_sql(params)));
        parts.join(" AND ")
    }

    /// `d.uid NOT IN (…)` for the protected uids.
    pub fn protected_uids_sql(&self, params: &mut Vec<Value>) -> String {
        let uids = &self.reach.protected_uids;
        if uids.is_empty() {
            return "1 = 1".into();
        }
        params.extend(uids.iter().map(|u| Value::from(*u)));
        format!("d.`uid` NOT IN ({})", vec!["?"; uids.len()].join(", "))
    }

    /// `EXISTS (…)`: the account on alias `d` holds a privileged role — one listed as
    /// protected, one Drupal flags as administrator, or one holding an escalating permission.
    pub fn privileged_sql(&self, params: &mut Vec<Value>) -> String {
        self.schema.privileged_sql(&self.reach.protected_roles, params)
    }

    /// Where an account stands, from its flags.
    fn standing(&self, protected: bool, privileged: bool, deleted: bool, linked: bool) -> Standing {
        if protected {
            Standing::Protected
        } else if privileged {
            Standing::Privileged { linked }
        } else if deleted {
            Standing::Deleted
        } else if !linked && !self.reach.unlinked_reachable {
            Standing::Unlinked
        } else {
            Standing::Reachable { linked }
        }
    }
}

/// The uid of the account on alias `d` matching `condition` (its values in `params`) and where it
/// stands now; `None`: there is no such account.
pub async fn standing_where<Q: Queryable>(
    q: &mut Q,
    site: &Site,
    condition: &str,
    mut params: Vec<Value>,
) -> Result<Option<(u32, Standing)>, StoreError> {
    let mut flags = Vec::new();
    let protected = site.protected_uids_sql(&mut flags);
    let privileged = site.privileged_sql(&mut flags);
    flags.append(&mut params);
    let sql = format!(
        "SELECT NOT ({protected}), {privileged}, COALESCE(s.`deleted`, 0) <> 0, s.`uid` IS NOT NULL, d.`uid` FROM {} WHERE {condition} LIMIT 1",
        site.schema.accounts_from()
    );
    let row: Option<Row> = q.exec_first(sql, flags).await?;
    let Some(row) = row else { return Ok(None) };
    let flag = |i: usize| -> Result<bool, StoreError> {
        match row.as_ref(i) {
            Some(Value::Int(n)) => Ok(*n != 0),
            Some(Value::UInt(n)) => Ok(*n != 0),
            Some(Value::Bytes(b)) => Ok(b.as_slice() != b"0"),
            other => Err(StoreError::Internal(format!("an account's standing came back as {other:?}"))),
        }
    };
    let uid = match row.as_ref(4) {
        Some(Value::Int(n)) => u32::try_from(*n).ok(),
        Some(Value::UInt(n)) => u32::try_from(*n).ok(),
        _ => None,
    }
    .ok_or_else(|| StoreError::Internal("an account's uid is not a number".into()))?;
    Ok(Some((uid, site.standing(flag(0)?, flag(1)?, flag(2)?, flag(3)?))))
}

/// Where the account `uid` stands now.
pub async fn standing_of<Q: Queryable>(q: &mut Q, site: &Site, uid: u32) -> Result<Option<Standing>, StoreError> {
    Ok(standing_where(q, site, "d.`uid` = ?", vec![uid.into()]).await?.map(|(_, standing)| standing))
}
