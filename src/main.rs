//! The `drupal-scim` command: thin wiring around the library.

use clap::{Parser, Subcommand};
use drupal_scim::settings::Settings;
use drupal_scim::startup::Application;
use drupal_scim::sync::Syncer;
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
    Check,
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

#[actix_web::main]
async fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    let read = cli.drupal_settings.as_deref().map(|path| read_drupal_settings(path, &cli.php)).transpose();
    let (defaults, how) = match read {
        Ok(Some((defaults, how))) => (defaults, Some(how)),
        Ok(None) => (Vec::new(), None),
        Err(e) => {
            eprintln!("drupal-scim: {e}");
            return ExitCode::from(2);
        }
    };
    let settings = match Settings::load(cli.config.as_deref(), &defaults) {
        Ok(s) => Settings { drupal_settings_read: how, ..s },
        Err(e) => {
            eprintln!("drupal-scim: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Serve { dry_run } => {
            let mut settings = settings;
            settings.dry_run |= dry_run;
            serve(settings).await
        }
        Command::Check => {
            let report = drupal_scim::check::run(&settings).await;
            println!("{report}");
            if report.failed() { ExitCode::from(1) } else { ExitCode::SUCCESS }
        }
        Command::Token { subject, expires_in_days, quiet, format } => {
            token(&settings, &subject, expires_in_days, if quiet { None } else { Some(format) })
        }
        Command::Sync { once, dry_run, status } => sync(&settings, once, dry_run, status).await,
    }
}

/// `drupal-scim sync`.
async fn sync(settings: &Settings, once: bool, dry_run: bool, status: bool) -> ExitCode {
    let syncer = match Syncer::build(settings).await {
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

/// Setting defaults: (key, value) pairs.
type Defaults = Vec<(&'static str, config::Value)>;

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

async fn serve(settings: Settings) -> ExitCode {
    let listen = settings.server.listen.clone();
    let base = settings.server.base_path.clone();
    // With [sync], the loop runs beside the server and stops after it, letting its pushes finish.
    let syncer = match &settings.sync {
        Some(_) if settings.dry_run => {
            log::warn!("DRY RUN: sync-out is not started");
            None
        }
        Some(_) => match Syncer::build(&settings).await {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("drupal-scim: sync: {e}");
                return ExitCode::from(1);
            }
        },
        None => None,
    };
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("drupal-scim: {e}");
            return ExitCode::from(1);
        }
    };
    log::info!("serving SCIM on http://{listen}{base} (port {})", app.port());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sync_loop = syncer.map(|s| tokio::spawn(async move { s.run(stopped).await }));
    let served = app.run_until_stopped().await;
    let _ = stop.send(true);
    if let Some(task) = sync_loop {
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
fn token(settings: &Settings, subject: &str, days: Option<i64>, format: Option<TokenFormat>) -> ExitCode {
    let keyring = drupal_scim::token::Keyring::new(&settings.auth);
    let (t, claims) = match keyring.mint(subject, days.map(|d| d * 86_400)) {
        Ok(minted) => minted,
        Err(e) => {
            eprintln!("drupal-scim: {e}");
            return ExitCode::from(1);
        }
    };
    let public = settings.server.public_url.trim_end_matches('/');
    match format {
        None => println!("{t}"),
        Some(TokenFormat::Json) => {
            // No placeholder host here: a program would paste it as is. null says "not configured".
            let tenant_url = (!public.is_empty()).then(|| format!("{public}{}", settings.server.base_path));
            let out = serde_json::json!({
                "tenant_url": tenant_url,
                "secret_token": t,
                "token_id": claims.jti,
                "subject": claims.sub,
                "expires": claims.exp,
                "key_id": settings.auth.key_id,
            });
            println!("{out}");
        }
        Some(TokenFormat::Text) => {
            let origin = if public.is_empty() { "https://<your-host>" } else { public };
            println!("Paste these into Entra ID → Enterprise application → Provisioning → Admin Credentials:");
            println!();
            println!("Tenant URL:   {origin}{}", settings.server.base_path);
            println!("Secret Token: {t}");
            println!();
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
