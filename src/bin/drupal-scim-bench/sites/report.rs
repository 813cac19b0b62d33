//! The report of `drupal-scim-bench sites`: memory per site count and per added site, the
//! throughput runs and their ratio, the machine and set-up (markdown).

use super::{Round, SitesArgs};
use crate::spread::Run;
use crate::{loadavg, machine, ms};
use std::fmt::Write as _;

/// KiB as MiB, one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// The whole report.
pub fn report(
    args: &SitesArgs,
    rounds: &[Round],
    runs: &[Run],
    dbinfo: &[(String, String)],
    load_before: &str,
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "### Memory per site\n");
    let _ = writeln!(
        md,
        "| sites | up in s | VmRSS after start MiB (connections open) | VmRSS after touching every site MiB (RssAnon) | connections open | VmHWM MiB | VmRSS idle {} s MiB (RssAnon) | connections open | server stop |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---|",
        args.idle_secs
    );
    for r in rounds {
        let idle = r.idle.map_or((String::new(), String::new()), |i| {
            (format!("{} ({})", mib(i.rss), mib(i.anon)), i.conns.to_string())
        });
        let _ = writeln!(
            md,
            "| {} | {:.1} | {} ({}) | {} ({}) | {} | {} | {} | {} | {} |",
            r.sites,
            r.start_secs,
            mib(r.started.rss),
            r.started.conns,
            mib(r.touched.rss),
            mib(r.touched.anon),
            r.touched.conns,
            mib(r.touched.hwm),
            idle.0,
            idle.1,
            r.stopped
        );
    }
    let _ = writeln!(
        md,
        "\n| per added site | after start | after the touches (connections open) | idle |\n|---|---:|---:|---:|"
    );
    // Each step (1 → 10, 10 → 50) and, with more than two counts, first → last (1 → 50).
    let mut steps: Vec<(&Round, &Round)> = rounds.iter().zip(rounds.iter().skip(1)).collect();
    if let (Some(first), Some(last), true) = (rounds.first(), rounds.last(), rounds.len() > 2) {
        steps.push((first, last));
    }
    for (a, b) in steps {
        let added = b.sites.saturating_sub(a.sites).max(1);
        let per = |x: u64, y: u64| format!("{:.2} MiB", (y as f64 - x as f64) / 1024.0 / added as f64);
        let idle = match (a.idle, b.idle) {
            (Some(x), Some(y)) => per(x.rss, y.rss),
            _ => String::new(),
        };
        let _ = writeln!(
            md,
            "| {} → {} sites: (RSS{} − RSS{}) ÷ {} | {} | {} | {idle} |",
            a.sites,
            b.sites,
            b.sites,
            a.sites,
            added,
            per(a.started.rss, b.started.rss),
            per(a.touched.rss, b.touched.rss)
        );
    }
    if let Some(r) = rounds.iter().find(|r| r.after_load.is_some()) {
        let a = r.after_load.unwrap_or_default();
        let _ = writeln!(
            md,
            "\nWith {} sites, after the throughput runs below: VmRSS {} MiB (RssAnon {}), VmHWM {} MiB, {} connections open.",
            r.sites,
            mib(a.rss),
            mib(a.anon),
            mib(a.hwm),
            a.conns
        );
    }
    if !runs.is_empty() {
        let _ = writeln!(md, "\n### Throughput: one site or spread over {}\n", args.spread);
        let _ = writeln!(
            md,
            "| request | sites | round | requests | failed | req/s | p50 ms | p99 ms | CPU µs/req: server + DB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for r in runs {
            let s = &r.sample;
            let (cs, cd, _) = s.cpu_per_request_us();
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {:.0} | {} | {} | {cs:.0} + {cd:.0} |",
                r.kind,
                r.sites,
                r.round,
                s.requests(),
                s.failed,
                s.rate(),
                ms(s.pct_ms(50.0)),
                ms(s.pct_ms(99.0))
            );
        }
        let _ = writeln!(md, "\n| request | spread ÷ one site (all rounds: requests ÷ wall time) |\n|---|---:|");
        for kind in ["userName eq", "create"] {
            let rate = |sites: usize| {
                let (n, secs) = runs
                    .iter()
                    .filter(|r| r.kind == kind && r.sites == sites)
                    .fold((0usize, 0.0f64), |(n, s), r| (n + r.sample.requests(), s + r.sample.wall.as_secs_f64()));
                if secs > 0.0 { n as f64 / secs } else { 0.0 }
            };
            let (one, many) = (rate(1), rate(args.spread));
            let _ = writeln!(md, "| {kind} | {:.2} ({many:.0}/s vs {one:.0}/s) |", many / one.max(f64::MIN_POSITIVE));
        }
    }
    let _ = writeln!(md, "\n### Machine and set-up\n\n| | |\n|---|---|");
    for (k, v) in machine() {
        let _ = writeln!(md, "| {k} | {v} |");
    }
    let _ = writeln!(md, "| load average (1, 5, 15 min) | {load_before} before, {} after |", loadavg());
    for (k, v) in dbinfo {
        let _ = writeln!(md, "| MariaDB {k} | {v} |");
    }
    let _ = writeln!(
        md,
        "| servers | `[database] pool_max = {}` (every site), `[server] workers = {}` (0: one per core), no `database_connections_max` |",
        args.pool_max, args.workers
    );
    let _ = writeln!(
        md,
        "| load | c = {}, {} lookups and {} creates per run, {} accounts seeded per site, rounds: {} |",
        args.concurrency, args.lookups, args.creates, args.seed, args.rounds
    );
    for n in &args.notes {
        let _ = writeln!(md, "| {n} | |");
    }
    md
}
