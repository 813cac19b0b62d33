//! `drupal-scim-bench sites` (`scripts/bench.sh --sites`, issue #14): what each added site costs
//! one process, and whether spreading the load over sites costs throughput.
//!
//! Databases site_01, site_02, … are loaded with the Drupal fixture, then for each site count (1, 10, 50)
//! a release server is started with that many `[[sites]]`, every site is touched once, and its
//! memory is read: right after the touches (each site's pool holds its connections) and, after
//! 95 s, idle (the pools have closed them). With the `--spread` count, the same lookups and
//! creates run all on one site and round-robin over every site.

use crate::db;
use crate::driver;
use crate::scim::Scim;
use crate::served::{Served, Shared, SiteEntry};
use crate::spread::{self, Plan, Run, Target};
use crate::{loadavg, ms, say};
use mysql_async::Conn;
use mysql_async::prelude::*;
use report::{mib, report};
use std::path::PathBuf;
use std::time::{Duration, Instant};

mod report;

#[derive(clap::Args)]
pub struct SitesArgs {
    /// The database server, with no database name: mysql://root@127.0.0.1:3306.
    #[arg(long)]
    db_server: String,
    /// The server binary to measure.
    #[arg(long)]
    server_bin: PathBuf,
    /// The mapping every site uses.
    #[arg(long)]
    mapping: PathBuf,
    #[arg(long, default_value = "tests/fixtures/drupal10.sql")]
    fixture: String,
    /// How many sites each server serves, one server after the other.
    #[arg(long, value_delimiter = ',', default_value = "1,10,50")]
    counts: Vec<usize>,
    /// The site count (one of `--counts`) whose server also runs the throughput comparison.
    #[arg(long, default_value_t = 10)]
    spread: usize,
    /// Accounts seeded into each of those sites (the lookup targets).
    #[arg(long, default_value_t = 300)]
    seed: u64,
    /// Lookups per measured run (each run: all on one site, or spread).
    #[arg(long, default_value_t = 6000)]
    lookups: usize,
    /// Creates per measured run.
    #[arg(long, default_value_t = 3000)]
    creates: usize,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Rounds of (one site, spread) per kind, alternating.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Seconds between touching the last site and reading the memory.
    #[arg(long, default_value_t = 3)]
    settle_secs: u64,
    /// Seconds after the last touch for the idle reading; 0: no idle reading. A pool closes a
    /// connection idle for 60 s at its next check, and checks every 30 s (mysql_async's
    /// default): after 90 s every connection is closed.
    #[arg(long, default_value_t = 95)]
    idle_secs: u64,
    /// `[database] pool_max`, every site's.
    #[arg(long, default_value_t = 8)]
    pool_max: usize,
    /// `[server] workers` (0: one per core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// The database server's process id (for its CPU).
    #[arg(long, default_value_t = 0)]
    db_pid: u32,
    /// Where the settings files and the servers' logs go.
    #[arg(long)]
    work_dir: PathBuf,
    /// Where to write the results (markdown).
    #[arg(long)]
    out: String,
    /// Lines describing the set-up, printed in the report (repeatable).
    #[arg(long = "note")]
    notes: Vec<String>,
}

/// The server's memory and the connections it holds, at one moment.
#[derive(Clone, Copy, Default)]
struct Reading {
    rss: u64,
    hwm: u64,
    anon: u64,
    conns: u64,
}

/// One server, serving `sites`.
struct Round {
    sites: usize,
    start_secs: f64,
    started: Reading,
    touched: Reading,
    idle: Option<Reading>,
    after_load: Option<Reading>,
    stopped: String,
}

fn site_name(i: usize) -> String {
    format!("s{i:02}")
}

fn secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Connections the server holds to the sites' databases (the benchmark's own have none open
/// while this runs, or none with a database).
async fn server_conns(admin: &mut Conn) -> Result<u64, String> {
    let n: Option<u64> = admin
        .query_first("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB LIKE 'site\\_%'")
        .await
        .map_err(db::e)?;
    Ok(n.unwrap_or(0))
}

async fn reading(served: &Served, admin: &mut Conn) -> Result<Reading, String> {
    Ok(Reading {
        rss: served.kib("VmRSS"),
        hwm: served.kib("VmHWM"),
        anon: served.kib("RssAnon"),
        conns: server_conns(admin).await?,
    })
}

/// The tail of a server's log, for an error.
fn log_tail(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// How many WARN and ERROR lines a server's log holds.
fn log_levels(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let count = |level: &str| text.lines().filter(|l| l.contains(level)).count();
    format!("log: {} WARN, {} ERROR", count(" WARN "), count(" ERROR "))
}

struct Bench<'a> {
    args: &'a SitesArgs,
    entries: Vec<SiteEntry>,
    admin: Conn,
    runs: Vec<Run>,
}

impl Bench<'_> {
    async fn round(&mut self, n: usize) -> Result<Round, String> {
        let args = self.args;
        let settings = args.work_dir.join(format!("sites-{n}.toml"));
        let log = args.work_dir.join(format!("sites-{n}.log"));
        let shared = Shared { mapping: &args.mapping, pool_max: args.pool_max, workers: args.workers };
        let t = Instant::now();
        let mut served = Served::start(&args.server_bin, &settings, &log, &shared, &self.entries[..n])?;
        let http = Scim::new(&served.origin, "", 64);
        if let Err(e) = http.wait_ready(&served.origin, Duration::from_secs(120)).await {
            return Err(format!("{n} sites: {e}; {}:\n{}", log.display(), log_tail(&log)));
        }
        let start_secs = t.elapsed().as_secs_f64();
        let started = reading(&served, &mut self.admin).await?;
        let mut clients = Vec::with_capacity(n);
        for entry in &self.entries[..n] {
            // The server has created its tables: link the fixture's accounts (as the tests do) so
            // the touch reads an account, not an empty list.
            let mut conn = db::admin(&entry.db_url).await?;
            db::link_fixture_accounts(&mut conn).await?;
            conn.disconnect().await.map_err(db::e)?;
            let token = drupal_scim::token::mint_for_site(&entry.secret, &entry.name, "bench")
                .map_err(|e| format!("token for {}: {e}", entry.name))?;
            clients.push(http.on(&format!("{}/scim/v2/{}", served.origin, entry.name), &token));
        }
        for (entry, client) in self.entries.iter().zip(&clients) {
            client.touch().await.map_err(|e| format!("site {}: {e}", entry.name))?;
        }
        let touched_at = Instant::now();
        tokio::time::sleep(Duration::from_secs(args.settle_secs)).await;
        let touched = reading(&served, &mut self.admin).await?;
        say(format!(
            "{n} sites: up in {start_secs:.1} s; VmRSS {} MiB started ({} connections), {} MiB touched ({} connections); VmHWM {} MiB",
            mib(started.rss),
            started.conns,
            mib(touched.rss),
            touched.conns,
            mib(touched.hwm)
        ));
        let idle = if args.idle_secs > 0 {
            let wait = Duration::from_secs(args.idle_secs).saturating_sub(touched_at.elapsed());
            say(format!("{n} sites: {} s until the idle reading", wait.as_secs()));
            tokio::time::sleep(wait).await;
            let r = reading(&served, &mut self.admin).await?;
            say(format!("{n} sites: idle VmRSS {} MiB ({} connections)", mib(r.rss), r.conns));
            Some(r)
        } else {
            None
        };
        let after_load = if n == args.spread { Some(self.throughput(&served, &clients).await?) } else { None };
        if !served.alive() {
            return Err(format!("the server with {n} sites died; {}:\n{}", log.display(), log_tail(&log)));
        }
        drop(clients);
        drop(http);
        let stopped = format!("{}; {}", served.stop(Duration::from_secs(40)).await, log_levels(&log));
        say(format!("{n} sites: server {stopped}"));
        Ok(Round { sites: n, start_secs, started, touched, idle, after_load, stopped })
    }

    /// Seed the sites, compare one site with all of them, and read the memory after.
    async fn throughput(&mut self, served: &Served, clients: &[Scim]) -> Result<Reading, String> {
        let args = self.args;
        let mut targets = Vec::with_capacity(clients.len());
        for (entry, scim) in self.entries.iter().zip(clients) {
            let mut conn = db::admin(&entry.db_url).await?;
            let seeded = db::seed(&mut conn, args.seed).await?;
            conn.disconnect().await.map_err(db::e)?;
            targets.push(Target { scim: scim.clone(), seeded });
        }
        say(format!("seeded {} accounts into each of {} sites; load average {}", args.seed, targets.len(), loadavg()));
        let _ = driver::PIDS.set((served.pid, args.db_pid));
        let plan =
            Plan { lookups: args.lookups, creates: args.creates, concurrency: args.concurrency, rounds: args.rounds };
        let runs = spread::compare(&targets, &plan).await;
        for r in &runs {
            say(format!(
                "{} on {} site(s), round {}: {} req, {} failed, {:.0}/s, p50 {} p99 {} ms",
                r.kind,
                r.sites,
                r.round,
                r.sample.requests(),
                r.sample.failed,
                r.sample.rate(),
                ms(r.sample.pct_ms(50.0)),
                ms(r.sample.pct_ms(99.0))
            ));
            for e in &r.sample.errors {
                say(format!("    failure: {e}"));
            }
        }
        self.runs.extend(runs);
        reading(served, &mut self.admin).await
    }
}

pub async fn run(args: SitesArgs) -> Result<(), String> {
    let max = args.counts.iter().copied().max().ok_or("--counts is empty")?;
    if max == 0 || !args.counts.contains(&args.spread) {
        return Err(format!("--spread {} must be one of --counts {:?} (none 0)", args.spread, args.counts));
    }
    std::fs::create_dir_all(&args.work_dir).map_err(|e| format!("{}: {e}", args.work_dir.display()))?;
    let server = args.db_server.trim_end_matches('/');
    let mut entries = Vec::with_capacity(max);
    let t = Instant::now();
    for i in 1..=max {
        let db_url = format!("{server}/site_{i:02}");
        db::load_fixture(&db_url, &args.fixture).await?;
        entries.push(SiteEntry { name: site_name(i), db_url, secret: secret() });
    }
    say(format!("{max} databases loaded with {} in {:.1} s", args.fixture, t.elapsed().as_secs_f64()));
    let mut admin = db::admin(&format!("{server}/")).await?;
    let dbinfo = db::describe(&mut admin).await?;
    let load_before = loadavg();
    let mut bench = Bench { args: &args, entries, admin, runs: Vec::new() };
    let mut rounds = Vec::new();
    for &n in &args.counts {
        rounds.push(bench.round(n).await?);
    }
    let md = report(&args, &rounds, &bench.runs, &dbinfo, &load_before);
    std::fs::write(&args.out, &md).map_err(|e| format!("{}: {e}", args.out))?;
    println!("{md}");
    say(format!("results written to {}", args.out));
    let failed: usize = bench.runs.iter().map(|r| r.sample.failed).sum();
    if failed > 0 {
        return Err(format!("{failed} requests failed"));
    }
    Ok(())
}
