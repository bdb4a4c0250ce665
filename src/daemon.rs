//! Running redress: one pass (`run --once`) or the daemon (`run`) until shutdown.
//!
//! The daemon has two tasks in the shape of tokio's mini-redis: a mailbox watcher (ingest what is
//! waiting, then IDLE or poll, reconnecting with backoff) and an outbox worker (send what is due,
//! then sleep until the next retry or until the watcher says there is new mail). Both race every
//! wait against a broadcast shutdown signal, and the daemon returns once both have finished.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Notify, broadcast};

use chrono::{DateTime, Utc};

use crate::app::App;
use crate::case::CaseError;
use crate::case::apply::{QueueError, object, queue};
use crate::case::from_mail::TooLarge;
use crate::case::plan::{IfUnwritten, Outgoing};
use crate::clock::Clock;
use crate::deliver::outbox::{EmailSender, drain, drain_until};
use crate::deliver::scheduler::{self, SchedulerReport};
use crate::intake::mailbox::{Mailbox, MailboxClient, MailboxError, WaitOutcome, Waiting};
use crate::intake::{IngestOutcome, MailSource, ingest, ingest_too_large};
use crate::store::StoreError;
use crate::store::health::Component;

/// A failure of a pass.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Mailbox(#[from] MailboxError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Case(#[from] crate::case::CaseError),
    #[error(transparent)]
    Web(std::io::Error),
}

/// What one ingest pass did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PassReport {
    pub fetched: usize,
    pub new_cases: usize,
    pub added_to_cases: usize,
    pub without_case: usize,
    pub duplicates: usize,
    pub needs_attention: usize,
    /// Mails that could not be recorded this pass: left in the mailbox and retried next pass.
    pub failed: usize,
    /// Of those, mails that failed three passes: moved to the quarantine folder, a person told.
    pub quarantined: usize,
    /// Mails over `mailbox.max_message_size`: recorded by their header, moved to the
    /// quarantine folder for a person, the sender told.
    pub too_large: usize,
}

/// After this many failed passes a mail is moved to the quarantine folder.
pub const QUARANTINE_AFTER: i64 = 3;

/// How many messages are fetched per IMAP command at most.
const FETCH_BATCH: usize = 100;

/// How many bytes (as the server counts them) one IMAP fetch asks for at most: memory stays
/// bounded by this or by the one larger mail fetched alone, whatever waits in the mailbox.
pub const FETCH_BYTES: u64 = 10_000_000;

/// Splits the waiting mail into fetches of at most `max_count` mails and `max_bytes` bytes; a
/// mail larger than `max_bytes` is fetched on its own. Order is kept.
pub fn fetch_batches(waiting: &[Waiting], max_count: usize, max_bytes: u64) -> Vec<Vec<u32>> {
    let mut batches: Vec<Vec<u32>> = Vec::new();
    let mut bytes = 0;
    for mail in waiting {
        let fits = batches
            .last()
            .is_some_and(|batch| batch.len() < max_count && bytes + mail.size <= max_bytes);
        if fits {
            bytes += mail.size;
        } else {
            batches.push(Vec::new());
            bytes = mail.size;
        }
        if let Some(batch) = batches.last_mut() {
            batch.push(mail.uid);
        }
    }
    batches
}

/// What became of one mail this pass.
enum Taken {
    Recorded,
    /// Not recorded; `true` when it failed too often and goes to the quarantine folder.
    Failed(bool),
}

/// Ingests everything waiting in the watched folder and moves what was recorded to the processed
/// folder; a mail over `mailbox.max_message_size` is recorded by its header and set aside.
pub async fn ingest_pass(
    app: &App,
    client: &mut impl Mailbox,
    clock: &Clock,
) -> Result<PassReport, RunError> {
    let settings = &app.rules.settings.mailbox;
    let uidvalidity = client.select_watched().await?;
    if let Some((known, _)) = app.store.mailbox_state(&settings.folder).await?
        && known != uidvalidity
    {
        tracing::warn!(folder = %settings.folder, old = known, new = uidvalidity, "UIDVALIDITY changed: every waiting mail is checked against the record by Message-ID and content");
    }
    let (whole, too_large): (Vec<Waiting>, Vec<Waiting>) = client
        .waiting()
        .await?
        .into_iter()
        .partition(|w| w.size <= settings.max_message_size);
    let mut report = PassReport::default();
    set_aside_too_large(app, client, &too_large, uidvalidity, &mut report, clock).await?;
    let mut highest = 0;
    for batch in fetch_batches(&whole, FETCH_BATCH, FETCH_BYTES) {
        let mails = client.fetch(&batch).await?;
        report.fetched += mails.len();
        let mut recorded = Vec::with_capacity(mails.len());
        let mut quarantine = Vec::new();
        for mail in mails {
            let source = MailSource::of(&settings.folder, uidvalidity, &mail);
            let outcome = ingest(app, &mail.raw, Some(&source), clock.now()).await;
            drop(mail.raw);
            match take(app, outcome, &source, &mut report, clock).await {
                Taken::Recorded => {
                    recorded.push(mail.uid);
                    highest = highest.max(mail.uid);
                }
                Taken::Failed(true) => quarantine.push(mail.uid),
                Taken::Failed(false) => {}
            }
        }
        client.move_to_processed(&recorded).await?;
        client.quarantine(&quarantine).await?;
        report.quarantined += quarantine.len();
    }
    if highest > 0 {
        app.store
            .set_mailbox_state(&settings.folder, uidvalidity, highest)
            .await?;
    }
    Ok(report)
}

/// Records each mail over `mailbox.max_message_size` by its header (the sender told, a person
/// asked to look) and moves it whole to the quarantine folder.
async fn set_aside_too_large(
    app: &App,
    client: &mut impl Mailbox,
    too_large: &[Waiting],
    uidvalidity: u32,
    report: &mut PassReport,
    clock: &Clock,
) -> Result<(), RunError> {
    if too_large.is_empty() {
        return Ok(());
    }
    let settings = &app.rules.settings.mailbox;
    let uids: Vec<u32> = too_large.iter().map(|w| w.uid).collect();
    let mut set_aside = Vec::new();
    for header in client.fetch_headers(&uids).await? {
        report.fetched += 1;
        let size = too_large
            .iter()
            .find(|w| w.uid == header.uid)
            .map_or(0, |w| w.size);
        let taken = TooLarge {
            size,
            limit: settings.max_message_size,
            folder: settings.quarantine_folder.clone(),
        };
        let source = MailSource::of(&settings.folder, uidvalidity, &header);
        let outcome = ingest_too_large(app, &header.raw, taken, Some(&source), clock.now()).await;
        match take(app, outcome, &source, report, clock).await {
            Taken::Recorded => {
                report.too_large += 1;
                set_aside.push(header.uid);
            }
            Taken::Failed(true) => {
                report.quarantined += 1;
                set_aside.push(header.uid);
            }
            Taken::Failed(false) => {}
        }
    }
    client.quarantine(&set_aside).await?;
    Ok(())
}

/// Counts and logs what recording one mail did; on failure, whether it is given up on.
async fn take(
    app: &App,
    outcome: Result<IngestOutcome, CaseError>,
    source: &MailSource,
    report: &mut PassReport,
    clock: &Clock,
) -> Taken {
    match outcome {
        Ok(outcome) => {
            log_outcome(source.uid, &outcome);
            match &outcome {
                IngestOutcome::Duplicate { .. } => report.duplicates += 1,
                IngestOutcome::NewCase {
                    needs_attention, ..
                } => {
                    report.new_cases += 1;
                    if *needs_attention {
                        report.needs_attention += 1;
                    }
                }
                IngestOutcome::AddedToCase { .. } => report.added_to_cases += 1,
                IngestOutcome::RecordedWithoutCase { .. } => report.without_case += 1,
            }
            Taken::Recorded
        }
        Err(error) => {
            report.failed += 1;
            tracing::error!(uid = source.uid, %error, "mail not recorded; it stays in the mailbox and is retried");
            Taken::Failed(give_up(app, source, &error.to_string(), clock.now()).await)
        }
    }
}

/// Counts a failed attempt to record a mail; after the third, tells the complaints manager and
/// returns true: the mail goes to the quarantine folder instead of being fetched forever.
async fn give_up(app: &App, source: &MailSource, error: &str, now: DateTime<Utc>) -> bool {
    let key = (source.mailbox.as_str(), source.uidvalidity, source.uid);
    let attempts = match app.store.record_ingest_failure(key, error, now).await {
        Ok(attempts) => attempts,
        Err(store_error) => {
            tracing::error!(uid = source.uid, %store_error, "the failure could not be counted");
            return false;
        }
    };
    if attempts < QUARANTINE_AFTER {
        return false;
    }
    let folder = &app.rules.settings.mailbox.quarantine_folder;
    tracing::error!(uid = source.uid, attempts, %folder, "mail moved to the quarantine folder for a person");
    let routing = &app.rules.settings.routing;
    let to: Vec<String> = routing
        .complaints_manager
        .clone()
        .or_else(|| routing.manager.clone())
        .into_iter()
        .collect();
    let received = source.internal_date.unwrap_or(now);
    let letter = Outgoing {
        template: "quarantined",
        kind: "notice".into(),
        to,
        context: object(serde_json::json!({
            "folder": folder, "attempts": attempts, "error": error,
            "received": app.rules.calendar_time(received),
        })),
        key: format!("quarantined:{}:{}:{{to}}", source.uidvalidity, source.uid),
        in_reply_to: None,
        references: Vec::new(),
        if_unwritten: IfUnwritten::Refuse,
        record: false,
        by_post: false,
    };
    let told = async {
        let mut tx = app.store.begin().await?;
        queue(&mut tx, &app.rules, None, &letter, now).await?;
        tx.commit().await?;
        Ok::<(), QueueError>(())
    };
    if let Err(tell_error) = told.await {
        tracing::error!(uid = source.uid, %tell_error, "the complaints manager could not be told");
    }
    true
}

fn log_outcome(uid: u32, outcome: &IngestOutcome) {
    match outcome {
        IngestOutcome::Duplicate { reference } => {
            tracing::info!(
                uid,
                reference = reference.as_deref().unwrap_or("-"),
                "mail already recorded"
            );
        }
        IngestOutcome::NewCase {
            reference,
            kind,
            receipt_queued,
            needs_attention,
        } => {
            tracing::info!(uid, %reference, %kind, receipt_queued, needs_attention, "mail opened a case");
        }
        IngestOutcome::AddedToCase { reference, kind } => {
            tracing::info!(uid, %reference, %kind, "mail added to case");
        }
        IngestOutcome::RecordedWithoutCase { kind } => {
            tracing::info!(uid, %kind, "mail recorded without a case");
        }
    }
}

/// Connects to the mailbox and makes sure the processed folder exists.
pub async fn open_mailbox(app: &App) -> Result<MailboxClient, MailboxError> {
    let settings = &app.rules.settings.mailbox;
    let mut client = MailboxClient::connect(settings).await?;
    client.ensure_folder(&settings.processed_folder).await?;
    client.ensure_folder(&settings.quarantine_folder).await?;
    Ok(client)
}

/// What `run --once` did.
#[derive(Debug, Clone, Serialize)]
pub struct OnceReport {
    #[serde(flatten)]
    pub pass: PassReport,
    pub reminders: SchedulerReport,
    pub letters_sent: usize,
}

/// One pass: ingest everything waiting, queue the reminders due, then send everything queued.
pub async fn run_once(
    app: &App,
    sender: &impl EmailSender,
    clock: &Clock,
) -> Result<OnceReport, RunError> {
    let opened = open_mailbox(app).await;
    fared(app, &opened, clock.now()).await;
    let mut client = opened?;
    let report = run_once_on(app, &mut client, sender, clock).await;
    if let Err(error) = client.logout().await {
        tracing::debug!(%error, "logout failed");
    }
    report
}

/// One pass on `mailbox`: ingest everything waiting, queue the reminders due, send what is queued.
pub async fn run_once_on(
    app: &App,
    mailbox: &mut impl Mailbox,
    sender: &impl EmailSender,
    clock: &Clock,
) -> Result<OnceReport, RunError> {
    let pass = ingest_pass(app, mailbox, clock).await;
    fared(app, &pass, clock.now()).await;
    let pass = pass?;
    let reminders = scheduler::pass(app, clock.now()).await?;
    if let Err(error) = crate::health::alert_pass(app, clock.now()).await {
        tracing::error!(%error, "cannot check redress's health");
    }
    let letters_sent = drain(app, sender, clock).await?;
    Ok(OnceReport {
        pass,
        reminders,
        letters_sent,
    })
}

/// Records how reading the mailbox fared, for `redress health`, `/metrics` and the alerts.
async fn fared<T, E: std::fmt::Display>(app: &App, result: &Result<T, E>, now: DateTime<Utc>) {
    let recorded = match result {
        Ok(_) => app.store.record_success(Component::Fetch, now).await,
        Err(error) => {
            app.store
                .record_failure(Component::Fetch, &error.to_string(), now)
                .await
        }
    };
    if let Err(error) = recorded {
        tracing::warn!(%error, "cannot record the mailbox's health");
    }
}

/// Backoff between reconnection attempts: 1 s doubling to 5 minutes.
pub fn reconnect_delay(failures: u32) -> Duration {
    Duration::from_secs((1u64 << failures.min(9)).min(300))
}

/// The daemon: runs until `shutdown` fires, then returns once every task has stopped.
pub async fn run<S: EmailSender + 'static>(
    app: Arc<App>,
    sender: Arc<S>,
    clock: Clock,
    shutdown: broadcast::Sender<()>,
) -> Result<(), RunError> {
    let new_mail = Arc::new(Notify::new());
    let web = match crate::web::bind(&app).await.map_err(RunError::Web)? {
        Some(listener) => {
            let state = crate::web::Web::new(app.clone(), clock).waking(new_mail.clone());
            Some(tokio::spawn(crate::web::serve(
                listener,
                state,
                shutdown.subscribe(),
            )))
        }
        None => None,
    };
    let watcher = tokio::spawn(watch_mailbox(
        app.clone(),
        clock,
        new_mail.clone(),
        shutdown.subscribe(),
    ));
    let reminder = tokio::spawn(remind(
        app.clone(),
        clock,
        new_mail.clone(),
        shutdown.subscribe(),
    ));
    let worker = tokio::spawn(send_letters(
        app.clone(),
        sender,
        clock,
        new_mail,
        shutdown.subscribe(),
    ));
    crate::service::ready("started");
    let (watched, reminded, worked) = tokio::join!(watcher, reminder, worker);
    if let Some(web) = web {
        match web.await {
            Ok(Err(error)) => tracing::error!(%error, "the web app stopped with an error"),
            Err(join_error) => tracing::error!(%join_error, "the web app ended abnormally"),
            Ok(Ok(())) => {}
        }
    }
    for result in [watched, reminded, worked] {
        if let Err(join_error) = result {
            tracing::error!(%join_error, "a task ended abnormally");
        }
    }
    tracing::info!("redress stopped");
    Ok(())
}

/// How often an instance that does not watch the mailbox tries to take over.
pub const TAKEOVER_INTERVAL: Duration = Duration::from_secs(10);

/// Waits until this instance may watch the mailbox (at once on SQLite; on PostgreSQL when no
/// other instance holds the watch lock). `None` on shutdown.
async fn watch_turn(
    app: &App,
    shutdown: &mut broadcast::Receiver<()>,
) -> Option<crate::store::watch::WatchLock> {
    let mut told = false;
    loop {
        match app.store.try_watch_lock().await {
            Ok(Some(lock)) => {
                if told {
                    tracing::info!("this instance now watches the mailbox");
                }
                return Some(lock);
            }
            Ok(None) if !told => {
                told = true;
                tracing::info!(
                    "another instance watches the mailbox; this one sends and reminds, and takes over if that one stops"
                );
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "cannot take the watch lock"),
        }
        tokio::select! {
            _ = shutdown.recv() => return None,
            _ = tokio::time::sleep(TAKEOVER_INTERVAL) => {}
        }
    }
}

async fn watch_mailbox(
    app: Arc<App>,
    clock: Clock,
    new_mail: Arc<Notify>,
    mut shutdown: broadcast::Receiver<()>,
) {
    let Some(_watching) = watch_turn(&app, &mut shutdown).await else {
        return;
    };
    let mut failures = 0u32;
    loop {
        let connected = tokio::select! {
            _ = shutdown.recv() => return,
            result = open_mailbox(&app) => result,
        };
        let mut client = match connected {
            Ok(client) => {
                tracing::info!(idle = client.has_idle(), "connected to the mailbox");
                client
            }
            Err(error) => {
                let delay = reconnect_delay(failures);
                failures += 1;
                fared(&app, &Err::<(), _>(&error), clock.now()).await;
                tracing::warn!(%error, retry_in = ?delay, "cannot open the mailbox");
                tokio::select! {
                    _ = shutdown.recv() => return,
                    _ = tokio::time::sleep(delay) => continue,
                }
            }
        };
        loop {
            let pass = tokio::select! {
                _ = shutdown.recv() => return,
                result = ingest_pass(&app, &mut client, &clock) => result,
            };
            fared(&app, &pass, clock.now()).await;
            match pass {
                Ok(report) => {
                    failures = 0;
                    if report.fetched > 0 {
                        new_mail.notify_one();
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "mailbox pass failed; reconnecting");
                    break;
                }
            }
            let waited = tokio::select! {
                _ = shutdown.recv() => return,
                result = client.wait_for_change() => result,
            };
            match waited {
                Ok((again, outcome)) => {
                    client = again;
                    if outcome == WaitOutcome::TimedOut {
                        tracing::debug!("wait ended without news; checking the mailbox anyway");
                    }
                }
                Err(error) => {
                    fared(&app, &Err::<(), _>(&error), clock.now()).await;
                    tracing::warn!(%error, "lost the mailbox connection; reconnecting");
                    break;
                }
            }
        }
        let delay = reconnect_delay(failures);
        failures += 1;
        tokio::select! {
            _ = shutdown.recv() => return,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// How often the scheduler looks for due reminders.
const SCHEDULER_INTERVAL: Duration = Duration::from_secs(60);

/// How often redress checks its own health for alerts (two small reads).
const HEALTH_INTERVAL: Duration = Duration::from_secs(5);

/// Queues due reminders every minute, and checks redress's health for alerts every few seconds.
async fn remind(
    app: Arc<App>,
    clock: Clock,
    letters_queued: Arc<Notify>,
    mut shutdown: broadcast::Receiver<()>,
) {
    let mut next_scheduler = tokio::time::Instant::now();
    let mut purged_on = None;
    loop {
        if tokio::time::Instant::now() >= next_scheduler {
            next_scheduler += SCHEDULER_INTERVAL;
            let pass = tokio::select! {
                _ = shutdown.recv() => return,
                result = scheduler::pass(&app, clock.now()) => result,
            };
            match pass {
                Ok(report) if report.reminders + report.digests > 0 => {
                    tracing::info!(
                        reminders = report.reminders,
                        digests = report.digests,
                        "reminders queued"
                    );
                    letters_queued.notify_one();
                }
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "scheduler pass failed"),
            }
        }
        let today = app.rules.calendar.local_date(clock.now());
        if purged_on != Some(today) {
            // Once a day: cases past retention are purged (see `redress purge`).
            purged_on = Some(today);
            let purge = crate::records::purge_due(
                &app,
                clock.now(),
                false,
                "redress (daily retention pass)",
                |_, _| {},
            );
            if let Err(error) = purge.await {
                tracing::error!(%error, "the daily retention pass failed");
            }
        }
        match crate::health::alert_pass(&app, clock.now()).await {
            Ok(0) => {}
            Ok(_) => letters_queued.notify_one(),
            Err(error) => tracing::error!(%error, "cannot check redress's health"),
        }
        match crate::health::assess(&app, clock.now()).await {
            Ok(verdict) => {
                crate::service::status(&verdict.status_line());
                crate::service::alive();
            }
            Err(error) => tracing::error!(%error, "cannot read redress's health"),
        }
        tokio::select! {
            _ = shutdown.recv() => return,
            _ = tokio::time::sleep(HEALTH_INTERVAL) => {}
        }
    }
}

/// The outbox worker. On shutdown it claims no new letter and lets the ones in flight finish,
/// so a stop never makes a letter go twice (bounded by the unit's stop timeout).
async fn send_letters<S: EmailSender>(
    app: Arc<App>,
    sender: Arc<S>,
    clock: Clock,
    new_mail: Arc<Notify>,
    mut shutdown: broadcast::Receiver<()>,
) {
    let stop = Arc::new(AtomicBool::new(false));
    let mut told = shutdown.resubscribe();
    let flag = stop.clone();
    tokio::spawn(async move {
        let _ = told.recv().await;
        flag.store(true, Ordering::SeqCst);
    });
    while !stop.load(Ordering::SeqCst) {
        if let Err(error) = drain_until(&app, sender.as_ref(), &clock, &stop).await {
            tracing::error!(%error, "outbox pass failed");
        }
        let wait = match app.store.next_letter_due().await {
            Ok(Some(due)) => (due - clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .max(Duration::from_secs(1)),
            Ok(None) => Duration::from_secs(60),
            Err(error) => {
                tracing::error!(%error, "cannot read the outbox");
                Duration::from_secs(10)
            }
        };
        tokio::select! {
            _ = shutdown.recv() => return,
            _ = new_mail.notified() => {}
            _ = tokio::time::sleep(wait.min(Duration::from_secs(60))) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 14 (2): fetches are bounded by bytes as well as count; a mail larger than the
    /// budget goes alone, and order is kept.
    #[test]
    fn fetches_are_batched_by_bytes_and_a_large_mail_goes_alone() {
        let waiting = |sizes: &[u64]| -> Vec<Waiting> {
            sizes
                .iter()
                .zip(1..)
                .map(|(&size, uid)| Waiting { uid, size })
                .collect()
        };
        let mb = 1_000_000;
        assert_eq!(
            fetch_batches(&waiting(&[mb, 30 * mb, 2 * mb, 8 * mb, mb]), 100, 10 * mb),
            vec![vec![1], vec![2], vec![3, 4], vec![5]]
        );
        assert_eq!(
            fetch_batches(&waiting(&[10, 10, 10]), 2, 10 * mb),
            vec![vec![1, 2], vec![3]]
        );
        assert!(fetch_batches(&[], 100, mb).is_empty());
    }

    #[test]
    fn reconnect_backoff_grows_to_five_minutes() {
        assert_eq!(reconnect_delay(0), Duration::from_secs(1));
        assert_eq!(reconnect_delay(3), Duration::from_secs(8));
        assert_eq!(reconnect_delay(20), Duration::from_secs(300));
    }
}
