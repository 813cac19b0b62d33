//! The backfill: `drupal-scim sync --once` over every seeded account into the target, timed, with
//! the CPU of each process and the requests the target answered; then the target checked for
//! every account exactly once, with the source's values.

use super::child::Mode;
use super::setup::{self, Context};
use crate::db::{self, e};
use crate::rss::Cpu;
use crate::say;
use mysql_async::Conn;
use mysql_async::prelude::*;
use std::time::Duration;

/// What the backfill measured.
#[derive(Debug, Clone)]
pub struct Backfill {
    pub wall: Duration,
    /// CPU of the sync process, ms.
    pub sync_cpu_ms: u64,
    /// CPU of the target server, MariaDB and this bench meanwhile.
    pub cpu: Cpu,
    /// `sync --once` exited 0 (everything in scope in sync).
    pub in_sync: bool,
    /// Its last line: "N checked, N pushed, N failed".
    pub summary: String,
    /// Requests the target answered meanwhile, by "METHOD route status".
    pub requests: Vec<(String, u64)>,
}

/// Run `sync --once` to the end.
pub async fn backfill(ctx: &Context) -> Result<Backfill, String> {
    let before = setup::target_requests(&ctx.origin).await?;
    let cpu0 = Cpu::now(ctx.target_pid, ctx.db_pid);
    let mut p = ctx.start(Mode::Once, "sync-once.log")?;
    say(format!("backfill: drupal-scim sync --once (pid {}), its log: {}", p.pid, p.log.display()));
    let ended = p
        .wait(|p| {
            if let Some(line) = p.lines().iter().rev().find(|l| l.contains("accounts checked")) {
                say(format!("backfill: {}", line.split("] ").last().unwrap_or(line)));
            }
        })
        .await?;
    let cpu = Cpu::now(ctx.target_pid, ctx.db_pid).since(cpu0);
    let after = setup::target_requests(&ctx.origin).await?;
    let summary = p
        .lines()
        .into_iter()
        .rev()
        .find(|l| l.ends_with(" failed") && l.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .unwrap_or_default();
    say(format!(
        "backfill: {summary} in {:.1}s ({}), sync CPU {:.1}s",
        ended.wall.as_secs_f64(),
        ended.status,
        ended.cpu_ms as f64 / 1000.0
    ));
    Ok(Backfill {
        wall: ended.wall,
        sync_cpu_ms: ended.cpu_ms,
        cpu,
        in_sync: ended.status.success(),
        summary,
        requests: setup::requests_between(&before, &after),
    })
}

/// The target after the backfill.
#[derive(Debug, Clone, Default)]
pub struct TargetCheck {
    /// Seeded accounts expected.
    pub expected: u64,
    /// Accounts on the target with a seeded name, and how many distinct names among them.
    pub seeded: u64,
    pub distinct_names: u64,
    /// Of those, how many hold the source's mail.
    pub right_mail: u64,
    /// externalIds held by more than one account of the target (a twin would show here).
    pub duplicate_external_ids: u64,
    /// Source accounts whose state row names a target account.
    pub linked_on_source: u64,
}

impl TargetCheck {
    /// Every seeded account exactly once, with its values.
    pub fn ok(&self) -> bool {
        self.seeded == self.expected
            && self.distinct_names == self.expected
            && self.right_mail == self.expected
            && self.duplicate_external_ids == 0
    }
}

/// Count the seeded accounts on the target.
pub async fn check_target(target: &mut Conn, source: &mut Conn, uids: &[u64]) -> Result<TargetCheck, String> {
    let like = db::seeded_name(0).replacen('0', "%", 1);
    let counts: Option<(u64, u64, u64)> = target
        .exec_first(
            "SELECT COUNT(*), COUNT(DISTINCT name), \
             COALESCE(SUM(mail = CONCAT('seed.user', SUBSTRING_INDEX(SUBSTRING(name, 6), '@', 1), '@contoso.com')), 0) \
             FROM users_field_data WHERE name LIKE ?",
            (like,),
        )
        .await
        .map_err(e)?;
    let (seeded, distinct_names, right_mail) = counts.unwrap_or_default();
    let dupes: Option<u64> = target
        .query_first(
            "SELECT COUNT(*) FROM (SELECT external_id FROM scim_user WHERE external_id IS NOT NULL \
             GROUP BY external_id HAVING COUNT(*) > 1) twins",
        )
        .await
        .map_err(e)?;
    let linked: Option<u64> =
        source.query_first("SELECT COUNT(*) FROM scim_sync WHERE target_id IS NOT NULL").await.map_err(e)?;
    Ok(TargetCheck {
        expected: uids.len() as u64,
        seeded,
        distinct_names,
        right_mail,
        duplicate_external_ids: dupes.unwrap_or(0),
        linked_on_source: linked.unwrap_or(0),
    })
}
