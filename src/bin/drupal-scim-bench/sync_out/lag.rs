//! The lag from a change in Drupal to the target: accounts edited on the source as Drupal's own
//! save does (the value, and `changed` bumped) at moments spread over a few poll intervals, the
//! target's database read every 100 ms until each change is there.

use crate::db::{self, e};
use mysql_async::prelude::*;
use mysql_async::{Conn, Value};
use std::time::{Duration, Instant};

/// How often the target is read.
const POLL: Duration = Duration::from_millis(100);

/// One change: the account, when it is due, when it was made and when the target had it.
struct Change {
    uid: u64,
    due: Duration,
    mail: String,
    made: Option<Instant>,
    seen: Option<Instant>,
}

/// What the lag phase measured.
#[derive(Debug, Clone, Default)]
pub struct Lags {
    /// Lag of each change that reached the target, ms, sorted.
    pub ms: Vec<u64>,
    /// Changes made.
    pub made: usize,
    /// Changes that had not reached the target when the phase gave up.
    pub missing: usize,
    /// Seconds from the first change made to the last.
    pub spread_secs: f64,
    /// Seconds the changes were to be spread over.
    pub planned_secs: f64,
}

impl Lags {
    /// Nearest-rank percentile, seconds.
    pub fn pct_secs(&self, p: f64) -> f64 {
        if self.ms.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * self.ms.len() as f64).ceil() as usize;
        self.ms[rank.clamp(1, self.ms.len()) - 1] as f64 / 1000.0
    }
}

/// Change the mail of each of `uids` at a moment drawn in its own slice of `spread` (so the
/// changes fall at every phase of the poll interval), and wait until the target has each, at
/// most `timeout` after the last change.
pub async fn measure(
    source: &mut Conn,
    target: &mut Conn,
    uids: &[u64],
    spread: Duration,
    timeout: Duration,
) -> Result<Lags, String> {
    let slice = spread.as_secs_f64() / uids.len().max(1) as f64;
    let mut changes: Vec<Change> = uids
        .iter()
        .enumerate()
        .map(|(i, &uid)| Change {
            uid,
            due: Duration::from_secs_f64((i as f64 + rand::random::<f64>()) * slice),
            mail: format!("lag{i}.{uid}@contoso.com"),
            made: None,
            seen: None,
        })
        .collect();
    let start = Instant::now();
    let mut last_made = start;
    loop {
        for c in changes.iter_mut().filter(|c| c.made.is_none() && start.elapsed() >= c.due) {
            source
                .exec_drop(
                    "UPDATE users_field_data SET mail = ?, changed = UNIX_TIMESTAMP() WHERE uid = ?",
                    (&c.mail, c.uid),
                )
                .await
                .map_err(e)?;
            let now = Instant::now();
            c.made = Some(now);
            last_made = now;
        }
        let waiting: Vec<&Change> = changes.iter().filter(|c| c.made.is_some() && c.seen.is_none()).collect();
        if !waiting.is_empty() {
            let names: Vec<Value> = waiting.iter().map(|c| Value::from(db::seeded_name(c.uid))).collect();
            let marks = vec!["?"; names.len()].join(", ");
            let rows: Vec<(String, Option<String>)> = target
                .exec(format!("SELECT name, mail FROM users_field_data WHERE name IN ({marks})"), names)
                .await
                .map_err(e)?;
            let now = Instant::now();
            for c in changes.iter_mut().filter(|c| c.made.is_some() && c.seen.is_none()) {
                let name = db::seeded_name(c.uid);
                if rows.iter().any(|(n, m)| *n == name && m.as_deref() == Some(c.mail.as_str())) {
                    c.seen = Some(now);
                }
            }
        }
        let all_made = changes.iter().all(|c| c.made.is_some());
        if all_made && changes.iter().all(|c| c.seen.is_some()) {
            break;
        }
        if all_made && last_made.elapsed() > timeout {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let first = changes.iter().filter_map(|c| c.made).min().unwrap_or(start);
    let mut ms: Vec<u64> =
        changes.iter().filter_map(|c| Some(c.seen?.duration_since(c.made?).as_millis() as u64)).collect();
    ms.sort_unstable();
    Ok(Lags {
        made: changes.len(),
        missing: changes.len() - ms.len(),
        spread_secs: last_made.duration_since(first).as_secs_f64(),
        planned_secs: spread.as_secs_f64(),
        ms,
    })
}
