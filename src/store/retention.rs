//! Retention, legal hold, subject access and erasure, and backups: the only place rows are
//! removed or events rewritten, always in one audited purge transaction.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::chunks;
use super::{Backend, Store, StoreError, Tx, ts};
use crate::case::model::{Event, Source};

/// A case whose record may be purged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeCandidate {
    pub id: i64,
    pub reference: String,
    pub received_at: DateTime<Utc>,
}

/// What one purge removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    pub messages: i64,
    pub letters: i64,
    /// Message-IDs of the mails removed, to expunge from the processed folder.
    pub message_ids: Vec<String>,
}

impl Tx {
    /// Holds a case from purge (`Some(reason)`) or releases it (`None`).
    pub async fn set_hold(&mut self, case_id: i64, reason: Option<&str>) -> Result<(), StoreError> {
        sqlx::query("UPDATE cases SET held_reason = $1 WHERE id = $2")
            .bind(reason)
            .bind(case_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

impl Store {
    /// Closed or refused cases, not held, not yet purged, whose last activity was before `before`.
    pub async fn purge_candidates(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<PurgeCandidate>, StoreError> {
        let rows = sqlx::query("SELECT c.id, c.reference, c.received_at FROM cases c WHERE c.status <> 'open' AND c.held_reason IS NULL AND c.purged_at IS NULL AND COALESCE((SELECT MAX(e.at) FROM events e WHERE e.case_id = c.id), c.received_at) < $1 ORDER BY c.id")
            .bind(ts(before))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PurgeCandidate {
                    id: r.try_get("id")?,
                    reference: r.try_get("reference")?,
                    received_at: super::from_ts(r.try_get("received_at")?),
                })
            })
            .collect()
    }

    /// The references of every case whose customer address is exactly `address`.
    pub async fn cases_of_address(&self, address: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT reference FROM cases WHERE LOWER(customer_address) = LOWER($1) ORDER BY id",
        )
        .bind(address.trim())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("reference")?)).collect()
    }

    /// The references of every case whose customer's name is exactly `name` (any case).
    pub async fn cases_of_name(&self, name: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT reference FROM cases WHERE LOWER(customer_name) = LOWER($1) ORDER BY id",
        )
        .bind(name.trim())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("reference")?)).collect()
    }

    /// Why a case is held from purge, if it is.
    pub async fn hold_of(&self, reference: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT held_reason FROM cases WHERE reference = $1")
            .bind(reference)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => row.try_get("held_reason")?,
            None => None,
        })
    }

    /// Purges one case in one transaction (`keep_source`: who complained, recorded first when
    /// the record has no handler's flag): its mails, attachments, letters and resident links
    /// go, its personal fields and every event's free text are blanked (`redact`), its deadlines'
    /// rules too; the purge is logged under `rule` and `by` without personal data.
    pub async fn purge_case(
        &self,
        case: &PurgeCandidate,
        rule: &str,
        by: &str,
        redact: impl Fn(&serde_json::Value) -> serde_json::Value,
        keep_source: Option<Source>,
        now: DateTime<Utc>,
    ) -> Result<Purged, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO purge_permits (started_at) VALUES ($1)")
            .bind(ts(now))
            .execute(tx.conn())
            .await?;
        if let Some(source) = keep_source {
            // Who complained, decided from the address about to go, stays on record, dated
            // when the complaint came so no later period counts it.
            let at = case.received_at;
            tx.insert_event(
                case.id,
                at,
                "redress (retention)",
                &Event::SourceSet { source },
            )
            .await?;
        }
        let purged = remove_records(&mut tx, case.id).await?;
        redact_events(&mut tx, case.id, &redact).await?;
        blank_case(&mut tx, case.id, now).await?;
        sqlx::query("INSERT INTO purge_log (at, reference, rule, by_account, messages, letters) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(ts(now))
            .bind(&case.reference)
            .bind(rule)
            .bind(by)
            .bind(purged.messages)
            .bind(purged.letters)
            .execute(tx.conn())
            .await?;
        sqlx::query("DELETE FROM purge_permits")
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(purged)
    }

    /// Copies the whole database to `path` as a consistent SQLite file (`VACUUM INTO`); `false`
    /// on PostgreSQL, whose own pg_dump is the tool.
    pub async fn backup_to(&self, path: &str) -> Result<bool, StoreError> {
        if self.backend != Backend::Sqlite {
            return Ok(false);
        }
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(&self.pool)
            .await?;
        Ok(true)
    }
}

async fn remove_records(tx: &mut Tx, case_id: i64) -> Result<Purged, StoreError> {
    let ids = sqlx::query("SELECT message_id FROM messages WHERE case_id = $1 AND direction = 'in' AND message_id <> ''")
        .bind(case_id)
        .fetch_all(tx.conn())
        .await?
        .iter()
        .map(|r| r.try_get("message_id"))
        .collect::<Result<Vec<String>, _>>()?;
    chunks::remove_for_case(tx.conn(), case_id).await?;
    sqlx::query(
        "DELETE FROM attachments WHERE message_row IN (SELECT id FROM messages WHERE case_id = $1)",
    )
    .bind(case_id)
    .execute(tx.conn())
    .await?;
    let messages = sqlx::query("DELETE FROM messages WHERE case_id = $1")
        .bind(case_id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    let letters = sqlx::query("DELETE FROM outbox WHERE case_id = $1")
        .bind(case_id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM resident_links WHERE case_id = $1")
        .bind(case_id)
        .execute(tx.conn())
        .await?;
    sqlx::query("UPDATE deadlines SET rule = '[purged]' WHERE case_id = $1")
        .bind(case_id)
        .execute(tx.conn())
        .await?;
    Ok(Purged {
        messages: i64::try_from(messages).unwrap_or(i64::MAX),
        letters: i64::try_from(letters).unwrap_or(i64::MAX),
        message_ids: ids,
    })
}

async fn redact_events(
    tx: &mut Tx,
    case_id: i64,
    redact: &impl Fn(&serde_json::Value) -> serde_json::Value,
) -> Result<(), StoreError> {
    let rows = sqlx::query("SELECT id, detail FROM events WHERE case_id = $1")
        .bind(case_id)
        .fetch_all(tx.conn())
        .await?;
    for row in rows {
        let id: i64 = row.try_get("id")?;
        let detail: String = row.try_get("detail")?;
        let value = serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null);
        let redacted = redact(&value).to_string();
        sqlx::query("UPDATE events SET detail = $1 WHERE id = $2")
            .bind(redacted)
            .bind(id)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

async fn blank_case(tx: &mut Tx, case_id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
    sqlx::query("UPDATE cases SET customer_address = NULL, customer_name = NULL, postal_address = NULL, subject = '[purged]', attention_reason = NULL, adjustments = NULL, authority = NULL, owner = NULL, purged_at = $1 WHERE id = $2")
        .bind(ts(now))
        .bind(case_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}
