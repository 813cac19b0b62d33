//! drupal-scim-bench: the load generator behind `scripts/bench.sh` (see BENCHMARKS.md).
//!
//! It drives a running `drupal-scim serve` over HTTP on loopback with the requests Entra ID
//! sends, at concurrency 1, 8 and 32, with bounded request counts, and runs the same SQL
//! statements straight through mysql_async beside each phase, so every figure comes with what
//! the database allows on the same machine. Built only with `--features bench`.
//! `sites` (sites.rs) measures many sites in one process instead: memory per site, and load
//! spread over sites against load on one.

mod db;
mod driver;
mod raw;
mod rss;
mod scim;
mod served;
mod sites;
mod spread;
mod sync_out;

use clap::{Parser, Subcommand};
use driver::Sample;
use mysql_async::Conn;
use scim::{NewUser, Scim};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LEVELS: [usize; 3] = [1, 8, 32];
const PAGE: u64 = 100;

#[derive(Parser)]
#[command(name = "drupal-scim-bench", about = "Load generator for drupal-scim (run it through scripts/bench.sh)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// (Re)create the database named in the URL and load the Drupal fixture into it.
    LoadFixture {
        #[arg(long)]
        db_url: String,
        #[arg(long, default_value = "tests/fixtures/drupal10.sql")]
        fixture: String,
    },
    /// Run every phase against a running server and write the report.
    Run(RunArgs),
    /// The sync-out benchmark (issue #13): backfill, idle loop and lag into a running target.
    Sync(sync_out::SyncArgs),
    /// Many sites in one process (issue #14): start the server with 1, 10 and 50 sites in turn,
    /// read its memory, and compare the throughput of one site with that of load spread over
    /// sites.
    Sites(sites::SitesArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Origin of the server under test, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    origin: String,
    /// Its SCIM base path.
    #[arg(long, default_value = "/scim/v2")]
    base_path: String,
    /// The Drupal database the server writes to (for seeding, EXPLAIN and the raw-SQL limit).
    #[arg(long)]
    db_url: String,
    /// The server's auth.secret (the token is minted with it).
    #[arg(long, env = "DRUPAL_SCIM__AUTH__SECRET", hide_env_values = true)]
    secret: String,
    /// The server's process id (for its memory and CPU).
    #[arg(long)]
    server_pid: u32,
    /// The database server's process id (for its CPU).
    #[arg(long, default_value_t = 0)]
    db_pid: u32,
    /// Where to write the results (markdown).
    #[arg(long)]
    out: String,
    /// A BENCHMARKS.md whose generated section is replaced by the results.
    #[arg(long)]
    update: Option<String>,
    /// Small counts and 10,000 instead of 100,000 users: a smoke run, minutes instead of many.
    #[arg(long)]
    quick: bool,
    /// Only the create phase (at 1,000 accounts, c = 1, 8 and 32, `--creates` requests per
    /// level) and the statement traces: for iterating on the write path in a minute.
    #[arg(long, value_name = "PER_LEVEL")]
    creates: Option<usize>,
    /// Only the two lookup phases at 1,000 accounts (`--lookups` requests per level) and the
    /// statement traces: for iterating on the read path.
    #[arg(long, value_name = "PER_LEVEL", conflicts_with = "creates")]
    lookups: Option<usize>,
    /// Only the group phase (on 1,000 accounts created first), with the server's memory: for
    /// iterating on the group write and its peak RSS.
    #[arg(long, conflicts_with_all = ["creates", "lookups"])]
    groups: bool,
    /// Only the paging phase at 1,000 accounts (every page of 100 at c = 1, 8 and 32), with the
    /// server's memory: for iterating on a page's peak RSS.
    #[arg(long, conflicts_with_all = ["creates", "lookups", "groups"])]
    pages: bool,
    /// Lines describing the set-up, printed in the report (repeatable).
    #[arg(long = "note")]
    notes: Vec<String>,
}

/// Request counts of one run.
#[derive(Debug, Clone)]
struct Counts {
    small: u64,
    large: u64,
    lookups: usize,
    per_level: usize,
    groups: [usize; 3],
    group_size: usize,
    walks_small: usize,
    walks_large: usize,
}

impl Counts {
    fn full() -> Counts {
        Counts {
            small: 1_000,
            large: 100_000,
            lookups: 2_000,
            per_level: 1_000,
            groups: [3, 8, 32],
            group_size: 1_000,
            walks_small: 10,
            walks_large: 1,
        }
    }
    fn quick() -> Counts {
        Counts {
            small: 1_000,
            large: 10_000,
            lookups: 300,
            per_level: 200,
            groups: [2, 8, 8],
            group_size: 500,
            walks_small: 2,
            walks_large: 1,
        }
    }
}

/// One row of the results.
struct Row {
    phase: String,
    users: u64,
    http: Sample,
    raw: Option<Sample>,
    rss_kib: u64,
}

struct Bench {
    scim: Scim,
    db_url: String,
    admin: Conn,
    raw: Vec<Conn>,
    rss: rss::Sampler,
    rows: Vec<Row>,
    /// Every seeded uid (the lookup targets).
    seeded: Vec<u64>,
    counts: Counts,
    log_started: Instant,
}

fn say(msg: impl AsRef<str>) {
    eprintln!("bench: {}", msg.as_ref());
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

impl Bench {
    fn users_clients(&self, c: usize) -> Vec<Scim> {
        vec![self.scim.clone(); c]
    }

    fn take_raw(&mut self, c: usize) -> Vec<Conn> {
        self.raw.drain(..c).collect()
    }

    fn record(&mut self, phase: &str, users: u64, http: Sample, raw: Option<Sample>) {
        let rss_kib = self.rss.take_window();
        let raw_note =
            raw.as_ref().map(|r| format!(", raw {:.0}/s p99 {} ms", r.rate(), ms(r.pct_ms(99.0)))).unwrap_or_default();
        let (cs, cd, cc) = http.cpu_per_request_us();
        let raw_cpu = raw
            .as_ref()
            .map(|r| format!(" | raw db {:.0} client {:.0}", r.cpu_per_request_us().1, r.cpu_per_request_us().2))
            .unwrap_or_default();
        let raw_note = format!("{raw_note}; CPU µs/req server {cs:.0} db {cd:.0} client {cc:.0}{raw_cpu}");
        say(format!(
            "[{:>5.0}s] {phase} @{users} c={}: {} req, {} failed, {:.0}/s, p50 {} p95 {} p99 {} ms{raw_note}",
            self.log_started.elapsed().as_secs_f64(),
            http.concurrency,
            http.requests(),
            http.failed,
            http.rate(),
            ms(http.pct_ms(50.0)),
            ms(http.pct_ms(95.0)),
            ms(http.pct_ms(99.0)),
        ));
        for err in http.errors.iter().chain(raw.iter().flat_map(|r| r.errors.iter())) {
            say(format!("    failure: {err}"));
        }
        self.rows.push(Row { phase: phase.to_string(), users, http, raw, rss_kib });
    }

    async fn visible(&mut self) -> Result<u64, String> {
        db::visible_users(&mut self.admin).await
    }

    /// Seed up to `target` visible accounts.
    async fn grow_to(&mut self, target: u64) -> Result<u64, String> {
        let now = self.visible().await?;
        if now < target {
            let t = Instant::now();
            let uids = db::seed(&mut self.admin, target - now).await?;
            say(format!(
                "seeded {} accounts (uids {}..={}) in {:.1}s",
                uids.len(),
                uids.first().unwrap_or(&0),
                uids.last().unwrap_or(&0),
                t.elapsed().as_secs_f64()
            ));
            self.seeded.extend(uids);
        }
        self.visible().await
    }

    /// `n` random seeded uids.
    fn targets(&self, n: usize) -> Arc<Vec<u64>> {
        use rand::Rng;
        let mut rng = rand::rng();
        Arc::new((0..n).map(|_| self.seeded[rng.random_range(0..self.seeded.len())]).collect())
    }

    async fn lookups(&mut self, users: u64, by_external_id: bool, warm: bool) {
        let attr = if by_external_id { "externalId" } else { "userName" };
        let value = move |uid: u64| if by_external_id { db::seeded_external_id(uid) } else { db::seeded_name(uid) };
        if warm {
            let targets = self.targets(200);
            let (_, _) = driver::run(self.users_clients(8), targets.len(), move |s: Scim, i| {
                let v = value(targets[i]);
                async move {
                    let r = s.find_one(attr, &v).await;
                    (s, r)
                }
            })
            .await;
        }
        for c in LEVELS {
            let targets = self.targets(self.counts.lookups);
            let t2 = targets.clone();
            let (http, _) = driver::run(self.users_clients(c), targets.len(), move |s: Scim, i| {
                let v = value(t2[i]);
                async move {
                    let r = s.find_one(attr, &v).await;
                    (s, r)
                }
            })
            .await;
            let conns = self.take_raw(c);
            let (raw, conns) = driver::run(conns, targets.len(), move |mut conn: Conn, i| {
                let v = value(targets[i]);
                async move {
                    let r = raw::lookup(&mut conn, by_external_id, &v).await;
                    (conn, r)
                }
            })
            .await;
            self.raw.extend(conns);
            self.record(&format!("GET /Users?filter={attr} eq"), users, http, Some(raw));
        }
    }

    /// Page through every account with startIndex, `walks` times. Each page costs the database
    /// a count of every visible account and an OFFSET scan, so with many pages the parallel
    /// levels take every `stride`-th page (always the last one too) instead of all of them.
    async fn list(&mut self, users: u64, walks: usize) {
        let total = users;
        let pages = total.div_ceil(PAGE) as usize;
        for c in LEVELS {
            let stride = if c > 1 && pages > 200 { pages / 100 } else { 1 };
            let picked: Vec<usize> = (0..pages).filter(|p| p % stride == 0 || *p == pages - 1).collect();
            let n = picked.len() * walks;
            let count = picked.len();
            let picked = Arc::new(picked);
            let (http, _) = driver::run(self.users_clients(c), n, move |s: Scim, i| {
                let page = picked[i % count] as u64;
                let want = (total - page * PAGE).min(PAGE) as usize;
                async move {
                    let r = s.list_page(page * PAGE + 1, PAGE, want).await.and_then(|t| {
                        if t == total { Ok(()) } else { Err(format!("totalResults {t}, wanted {total}")) }
                    });
                    (s, r)
                }
            })
            .await;
            let what = if stride == 1 {
                format!("all {pages} pages")
            } else {
                format!("every {stride}th of {pages} pages, to the last")
            };
            self.record(&format!("GET /Users?startIndex=…&count=100 ({what})"), users, http, None);
        }
    }

    /// The creates of each level run in [`ROUNDS`] rounds, each a slice through the server and
    /// then the same slice through the raw replica, so that both see the machine as it is in the
    /// same minute: this machine's speed drifts by tens of percent within minutes, and the ratio
    /// of two phases run one after the other measured the drift as much as the server.
    async fn creates(&mut self, users: u64, tag: &str, levels: &[usize]) -> Vec<(NewUser, String)> {
        const ROUNDS: usize = 4;
        let mut created = Vec::new();
        for &c in levels {
            let n = self.counts.per_level;
            let ids: Arc<Mutex<Vec<Option<String>>>> = Arc::new(Mutex::new(vec![None; n]));
            let http_tag = format!("{tag}c{c}");
            let raw_tag = format!("{tag}raw{c}");
            let rounds = ROUNDS.min(n);
            let (mut http_all, mut raw_all): (Option<Sample>, Option<Sample>) = (None, None);
            for round in 0..rounds {
                let (from, to) = (n * round / rounds, n * (round + 1) / rounds);
                let (ids2, t) = (ids.clone(), http_tag.clone());
                let (http, _) = driver::run(self.users_clients(c), to - from, move |s: Scim, j| {
                    let i = from + j;
                    let user = NewUser::numbered(&t, i);
                    let ids = ids2.clone();
                    async move {
                        let r = s.create_user(&user).await.map(|id| {
                            ids.lock().unwrap()[i] = Some(id);
                        });
                        (s, r)
                    }
                })
                .await;
                let t = raw_tag.clone();
                let conns = self.take_raw(c);
                let (raw, conns) = driver::run(conns, to - from, move |mut conn: Conn, j| {
                    let user = NewUser::numbered(&t, from + j);
                    async move {
                        let r = raw::create(&mut conn, &user).await.map(|_| ());
                        (conn, r)
                    }
                })
                .await;
                self.raw.extend(conns);
                http_all = Some(match http_all {
                    Some(all) => all.merge(http),
                    None => http,
                });
                raw_all = Some(match raw_all {
                    Some(all) => all.merge(raw),
                    None => raw,
                });
            }
            let (Some(http), Some(raw)) = (http_all, raw_all) else { continue };
            self.record("POST /Users (create)", users, http, Some(raw));
            let ids = ids.lock().unwrap().clone();
            created.extend(
                ids.into_iter().enumerate().filter_map(|(i, id)| id.map(|id| (NewUser::numbered(&http_tag, i), id))),
            );
        }
        created
    }

    async fn patches(&mut self, users: u64, created: &Arc<Vec<(NewUser, String)>>) {
        let n = self.counts.per_level.min(created.len() / LEVELS.len());
        for (level, c) in LEVELS.into_iter().enumerate() {
            let base = level * n;
            let list = created.clone();
            let (http, _) = driver::run(self.users_clients(c), n, move |s: Scim, i| {
                let (user, id) = list[base + i].clone();
                async move {
                    let mail = format!("patched.{}", user.mail);
                    let r = s.patch_user(&id, &scim::entra_patch(&mail, "Patched"), Some(&mail)).await.map(|_| ());
                    (s, r)
                }
            })
            .await;
            let list = created.clone();
            let conns = self.take_raw(c);
            let (raw, conns) = driver::run(conns, n, move |mut conn: Conn, i| {
                let (user, id) = list[base + i].clone();
                async move {
                    let mail = format!("rawpatched.{}", user.mail);
                    let r = raw::patch(&mut conn, &id, &mail, "RawPatched", &user.user_name).await;
                    (conn, r)
                }
            })
            .await;
            self.raw.extend(conns);
            self.record("PATCH /Users/{id} (mail + familyName)", users, http, Some(raw));
        }
    }

    async fn group_adds(&mut self, users: u64, created: &Arc<Vec<(NewUser, String)>>) -> Result<(), String> {
        let size = self.counts.group_size.min(created.len());
        let mut serial = 0usize;
        for (level, c) in LEVELS.into_iter().enumerate() {
            let reps = self.counts.groups[level];
            let mut groups = Vec::new();
            for _ in 0..reps {
                serial += 1;
                groups.push(
                    self.scim
                        .create_group(&format!("Bench Group {serial}"), &scim::fake_object_id("group", serial as u64))
                        .await?,
                );
            }
            let groups = Arc::new(groups);
            let g2 = groups.clone();
            let list = created.clone();
            let (http, _) = driver::run(self.users_clients(c), reps, move |s: Scim, i| {
                let start = (i * 137) % (list.len() - size + 1);
                let members: Vec<String> = list[start..start + size].iter().map(|(_, id)| id.clone()).collect();
                let group = g2[i].clone();
                async move {
                    let r = s.add_members(&group, &members).await;
                    (s, r)
                }
            })
            .await;
            let got = self.scim.member_count(&groups[0]).await?;
            if got != size {
                return Err(format!("group PATCH: the group has {got} members, wanted {size}"));
            }
            self.record(&format!("PATCH /Groups/{{id}} add {size} members (one request)"), users, http, None);
        }
        Ok(())
    }

    async fn per_user(&mut self, users: u64, created: &Arc<Vec<(NewUser, String)>>, disable: bool) {
        let n = self.counts.per_level.min(created.len() / LEVELS.len());
        for (level, c) in LEVELS.into_iter().enumerate() {
            let base = level * n;
            let list = created.clone();
            let (http, _) = driver::run(self.users_clients(c), n, move |s: Scim, i| {
                let id = list[base + i].1.clone();
                async move {
                    let r = if disable {
                        s.patch_user(&id, &scim::entra_disable(), None).await.and_then(|v| {
                            if v["active"] == false { Ok(()) } else { Err(format!("still active: {}", v["active"])) }
                        })
                    } else {
                        s.delete_user(&id).await
                    };
                    (s, r)
                }
            })
            .await;
            let phase = if disable { "PATCH /Users/{id} active=False (disable)" } else { "DELETE /Users/{id}" };
            self.record(phase, users, http, None);
        }
    }
}

/// Replace quoted values and numbers by `?` so two runs of the same statement compare equal.
fn normalize(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut prev = ' ';
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '`' {
                        break;
                    }
                }
            }
            '\'' => {
                while let Some(d) = chars.next() {
                    if d == '\\' {
                        chars.next();
                    } else if d == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
                out.push('?');
            }
            d if d.is_ascii_digit() && !(prev.is_ascii_alphanumeric() || prev == '_') => {
                // A negative number is one value too (-1 is "no uid to except").
                if out.ends_with('-') {
                    out.pop();
                }
                while chars.peek().is_some_and(|x| x.is_ascii_digit() || *x == '.') {
                    chars.next();
                }
                out.push('?');
            }
            // An expanded NULL parameter is a value like any other.
            'N' if !(prev.is_ascii_alphanumeric() || prev == '_') && chars.clone().take(3).eq("ULL".chars()) => {
                chars.nth(2);
                out.push('?');
            }
            w if w.is_whitespace() => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            _ => out.push(c),
        }
        prev = c;
    }
    out.trim().to_string()
}

fn is_setup(l: &db::Logged) -> bool {
    let a = l.argument.trim_start();
    a.starts_with("SET ") || a.starts_with("SELECT @@max_allowed_packet")
}

/// The statements of one traced request, for the report.
struct Traced {
    statements: Vec<String>,
    counts: Vec<(String, usize)>,
}

fn summarize(log: &[db::Logged]) -> Traced {
    let mut counts: Vec<(String, usize)> = Vec::new();
    let mut bump = |k: &str| match counts.iter_mut().find(|(n, _)| n == k) {
        Some((_, v)) => *v += 1,
        None => counts.push((k.to_string(), 1)),
    };
    let mut statements = Vec::new();
    for l in log {
        let kind = match l.command.as_str() {
            "Execute" | "Query" if is_setup(l) => "connection set-up queries",
            "Execute" | "Query" => {
                statements.push(normalize(&l.argument));
                "statements (Execute + Query)"
            }
            "Prepare" => "Prepare",
            "Connect" => "Connect",
            "Quit" => "Quit",
            "Close stmt" => "Close stmt",
            other if other.to_lowercase().contains("reset") => "Reset connection",
            _ => "other",
        };
        bump(kind);
    }
    let threads: std::collections::BTreeSet<u64> = log.iter().map(|l| l.thread).collect();
    counts.push(("connections (threads) used".into(), threads.len()));
    Traced { statements, counts }
}

async fn statement_traces(b: &mut Bench) -> Result<String, String> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "One request of each kind with MariaDB's general log on, and the raw-SQL replica of it (the disable and the \
         DELETE have none: the server's statements only). \
         \"statements\" are the Execute and Query commands other than connection set-up; values are replaced by `?` \
         before the two sequences are compared.\n"
    );
    let _ = writeln!(out, "| request | | server | raw replica |\n|---|---|---:|---:|");
    let user = NewUser::numbered("trace", 1);
    let mut conn = raw::connect(&b.db_url).await?;
    let scim = b.scim.clone();
    let (id, server_create) = db::trace(&mut b.admin, scim.create_user(&user)).await?;
    let id = id?;
    let raw_user = NewUser::numbered("tracegold", 1);
    let (r, raw_create) = db::trace(&mut b.admin, raw::create(&mut conn, &raw_user)).await?;
    r?;
    let target = b.targets(1)[0];
    let name = db::seeded_name(target);
    let ext = db::seeded_external_id(target);
    let (r, server_name) = db::trace(&mut b.admin, scim.find_one("userName", &name)).await?;
    r?;
    let (r, raw_name) = db::trace(&mut b.admin, raw::lookup(&mut conn, false, &name)).await?;
    r?;
    let (r, server_ext) = db::trace(&mut b.admin, scim.find_one("externalId", &ext)).await?;
    r?;
    let (r, raw_ext) = db::trace(&mut b.admin, raw::lookup(&mut conn, true, &ext)).await?;
    r?;
    let mail = "traced.patch@contoso.com";
    let (r, server_patch) =
        db::trace(&mut b.admin, scim.patch_user(&id, &scim::entra_patch(mail, "Traced"), Some(mail))).await?;
    r?;
    let (r, raw_patch) =
        db::trace(&mut b.admin, raw::patch(&mut conn, &id, "traced.rawpatch@contoso.com", "Raw", &user.user_name))
            .await?;
    r?;
    let _ = conn.disconnect().await;
    // The disable and the DELETE have no replica: the server's statements only.
    let (r, server_disable) = db::trace(&mut b.admin, scim.patch_user(&id, &scim::entra_disable(), None)).await?;
    r?;
    let (r, server_delete) = db::trace(&mut b.admin, scim.delete_user(&id)).await?;
    r?;
    let mut details = String::new();
    for (what, server, raw) in [
        ("POST /Users", server_create, Some(raw_create)),
        ("GET /Users?filter=userName eq", server_name, Some(raw_name)),
        ("GET /Users?filter=externalId eq", server_ext, Some(raw_ext)),
        ("PATCH /Users/{id}", server_patch, Some(raw_patch)),
        ("PATCH /Users/{id} active=False (disable)", server_disable, None),
        ("DELETE /Users/{id}", server_delete, None),
    ] {
        let s = summarize(&server);
        let has_raw = raw.is_some();
        let r = summarize(&raw.unwrap_or_default());
        let mut kinds: Vec<String> = s.counts.iter().map(|(k, _)| k.clone()).collect();
        for (k, _) in &r.counts {
            if !kinds.contains(k) {
                kinds.push(k.clone());
            }
        }
        let get = |t: &Traced, k: &str| t.counts.iter().find(|(n, _)| n == k).map_or(0, |(_, v)| *v);
        let same = !has_raw || s.statements == r.statements;
        let verdict = match (has_raw, same) {
            (false, _) => "no replica",
            (true, true) => "**yes**",
            (true, false) => "**no**",
        };
        let _ = writeln!(out, "| {what} | same statement sequence | {verdict} | |");
        for k in kinds {
            let raw_count = if has_raw { get(&r, &k).to_string() } else { String::new() };
            let _ = writeln!(out, "| | {k} | {} | {raw_count} |", get(&s, &k));
        }
        let _ = writeln!(details, "\n<details><summary>{what}: the server's statements</summary>\n\n```sql");
        for l in &server {
            let _ = writeln!(
                details,
                "-- [{}] {}\n{}",
                l.thread,
                l.command,
                l.argument.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
        let _ = writeln!(details, "```\n</details>");
        if !same {
            let first = s
                .statements
                .iter()
                .zip(r.statements.iter())
                .position(|(a, b)| a != b)
                .unwrap_or(s.statements.len().min(r.statements.len()));
            let _ = writeln!(
                details,
                "\n{what}: first difference at statement {first}:\n\n```\nserver: {}\nraw:    {}\n```",
                s.statements.get(first).map_or("(none)", String::as_str),
                r.statements.get(first).map_or("(none)", String::as_str)
            );
        }
    }
    out.push_str(&details);
    Ok(out)
}

async fn explains(b: &mut Bench) -> Result<String, String> {
    let target = b.targets(1)[0];
    let name = db::seeded_name(target);
    let ext = db::seeded_external_id(target);
    let record = "d.`uid`, u.`uuid`, d.`langcode`, d.`created`, d.`changed`, s.`external_id`, d.`name`, d.`mail`, d.`status`, d.`timezone`, d.`preferred_langcode`, d.`preferred_admin_langcode`";
    // What SCIM may reach (src/drupal/reach.rs): every account read carries it.
    let visible = format!(
        "FROM `users` u JOIN `users_field_data` d ON d.`uid` = u.`uid` AND d.`default_langcode` = 1 \
         LEFT JOIN `scim_user` s ON s.`uid` = d.`uid` WHERE {}",
        db::reach_sql()
    );
    let total = b.visible().await?;
    let last = (total.saturating_sub(1) / PAGE) * PAGE;
    let uuid: Option<String> = {
        use mysql_async::prelude::*;
        b.admin.exec_first("SELECT uuid FROM users WHERE uid = ?", (target,)).await.map_err(db::e)?
    };
    let uuid = uuid.unwrap_or_default();
    let mail = db::seeded_mail(target);
    let statements = [
        (
            "userName eq: the page (a lookup's only search statement)",
            format!("SELECT {record} {visible} AND d.`name` = '{name}' ORDER BY d.`uid` LIMIT 100 OFFSET 0"),
        ),
        (
            "userName eq: the count (run only when a page is full)",
            format!("SELECT COUNT(*) {visible} AND d.`name` = '{name}'"),
        ),
        (
            "externalId eq: the page (a lookup's only search statement)",
            format!("SELECT {record} {visible} AND s.`external_id` = '{ext}' ORDER BY d.`uid` LIMIT 100 OFFSET 0"),
        ),
        (
            "externalId eq: the count (run only when a page is full)",
            format!("SELECT COUNT(*) {visible} AND s.`external_id` = '{ext}'"),
        ),
        (
            "create, only after the store refused it: the re-sent account (externalId and userName) or an unlinked one with this name or mail",
            format!(
                "SELECT {record} {visible} AND ((d.`name` = '{name}' OR d.`mail` = '{mail}') AND ((s.`external_id` = '{ext}' AND d.`name` = '{name}') OR s.`external_id` IS NULL)) ORDER BY s.`external_id` DESC, d.`uid` LIMIT 2 OFFSET 0"
            ),
        ),
        (
            "create: name and mail uniqueness (PATCH: the changed ones)",
            format!(
                "SELECT (SELECT `uid` FROM `users_field_data` WHERE `name` = '{name}' AND `uid` <> -1 LIMIT 1), \
                 (SELECT `uid` FROM `users_field_data` WHERE `mail` = '{mail}' AND `uid` <> -1 LIMIT 1)"
            ),
        ),
        (
            "PATCH/DELETE/GET by id: the account by SCIM id",
            format!("SELECT {record} {visible} AND u.`uuid` IN ('{uuid}')"),
        ),
        ("list: the count (every page)", format!("SELECT COUNT(*) {visible} AND 1 = 1")),
        (
            "list: the last page",
            format!("SELECT {record} {visible} AND 1 = 1 ORDER BY d.`uid` LIMIT 100 OFFSET {last}"),
        ),
    ];
    let mut out = format!("At {total} accounts. `{name}` / `{ext}` is a random seeded account.\n");
    for (what, sql) in statements {
        let plan = db::explain(&mut b.admin, &sql).await?;
        let _ = writeln!(
            out,
            "\n**{what}**\n\n```sql\n{}\n```\n\n{plan}",
            sql.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    Ok(out)
}

fn results_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| phase | accounts | conc. | requests | failed | req/s | p50 ms | p95 ms | p99 ms | max ms | raw SQL req/s | raw p99 ms | HTTP ÷ raw | CPU µs/req: server + DB (raw: DB) | server RSS MiB |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let h = &r.http;
        let (cs, cd, _) = h.cpu_per_request_us();
        let cpu = match &r.raw {
            Some(raw) => format!("{cs:.0} + {cd:.0} ({:.0})", raw.cpu_per_request_us().1),
            None => format!("{cs:.0} + {cd:.0}"),
        };
        let (rr, rp, ratio) = match &r.raw {
            Some(raw) => (
                format!("{:.0}", raw.rate()),
                ms(raw.pct_ms(99.0)),
                format!("{:.0} %", 100.0 * h.rate() / raw.rate().max(f64::MIN_POSITIVE)),
            ),
            None => ("".into(), "".into(), "".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {rr} | {rp} | {ratio} | {cpu} | {:.1} |",
            r.phase,
            r.users,
            h.concurrency,
            h.requests(),
            h.failed,
            h.rate(),
            ms(h.pct_ms(50.0)),
            ms(h.pct_ms(95.0)),
            ms(h.pct_ms(99.0)),
            ms(h.max_ms()),
            r.rss_kib as f64 / 1024.0
        );
    }
    out
}

fn targets_table(rows: &[Row], counts: &Counts, peak_large_kib: u64, hwm_kib: u64) -> String {
    let find = |phase: &str, users: u64, c: usize| {
        rows.iter().find(|r| r.phase.starts_with(phase) && r.users == users && r.http.concurrency == c)
    };
    let mut out = String::from("| target | measured | met |\n|---|---|:---:|\n");
    let mut line = |t: String, m: String, ok: bool| {
        let _ = writeln!(out, "| {t} | {m} | {} |", if ok { "yes" } else { "**no**" });
    };
    // Issue #15's targets, for the durable run: 2 cores shared by client, server and MariaDB.
    for c in [8, 32] {
        let Some(r) = rows.iter().find(|r| r.phase.starts_with("POST /Users") && r.http.concurrency == c) else {
            continue;
        };
        let raw = r.raw.as_ref().map_or(0.0, Sample::rate);
        let ratio = r.http.rate() / raw.max(f64::MIN_POSITIVE);
        line(
            format!("creates at c={c} ≥ 80 % of the raw-SQL rate"),
            format!("{:.0} % ({:.0}/s vs {:.0}/s)", 100.0 * ratio, r.http.rate(), raw),
            ratio >= 0.8,
        );
        let server = r.http.cpu_per_request_us().0;
        line(format!("server CPU ≤ 400 µs per create (c={c})"), format!("{server:.0} µs"), server <= 400.0);
    }
    for attr in ["userName", "externalId"] {
        if let Some(r) = find(&format!("GET /Users?filter={attr} eq"), counts.large, 8) {
            let server = r.http.cpu_per_request_us().0;
            line(
                format!("server CPU ≤ 150 µs per `{attr} eq` lookup (c=8, {} accounts)", counts.large),
                format!("{server:.0} µs"),
                server <= 150.0,
            );
        }
    }
    for attr in ["userName", "externalId"] {
        let phase = format!("GET /Users?filter={attr} eq");
        if let (Some(small), Some(large)) = (find(&phase, counts.small, 8), find(&phase, counts.large, 8)) {
            let p99 = large.http.pct_ms(99.0);
            line(
                format!("`{attr} eq` at {} accounts: p99 ≤ 4 ms at c=8", counts.large),
                format!("{} ms", ms(p99)),
                p99 <= 4.0,
            );
            let growth = large.http.pct_ms(50.0) / small.http.pct_ms(50.0).max(f64::MIN_POSITIVE);
            line(
                format!("`{attr} eq` flat from {} to {} accounts (p50 within ×1.5, c=8)", counts.small, counts.large),
                format!(
                    "p50 {} → {} ms (×{growth:.2}), p99 {} → {} ms",
                    ms(small.http.pct_ms(50.0)),
                    ms(large.http.pct_ms(50.0)),
                    ms(small.http.pct_ms(99.0)),
                    ms(p99)
                ),
                growth <= 1.5,
            );
        }
    }
    let groups: Vec<&Row> = rows.iter().filter(|r| r.phase.starts_with("PATCH /Groups")).collect();
    if let Some(g) = groups.first() {
        let worst = g.http.max_ms();
        line(
            format!("a {}-member group PATCH ≤ 100 ms", counts.group_size),
            format!("{} ms (slowest of {} at c=1)", ms(worst), g.http.requests()),
            worst <= 100.0,
        );
    }
    line(
        "peak server RSS ≤ 32 MiB (VmHWM, the whole run)".to_string(),
        format!(
            "{:.1} MiB peak VmRSS during the {}-account lookups, pages and creates; VmHWM {:.1} MiB for the whole run (the group PATCHes at c=32, last)",
            peak_large_kib as f64 / 1024.0,
            counts.large,
            hwm_kib as f64 / 1024.0
        ),
        hwm_kib <= 32 * 1024,
    );
    let failed: usize = rows.iter().map(|r| r.http.failed + r.raw.as_ref().map_or(0, |x| x.failed)).sum();
    let total: usize = rows.iter().map(|r| r.http.requests()).sum();
    line("zero failed requests in every phase".into(), format!("{failed} failed of {total}"), failed == 0);
    out
}

fn machine() -> Vec<(String, String)> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().next().map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse::<u64>().unwrap_or(0)))
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    vec![
        ("CPU".into(), format!("{cores} × {cpu}")),
        ("memory".into(), format!("{:.1} GiB", mem as f64 / 1024.0 / 1024.0)),
        ("kernel".into(), kernel),
    ]
}

async fn run(args: RunArgs) -> Result<(), String> {
    let mut counts = if args.quick { Counts::quick() } else { Counts::full() };
    if let Some(n) = args.creates {
        counts.per_level = n.max(1);
    }
    if let Some(n) = args.lookups {
        counts.lookups = n.max(1);
    }
    let token = drupal_scim::token::mint(&args.secret, "drupal-scim", "drupal-scim", "bench", None)
        .map_err(|e| e.to_string())?;
    let origin = args.origin.trim_end_matches('/').to_string();
    let scim = Scim::new(&format!("{origin}{}", args.base_path), &token, 64);
    scim.wait_ready(&origin, Duration::from_secs(60)).await?;
    let started_at = time::OffsetDateTime::now_utc();
    let load_before = loadavg();
    let mut admin = db::admin(&args.db_url).await?;
    // The server has created its tables (it answers): link the fixture's accounts, or SCIM would
    // not reach them (tests/api/helpers.rs does the same).
    db::link_fixture_accounts(&mut admin).await?;
    let dbinfo = db::describe(&mut admin).await?;
    let mut raw_conns = Vec::new();
    for _ in 0..32 {
        raw_conns.push(raw::connect(&args.db_url).await?);
    }
    let rss = rss::Sampler::start(args.server_pid);
    let _ = driver::PIDS.set((args.server_pid, args.db_pid));
    let mut b = Bench {
        scim,
        db_url: args.db_url.clone(),
        admin,
        raw: raw_conns,
        rss,
        rows: Vec::new(),
        seeded: Vec::new(),
        counts: counts.clone(),
        log_started: Instant::now(),
    };
    say(format!("load average before: {load_before}; counts: {counts:?}"));

    // --- 1,000 accounts: lookups and paging -------------------------------------
    let small = b.grow_to(counts.small).await?;
    b.rss.take_window();
    if args.lookups.is_some() {
        b.lookups(small, false, true).await;
        b.lookups(small, true, false).await;
        return focused(&mut b, &args, "--lookups").await;
    }
    if args.pages {
        b.list(small, counts.walks_small).await;
        return focused(&mut b, &args, "--pages").await;
    }
    if args.creates.is_none() && !args.groups {
        b.lookups(small, false, true).await;
        b.lookups(small, true, false).await;
        b.list(small, counts.walks_small).await;
    }

    // --- writes -------------------------------------------------------------------
    // Warm-up (not reported): the first creates open connections and fill caches.
    {
        let saved = b.counts.per_level;
        b.counts.per_level = 100;
        let _ = b.creates(small, "warm", &[8]).await;
        b.rows.pop();
        b.counts.per_level = saved;
    }
    let users = b.visible().await?;
    if args.groups {
        let size = counts.group_size as u64;
        b.counts.per_level = counts.group_size;
        let created = Arc::new(b.creates(users, "new", &[8]).await);
        b.rows.pop();
        b.rss.take_window();
        b.group_adds(users + size, &created).await?;
        return focused(&mut b, &args, "--groups").await;
    }
    let created = Arc::new(b.creates(users, "new", &LEVELS).await);
    if args.creates.is_some() {
        return focused(&mut b, &args, "--creates").await;
    }
    let users = b.visible().await?;
    b.patches(users, &created).await;
    b.per_user(users, &created, true).await;
    b.per_user(users, &created, false).await;

    // --- 100,000 accounts ---------------------------------------------------------
    let large = b.grow_to(counts.large).await?;
    b.rss.take_window();
    let first_large = b.rows.len();
    b.lookups(large, false, true).await;
    b.lookups(large, true, false).await;
    b.list(large, counts.walks_large).await;
    let big = Arc::new(b.creates(large, "big", &[8]).await);
    let peak_large = b.rows[first_large..].iter().map(|r| r.rss_kib).max().unwrap_or(0);
    // Last, as it is the phase that needs the most memory (up to 32 bodies of 1,000 members at
    // once): the RSS figures above are those of the account phases at 100,000 accounts.
    let users = b.visible().await?;
    b.group_adds(users, &big).await?;

    let explain = explains(&mut b).await?;
    let traces = statement_traces(&mut b).await?;
    b.rss.stop();
    let hwm = rss::status_kib(args.server_pid, "VmHWM").unwrap_or(0);
    let rss_peak = b.rss.peak();
    let load_after = loadavg();
    let finished_at = time::OffsetDateTime::now_utc();

    // --- report -----------------------------------------------------------------------
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    let mut md = String::new();
    let _ = writeln!(
        md,
        "_Generated by `scripts/bench.sh{}` on {} (took {:.0} min). Do not edit by hand: the next run replaces this section._\n",
        if args.quick { " --quick" } else { "" },
        started_at.format(&fmt).unwrap_or_default(),
        (finished_at - started_at).as_seconds_f64() / 60.0
    );
    let _ = writeln!(md, "### Targets\n\n{}", targets_table(&b.rows, &counts, peak_large, hwm));
    let _ = writeln!(md, "### Machine and set-up\n\n| | |\n|---|---|");
    for (k, v) in machine() {
        let _ = writeln!(md, "| {k} | {v} |");
    }
    let _ = writeln!(md, "| load average (1, 5, 15 min) | {load_before} before, {load_after} after |");
    for (k, v) in &dbinfo {
        let _ = writeln!(md, "| MariaDB {k} | {v} |");
    }
    for n in &args.notes {
        match n.split_once('=') {
            Some((k, v)) => {
                let _ = writeln!(md, "| {k} | {v} |");
            }
            None => {
                let _ = writeln!(md, "| {n} | |");
            }
        }
    }
    let _ = writeln!(
        md,
        "| load client | one thread (tokio current-thread), keep-alive HTTP/1.1, {} requests per lookup level, {} per write level |",
        counts.lookups, counts.per_level
    );
    let _ = writeln!(md, "\n### Results\n\n{}", results_table(&b.rows));
    let _ = writeln!(
        md,
        "Server memory: VmHWM (peak resident set) {:.1} MiB for the whole run, group PATCHes included; highest sampled VmRSS {:.1} MiB; \
         {:.1} MiB at most during the {}-account lookups, pages and creates (before the group phase, which runs last).\n",
        hwm as f64 / 1024.0,
        rss_peak as f64 / 1024.0,
        peak_large as f64 / 1024.0,
        counts.large
    );
    let _ = writeln!(md, "### Statements per request\n\n{traces}");
    let _ = writeln!(md, "\n### EXPLAIN of the lookups\n\n{explain}");
    std::fs::write(&args.out, &md).map_err(|e| format!("{}: {e}", args.out))?;
    say(format!("results written to {}", args.out));
    if let Some(path) = &args.update {
        update_section(path, &md)?;
        say(format!("{path} updated"));
    }
    let failed: usize = b.rows.iter().map(|r| r.http.failed + r.raw.as_ref().map_or(0, |x| x.failed)).sum();
    if failed > 0 {
        return Err(format!("{failed} requests failed"));
    }
    Ok(())
}

/// The end of a focused run (`--creates`, `--lookups`, `--groups`, `--pages`): its rows, the server's
/// VmHWM and the statement traces, printed and written to `--out` (never into BENCHMARKS.md).
async fn focused(b: &mut Bench, args: &RunArgs, mode: &str) -> Result<(), String> {
    let traces = statement_traces(b).await?;
    b.rss.stop();
    let hwm = rss::status_kib(args.server_pid, "VmHWM").unwrap_or(0);
    let mut md = format!(
        "_`scripts/bench.sh {mode}`: {:?}; server VmHWM {:.1} MiB; load average {} after._\n\n",
        b.counts,
        hwm as f64 / 1024.0,
        loadavg()
    );
    let _ = writeln!(md, "{}\n### Statements per request\n\n{traces}", results_table(&b.rows));
    std::fs::write(&args.out, &md).map_err(|e| format!("{}: {e}", args.out))?;
    println!("{md}");
    let failed: usize = b.rows.iter().map(|r| r.http.failed + r.raw.as_ref().map_or(0, |x| x.failed)).sum();
    if failed > 0 {
        return Err(format!("{failed} requests failed"));
    }
    Ok(())
}

const BEGIN: &str = "<!-- bench:results:begin -->";
const END: &str = "<!-- bench:results:end -->";

/// Replace the generated section of BENCHMARKS.md.
fn update_section(path: &str, body: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (text.find(BEGIN), text.find(END)) {
        (Some(a), Some(z)) if a < z => format!("{}{BEGIN}\n{body}\n{}", &text[..a], &text[z..]),
        _ => format!("{text}\n{BEGIN}\n{body}\n{END}\n"),
    };
    std::fs::write(path, new).map_err(|e| format!("{path}: {e}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::LoadFixture { db_url, fixture } => db::load_fixture(&db_url, &fixture).await,
        Command::Run(args) => run(args).await,
        Command::Sync(args) => sync_out::run(args).await,
        Command::Sites(args) => sites::run(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("drupal-scim-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
