//! The database: the single source of truth for messages, cases, events, deadlines and the outbox.
//!
//! One interface over SQLite (the default: embedded, file created 0600, WAL) and PostgreSQL (for
//! several instances side by side), through sqlx's `Any` driver with SQL both accept. The two
//! places where they differ are chosen here: the schema (`migrations/sqlite`, `migrations/postgres`)
//! and how the outbox worker claims a row (`UPDATE ... RETURNING` inside a write transaction on
//! SQLite, `FOR UPDATE SKIP LOCKED` on PostgreSQL). Times are stored as UTC seconds.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::deadlines::{Deadline, DeadlineKind};

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot prepare the SQLite file {path}: {error}")]
    File { path: String, error: std::io::Error },
    #[error("no case with reference {0}")]
    NoSuchCase(String),
}

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// A transaction on the store.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

pub(crate) fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(crate) fn from_ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// A case as listed.
#[derive(Debug, Clone, Serialize)]
pub struct CaseRow {
    pub id: i64,
    pub reference: String,
    pub kind: String,
    pub stage: Option<String>,
    pub status: String,
    pub customer_address: Option<String>,
    pub customer_name: Option<String>,
    pub subject: String,
    pub received_at: DateTime<Utc>,
    pub needs_attention: bool,
    pub attention_reason: Option<String>,
    pub service_area: Option<String>,
    pub owner: Option<String>,
    pub themes: Vec<String>,
    pub hazard: Option<String>,
    pub representative: bool,
}

const CASE_COLUMNS: &str = "id, reference, kind, stage, status, customer_address, customer_name, subject, received_at, needs_attention, attention_reason, service_area, owner, themes, hazard, representative";

fn case_from_row(row: &AnyRow) -> Result<CaseRow, sqlx::Error> {
    Ok(CaseRow {
        id: row.try_get("id")?,
        reference: row.try_get("reference")?,
        kind: row.try_get("kind")?,
        stage: row.try_get("stage")?,
        status: row.try_get("status")?,
        customer_address: row.try_get("customer_address")?,
        customer_name: row.try_get("customer_name")?,
        subject: row.try_get("subject")?,
        received_at: from_ts(row.try_get("received_at")?),
        needs_attention: row.try_get::<i64, _>("needs_attention")? != 0,
        attention_reason: row.try_get("attention_reason")?,
        service_area: row.try_get("service_area")?,
        owner: row.try_get("owner")?,
        themes: serde_json::from_str(&row.try_get::<String, _>("themes")?).unwrap_or_default(),
        hazard: row.try_get("hazard")?,
        representative: row.try_get::<i64, _>("representative")? != 0,
    })
}

/// An event in a case's record.
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub actor: String,
    pub detail: serde_json::Value,
}

/// A deadline as stored.
#[derive(Debug, Clone, Serialize)]
pub struct DeadlineRow {
    pub id: i64,
    pub kind: String,
    pub due_at: DateTime<Utc>,
    pub rule: String,
    pub status: String,
}

/// A message in or out, without its raw bytes.
#[derive(Debug, Clone, Serialize)]
pub struct MessageRow {
    pub id: i64,
    pub direction: String,
    pub message_id: String,
    pub sha256: String,
    pub received_at: DateTime<Utc>,
    pub from_address: Option<String>,
    pub subject: String,
    pub classification: Option<String>,
    pub size: i64,
    pub attachments: Vec<AttachmentRow>,
}

/// An attachment kept as evidence, without its bytes.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentRow {
    pub filename: Option<String>,
    pub content_type: String,
    pub sha256: String,
    pub size: i64,
}

/// A letter waiting in, or sent from, the outbox.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub case_id: Option<i64>,
    pub kind: String,
    pub message_id: String,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    pub in_reply_to: Option<String>,
    pub references: Option<String>,
    pub status: String,
    pub attempts: i64,
}

const OUTBOX_COLUMNS: &str =
    "id, case_id, kind, message_id, to_address, subject, body, in_reply_to, refs, status, attempts";

fn outbox_from_row(row: &AnyRow) -> Result<OutboxRow, sqlx::Error> {
    Ok(OutboxRow {
        id: row.try_get("id")?,
        case_id: row.try_get("case_id")?,
        kind: row.try_get("kind")?,
        message_id: row.try_get("message_id")?,
        to_address: row.try_get("to_address")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        in_reply_to: row.try_get("in_reply_to")?,
        references: row.try_get("refs")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
    })
}

/// Everything on record about one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: CaseRow,
    pub deadlines: Vec<DeadlineRow>,
    pub events: Vec<EventRow>,
    pub messages: Vec<MessageRow>,
    pub letters: Vec<OutboxRow>,
}

/// An incoming message to record.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub raw: &'a [u8],
    pub sha256: &'a str,
    pub message_id: &'a str,
    pub mailbox: Option<&'a str>,
    pub uidvalidity: Option<u32>,
    pub uid: Option<u32>,
    pub received_at: DateTime<Utc>,
    pub from_address: Option<&'a str>,
    pub subject: &'a str,
    pub classification: &'a str,
    pub reasons: &'a str,
}

/// A new case to open.
#[derive(Debug, Clone)]
pub struct NewCase<'a> {
    pub kind: &'a str,
    pub stage: Option<&'a str>,
    pub customer_address: Option<&'a str>,
    pub customer_name: Option<&'a str>,
    pub subject: &'a str,
    pub received_at: DateTime<Utc>,
    pub attention_reason: Option<&'a str>,
    pub service_area: Option<&'a str>,
    pub owner: Option<&'a str>,
    pub themes: &'a [String],
    pub hazard: Option<&'a str>,
    pub representative: bool,
}

/// A letter to queue.
#[derive(Debug, Clone)]
pub struct NewLetter {
    pub case_id: Option<i64>,
    pub kind: String,
    pub dedupe_key: String,
    pub message_id: String,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    pub in_reply_to: Option<String>,
    pub references: Option<String>,
}

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://...`). A new SQLite file is created 0600.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let mut url = url.to_string();
        if backend == Backend::Sqlite {
            let path = sqlite_path(&url);
            if path != ":memory:" {
                prepare_sqlite_file(Path::new(&path))?;
            }
            if !url.contains('?') {
                url.push_str("?mode=rwc");
            }
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        Ok(Store { pool, backend })
    }

    /// Applies the schema migrations for this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&self.pool).await?,
            Backend::Postgres => {
                sqlx::migrate!("migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for queries outside this module's helpers.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite, so writers queue instead of failing).
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    // ---- messages ----

    /// The row of a message already recorded with this Message-ID and content hash.
    pub async fn find_message(
        &self,
        message_id: &str,
        sha256: &str,
    ) -> Result<Option<(i64, Option<i64>)>, StoreError> {
        let row =
            sqlx::query("SELECT id, case_id FROM messages WHERE message_id = $1 AND sha256 = $2")
                .bind(message_id)
                .bind(sha256)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            Some(row) => Some((row.try_get("id")?, row.try_get("case_id")?)),
            None => None,
        })
    }

    /// Records an incoming message; `None` if the same Message-ID and content were recorded before.
    pub async fn insert_message(
        tx: &mut Tx,
        message: &NewMessage<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(
            "INSERT INTO messages (direction, message_id, sha256, raw, mailbox, uidvalidity, uid, received_at, from_address, subject, classification, reasons, created_at)
             VALUES ('in', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (message_id, sha256) DO NOTHING RETURNING id",
        )
        .bind(message.message_id)
        .bind(message.sha256)
        .bind(message.raw.to_vec())
        .bind(message.mailbox)
        .bind(message.uidvalidity.map(i64::from))
        .bind(message.uid.map(i64::from))
        .bind(ts(message.received_at))
        .bind(message.from_address)
        .bind(message.subject)
        .bind(message.classification)
        .bind(message.reasons)
        .bind(ts(now))
        .fetch_optional(&mut **tx)
        .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("id")?),
            None => None,
        })
    }

    /// Links a recorded message to its case.
    pub async fn link_message(
        tx: &mut Tx,
        message_row: i64,
        case_id: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE messages SET case_id = $1 WHERE id = $2")
            .bind(case_id)
            .bind(message_row)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Keeps an attachment as evidence.
    pub async fn insert_attachment(
        tx: &mut Tx,
        message_row: i64,
        filename: Option<&str>,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO attachments (message_row, filename, content_type, sha256, bytes) VALUES ($1, $2, $3, $4, $5)")
            .bind(message_row)
            .bind(filename)
            .bind(content_type)
            .bind(crate::mail::content_hash(bytes))
            .bind(bytes.to_vec())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Records a letter we sent, with the exact bytes that went out.
    pub async fn insert_sent_message(
        &self,
        letter: &OutboxRow,
        raw: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO messages (case_id, direction, message_id, sha256, raw, received_at, from_address, subject, classification, reasons, created_at)
             VALUES ($1, 'out', $2, $3, $4, $5, NULL, $6, $7, $8, $5)
             ON CONFLICT (message_id, sha256) DO NOTHING",
        )
        .bind(letter.case_id)
        .bind(&letter.message_id)
        .bind(crate::mail::content_hash(raw))
        .bind(raw.to_vec())
        .bind(ts(now))
        .bind(&letter.subject)
        .bind(&letter.kind)
        .bind(&letter.to_address)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The case whose mail, in or out, has one of these Message-IDs.
    pub async fn find_case_by_message_ids(
        &self,
        ids: &[&str],
    ) -> Result<Option<CaseRow>, StoreError> {
        for id in ids {
            let row = sqlx::query(&format!(
                "SELECT {CASE_COLUMNS} FROM cases WHERE id = (
                    SELECT case_id FROM messages WHERE message_id = $1 AND case_id IS NOT NULL
                    UNION ALL SELECT case_id FROM outbox WHERE message_id = $1 AND case_id IS NOT NULL
                    LIMIT 1)"
            ))
            .bind(*id)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                return Ok(Some(case_from_row(&row)?));
            }
        }
        Ok(None)
    }

    /// The letter of ours with this Message-ID.
    pub async fn find_letter_by_message_id(
        &self,
        message_id: &str,
    ) -> Result<Option<OutboxRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE message_id = $1"
        ))
        .bind(message_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(outbox_from_row).transpose()?)
    }

    // ---- cases ----

    /// Allocates the next case reference for `year`: `PREFIX-YYYY-NNNNNN`.
    pub async fn next_reference(
        tx: &mut Tx,
        prefix: &str,
        year: i32,
    ) -> Result<String, StoreError> {
        sqlx::query("INSERT INTO reference_counters (year, last_value) VALUES ($1, 0) ON CONFLICT (year) DO NOTHING")
            .bind(i64::from(year))
            .execute(&mut **tx)
            .await?;
        let row = sqlx::query("UPDATE reference_counters SET last_value = last_value + 1 WHERE year = $1 RETURNING last_value")
            .bind(i64::from(year))
            .fetch_one(&mut **tx)
            .await?;
        let n: i64 = row.try_get("last_value")?;
        Ok(format!("{prefix}-{year}-{n:06}"))
    }

    /// Opens a case and returns its id.
    pub async fn insert_case(
        tx: &mut Tx,
        reference: &str,
        case: &NewCase<'_>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO cases (reference, kind, stage, status, customer_address, customer_name, subject, received_at, needs_attention, attention_reason, service_area, owner, created_at, themes, hazard, representative)
             VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
        )
        .bind(reference)
        .bind(case.kind)
        .bind(case.stage)
        .bind(case.customer_address)
        .bind(case.customer_name)
        .bind(case.subject)
        .bind(ts(case.received_at))
        .bind(i64::from(case.attention_reason.is_some()))
        .bind(case.attention_reason)
        .bind(case.service_area)
        .bind(case.owner)
        .bind(ts(now))
        .bind(serde_json::to_string(case.themes).unwrap_or_else(|_| "[]".into()))
        .bind(case.hazard)
        .bind(i64::from(case.representative))
        .fetch_one(&mut **tx)
        .await?;
        Ok(row.try_get("id")?)
    }

    /// Flags a case for a person, with the reason, and records that as an event.
    pub async fn flag_case(
        tx: &mut Tx,
        case_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE cases SET needs_attention = 1, attention_reason = $1 WHERE id = $2")
            .bind(reason)
            .bind(case_id)
            .execute(&mut **tx)
            .await?;
        Self::insert_event(
            tx,
            case_id,
            now,
            "needs_attention",
            "redress",
            &serde_json::json!({ "reason": reason }),
        )
        .await
    }

    /// Appends an event to a case's record.
    pub async fn insert_event(
        tx: &mut Tx,
        case_id: i64,
        at: DateTime<Utc>,
        kind: &str,
        actor: &str,
        detail: &serde_json::Value,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO events (case_id, at, kind, actor, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(case_id)
        .bind(ts(at))
        .bind(kind)
        .bind(actor)
        .bind(detail.to_string())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Appends an event outside a larger transaction.
    pub async fn append_event(
        &self,
        case_id: i64,
        at: DateTime<Utc>,
        kind: &str,
        actor: &str,
        detail: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        Self::insert_event(&mut tx, case_id, at, kind, actor, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a deadline on a case.
    pub async fn insert_deadline(
        tx: &mut Tx,
        case_id: i64,
        deadline: &Deadline,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO deadlines (case_id, kind, due_at, rule, status, created_at) VALUES ($1, $2, $3, $4, 'open', $5)")
            .bind(case_id)
            .bind(deadline.kind.as_str())
            .bind(ts(deadline.due_at))
            .bind(&deadline.rule)
            .bind(ts(now))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Closes the open deadline of `kind` on a case with `status` (`met` or `superseded`).
    /// Returns how many were closed.
    pub async fn close_deadline(
        tx: &mut Tx,
        case_id: i64,
        kind: DeadlineKind,
        status: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE deadlines SET status = $1, closed_at = $2 WHERE case_id = $3 AND kind = $4 AND status = 'open'")
            .bind(status)
            .bind(ts(now))
            .bind(case_id)
            .bind(kind.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected())
    }

    /// The case with this reference.
    pub async fn case_by_reference(&self, reference: &str) -> Result<Option<CaseRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE reference = $1"
        ))
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(case_from_row).transpose()?)
    }

    /// Cases, newest first.
    pub async fn list_cases(&self, limit: i64) -> Result<Vec<CaseRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM cases ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(case_from_row).collect::<Result<_, _>>()?)
    }

    /// The open deadlines of a case.
    pub async fn deadlines_of(&self, case_id: i64) -> Result<Vec<DeadlineRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, due_at, rule, status FROM deadlines WHERE case_id = $1 ORDER BY id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeadlineRow {
                    id: row.try_get("id")?,
                    kind: row.try_get("kind")?,
                    due_at: from_ts(row.try_get("due_at")?),
                    rule: row.try_get("rule")?,
                    status: row.try_get("status")?,
                })
            })
            .collect()
    }

    /// Everything on record about a case.
    pub async fn case_detail(&self, reference: &str) -> Result<CaseDetail, StoreError> {
        let case = self
            .case_by_reference(reference)
            .await?
            .ok_or_else(|| StoreError::NoSuchCase(reference.to_string()))?;
        let deadlines = self.deadlines_of(case.id).await?;
        let events = sqlx::query(
            "SELECT at, kind, actor, detail FROM events WHERE case_id = $1 ORDER BY id",
        )
        .bind(case.id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let detail: String = row.try_get("detail")?;
            Ok(EventRow {
                at: from_ts(row.try_get("at")?),
                kind: row.try_get("kind")?,
                actor: row.try_get("actor")?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let message_rows = sqlx::query(
            "SELECT id, direction, message_id, sha256, received_at, from_address, subject, classification, LENGTH(raw) AS size
             FROM messages WHERE case_id = $1 ORDER BY id",
        )
        .bind(case.id)
        .fetch_all(&self.pool)
        .await?;
        let mut messages = Vec::new();
        for row in &message_rows {
            let id: i64 = row.try_get("id")?;
            let attachments = sqlx::query(
                "SELECT filename, content_type, sha256, LENGTH(bytes) AS size FROM attachments WHERE message_row = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|a| {
                Ok(AttachmentRow {
                    filename: a.try_get("filename")?,
                    content_type: a.try_get("content_type")?,
                    sha256: a.try_get("sha256")?,
                    size: a.try_get::<i32, _>("size").map(i64::from).or_else(|_| a.try_get("size"))?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
            messages.push(MessageRow {
                id,
                direction: row.try_get("direction")?,
                message_id: row.try_get("message_id")?,
                sha256: row.try_get("sha256")?,
                received_at: from_ts(row.try_get("received_at")?),
                from_address: row.try_get("from_address")?,
                subject: row.try_get("subject")?,
                classification: row.try_get("classification")?,
                size: row
                    .try_get::<i32, _>("size")
                    .map(i64::from)
                    .or_else(|_| row.try_get("size"))?,
                attachments,
            });
        }
        let letters = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE case_id = $1 ORDER BY id"
        ))
        .bind(case.id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(outbox_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        Ok(CaseDetail {
            case,
            deadlines,
            events,
            messages,
            letters,
        })
    }

    /// The raw bytes of a recorded message.
    pub async fn raw_message(&self, message_row: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT raw FROM messages WHERE id = $1")
            .bind(message_row)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("raw")?),
            None => None,
        })
    }

    // ---- outbox ----

    /// Queues a letter; a second letter with the same dedupe key is ignored. True when queued.
    pub async fn queue_letter(
        tx: &mut Tx,
        letter: &NewLetter,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO outbox (case_id, kind, dedupe_key, message_id, to_address, subject, body, in_reply_to, refs, status, attempts, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, $10)
             ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(letter.case_id)
        .bind(&letter.kind)
        .bind(&letter.dedupe_key)
        .bind(&letter.message_id)
        .bind(&letter.to_address)
        .bind(&letter.subject)
        .bind(&letter.body)
        .bind(&letter.in_reply_to)
        .bind(&letter.references)
        .bind(ts(now))
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Claims one due letter for sending, leased until `lease_until` so a crashed sender's claim expires.
    pub async fn claim_letter(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<OutboxRow>, StoreError> {
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        };
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE outbox SET claimed_until = $1, attempts = attempts + 1
             WHERE id = (SELECT id FROM outbox
                         WHERE status = 'pending' AND next_attempt_at <= $2
                           AND (claimed_until IS NULL OR claimed_until <= $2)
                         ORDER BY next_attempt_at, id LIMIT 1 {lock})
             RETURNING {OUTBOX_COLUMNS}"
        ))
        .bind(ts(lease_until))
        .bind(ts(now))
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.as_ref().map(outbox_from_row).transpose()?)
    }

    /// Marks a letter sent (only after the server accepted it).
    pub async fn mark_letter_sent(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $1, claimed_until = NULL, last_error = NULL WHERE id = $2")
            .bind(ts(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a failed attempt: retried at `retry_at`, or given up (`failed`) when `retry_at` is `None`.
    pub async fn mark_letter_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let (status, next) = match retry_at {
            Some(t) => ("pending", ts(t)),
            None => ("failed", i64::MAX),
        };
        sqlx::query("UPDATE outbox SET status = $1, next_attempt_at = $2, claimed_until = NULL, last_error = $3 WHERE id = $4")
            .bind(status)
            .bind(next)
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks a sent letter undelivered (a bounce came back for it).
    pub async fn mark_letter_undelivered(&self, id: i64, reason: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET status = 'undelivered', last_error = $1 WHERE id = $2")
            .bind(reason)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// When the next pending letter is due, if any.
    pub async fn next_letter_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row =
            sqlx::query("SELECT MIN(next_attempt_at) AS due FROM outbox WHERE status = 'pending'")
                .fetch_one(&self.pool)
                .await?;
        let due: Option<i64> = row.try_get("due")?;
        Ok(due.map(from_ts))
    }

    /// Letters by status, for tests and `check-config`.
    pub async fn count_letters(&self, status: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE status = $1")
            .bind(status)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    // ---- restrictions ----

    /// The single point of contact for a sender restricted on `day`, if any.
    pub async fn restriction_for(
        &self,
        address: &str,
        day: chrono::NaiveDate,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT contact FROM restrictions WHERE LOWER(address) = LOWER($1) AND until_day >= $2 ORDER BY created_at DESC LIMIT 1")
            .bind(address)
            .bind(day.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("contact")?),
            None => None,
        })
    }

    /// Restricts a sender until `until` (inclusive), with a single point of contact.
    pub async fn add_restriction(
        &self,
        address: &str,
        until: chrono::NaiveDate,
        contact: &str,
        reason: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO restrictions (address, until_day, contact, reason, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(address.to_ascii_lowercase())
            .bind(until.to_string())
            .bind(contact)
            .bind(reason)
            .bind(by)
            .bind(ts(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- mailbox state ----

    /// The UIDVALIDITY and highest UID recorded for a mailbox.
    pub async fn mailbox_state(&self, mailbox: &str) -> Result<Option<(u32, u32)>, StoreError> {
        let row = sqlx::query("SELECT uidvalidity, last_uid FROM mailbox_state WHERE mailbox = $1")
            .bind(mailbox)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => {
                let validity: i64 = row.try_get("uidvalidity")?;
                let last: i64 = row.try_get("last_uid")?;
                Some((
                    u32::try_from(validity).unwrap_or_default(),
                    u32::try_from(last).unwrap_or_default(),
                ))
            }
            None => None,
        })
    }

    /// Records the UIDVALIDITY and highest UID handled for a mailbox.
    pub async fn set_mailbox_state(
        &self,
        mailbox: &str,
        uidvalidity: u32,
        last_uid: u32,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO mailbox_state (mailbox, uidvalidity, last_uid) VALUES ($1, $2, $3)
             ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid",
        )
        .bind(mailbox)
        .bind(i64::from(uidvalidity))
        .bind(i64::from(last_uid))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn sqlite_path(url: &str) -> String {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    rest.split('?').next().unwrap_or(rest).to_string()
}

/// Creates the SQLite file (and its folder) readable by its owner only.
fn prepare_sqlite_file(path: &Path) -> Result<(), StoreError> {
    let err = |error| StoreError::File {
        path: path.display().to_string(),
        error,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    if !path.exists() {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(err)?;
    }
    Ok(())
}
