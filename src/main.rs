//! The `drupal-scim` command: thin wiring around the library.

use clap::{Parser, Subcommand};
use drupal_scim::settings::{Deployment, Settings, SiteSettings};
use drupal_scim::startup::Application;

use drupal_scim::sync::Syncer;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "drupal-scim", version, about = "SCIM 2.0 provisioning straight into a Drupal database")]
struct Cli {
    /// Settings file (TOML); default: ./drupal-scim.toml if present. DRUPAL_SCIM__* variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Read the database connection and table prefix from Drupal's settings.php
    /// ($databases['default']['default']): by asking PHP when it is installed, otherwise from the
    /// file's literal values; the settings file and environment override it.
    #[arg(long, global = true)]
    drupal_settings: Option<PathBuf>,
    /// The PHP that reads --drupal-settings (default: `php` on PATH).
    #[arg(long, global = true, env = "DRUPAL_SCIM_PHP", default_value = "php")]
    php: PathBuf,
    /// With [[sites]]: the site a command is for (`token` and `sync` need one; `check` checks
    /// every site without it).
    #[arg(long, global = true)]
    site: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the SCIM server.
    Serve {
        /// Validate and log every write, then roll it back: nothing is written to Drupal.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check settings, mapping and database without starting the server; exit 1 on any error.
    Check {
        /// Instead: list the sites of a Drupal codebase (sites/sites.php and each
        /// sites/*/settings.php) and print a [[sites]] block to paste into the settings.
        #[arg(long)]
        drupal_root: Option<PathBuf>,
    },
    /// Print a bearer token for Entra ID's "Secret Token" box.
    Token {
        /// Who the token is for (recorded in the token's subject).
        #[arg(long, default_value = "entra-id")]
        subject: String,
        /// Expiry in days; omit for a token that never expires (what Entra ID expects).
        #[arg(long)]
        expires_in_days: Option<i64>,
        /// Print only the token, on one line (for scripts and secret stores).
        #[arg(long, short, conflicts_with = "format")]
        quiet: bool,
        /// `text` for a person, `json` for a program: tenant_url, secret_token, token_id,
        /// subject, expires (unix time or null), key_id.
        #[arg(long, value_enum, default_value_t = TokenFormat::Text)]
        format: TokenFormat,
    },
    /// Push Drupal's accounts to the [sync] target: a loop in the foreground (SIGTERM lets the
    /// push in flight finish), or one pass.
    Sync {
        /// One full pass, then exit: 0 when everything in scope is in sync, 1 otherwise.
        #[arg(long)]
        once: bool,
        /// Print what a pass would send; send nothing.
        #[arg(long, conflicts_with_all = ["once", "status"])]
        dry_run: bool,
        /// Show pending and failing (parked) accounts and the lag; send nothing.
        #[arg(long, conflicts_with = "once")]
        status: bool,
    },
}

/// How `drupal-scim token` prints what it minted.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TokenFormat {
    Text,
    Json,
}

/// mimalloc instead of glibc's malloc: every request allocates and frees its JSON, SQL text and
/// rows on one worker thread, and glibc's allocator was about a tenth of the server's CPU in the
/// benchmark's profile (BENCHMARKS.md, finding 8).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> ExitCode {
    let mut logger = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        // Sync's progress line is redrawn in place on a terminal: a log line clears it first.
        logger.format(|buf, record| {
            drupal_scim::sync::progress::clear_terminal_line(buf)?;
            let time = buf.timestamp();
            writeln!(buf, "[{time} {:<5} {}] {}", record.level(), record.target(), record.args())
        });
    }
    logger.init();
    let cli = Cli::parse();
    if let Command::Check { drupal_root: Some(root) } = &cli.command {
        return discover(root, &cli.php);
    }
    let deployment = match load(&cli) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("drupal-scim: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Serve { dry_run } => {
            let mut deployment = deployment;
            for site in &mut deployment.sites {
                site.settings.dry_run |= dry_run;
            }
            serve(
                deployment,
                Reloader {
                    config: cli.config.clone(),
                    drupal_settings: cli.drupal_settings.clone(),
                    php: cli.php.clone(),
                    dry_run,
                },
            )
            .await
        }
        Command::Check { .. } => check(&deployment, cli.site.as_deref()).await,
        Command::Token { subject, expires_in_days, quiet, format } => {
            match one_site(&deployment, cli.site.as_deref()) {
                Ok(site) => token(site, &subject, expires_in_days, if quiet { None } else { Some(format) }),
                Err(code) => code,
            }
        }
        Command::Sync { once, dry_run, status } => match one_site(&deployment, cli.site.as_deref()) {
            Ok(site) => sync(site, once, dry_run, status).await,
            Err(code) => code,
        },
    }
}

/// The settings file (and `--drupal-settings` for a single site), or `[[sites]]`.
fn load(cli: &Cli) -> Result<Deployment, String> {
    let deployment = load_settings(cli.config.as_deref(), cli.drupal_settings.as_deref(), &cli.php)?;
    if !deployment.multisite && cli.site.is_some() {
        return Err("--site names one of the [[sites]]; these settings serve a single site".into());
    }
    if let Some(name) = &cli.site
        && deployment.site(name).is_none()
    {
        return Err(format!("no site {name:?} in the settings (sites: {})", site_names(&deployment)));
    }
    Ok(deployment)
}

/// Read the settings: one site (with `--drupal-settings` as defaults), or `[[sites]]`.
fn load_settings(
    config: Option<&std::path::Path>,
    drupal_settings: Option<&std::path::Path>,
    php: &std::path::Path,
) -> Result<Deployment, String> {
    let read_site_settings =
        |path: &std::path::Path| -> Result<(Defaults, String), String> { read_drupal_settings(path, php) };
    let single = || {
        let (defaults, how) = match drupal_settings.map(|p| read_drupal_settings(p, php)) {
            Some(Ok((defaults, how))) => (defaults, Some(how)),
            Some(Err(e)) => return Err(drupal_scim::settings::SettingsError::Invalid(e)),
            None => (Vec::new(), None),
        };
        Settings::load(config, &defaults).map(|s| Settings { drupal_settings_read: how, ..s })
    };
    let deployment = Deployment::load(config, None, &read_site_settings, single).map_err(|e| e.to_string())?;
    if deployment.multisite && drupal_settings.is_some() {
        return Err(
            "--drupal-settings is for one site; with [[sites]], give each site its own `drupal_settings`".into()
        );
    }
    Ok(deployment)
}

fn site_names(deployment: &Deployment) -> String {
    deployment.sites.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
}

/// The one site a command is for: the only one, or the one `--site` names.
fn one_site<'a>(deployment: &'a Deployment, name: Option<&str>) -> Result<&'a SiteSettings, ExitCode> {
    match name {
        Some(name) => deployment.site(name).ok_or(ExitCode::from(2)),
        None if !deployment.multisite => deployment.sites.first().ok_or(ExitCode::from(2)),
        None => {
            eprintln!("drupal-scim: name the site with --site (sites: {})", site_names(deployment));
            Err(ExitCode::from(2))
        }
    }
}

/// `drupal-scim check`: every site (or `--site`), one report each.
async fn check(deployment: &Deployment, only: Option<&str>) -> ExitCode {
    let mut failed = false;
    for site in deployment.sites.iter().filter(|s| only.is_none_or(|n| n == s.name)) {
        if deployment.multisite {
            println!("== site {} ==", site.name);
        }
        let report = drupal_scim::check::run(&site.settings).await;
        println!("{report}");
        failed |= report.failed();
    }
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// `drupal-scim check --drupal-root`: the sites of a Drupal codebase, as settings to paste.
fn discover(root: &std::path::Path, php: &std::path::Path) -> ExitCode {
    match drupal_scim::config::multisite::discover(root, php) {
        Ok(sites) => {
            print!("{}", drupal_scim::config::multisite::settings_block(&sites));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("drupal-scim: {}", String::from(e));
            ExitCode::from(1)
        }
    }
}

/// `drupal-scim sync`.
async fn sync(site: &SiteSettings, once: bool, dry_run: bool, status: bool) -> ExitCode {
    let syncer = match Syncer::build_for(&site.settings, &site.name).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("drupal-scim: {e}");
            return ExitCode::from(2);
        }
    };
    let result = if dry_run {
        syncer.dry_run(&mut std::io::stdout()).await.map(|n| {
            println!("{n} change(s) would be sent; nothing was sent.");
            true
        })
    } else if status {
        syncer.status().await.map(|s| {
            print!("{s}");
            s.pending == 0
        })
    } else if once {
        syncer.once().await.map(|r| {
            println!("{} checked, {} pushed, {} failed", r.checked, r.pushed, r.failed);
            r.in_sync()
        })
    } else {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            stop_signal().await;
            log::info!("sync: stopping once the pushes in flight are done");
            let _ = stop.send(true);
        });
        syncer.run(stopped).await;
        Ok(true)
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("drupal-scim: {e}");
            ExitCode::from(1)
        }
    }
}

/// SIGTERM or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

use drupal_scim::settings::sites::SettingDefaults as Defaults;

/// Database URL and prefixes from Drupal's settings.php, as setting defaults, and how they were
/// read (for `check` and the log).
fn read_drupal_settings(path: &std::path::Path, php: &std::path::Path) -> Result<(Defaults, String), String> {
    let (db, reader) = drupal_scim::config::read(path, php)?;
    for warning in &db.warnings {
        log::warn!("{}: {warning}", path.display());
    }
    let how = format!("database settings read from {} {reader}", path.display());
    log::info!(
        "{how} (host {}, database {}, prefix {:?}{})",
        db.host,
        db.database,
        db.prefix,
        if db.prefixes.is_empty() { String::new() } else { format!(", per-table prefixes {:?}", db.prefixes) }
    );
    Ok((Settings::drupal_defaults(&db, path), how))
}

/// What a reload (SIGHUP) reads the settings from again.
struct Reloader {
    config: Option<PathBuf>,
    drupal_settings: Option<PathBuf>,
    php: PathBuf,
    dry_run: bool,
}

impl Reloader {
    fn load(&self) -> Result<Deployment, String> {
        let mut deployment = load_settings(self.config.as_deref(), self.drupal_settings.as_deref(), &self.php)?;
        for site in &mut deployment.sites {
            site.settings.dry_run |= self.dry_run;
        }
        Ok(deployment)
    }
}

async fn serve(deployment: Deployment, reloader: Reloader) -> ExitCode {
    let listen = deployment.shared().server.listen.clone();
    let base = deployment.shared().server.base_path.clone();
    // With [sync], the loop runs beside the server and stops after it, letting its pushes finish.
    let mut syncers = Vec::new();
    for site in deployment.sites.iter().filter(|s| s.settings.sync.is_some()) {
        if site.settings.dry_run {
            log::warn!("DRY RUN: sync-out is not started");
            continue;
        }
        match Syncer::build_for(&site.settings, &site.name).await {
            Ok(s) => syncers.push(s),
            Err(e) => {
                let at = if site.name.is_empty() { String::new() } else { format!(" (site {})", site.name) };
                eprintln!("drupal-scim: sync{at}: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let multisite = deployment.multisite;
    let app = match Application::build_deployment(deployment).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("drupal-scim: {e}");
            return ExitCode::from(1);
        }
    };
    if multisite {
        log::info!("serving SCIM on http://{listen}{base}/<site> (port {}); SIGHUP reloads the sites", app.port());
    } else {
        log::info!("serving SCIM on http://{listen}{base} (port {})", app.port());
    }
    let sites = app.sites();
    let reloads = actix_web::rt::spawn(async move {
        let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            return;
        };
        while hangups.recv().await.is_some() {
            log::info!("SIGHUP: reading the settings again");
            match reloader.load() {
                Ok(deployment) => {
                    drupal_scim::startup::reload(&sites, deployment).await;
                }
                Err(e) => log::error!("reload refused, every site keeps running as it was: {e}"),
            }
        }
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sync_loops: Vec<_> = syncers
        .into_iter()
        .map(|s| {
            let stopped = stopped.clone();
            tokio::spawn(async move { s.run(stopped).await })
        })
        .collect();
    let served = app.run_until_stopped().await;
    reloads.abort();
    let _ = stop.send(true);
    for task in sync_loops {
        let _ = task.await;
    }
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("drupal-scim: {e}");
            ExitCode::from(1)
        }
    }
}

/// Mint a token and print it: as text for a person, as JSON, or (`format` None, `--quiet`) the
/// bare token alone.
fn token(site: &SiteSettings, subject: &str, days: Option<i64>, format: Option<TokenFormat>) -> ExitCode {
    let settings = &site.settings;
    let keyring = drupal_scim::token::Keyring::for_site(&settings.auth, &site.name);
    let (t, claims) = match keyring.mint(subject, days.map(|d| d * 86_400)) {
        Ok(minted) => minted,
        Err(e) => {
            eprintln!("drupal-scim: {e}");
            return ExitCode::from(1);
        }
    };
    let public = settings.server.public_url.trim_end_matches('/');
    let base = if site.name.is_empty() {
        settings.server.base_path.clone()
    } else {
        format!("{}/{}", settings.server.base_path, site.name)
    };
    match format {
        None => println!("{t}"),
        Some(TokenFormat::Json) => {
            // No placeholder host here: a program would paste it as is. null says "not configured".
            let tenant_url = (!public.is_empty()).then(|| format!("{public}{base}"));
            let out = serde_json::json!({
                "tenant_url": tenant_url,
                "secret_token": t,
                "token_id": claims.jti,
                "subject": claims.sub,
                "expires": claims.exp,
                "key_id": settings.auth.key_id,
                "site": claims.site,
            });
            println!("{out}");
        }
        Some(TokenFormat::Text) => {
            let origin = if public.is_empty() { "https://<your-host>" } else { public };
            println!("Paste these into Entra ID → Enterprise application → Provisioning → Admin Credentials:");
            println!();
            println!("Tenant URL:   {origin}{base}");
            if let Some(host) = &site.host {
                println!("          or  https://{host}{} (the site's own host)", settings.server.base_path);
            }
            println!("Secret Token: {t}");
            println!();
            if !site.name.is_empty() {
                println!("This token opens site {:?} only.", site.name);
            }
            let expiry = match claims.exp {
                Some(exp) => format!("expires at unix time {exp}"),
                None => "never expires".into(),
            };
            let kid = settings.auth.key_id.as_deref().map(|k| format!(", signed with key {k:?}")).unwrap_or_default();
            println!("Token id {} (subject {:?}){kid}, {expiry}.", claims.jti, claims.sub);
            println!("To revoke it later, add its id to auth.revoked (DRUPAL_SCIM__AUTH__REVOKED) and restart.");
        }
    }
    ExitCode::SUCCESS
}
