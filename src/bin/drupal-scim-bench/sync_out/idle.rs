//! The loop at rest: `drupal-scim sync` started against the target the backfill filled. Its
//! first pass is a full reconciliation (timed); then a window of whole poll intervals in which
//! nothing changes, with the CPU of every process and each of the loop's statements.

use super::child::{Mode, SyncProcess};
use super::setup::Context;
use super::statements::{self, Pass};
use crate::rss::{self, Cpu};
use crate::say;
use mysql_async::Conn;
use std::time::{Duration, Instant};

/// The loop's first pass (a full reconciliation: every account's fingerprint compared).
#[derive(Debug, Clone)]
pub struct FullPass {
    pub wall: Duration,
    /// CPU of the sync process from its start to the end of the pass, ms.
    pub cpu_ms: u64,
    /// Its log line ("full pass: N checked, N pushed, …").
    pub line: String,
    /// MariaDB's time for its statements (µs) and their count.
    pub db_micros: u64,
    pub statements: usize,
}

/// The idle window.
#[derive(Debug, Clone)]
pub struct Idle {
    pub window: Duration,
    /// CPU of the sync process in the window, ms.
    pub sync_cpu_ms: u64,
    /// CPU of the target server, MariaDB and this bench in the window.
    pub cpu: Cpu,
    /// The loop's passes that began in the window.
    pub passes: Vec<Pass>,
}

/// Start the loop, wait for its first (full) pass, then measure `idle_secs` in which nothing
/// changes. The window starts a quarter interval after the full pass, so that it holds exactly
/// `idle_secs / interval` polls. Returns the loop, still running.
pub async fn idle(
    ctx: &Context,
    source: &mut Conn,
    interval: u64,
    idle_secs: u64,
) -> Result<(SyncProcess, FullPass, Idle), String> {
    statements::start_capture(source).await?;
    let from = statements::db_now(source).await?;
    let mut p = ctx.start(Mode::Loop, "sync-loop.log")?;
    say(format!("loop: drupal-scim sync (pid {}), its log: {}", p.pid, p.log.display()));
    let line = p.wait_for_line("full pass:", Duration::from_secs(900)).await?;
    let full_wall = p.started.elapsed();
    let full_cpu = p.cpu_ms();
    let full_end = statements::db_now(source).await?;
    say(format!(
        "loop: first (full) pass done in {:.1}s, CPU {:.1}s: {}",
        full_wall.as_secs_f64(),
        full_cpu as f64 / 1000.0,
        line.split("] ").last().unwrap_or(&line)
    ));

    tokio::time::sleep(Duration::from_secs(interval) / 4).await;
    let (from_window, cpu0, sync0, t0) =
        (statements::db_now(source).await?, Cpu::now(ctx.target_pid, ctx.db_pid), p.cpu_ms(), Instant::now());
    say(format!("loop: idle window of {idle_secs} s ({} polls due)", idle_secs / interval.max(1)));
    tokio::time::sleep(Duration::from_secs(idle_secs)).await;
    let (sync1, cpu1) = (rss::cpu_ms(p.pid), Cpu::now(ctx.target_pid, ctx.db_pid));
    let window = t0.elapsed();
    let to_window = statements::db_now(source).await?;
    statements::stop_capture(source).await?;

    let full_stmts = statements::passes(source, &ctx.source_db, &from, &full_end).await?;
    let passes = statements::passes(source, &ctx.source_db, &from_window, &to_window).await?;
    let idle = Idle { window, sync_cpu_ms: sync1.saturating_sub(sync0), cpu: cpu1.since(cpu0), passes };
    say(format!(
        "loop: idle {:.0}s: sync CPU {} ms, MariaDB CPU {} ms, target CPU {} ms, {} passes, MariaDB time per pass {:?} µs",
        window.as_secs_f64(),
        idle.sync_cpu_ms,
        idle.cpu.db,
        idle.cpu.server,
        idle.passes.len(),
        idle.passes.iter().map(Pass::micros).collect::<Vec<_>>()
    ));
    let full = FullPass {
        wall: full_wall,
        cpu_ms: full_cpu,
        line: line.split("] ").last().unwrap_or(&line).to_string(),
        db_micros: full_stmts.iter().map(Pass::micros).sum(),
        statements: full_stmts.iter().map(|s| s.statements.len()).sum(),
    };
    Ok((p, full, idle))
}
