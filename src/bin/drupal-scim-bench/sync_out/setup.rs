//! Before the backfill: the source's tables, the seeded accounts aged, and the inbound create
//! rate into the target (what the backfill is compared with); the target's request counters.

use super::child::{Mode, SyncProcess};
use crate::db::e;
use crate::driver::{self, Sample};
use crate::say;
use crate::scim::{NewUser, Scim};
use mysql_async::Conn;
use mysql_async::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What every `drupal-scim sync` of the run shares.
pub struct Context {
    pub bin: PathBuf,
    pub settings: PathBuf,
    pub log_dir: PathBuf,
    pub pid_file: PathBuf,
    pub target_pid: u32,
    pub db_pid: u32,
    /// The target's origin (its /metrics).
    pub origin: String,
    /// The source database's name (the loop's statements in the slow log).
    pub source_db: String,
}

impl Context {
    /// Start `drupal-scim sync` in `mode`, its log `name` in the log directory.
    pub fn start(&self, mode: Mode, name: &str) -> Result<SyncProcess, String> {
        SyncProcess::start(&self.bin, &self.settings, mode, &self.log_dir.join(name), &self.pid_file)
    }
}

/// `drupal-scim sync --status` once: it creates sync's tables (and the bridge tables) on the
/// source, as its first run on a site would, and sends nothing.
pub async fn prepare_source(ctx: &Context) -> Result<(), String> {
    let mut p = ctx.start(Mode::Status, "sync-status.log")?;
    let ended = p.wait(|_| {}).await?;
    // 1: accounts are pending, which they are.
    if !matches!(ended.status.code(), Some(0 | 1)) {
        return Err(format!("sync --status failed ({}): {}", ended.status, p.lines().join("\n")));
    }
    Ok(())
}

/// Age the seeded accounts by a day: on a site at rest, accounts were last saved long before the
/// loop's poll window (the previous poll's start minus its 300 s margin). Left at the seeding
/// time, every incremental poll in the first minutes would re-read all of them.
pub async fn backdate(conn: &mut Conn, uids: &[u64]) -> Result<(), String> {
    let (Some(first), Some(last)) = (uids.first(), uids.last()) else { return Ok(()) };
    conn.exec_drop("UPDATE users_field_data SET changed = changed - 86400 WHERE uid BETWEEN ? AND ?", (first, last))
        .await
        .map_err(e)
}

/// `n` creates into the target at concurrency `c` (after 100 not measured, which open the
/// connections), as Entra sends them.
pub async fn inbound_creates(scim: &Scim, n: usize, c: usize) -> Result<Sample, String> {
    for (tag, count) in [("inwarm", 100), ("inbound", n)] {
        let t = tag.to_string();
        let (sample, _) = driver::run(vec![scim.clone(); c], count, move |s: Scim, i| {
            let user = NewUser::numbered(&t, i);
            async move {
                let r = s.create_user(&user).await.map(|_| ());
                (s, r)
            }
        })
        .await;
        if tag == "inbound" {
            say(format!(
                "inbound POST /Users c={c}: {} requests, {} failed, {:.0}/s, p50 {:.1} ms p99 {:.1} ms",
                sample.requests(),
                sample.failed,
                sample.rate(),
                sample.pct_ms(50.0),
                sample.pct_ms(99.0)
            ));
            for err in &sample.errors {
                say(format!("    failure: {err}"));
            }
            return Ok(sample);
        }
    }
    Err("no inbound phase".into())
}

/// The target's `drupal_scim_requests_total` counters from its /metrics, by "METHOD route status".
pub async fn target_requests(origin: &str) -> Result<BTreeMap<String, u64>, String> {
    let text = reqwest::get(format!("{origin}/metrics"))
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|err| format!("/metrics: {err}"))?
        .text()
        .await
        .map_err(|err| format!("/metrics: {err}"))?;
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("drupal_scim_requests_total{")) {
        let Some((labels, value)) = line.rsplit_once(' ') else { continue };
        let label = |name: &str| {
            labels
                .split(&format!("{name}=\""))
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or("?")
                .to_string()
        };
        let route = label("route");
        // This bench's own reads of /metrics.
        if route == "/metrics" {
            continue;
        }
        let key = format!("{} {route} {}", label("method"), label("status"));
        *out.entry(key).or_insert(0) += value.trim().parse::<u64>().unwrap_or(0);
    }
    Ok(out)
}

/// `after - before` per counter, the non-zero ones.
pub fn requests_between(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> Vec<(String, u64)> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v.saturating_sub(before.get(k).copied().unwrap_or(0))))
        .filter(|(_, n)| *n > 0)
        .collect()
}
