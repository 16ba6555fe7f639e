//! The process's background roles, started in one place and stopped together.
//!
//! Building the state ([`crate::app::build_state`]) starts nothing; [`Background::start`] starts every role
//! that keeps the system moving when no request is in flight:
//! - **listeners**: the event bus's sequencer (committed events to this node's subscribers, in order), the
//!   Redis subscription that brings the other nodes' events, and the refresh of this node's presence claims;
//! - **relay**: the outbox relay (one drainer across nodes), with the notifications and webhooks outbox
//!   handlers;
//! - **jobs**: the job worker (notifications, e-mail, account e-mails, Web Push, webhook deliveries, removal of
//!   deleted messages' files, scheduled messages, reminders) and the
//!   notification digests;
//! - **sweepers**: unused files and partial uploads, audit rows and webhook deliveries past their retention,
//!   sessions and refresh tokens over for a day (and single sign-on states and codes that expired), and the
//!   object store's setup
//!   (bucket or directory).
//!
//! `epop-gateway` (serve) and `epop-gateway worker` start all of them beside the state; the tests do the same
//! through their helpers. [`Background::shutdown`] cancels every role and waits for each: a relay batch or job
//! batch in progress is finished first, so no transaction is left open. Dropping a [`Background`] cancels
//! the roles without waiting.

use crate::metrics::Metrics;
use crate::state::AppState;
use anyhow::Context as _;
use epop_auth::{AccountEmails, Mailer, OutgoingMail};
use epop_calendar::ReminderJobs;
use epop_chat::ChatService;
use epop_chat::files::FileRemover;
use epop_chat::reminders::ReminderAnnouncer;
use epop_chat::scheduled::ScheduledPoster;
use epop_notifications::NotificationProjector;
use epop_notifications::email::EmailSender;
use epop_notifications::projector::NotificationJobs;
use epop_projects::DueReminderJobs;
use epop_storage::events::{EventSequencer, OutboxRelay};
use epop_storage::jobs::{JobHandler, JobWorker};
use epop_storage::object_store::{LocalStore, ObjectStore};
use secrecy::ExposeSecret as _;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

/// How many jobs one worker round claims.
const JOB_BATCH: i64 = 64;
/// How often unused files are swept.
const FILE_SWEEP_EVERY: Duration = Duration::from_secs(300);
/// Partial files of local uploads that stopped this long ago are removed.
const PARTIAL_UPLOAD_AGE: Duration = Duration::from_secs(3600);

/// The running background roles of this process.
#[derive(Debug)]
pub struct Background {
    cancel: DropGuard,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Background {
    /// Starts every background role for `state`; `sequencer` is the one [`crate::app::build_state`] returned
    /// with it. Fails only on configuration the roles cannot run with (an unusable SMTP URL, no TLS for the
    /// push client).
    pub fn start(state: &AppState, sequencer: EventSequencer) -> anyhow::Result<Self> {
        let config = &state.config;
        let email = match &config.smtp_url {
            Some(url) => Some(Arc::new(
                EmailSender::new(state.db.clone(), url.expose_secret(), &config.smtp_from)
                    .context("EPOP_SMTP_URL")?,
            )),
            None => None,
        };
        let push = Arc::new(state.push.sender().context("building the Web Push client")?);
        let webhooks = Arc::new(state.webhooks.sender().context("building the webhooks client")?);
        let projector = Arc::new(
            NotificationProjector::new(
                state.db.clone(),
                state.presence.clone(),
                email.is_some(),
                config.notification_interval,
                state.outbox.clone(),
            )
            .with_notify_all_max_members(
                usize::try_from(config.notify_all_max_members).unwrap_or(usize::MAX),
            ),
        );
        let files = Arc::new(FileRemover(state.chat.clone()));
        let scheduled = Arc::new(ScheduledPoster(state.chat.clone()));
        let reminders = Arc::new(ReminderAnnouncer(state.chat.clone()));
        let event_reminders = Arc::new(ReminderJobs(state.calendar.clone()));
        let mut handlers: Vec<Arc<dyn JobHandler>> = vec![
            push,
            webhooks,
            projector.clone(),
            files,
            scheduled,
            reminders,
            event_reminders,
            Arc::new(DueReminderJobs(state.projects.clone())),
        ];
        if let Some(email) = &email {
            handlers.push(Arc::new(AccountEmails::new(
                state.auth.clone(),
                Arc::new(SmtpMailer(email.clone())),
                &config.app_url,
            )));
        }
        let worker =
            job_worker(state.db.clone(), handlers, email, state.metrics.clone()).with_lease(config.job_lease);
        // The relay only enqueues the notification work (one statement per batch); the job worker does it.
        let relay = OutboxRelay::new(state.db.clone(), state.events.clone(), state.outbox.clone())
            .with_handler(Arc::new(NotificationJobs::new(worker.waker())))
            .with_handler(Arc::new(state.webhooks.outbox_handler(worker.waker())));

        let token = CancellationToken::new();
        let mut background = Self {
            cancel: token.clone().drop_guard(),
            tasks: Vec::new(),
        };
        background.spawn("event sequencer", sequencer.run(token.clone()));
        if let Some(url) = &config.redis_url {
            let listener = state
                .events
                .clone()
                .listen_redis(url.expose_secret().to_owned(), token.clone());
            background.spawn("event bus Redis listener", listener);
        }
        let presence = state.presence.clone();
        let cancel = token.clone();
        background.spawn("presence refresh", async move {
            presence.run_refresh(cancel).await;
        });
        let auth = state.auth.clone();
        background.spawn("session cutoffs seed", async move {
            if let Err(error) = auth.seed_session_cutoffs().await {
                tracing::warn!(%error, "could not seed session cutoffs in Redis; requests will retry");
            }
        });
        background.spawn("outbox relay", relay.run(token.clone()));
        if config.run_jobs {
            background.spawn("job worker", worker.run(token.clone()));
            let cancel = token.clone();
            background.spawn("notification digests", async move {
                projector.run_digests(cancel).await;
            });
        }
        if config.audit_retention_days > 0 {
            background.spawn(
                "audit log retention",
                purge_audit_log(state.auth.clone(), config.audit_retention_days, token.clone()),
            );
        }
        if config.webhook_delivery_retention_days > 0 {
            background.spawn(
                "webhook delivery log retention",
                purge_webhook_deliveries(
                    state.webhooks.clone(),
                    config.webhook_delivery_retention_days,
                    token.clone(),
                ),
            );
        }
        background.spawn(
            "session sweeper",
            purge_sessions(state.auth.clone(), token.clone()),
        );
        background.spawn(
            "file sweeper",
            sweep_files(state.chat.clone(), state.local_store.clone(), token.clone()),
        );
        if !config.db_pool_idle_timeout.is_zero() {
            background.spawn(
                "idle database connections",
                close_idle_connections(state.db.clone(), config.db_pool_idle_timeout, token.clone()),
            );
        }
        background.spawn("object store setup", set_up_store(state.store.clone(), token));
        Ok(background)
    }

    fn spawn(&mut self, role: &'static str, run: impl Future<Output = ()> + Send + 'static) {
        self.tasks.push((role, tokio::spawn(run)));
    }

    /// Stops every role and waits until each has ended (work in progress is finished first).
    pub async fn shutdown(self) {
        let Self { cancel, tasks } = self;
        drop(cancel);
        for (role, task) in tasks {
            if let Err(error) = task.await
                && error.is_panic()
            {
                tracing::error!(role, %error, "a background role panicked");
            }
        }
    }
}

/// Account e-mails (password reset and verification links) sent through the notifications' SMTP sender.
struct SmtpMailer(Arc<EmailSender>);

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: OutgoingMail) -> Result<(), String> {
        self.0
            .send_plain(&mail.to_name, &mail.to_email, mail.subject, mail.body)
            .await
    }
}

/// Closes pooled PostgreSQL connections unused for `idle_timeout` (keeping one), checking a few times per
/// timeout, until `cancel`.
async fn close_idle_connections(db: epop_storage::DbPool, idle_timeout: Duration, cancel: CancellationToken) {
    let mut every = tokio::time::interval((idle_timeout / 4).max(Duration::from_secs(1)));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = every.tick() => {
                let closed = epop_storage::db::close_idle_connections(&db, idle_timeout, 1);
                if closed > 0 {
                    tracing::debug!(closed, "closed idle database connections");
                }
            }
        }
    }
}

/// The worker of this process's background jobs (notifications, e-mail, push, file removal), reporting
/// outcomes to the metrics.
fn job_worker(
    db: epop_storage::DbPool,
    mut handlers: Vec<Arc<dyn JobHandler>>,
    email: Option<Arc<EmailSender>>,
    metrics: Metrics,
) -> JobWorker {
    if let Some(email) = email {
        handlers.push(email);
    }
    let worker_id = format!("{}-{}", std::process::id(), epop_socketio::random_id());
    let hook: epop_storage::jobs::OutcomeHook =
        Arc::new(move |queue, outcome| metrics.jobs_processed.with_label_values(&[queue, outcome]).inc());
    JobWorker::new(db, worker_id, JOB_BATCH, handlers).with_hook(hook)
}

/// Removes unattached uploads after 24 hours, files of deleted messages that their job left, and (local store)
/// partial files of uploads that stopped an hour ago, every few minutes, until `cancel`.
async fn sweep_files(chat: ChatService, local: Option<LocalStore>, cancel: CancellationToken) {
    let mut ticker = tokio::time::interval(FILE_SWEEP_EVERY);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        match chat.sweep_files().await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "removed unused files"),
            Err(error) => tracing::warn!(%error, "file sweep failed"),
        }
        if let Some(local) = &local {
            match local.sweep_partial_uploads(PARTIAL_UPLOAD_AGE).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "removed partial files of stopped uploads"),
                Err(error) => tracing::warn!(%error, "sweeping partial uploads failed"),
            }
        }
    }
}

/// How often rows past the audit log's retention are deleted.
const AUDIT_PURGE_EVERY: Duration = Duration::from_secs(60 * 60);
/// Audit rows deleted per statement.
const AUDIT_PURGE_BATCH: i64 = 5_000;

/// Deletes audit rows older than `days` every hour, until `cancel` (every node may run it: deleting is
/// idempotent).
async fn purge_audit_log(auth: epop_auth::AuthService, days: u64, cancel: CancellationToken) {
    let retention = chrono::Duration::days(i64::try_from(days).unwrap_or(i64::MAX / 86_400_000));
    every(AUDIT_PURGE_EVERY, cancel, move || {
        let auth = auth.clone();
        async move {
            match auth.purge_audit_log(retention, AUDIT_PURGE_BATCH).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "deleted audit rows past their retention"),
                Err(error) => tracing::warn!(%error, "purging the audit log failed"),
            }
        }
    })
    .await;
}

/// Runs `round` at once and then every `period`, until `cancel` (a round in progress is finished first).
async fn every<Round: Future<Output = ()> + Send>(
    period: Duration,
    cancel: CancellationToken,
    mut round: impl FnMut() -> Round,
) {
    let mut ticker = tokio::time::interval(period);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        round().await;
    }
}

/// Deletes finished webhook deliveries older than `days` every hour, until `cancel` (every node may run it).
async fn purge_webhook_deliveries(
    webhooks: epop_webhooks::WebhooksService,
    days: u64,
    cancel: CancellationToken,
) {
    let retention = Duration::from_secs(days.saturating_mul(86_400));
    every(AUDIT_PURGE_EVERY, cancel, move || {
        let webhooks = webhooks.clone();
        async move {
            match webhooks.purge_deliveries(retention, AUDIT_PURGE_BATCH).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "deleted webhook deliveries past their retention"),
                Err(error) => tracing::warn!(%error, "purging the webhook delivery log failed"),
            }
        }
    })
    .await;
}

/// How often sessions that are over are deleted.
const SESSION_PURGE_EVERY: Duration = Duration::from_secs(60 * 60);
/// How long a session stays after it ended or expired (then it is deleted with its refresh tokens).
pub const SESSION_PURGE_GRACE: chrono::Duration = chrono::Duration::days(1);
/// Rows deleted per statement.
const SESSION_PURGE_BATCH: i64 = 5_000;

/// Deletes sessions (with their refresh tokens) and refresh tokens over for a day, and single sign-on states
/// and codes that expired, every hour, until `cancel` (every node may run it: deleting is idempotent).
async fn purge_sessions(auth: epop_auth::AuthService, cancel: CancellationToken) {
    every(SESSION_PURGE_EVERY, cancel, move || {
        let auth = auth.clone();
        async move {
            match auth
                .purge_sessions(SESSION_PURGE_GRACE, SESSION_PURGE_BATCH)
                .await
            {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "deleted sessions and sign-in states that are over"),
                Err(error) => tracing::warn!(%error, "purging sessions failed"),
            }
        }
    })
    .await;
}

/// Creates the bucket or directory, retrying while the store is down, until it is ready or `cancel`.
async fn set_up_store(store: Arc<dyn ObjectStore>, cancel: CancellationToken) {
    let mut delay = Duration::from_millis(500);
    loop {
        let ready = tokio::select! {
            () = cancel.cancelled() => return,
            ready = store.ensure_ready() => ready,
        };
        match ready {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(%error, "object store not ready; retrying");
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}
