//! Personal data through its life, as operations run it: the purge of cases past retention
//! (by `redress purge` and a daily pass of the daemon), erasure on request, a subject access
//! export, and backups. What a purge keeps is decided in [`crate::case::retention`]; the store
//! does the removing, in one audited transaction a case.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::App;
use crate::case::model::{CaseStatus, Event};
use crate::case::retention;
use crate::intake::mailbox::{MailboxClient, MailboxError};
use crate::store::StoreError;
use crate::store::retention::PurgeCandidate;

/// Why a records task could not be done.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mailbox(#[from] MailboxError),
    #[error("cannot write {path}: {error}")]
    Write { path: String, error: String },
    #[error("{0}")]
    Refused(String),
}

/// What a purge did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PurgeReport {
    /// The cases past retention, by reference.
    pub cases: Vec<String>,
    pub purged: usize,
    pub messages: i64,
    pub letters: i64,
    /// Copies removed from the processed folder.
    pub expunged: usize,
}

/// Purges every closed case whose last activity is older than `[retention] years`, calling
/// `step` after each case (for a progress bar). Held and open cases are never touched.
pub async fn purge_due(
    app: &App,
    now: DateTime<Utc>,
    dry_run: bool,
    by: &str,
    mut step: impl FnMut(usize, usize),
) -> Result<PurgeReport, RecordsError> {
    let settings = &app.rules.settings.retention;
    let before = retention::cutoff(now, settings.years);
    let candidates = app.store.purge_candidates(before).await?;
    let mut report = PurgeReport {
        cases: candidates.iter().map(|c| c.reference.clone()).collect(),
        ..PurgeReport::default()
    };
    if dry_run {
        return Ok(report);
    }
    let rule = format!(
        "retention: {} years after the case's last activity",
        settings.years
    );
    let mut message_ids = Vec::new();
    for (n, case) in candidates.iter().enumerate() {
        let purged = purge_one(app, case, &rule, by, now).await?;
        report.purged += 1;
        report.messages += purged.messages;
        report.letters += purged.letters;
        message_ids.extend(purged.message_ids);
        step(n + 1, candidates.len());
    }
    if settings.expunge_processed && !message_ids.is_empty() {
        report.expunged = expunge_processed(app, &message_ids).await?;
    }
    tracing::info!(
        cases = report.purged,
        messages = report.messages,
        letters = report.letters,
        expunged = report.expunged,
        "purge done"
    );
    Ok(report)
}

async fn purge_one(
    app: &App,
    case: &PurgeCandidate,
    rule: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<crate::store::retention::Purged, RecordsError> {
    let detail = app.store.case_detail(&case.reference).await?;
    let flagged = detail
        .events
        .iter()
        .any(|e| matches!(e.event(), Some(Event::SourceSet { .. })));
    let keep_source = if flagged {
        None
    } else {
        Some(crate::report::figures::source_by_address(
            &app.rules.settings.report,
            detail.case.customer_address.as_deref(),
        )?)
    };
    Ok(app
        .store
        .purge_case(case, rule, by, retention::redact, keep_source, now)
        .await?)
}

async fn expunge_processed(app: &App, message_ids: &[String]) -> Result<usize, RecordsError> {
    let settings = &app.rules.settings.mailbox;
    let mut client = MailboxClient::connect(settings).await?;
    let removed = client
        .expunge_message_ids(&settings.processed_folder, message_ids)
        .await?;
    let _ = client.logout().await;
    Ok(removed)
}

/// Erases what is held about the person at `address` where the law allows: every case of
/// theirs is purged now, under `reason`. Refused, changing nothing, while any of their cases is
/// open or held (the record is still needed, or must be kept).
pub async fn erase(
    app: &App,
    address: &str,
    reason: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<PurgeReport, RecordsError> {
    if reason.trim().is_empty() {
        return Err(RecordsError::Refused(
            "--reason must say why (the request and its date)".into(),
        ));
    }
    let references = app.store.cases_of_address(address).await?;
    let mut candidates = Vec::new();
    for reference in &references {
        let detail = app.store.case_detail(reference).await?;
        if detail.case.status == CaseStatus::Open {
            return Err(RecordsError::Refused(format!(
                "{reference} is open: close it first; nothing was erased"
            )));
        }
        if let Some(hold) = app.store.hold_of(reference).await? {
            return Err(RecordsError::Refused(format!(
                "{reference} is held ({hold}); nothing was erased"
            )));
        }
        candidates.push(PurgeCandidate {
            id: detail.case.id,
            reference: reference.clone(),
            received_at: detail.case.received_at,
        });
    }
    let mut report = PurgeReport {
        cases: references.clone(),
        ..PurgeReport::default()
    };
    let rule = format!("erasure on request: {}", reason.trim());
    for case in &candidates {
        let purged = purge_one(app, case, &rule, by, now).await?;
        report.purged += 1;
        report.messages += purged.messages;
        report.letters += purged.letters;
    }
    Ok(report)
}

/// Writes a subject access export to `out` (a zip): every case whose customer address is
/// `address` (or, with `name`, whose customer's name is exactly that), each mail as .eml with
/// its attachments, the letters, the record as JSON and a readable index.html. Staff notes are
/// included (they are personal data too) and flagged for review before release. Returns the
/// references exported.
pub async fn export(
    app: &App,
    address: &str,
    name: Option<&str>,
    out: &Path,
) -> Result<Vec<String>, RecordsError> {
    let mut references = app.store.cases_of_address(address).await?;
    if let Some(name) = name {
        for reference in app.store.cases_of_name(name).await? {
            if !references.contains(&reference) {
                references.push(reference);
            }
        }
    }
    let file = std::fs::File::create(out).map_err(|e| write_error(out, e))?;
    let mut zip = zip::ZipWriter::new(file);
    let mut index = String::new();
    for reference in &references {
        let entries = case_entries(app, reference).await?;
        index.push_str(&format!(
            "<h2>{}</h2>\n<ul>\n",
            minijinja::HtmlEscape(reference)
        ));
        for (path, bytes, note) in entries {
            zip.start_file(&path, zip::write::SimpleFileOptions::default())
                .map_err(|e| write_error(out, e))?;
            zip.write_all(&bytes).map_err(|e| write_error(out, e))?;
            index.push_str(&format!(
                "<li><a href=\"{p}\">{p}</a>{}</li>\n",
                note.map(|n| format!(" <strong>{n}</strong>"))
                    .unwrap_or_default(),
                p = minijinja::HtmlEscape(&path)
            ));
        }
        index.push_str("</ul>\n");
    }
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Subject access export</title></head><body><h1>What {org} holds about {who}</h1><p>{n} case(s). Staff notes are included and marked: review them before release.</p>\n{index}</body></html>\n",
        org = minijinja::HtmlEscape(&app.rules.settings.organisation.name),
        who = minijinja::HtmlEscape(address),
        n = references.len()
    );
    zip.start_file("index.html", zip::write::SimpleFileOptions::default())
        .map_err(|e| write_error(out, e))?;
    zip.write_all(page.as_bytes())
        .map_err(|e| write_error(out, e))?;
    zip.finish().map_err(|e| write_error(out, e))?;
    Ok(references)
}

/// One case's files for an export: (path in the zip, bytes, a note for the index).
async fn case_entries(
    app: &App,
    reference: &str,
) -> Result<Vec<(String, Vec<u8>, Option<&'static str>)>, RecordsError> {
    let detail = app.store.case_detail(reference).await?;
    let mut entries = Vec::new();
    let has_notes = detail.events.iter().any(|e| e.kind == "note");
    let record = serde_json::to_vec_pretty(&detail).unwrap_or_default();
    entries.push((
        format!("{reference}/record.json"),
        record,
        has_notes.then_some("holds staff notes: review before release"),
    ));
    for message in &detail.messages {
        if let Some(raw) = app
            .store
            .raw_message_of_case(detail.case.id, message.id)
            .await?
        {
            entries.push((
                format!(
                    "{reference}/mail-{:04}-{}.eml",
                    message.id, message.direction
                ),
                raw,
                None,
            ));
        }
        for n in 0..message.attachments.len() {
            if let Some((name, _, bytes)) = app
                .store
                .attachment_of_case(detail.case.id, message.id, n as i64)
                .await?
            {
                let name = safe_name(name.as_deref().unwrap_or("attachment"));
                entries.push((
                    format!("{reference}/attachments/{:04}-{n}-{name}", message.id),
                    bytes,
                    None,
                ));
            }
        }
    }
    for letter in &detail.letters {
        let text = format!(
            "Subject: {}\nTo: {}\nStatus: {}\n\n{}",
            letter.subject, letter.to_address, letter.status, letter.body
        );
        entries.push((
            format!(
                "{reference}/letters/{:04}-{}.txt",
                letter.id,
                safe_name(&letter.kind)
            ),
            text.into_bytes(),
            None,
        ));
    }
    Ok(entries)
}

fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn write_error(path: &Path, error: impl std::fmt::Display) -> RecordsError {
    RecordsError::Write {
        path: path.display().to_string(),
        error: error.to_string(),
    }
}

/// Backs the database up to `out` (SQLite: a consistent copy made with `VACUUM INTO`).
pub async fn backup(app: &App, out: &Path) -> Result<(), RecordsError> {
    if out.exists() {
        return Err(RecordsError::Refused(format!(
            "{} exists: choose a new file",
            out.display()
        )));
    }
    let path = out.display().to_string();
    if app.store.backup_to(&path).await? {
        Ok(())
    } else {
        Err(RecordsError::Refused(
            "the database is PostgreSQL: back it up with pg_dump (see README \"Backups\"), e.g. pg_dump --format=custom --file=redress.dump DATABASE_URL".into(),
        ))
    }
}
