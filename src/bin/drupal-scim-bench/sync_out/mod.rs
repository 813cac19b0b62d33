//! `drupal-scim-bench sync`: the sync-out benchmark of issue #13, run by `scripts/bench.sh --sync`.
//!
//! A source Drupal database seeded with accounts; a target `drupal-scim serve` over a second
//! one (started by the script). In one run: the inbound create rate into the target, the
//! backfill of every account by `drupal-scim sync --once`, the loop (`drupal-scim sync`) idle
//! at the default interval — its CPU and what each poll costs the database — and the lag from a
//! change in Drupal to the target.
//!
//! - [`child`]: the `drupal-scim sync` processes, their settings file and CPU.
//! - [`setup`]: the source's tables, the seeded accounts aged, the inbound create rate.
//! - [`backfill`]: `sync --once` over every account, and the target checked afterwards.
//! - [`idle`]: the loop's first (full) pass, then a window in which nothing changes.
//! - [`statements`]: the loop's statements from MariaDB's slow log, per pass.
//! - [`lag`]: changes made in Drupal, watched for on the target.
//! - [`report`]: the markdown section of BENCHMARKS.md.

mod backfill;
mod child;
mod idle;
mod lag;
mod report;
mod setup;
mod statements;

use crate::scim::Scim;
use crate::{db, driver, loadavg, say};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct SyncArgs {
    /// Origin of the target server, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    origin: String,
    /// Its SCIM base path.
    #[arg(long, default_value = "/scim/v2")]
    base_path: String,
    /// The source Drupal database: seeded here, read by the sync processes.
    #[arg(long)]
    source_db_url: String,
    /// The target's Drupal database (the checks, and the lag's reads).
    #[arg(long)]
    target_db_url: String,
    /// The target's auth.secret: the tokens of the sync and of the inbound creates.
    #[arg(long, env = "DRUPAL_SCIM__AUTH__SECRET", hide_env_values = true)]
    secret: String,
    /// The target server's process id (its CPU).
    #[arg(long)]
    target_pid: u32,
    /// The database server's process id (its CPU).
    #[arg(long, default_value_t = 0)]
    db_pid: u32,
    /// The drupal-scim binary whose `sync` is measured.
    #[arg(long)]
    drupal_scim: PathBuf,
    /// The mapping both sites use.
    #[arg(long)]
    mapping: PathBuf,
    /// Where the sync settings file and `sync.pid` (the running sync's pid) go.
    #[arg(long)]
    work_dir: PathBuf,
    /// Where the sync processes' logs go.
    #[arg(long, default_value = "target/bench")]
    log_dir: PathBuf,
    /// Accounts seeded into the source.
    #[arg(long, default_value_t = 100_000)]
    accounts: u64,
    /// Inbound creates measured (POST /Users to the target).
    #[arg(long, default_value_t = 2_000)]
    inbound: usize,
    /// Concurrency of the inbound creates and `sync.concurrency`.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// `sync.max_rps`: high, so that the target, not the limiter, bounds the backfill.
    #[arg(long, default_value_t = 100_000)]
    max_rps: u32,
    /// `sync.interval_secs` (omitted: the default).
    #[arg(long)]
    interval_secs: Option<u64>,
    /// Length of the idle window (CPU of the loop).
    #[arg(long, default_value_t = 180)]
    idle_secs: u64,
    /// Changes made in Drupal for the lag.
    #[arg(long, default_value_t = 20)]
    changes: usize,
    /// Seconds over which they are made.
    #[arg(long, default_value_t = 150)]
    spread_secs: u64,
    /// Where to write the results (markdown).
    #[arg(long)]
    out: String,
    /// A BENCHMARKS.md whose generated sync section is replaced by the results.
    #[arg(long)]
    update: Option<String>,
    /// Lines describing the set-up, printed in the report (repeatable).
    #[arg(long = "note")]
    notes: Vec<String>,
}

/// Run every phase and write the report.
pub async fn run(args: SyncArgs) -> Result<(), String> {
    let started_at = time::OffsetDateTime::now_utc();
    let clock = Instant::now();
    let token = drupal_scim::token::mint(&args.secret, "drupal-scim", "drupal-scim", "bench-sync", None)
        .map_err(|e| e.to_string())?;
    let origin = args.origin.trim_end_matches('/').to_string();
    let base = format!("{origin}{}", args.base_path);
    let scim = Scim::new(&base, &token, 64);
    scim.wait_ready(&origin, Duration::from_secs(60)).await?;
    let _ = driver::PIDS.set((args.target_pid, args.db_pid));
    let mut source = db::admin(&args.source_db_url).await?;
    let mut target = db::admin(&args.target_db_url).await?;
    // The target's fixture accounts are linked, as on a site SCIM provisions: the source's
    // jdoe and msmith are found there by userName and linked, not created twice.
    db::link_fixture_accounts(&mut target).await?;
    let mut loads = vec![("start".to_string(), loadavg())];

    let default_interval = drupal_scim::settings::SyncSettings::new("http://x", "x").interval_secs;
    let interval = args.interval_secs.unwrap_or(default_interval);
    let tuning =
        child::Tuning { concurrency: args.concurrency, max_rps: args.max_rps, interval_secs: args.interval_secs };
    let settings = child::write_settings(&args.work_dir, &args.mapping, &args.source_db_url, &base, &token, &tuning)?;
    let ctx = setup::Context {
        origin: origin.clone(),
        source_db: db::split_url(&args.source_db_url)?.1,
        bin: args.drupal_scim.clone(),
        settings: settings.path.clone(),
        log_dir: args.log_dir.clone(),
        pid_file: args.work_dir.join("sync.pid"),
        target_pid: args.target_pid,
        db_pid: args.db_pid,
    };

    // The source's bridge tables exist before the seeding writes scim_user rows.
    setup::prepare_source(&ctx).await?;
    let t = Instant::now();
    let uids = db::seed(&mut source, args.accounts).await?;
    setup::backdate(&mut source, &uids).await?;
    let seed_secs = t.elapsed().as_secs_f64();
    say(format!("seeded {} accounts into the source in {seed_secs:.1}s", uids.len()));

    loads.push(("inbound creates".into(), loadavg()));
    let inbound = setup::inbound_creates(&scim, args.inbound, args.concurrency).await?;
    loads.push(("backfill".into(), loadavg()));
    let backfill = backfill::backfill(&ctx).await?;
    let check = backfill::check_target(&mut target, &mut source, &uids).await?;
    say(format!("target: {check:?}"));

    loads.push(("loop: full pass".into(), loadavg()));
    let (sync_loop, full, idle) = idle::idle(&ctx, &mut source, interval, args.idle_secs).await?;
    let poll = match idle.passes.iter().rev().find_map(|p| p.poll()) {
        Some(s) => Some((s.text.clone(), statements::rerun_poll(&mut source, &s.text, 5).await?)),
        None => None,
    };

    loads.push(("lag".into(), loadavg()));
    let picked = pick(&uids, args.changes);
    say(format!("lag: {} changes over {} s, interval {interval} s", picked.len(), args.spread_secs));
    let lags = lag::measure(
        &mut source,
        &mut target,
        &picked,
        Duration::from_secs(args.spread_secs),
        Duration::from_secs(3 * interval + 30),
    )
    .await?;
    say(format!(
        "lag: {} of {} seen; p50 {:.1}s p99 {:.1}s",
        lags.ms.len(),
        lags.made,
        lags.pct_secs(50.0),
        lags.pct_secs(99.0)
    ));
    let stopped = sync_loop.stop().await?;
    loads.push(("end".into(), loadavg()));

    let figures = report::Figures {
        started_at,
        minutes: clock.elapsed().as_secs_f64() / 60.0,
        accounts: uids.len() as u64,
        seed_secs,
        inbound,
        backfill,
        check,
        full,
        idle,
        poll,
        lags,
        interval,
        interval_is_default: args.interval_secs.is_none(),
        settings_shown: settings.shown,
        loads,
        dbinfo: db::describe(&mut source).await?,
        notes: args.notes.clone(),
        loop_stopped_cleanly: stopped.status.success(),
    };
    let md = report::markdown(&figures);
    std::fs::write(&args.out, &md).map_err(|e| format!("{}: {e}", args.out))?;
    say(format!("results written to {}", args.out));
    if let Some(path) = &args.update {
        report::update_section(path, &md)?;
        say(format!("{path} updated"));
    }
    report::verdict(&figures)
}

/// `n` distinct seeded uids at random.
fn pick(uids: &[u64], n: usize) -> Vec<u64> {
    let mut rng = rand::rng();
    rand::seq::index::sample(&mut rng, uids.len(), n.min(uids.len())).into_iter().map(|i| uids[i]).collect()
}
