//! The outbox: letters queued once per dedupe key, claimed by one sender at a time under a lease,
//! and marked sent only after the server accepted them.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use sqlx::Row;

use super::rows::{NewLetter, OUTBOX_COLUMNS, OutboxRow, outbox_from_row};
use super::{Backend, Store, StoreError, Tx, from_ts, ts};

impl Store {
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
        .fetch_optional(tx.conn())
        .await?;
        tx.commit().await?;
        row.as_ref().map(outbox_from_row).transpose()
    }

    /// Marks a letter sent the moment the server took it, by itself and at once: the smaller
    /// the time between the server's "250 OK" and this mark, the fewer letters a crash sends
    /// twice. Its copy and events are recorded next ([`Tx::mark_letter_recorded`]).
    pub async fn mark_letter_accepted(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _turn = self.urgent_write_turn().await;
        sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $1, claimed_until = NULL, last_error = NULL, recorded = 0 WHERE id = $2")
            .bind(ts(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Letters the server took whose recording a crash cut short, with when they were sent.
    pub async fn letters_sent_unrecorded(
        &self,
    ) -> Result<Vec<(OutboxRow, DateTime<Utc>)>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS}, sent_at FROM outbox WHERE recorded = 0 AND status = 'sent' ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((outbox_from_row(row)?, from_ts(row.try_get("sent_at")?))))
            .collect()
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

    /// Makes every letter waiting for a retry due now: the server answered again, so nothing
    /// waits out its backoff. Returns how many were released.
    pub async fn release_waiting_letters(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET next_attempt_at = $1 WHERE status = 'pending' AND attempts > 0 AND next_attempt_at > $1",
        )
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Letters waiting to be sent and letters given up, and when the oldest waiting was queued.
    pub async fn outbox_health(&self) -> Result<(i64, i64, Option<DateTime<Utc>>), StoreError> {
        let row = sqlx::query(
            "SELECT
               (SELECT COUNT(*) FROM outbox WHERE status = 'pending') AS waiting,
               (SELECT COUNT(*) FROM outbox WHERE status = 'failed') AS failed,
               (SELECT MIN(created_at) FROM outbox WHERE status = 'pending') AS oldest",
        )
        .fetch_one(&self.pool)
        .await?;
        let oldest: Option<i64> = row.try_get("oldest")?;
        Ok((
            row.try_get("waiting")?,
            row.try_get("failed")?,
            oldest.map(from_ts),
        ))
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

    /// Letters not yet sent (waiting, being retried, given up or to post), oldest first.
    pub async fn unsent_letters(&self) -> Result<Vec<UnsentLetter>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.id, c.reference, o.kind, o.status, o.attempts, o.next_attempt_at, o.last_error
             FROM outbox o LEFT JOIN cases c ON c.id = o.case_id
             WHERE o.status IN ('pending', 'failed', 'to_post') ORDER BY o.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let next: i64 = row.try_get("next_attempt_at")?;
                Ok(UnsentLetter {
                    id: row.try_get("id")?,
                    reference: row.try_get("reference")?,
                    kind: row.try_get("kind")?,
                    status: row.try_get("status")?,
                    attempts: row.try_get("attempts")?,
                    next_attempt_at: (next < i64::MAX).then(|| from_ts(next)),
                    last_error: row.try_get("last_error")?,
                })
            })
            .collect()
    }

    /// How many letters have been queued to `address` since `since` (a loop guard).
    pub async fn letters_to_since(
        &self,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE LOWER(to_address) = LOWER($1) AND created_at >= $2")
            .bind(address)
            .bind(ts(since))
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Letters waiting to be printed and posted, oldest first.
    pub async fn letters_to_post(&self) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = 'to_post' ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_from_row).collect()
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
        row.as_ref().map(outbox_from_row).transpose()
    }

    /// Dedupe keys of letters of `kind` queued since `since` (the scheduler's cheap "already done" check).
    pub async fn letter_keys_since(
        &self,
        kind: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let rows =
            sqlx::query("SELECT dedupe_key FROM outbox WHERE kind = $1 AND created_at >= $2")
                .bind(kind)
                .bind(ts(since))
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get("dedupe_key"))
            .collect::<Result<_, _>>()?)
    }
}

impl Tx {
    /// Queues a letter; a second letter with the same dedupe key is ignored. True when queued.
    pub async fn queue_letter(
        &mut self,
        letter: &NewLetter,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO outbox (case_id, kind, dedupe_key, message_id, to_address, subject, body, in_reply_to, refs, status, attempts, next_attempt_at, created_at, html)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11, 0, $10, $10, $12)
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
        .bind(if letter.by_post { "to_post" } else { "pending" })
        .bind(&letter.html)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The letter's copy and events are on record (see [`Store::mark_letter_accepted`]).
    pub async fn mark_letter_recorded(&mut self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET recorded = 1 WHERE id = $1")
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Marks a letter sent (only after the server accepted it).
    pub async fn mark_letter_sent(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $1, claimed_until = NULL, last_error = NULL WHERE id = $2")
            .bind(ts(now))
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Marks a letter to post as posted; false when there is no such letter waiting.
    pub async fn mark_letter_posted(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<OutboxRow>, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE outbox SET status = 'posted', sent_at = $1 WHERE id = $2 AND status = 'to_post' RETURNING {OUTBOX_COLUMNS}"
        ))
        .bind(ts(now))
        .bind(id)
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(outbox_from_row).transpose()
    }

    /// Puts a waiting or given-up letter back in the queue, due now; `None` when there is no such
    /// unsent letter.
    pub async fn retry_letter(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<OutboxRow>, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE outbox SET status = 'pending', next_attempt_at = $1, claimed_until = NULL WHERE id = $2 AND status IN ('pending', 'failed') RETURNING {OUTBOX_COLUMNS}"
        ))
        .bind(ts(now))
        .bind(id)
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(outbox_from_row).transpose()
    }

    /// Cancels an unsent letter, with the reason; `None` when there is no such unsent letter.
    pub async fn cancel_letter(
        &mut self,
        id: i64,
        reason: &str,
    ) -> Result<Option<OutboxRow>, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE outbox SET status = 'cancelled', last_error = $1, claimed_until = NULL WHERE id = $2 AND status IN ('pending', 'failed', 'to_post') RETURNING {OUTBOX_COLUMNS}"
        ))
        .bind(reason)
        .bind(id)
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(outbox_from_row).transpose()
    }

    /// Marks a sent letter undelivered (a bounce came back for it).
    pub async fn mark_letter_undelivered(
        &mut self,
        id: i64,
        reason: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET status = 'undelivered', last_error = $1 WHERE id = $2")
            .bind(reason)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

/// Every letter on a case, in the order queued.
pub(super) async fn letters_of(
    conn: &mut AnyConnection,
    case_id: i64,
) -> Result<Vec<OutboxRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE case_id = $1 ORDER BY id"
    ))
    .bind(case_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(outbox_from_row).collect()
}

/// A letter not yet sent, as operations see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UnsentLetter {
    pub id: i64,
    pub reference: Option<String>,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    /// When it is next tried; `None` once given up.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}
