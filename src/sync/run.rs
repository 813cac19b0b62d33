//! The passes: find what changed (Drupal's `changed` since the last poll, failed pushes that are
//! due, accounts that left), push it with bounded concurrency, and record what the target
//! confirmed. A full reconciliation compares every account's fingerprint. The loop repeats
//! passes until told to stop; a stop lets the pushes in flight finish.

use crate::drupal::db::Db;
use crate::drupal::error::StoreError;
use crate::drupal::users;
use crate::mapping::model::Mapping;
use crate::settings::{Settings, SyncSettings};
use crate::startup::{self, StartupError};
use crate::sync::backoff::{PARK_AFTER, delay_secs};
use crate::sync::client::{TargetClient, TargetError};
use crate::sync::progress::Progress;
use crate::sync::push::{Done, Pusher, Work};
use crate::sync::representation::represent;
use crate::sync::scope::Scope;
use crate::sync::state::{self, SyncState};
use mysql_async::Conn;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// Accounts read and planned at a time.
const CHUNK: usize = 200;
/// An incremental poll re-reads accounts changed this long before the previous poll began:
/// Drupal stamps `changed` when its request starts, and commits later.
const MARGIN_SECS: i64 = 300;

/// Why sync-out could not run.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("settings have no [sync] section: nothing to sync to")]
    NotConfigured,
    #[error("{0}")]
    Startup(#[from] StartupError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("target: {0}")]
    Target(#[from] TargetError),
    #[error("{0}")]
    Settings(String),
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Accounts in scope that were looked at.
    pub checked: usize,
    /// Pushes the target confirmed.
    pub pushed: usize,
    /// Pushes that failed (tried again later).
    pub failed: usize,
    /// Failing accounts not due yet (skipped by the loop).
    pub waiting: usize,
    /// A stop was asked for before the pass ended.
    pub interrupted: bool,
    /// The database's clock when the pass began.
    pub started_at: i64,
}

impl PassReport {
    /// Everything in scope is as the target last confirmed.
    pub fn in_sync(&self) -> bool {
        self.failed == 0 && self.waiting == 0 && !self.interrupted
    }
}

/// What `sync --status` shows.
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub in_scope: usize,
    /// Accounts (and removals) not yet confirmed by the target.
    pub pending: usize,
    /// Seconds since the oldest unconfirmed change (0: none).
    pub lag_secs: i64,
    /// Accounts whose pushes failed: parked after [`PARK_AFTER`] failures.
    pub failing: Vec<SyncState>,
    pub now: i64,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "accounts in scope: {}", self.in_scope)?;
        writeln!(f, "pending (not confirmed by the target): {}", self.pending)?;
        writeln!(f, "lag (oldest unconfirmed change): {} s", self.lag_secs)?;
        let parked = self.failing.iter().filter(|s| s.attempts >= PARK_AFTER).count();
        writeln!(f, "failing: {} (parked: {parked})", self.failing.len())?;
        for s in &self.failing {
            writeln!(
                f,
                "  uid {}: {} attempts{}, next try in {} s: {}",
                s.uid,
                s.attempts,
                if s.attempts >= PARK_AFTER { " (parked)" } else { "" },
                (s.next_try - self.now).max(0),
                s.last_error.as_deref().unwrap_or("")
            )?;
        }
        Ok(())
    }
}

/// Sync-out towards one target.
#[derive(Clone)]
pub struct Syncer {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    scope: Scope,
    mapping: Arc<Mapping>,
    client: TargetClient,
    settings: SyncSettings,
    /// Drupal's log, for an entry per push.
    audit: crate::drupal::audit::Audit,
    /// The site's name on a multisite server (empty otherwise), for /metrics.
    site: String,
}

impl Syncer {
    /// Connect (a pool of its own), check the mapping against the site as `serve` does, and make
    /// sure the state table exists.
    pub async fn build(settings: &Settings) -> Result<Syncer, SyncError> {
        Syncer::build_for(settings, "").await
    }

    /// [`Syncer::build`] for one site of a multisite server: its log lines name the site.
    pub async fn build_for(settings: &Settings, name: &str) -> Result<Syncer, SyncError> {
        let sync = settings.sync.clone().ok_or(SyncError::NotConfigured)?;
        let mut mapping = crate::mapping::model::Mapping::load(&settings.mapping).map_err(StartupError::from)?;
        mapping.override_prefixes(settings.database.table_prefix.as_deref(), settings.database.table_prefixes.as_ref());
        let db = Db::new(
            settings.database.url.expose(),
            sync.concurrency + 1,
            Duration::from_secs(settings.database.timeout_secs),
        )?;
        let mut site = crate::mapping::check::open_site(&db, &mut mapping).await.map_err(StartupError::from)?;
        site.ensure_bridge_tables(&db).await?;
        startup::resolve_group_roles(&db, &site, &mut mapping).await?;
        site.reach = startup::reach(&site, &mapping);
        state::ensure(&db, site.tables()).await?;
        crate::sync::group_state::ensure(&db, site.tables()).await?;
        let mut sync = sync;
        sync.roles = resolve_roles(&db, &site, &sync.roles, "sync.roles").await?;
        resolve_roles(&db, &site, &sync.groups, "sync.groups").await?;
        let client = TargetClient::new(&sync)?.for_site(name);
        let audit = crate::drupal::audit::Audit::new(
            db.clone(),
            site.tables().clone(),
            site.has_watchdog && settings.audit.watchdog,
        );
        let scope = Scope::new(site, sync.scope, sync.roles.clone());
        let inner =
            Inner { db, scope, mapping: Arc::new(mapping), client, settings: sync, audit, site: name.to_string() };
        Ok(Syncer { inner: Arc::new(inner) })
    }

    /// One full pass, trying every account out of sync now (failing ones too): `sync --once`.
    pub async fn once(&self) -> Result<PassReport, SyncError> {
        let (_keep, stop) = watch::channel(false);
        self.pass(None, false, &stop).await
    }

    /// Passes until `stop` turns true: incremental polls every `interval_secs`, a full
    /// reconciliation every `reconcile_secs` (every pass on a Drupal 7 without `users.changed`).
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let settings = &self.inner.settings;
        let interval = Duration::from_secs(settings.interval_secs);
        let reconcile = Duration::from_secs(settings.reconcile_secs);
        let mut last_full: Option<Instant> = None;
        let mut since: Option<i64> = None;
        log::info!(
            "sync{}: pushing to {} every {} s",
            self.inner.client.tag(),
            settings.base_url,
            settings.interval_secs
        );
        while !*stop.borrow() {
            let full = !self.inner.scope.site.schema.has_changed_column()
                || last_full.is_none_or(|t| t.elapsed() >= reconcile);
            let began = Instant::now();
            match self.pass(if full { None } else { since }, true, &stop).await {
                Ok(report) => {
                    if full && !report.interrupted {
                        last_full = Some(began);
                    }
                    since = Some(report.started_at - MARGIN_SECS);
                    self.report_backlog(report.started_at).await;
                    if report.pushed + report.failed > 0 || full {
                        log::info!(
                            "sync{}: {} pass: {} checked, {} pushed, {} failed, {} waiting to be retried",
                            self.inner.client.tag(),
                            if full { "full" } else { "incremental" },
                            report.checked,
                            report.pushed,
                            report.failed,
                            report.waiting
                        );
                    }
                }
                Err(e) => log::warn!(
                    "sync{}: pass failed, trying again in {} s: {e}",
                    self.inner.client.tag(),
                    settings.interval_secs
                ),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.changed() => {}
            }
        }
        log::info!("sync{}: stopped", self.inner.client.tag());
    }

    /// The parked accounts and the lag, for /metrics.
    async fn report_backlog(&self, now: i64) {
        let inner = &self.inner;
        let Ok(mut conn) = inner.db.conn().await else { return };
        if let Ok(failing) = state::failing(&mut *conn, inner.scope.site.tables()).await {
            crate::sync::report::backlog(&inner.site, &failing, now, PARK_AFTER);
        }
    }

    /// One pass. `since`: only accounts changed from then (and due retries); `None`: every
    /// account in scope. `honour_next_try`: failing accounts wait for their next try.
    pub async fn pass(
        &self,
        since: Option<i64>,
        honour_next_try: bool,
        stop: &watch::Receiver<bool>,
    ) -> Result<PassReport, SyncError> {
        let inner = &self.inner;
        let mut conn = inner.db.conn().await?;
        let now = inner.scope.now(&mut *conn).await?;
        let uids = inner.scope.uids(&mut *conn, since, now).await?;
        let mut report = PassReport { started_at: now, ..PassReport::default() };
        let mut patch: Option<bool> = None;
        let mut progress = Progress::new(uids.len());
        for chunk in uids.chunks(CHUNK) {
            if *stop.borrow() {
                report.interrupted = true;
                return Ok(report);
            }
            let (work, waiting) = self.plan(&mut conn, chunk, now, honour_next_try).await?;
            report.checked += chunk.len();
            report.waiting += waiting;
            if !work.is_empty() {
                let (pushed, failed) = match self.patch_supported(&mut patch).await {
                    Ok(patch) => self.execute(work, patch, now, stop).await,
                    Err(e) => (0, self.fail_unsent(work, &e, now).await),
                };
                report.pushed += pushed;
                report.failed += failed;
            }
            progress.advance(chunk.len(), report.pushed, self.inner.client.tag());
        }
        let removals: Vec<Work> = inner.scope.orphans(&mut *conn).await?.into_iter().map(Work::Remove).collect();
        if !removals.is_empty() && !*stop.borrow() {
            let (pushed, failed) = match self.patch_supported(&mut patch).await {
                Ok(patch) => self.execute(removals, patch, now, stop).await,
                Err(e) => (0, self.fail_unsent(removals, &e, now).await),
            };
            report.pushed += pushed;
            report.failed += failed;
        }
        if !*stop.borrow() {
            let roles = self.pushed_roles(&mut conn).await?;
            let (pushed, failed) =
                crate::sync::groups::sync(&mut *conn, &inner.scope.site, &inner.client, &roles).await?;
            report.pushed += pushed;
            report.failed += failed;
        }
        report.interrupted = *stop.borrow();
        progress.finish();
        if uids.len() > CHUNK {
            log::info!("sync{}: {}", self.inner.client.tag(), progress.line(report.pushed));
        }
        Ok(report)
    }

    /// The roles of `sync.groups` as they are now (a role deleted in Drupal drops out, and its
    /// group is deleted on the target).
    async fn pushed_roles(&self, conn: &mut Conn) -> Result<Vec<crate::sync::groups::PushedRole>, SyncError> {
        let wanted = &self.inner.settings.groups;
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let site = &self.inner.scope.site;
        let roles = crate::drupal::roles::list_roles(conn, site).await?;
        Ok(wanted
            .iter()
            .filter_map(|name| crate::drupal::roles::find(site, &roles, name))
            .filter(|r| !r.is_privileged() && !crate::drupal::roles::is_built_in(site, &r.id))
            .map(|r| crate::sync::groups::PushedRole { id: r.id.clone(), label: r.label.clone() })
            .collect())
    }

    /// Print what a full pass would send, sending nothing: `sync --dry-run`.
    pub async fn dry_run(&self, out: &mut dyn std::io::Write) -> Result<usize, SyncError> {
        let inner = &self.inner;
        let mut conn = inner.db.conn().await?;
        let now = inner.scope.now(&mut *conn).await?;
        let uids = inner.scope.uids(&mut *conn, None, now).await?;
        let mut n = 0;
        let mut print = |line: String| {
            n += 1;
            let _ = writeln!(out, "{line}");
        };
        for chunk in uids.chunks(CHUNK) {
            for work in self.plan(&mut conn, chunk, now, false).await?.0 {
                let Work::Upsert { uid, rep, state, .. } = work else { continue };
                let action = match state.and_then(|s| s.target_id) {
                    Some(id) => format!("update target user {id}"),
                    None => "look up by userName, then externalId; link, or create".to_string(),
                };
                print(format!("uid {uid}: {action}: {}", rep.resource));
            }
        }
        for orphan in inner.scope.orphans(&mut *conn).await? {
            print(format!(
                "uid {}: left Drupal or the scope: {:?} target user {}",
                orphan.uid,
                inner.settings.on_cancel,
                orphan.target_id.as_deref().unwrap_or("(found by externalId)")
            ));
        }
        Ok(n)
    }

    /// Where sync-out stands, sending nothing: `sync --status`.
    pub async fn status(&self) -> Result<Status, SyncError> {
        let inner = &self.inner;
        let mut conn = inner.db.conn().await?;
        let now = inner.scope.now(&mut *conn).await?;
        let uids = inner.scope.uids(&mut *conn, None, now).await?;
        let mut status = Status { in_scope: uids.len(), now, ..Status::default() };
        let mut oldest: Option<i64> = None;
        for chunk in uids.chunks(CHUNK) {
            for work in self.plan(&mut conn, chunk, now, false).await?.0 {
                status.pending += 1;
                if let Work::Upsert { changed, state, .. } = work {
                    let since = state.filter(|s| s.pending_since > 0).map(|s| s.pending_since).unwrap_or(changed);
                    oldest = Some(oldest.map_or(since, |o| o.min(since)));
                }
            }
        }
        status.lag_secs = oldest.map(|o| (now - o).max(0)).unwrap_or(0);
        status.failing = state::failing(&mut *conn, inner.scope.site.tables()).await?;
        Ok(status)
    }

    /// The accounts of `chunk` whose representation differs from what the target confirmed.
    /// Returns them and how many failing ones are not due yet.
    async fn plan(
        &self,
        conn: &mut Conn,
        chunk: &[u32],
        now: i64,
        honour_next_try: bool,
    ) -> Result<(Vec<Work>, usize), SyncError> {
        let inner = &self.inner;
        let records = users::load(conn, &inner.scope.site, chunk).await?;
        let mut states = state::load(conn, inner.scope.site.tables(), chunk).await?;
        let mut work = Vec::new();
        let mut waiting = 0;
        for record in records {
            let rep = represent(&inner.mapping, &record);
            let state = states.remove(&record.uid);
            if let Some(s) = &state {
                if s.fingerprint.as_deref() == Some(rep.fingerprint.as_str()) {
                    continue;
                }
                if honour_next_try && s.attempts > 0 && s.next_try > now {
                    waiting += 1;
                    continue;
                }
            }
            work.push(Work::Upsert { uid: record.uid, changed: record.changed, rep, state });
        }
        Ok((work, waiting))
    }

    /// Whether updates may use PATCH (asked once per pass; PUT when the target cannot say). A
    /// target that is unavailable is not asked to take pushes either: an error, not remembered,
    /// so that the next chunk asks again — falling back to PUT then would switch a PATCH target
    /// to replacing whole accounts whenever it has a bad moment.
    async fn patch_supported(&self, known: &mut Option<bool>) -> Result<bool, TargetError> {
        if let Some(p) = known {
            return Ok(*p);
        }
        let patch = match self.inner.client.supports_patch().await {
            Ok(p) => p,
            Err(e @ TargetError::Unavailable { .. }) => return Err(e),
            Err(e) => {
                log::warn!(
                    "sync{}: the target's /ServiceProviderConfig could not be read ({e}): updating with PUT",
                    self.inner.client.tag()
                );
                false
            }
        };
        *known = Some(patch);
        Ok(patch)
    }

    /// Record `work` as failed with `error`, sending nothing (the target is unavailable).
    /// Returns how many.
    async fn fail_unsent(&self, work: Vec<Work>, error: &TargetError, now: i64) -> usize {
        let n = work.len();
        for item in work {
            self.inner.record(&item, &Err(error.clone()), now).await;
        }
        n
    }

    /// Push `work`, `concurrency` at a time; a stop lets the started pushes finish. Returns
    /// (confirmed, failed).
    async fn execute(&self, work: Vec<Work>, patch: bool, now: i64, stop: &watch::Receiver<bool>) -> (usize, usize) {
        let slots = Arc::new(Semaphore::new(self.inner.settings.concurrency));
        let mut running = JoinSet::new();
        for item in work {
            let Ok(slot) = slots.clone().acquire_owned().await else { break };
            if *stop.borrow() {
                break;
            }
            let inner = self.inner.clone();
            running.spawn(async move {
                let _slot = slot;
                inner.push_one(item, patch, now).await
            });
        }
        let (mut pushed, mut failed) = (0, 0);
        while let Some(result) = running.join_next().await {
            match result {
                Ok(true) => pushed += 1,
                _ => failed += 1,
            }
        }
        (pushed, failed)
    }
}

/// Role names or ids of a `[sync]` list, as role ids; a role that does not exist, or that is
/// protected (administrator, one that leads to every account, a built-in one), is refused.
async fn resolve_roles(
    db: &Db,
    site: &crate::drupal::site::Site,
    names: &[String],
    setting: &str,
) -> Result<Vec<String>, SyncError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut conn = db.conn().await?;
    let roles = crate::drupal::roles::list_roles(&mut *conn, site).await?;
    let mut ids = Vec::new();
    for name in names {
        match crate::drupal::roles::find(site, &roles, name) {
            None => return Err(SyncError::Settings(format!("{setting}: no role {name:?} in this Drupal site"))),
            Some(r) if r.is_privileged() || crate::drupal::roles::is_built_in(site, &r.id) => {
                return Err(SyncError::Settings(format!(
                    "{setting}: role {name:?} is protected (administrator, a role that leads to every account, or a built-in role)"
                )));
            }
            Some(r) => ids.push(r.id.clone()),
        }
    }
    Ok(ids)
}

impl Inner {
    /// Push one account and record the outcome; true when the target confirmed.
    async fn push_one(&self, work: Work, patch: bool, now: i64) -> bool {
        let pusher = Pusher {
            client: &self.client,
            mapping: &self.mapping,
            patch,
            on_block: self.settings.on_block,
            on_cancel: self.settings.on_cancel,
        };
        let result = pusher.push(&work).await;
        self.record(&work, &result, now).await
    }

    /// Record (and report: /metrics, Drupal's log) the outcome of one push; true when the
    /// target confirmed.
    async fn record(&self, work: &Work, result: &Result<Done, TargetError>, now: i64) -> bool {
        crate::sync::report::pushed(&self.audit, &self.site, &self.settings.base_url, work, result).await;
        let uid = work.uid();
        let tables = self.scope.site.tables();
        let mut conn = match self.db.conn().await {
            Ok(c) => c,
            Err(e) => {
                log::warn!(
                    "sync{}: account {uid}: the outcome could not be recorded ({e}); it is pushed again later",
                    self.client.tag()
                );
                return false;
            }
        };
        let (external_id, attempts) = match work {
            Work::Upsert { rep, state, .. } => (
                rep.resource.get("externalId").and_then(|v| v.as_str()).unwrap_or_default().to_string(),
                state.as_ref().map_or(0, |s| s.attempts),
            ),
            Work::Remove(o) => (o.external_id.clone(), 0),
        };
        let recorded = match (result, work) {
            (Ok(Done::Holds { target_id, how }), Work::Upsert { rep, .. }) => {
                log::info!("sync{}: account {uid} {how} on the target (id {target_id})", self.client.tag());
                state::confirm(&mut *conn, tables, uid, &external_id, Some(target_id), Some(&rep.fingerprint), false)
                    .await
            }
            (Ok(Done::Gone { target_id, how }), Work::Upsert { rep, .. }) => {
                log::info!("sync{}: account {uid} {how} on the target", self.client.tag());
                state::confirm(
                    &mut *conn,
                    tables,
                    uid,
                    &external_id,
                    target_id.as_deref(),
                    Some(&rep.fingerprint),
                    true,
                )
                .await
            }
            (Ok(Done::Gone { target_id: Some(id), how }), Work::Remove(_)) => {
                log::info!(
                    "sync{}: account {uid} (gone from Drupal or the scope) {how} on the target",
                    self.client.tag()
                );
                state::confirm(&mut *conn, tables, uid, &external_id, Some(id), None, true).await
            }
            (Ok(done), Work::Remove(_)) => {
                log::info!("sync{}: account {uid} (gone from Drupal or the scope): {done:?}", self.client.tag());
                state::forget(&mut *conn, tables, uid).await
            }
            (Err(e), _) => {
                let attempts = attempts + 1;
                let wait = delay_secs(attempts, e.retry_after());
                log::warn!(
                    "sync{}: account {uid}: {e} (failure {attempts}{}; next try in {wait} s)",
                    self.client.tag(),
                    if attempts >= PARK_AFTER { ", parked" } else { "" }
                );
                state::fail(&mut *conn, tables, uid, &external_id, &e.to_string(), now + wait as i64).await
            }
        };
        if let Err(e) = recorded {
            log::warn!(
                "sync{}: account {uid}: the outcome could not be recorded ({e}); it is pushed again later",
                self.client.tag()
            );
            return false;
        }
        result.is_ok()
    }
}
