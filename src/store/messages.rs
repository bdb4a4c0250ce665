//! Mail in and out: the raw bytes, attachments, and finding a case by the Message-IDs it holds.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use sqlx::Row;

use super::chunks::{self, Owner};
use super::rows::{
    AttachmentRow, CASE_COLUMNS, CaseRow, MessageRow, NewMessage, OutboxRow, case_from_row, size_of,
};
use super::{Store, StoreError, Tx, from_ts, ts};
use crate::intake::mail::content_hash;

impl Store {
    /// The row of a message already recorded with this Message-ID and the same bytes or the same
    /// identity (bytes less trace headers), and its case.
    pub async fn find_message(
        &self,
        message_id: &str,
        sha256: &str,
        identity: &str,
    ) -> Result<Option<(i64, Option<i64>)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, case_id FROM messages WHERE message_id = $1 AND (sha256 = $2 OR identity = $3) ORDER BY id LIMIT 1",
        )
        .bind(message_id)
        .bind(sha256)
        .bind(identity)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(row) => Some((row.try_get("id")?, row.try_get("case_id")?)),
            None => None,
        })
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

    /// The raw bytes of a recorded message.
    pub async fn raw_message(&self, message_row: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query("SELECT raw FROM messages WHERE id = $1")
            .bind(message_row)
            .fetch_optional(&mut *conn)
            .await?;
        Ok(match row {
            Some(row) => Some(
                chunks::read_whole(&mut conn, Owner::Message, message_row, row.try_get("raw")?)
                    .await?,
            ),
            None => None,
        })
    }
}

impl Tx {
    /// Records an incoming message; `None` if the same Message-ID and content were recorded before.
    pub async fn insert_message(
        &mut self,
        message: &NewMessage<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(
            "INSERT INTO messages (direction, message_id, sha256, raw, mailbox, uidvalidity, uid, received_at, from_address, subject, classification, reasons, created_at, identity)
             VALUES ('in', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (message_id, identity) DO NOTHING RETURNING id",
        )
        .bind(message.message_id)
        .bind(message.sha256)
        .bind(chunks::head(message.raw))
        .bind(message.mailbox)
        .bind(message.uidvalidity.map(i64::from))
        .bind(message.uid.map(i64::from))
        .bind(ts(message.received_at))
        .bind(message.from_address)
        .bind(message.subject)
        .bind(message.classification)
        .bind(message.reasons)
        .bind(ts(now))
        .bind(message.identity)
        .fetch_optional(self.conn())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: i64 = row.try_get("id")?;
        chunks::write_rest(self.conn(), Owner::Message, id, message.raw).await?;
        Ok(Some(id))
    }

    /// Links a recorded message to its case.
    pub async fn link_message(&mut self, message_row: i64, case_id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE messages SET case_id = $1 WHERE id = $2")
            .bind(case_id)
            .bind(message_row)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Keeps an attachment as evidence.
    pub async fn insert_attachment(
        &mut self,
        message_row: i64,
        filename: Option<&str>,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let row = sqlx::query("INSERT INTO attachments (message_row, filename, content_type, sha256, bytes) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(message_row)
            .bind(filename)
            .bind(content_type)
            .bind(content_hash(bytes))
            .bind(chunks::head(bytes))
            .fetch_one(self.conn())
            .await?;
        let id: i64 = row.try_get("id")?;
        chunks::write_rest(self.conn(), Owner::Attachment, id, bytes).await
    }

    /// Records a letter we sent, with the exact bytes that went out.
    pub async fn insert_sent_message(
        &mut self,
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
        .bind(content_hash(raw))
        .bind(raw)
        .bind(ts(now))
        .bind(&letter.subject)
        .bind(&letter.kind)
        .bind(&letter.to_address)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

/// The Message-ID of the customer's first mail on a case, to thread letters to.
pub(super) async fn first_message_id(
    conn: &mut AnyConnection,
    case_id: i64,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT message_id FROM messages WHERE case_id = $1 AND direction = 'in' AND message_id <> '' ORDER BY id LIMIT 1")
        .bind(case_id)
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        Some(row) => Some(row.try_get("message_id")?),
        None => None,
    })
}

/// Every message on a case, in and out, with its attachments (without bytes).
pub(super) async fn messages_of(
    conn: &mut AnyConnection,
    case_id: i64,
) -> Result<Vec<MessageRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT id, direction, message_id, sha256, received_at, from_address, subject, classification, {} AS size
         FROM messages WHERE case_id = $1 ORDER BY id",
        Owner::Message.size_sql("raw", "messages.id")
    ))
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut messages = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        messages.push(MessageRow {
            id,
            direction: row.try_get("direction")?,
            message_id: row.try_get("message_id")?,
            sha256: row.try_get("sha256")?,
            received_at: from_ts(row.try_get("received_at")?),
            from_address: row.try_get("from_address")?,
            subject: row.try_get("subject")?,
            classification: row.try_get("classification")?,
            size: size_of(row)?,
            attachments: attachments_of(conn, id).await?,
        });
    }
    Ok(messages)
}

async fn attachments_of(
    conn: &mut AnyConnection,
    message_row: i64,
) -> Result<Vec<AttachmentRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT filename, content_type, sha256, {} AS size FROM attachments WHERE message_row = $1 ORDER BY id",
        Owner::Attachment.size_sql("bytes", "attachments.id")
    ))
    .bind(message_row)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|a| {
            Ok(AttachmentRow {
                filename: a.try_get("filename")?,
                content_type: a.try_get("content_type")?,
                sha256: a.try_get("sha256")?,
                size: size_of(a)?,
            })
        })
        .collect()
}
