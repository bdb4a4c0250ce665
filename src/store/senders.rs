//! Who sends to us: restrictions under the unacceptable-behaviour policy, how far the watched
//! mailbox has been read (UIDVALIDITY and the last UID), and the mails that failed to record.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::{Store, StoreError, ts};

impl Store {
    /// The single point of contact for a sender restricted on `day`, if any.
    pub async fn restriction_for(
        &self,
        address: &str,
        day: NaiveDate,
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
        until: NaiveDate,
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

    /// Counts one more failed attempt to record a mail; returns how many there have been.
    pub async fn record_ingest_failure(
        &self,
        (mailbox, uidvalidity, uid): (&str, u32, u32),
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO ingest_failures (mailbox, uidvalidity, uid, attempts, last_error, updated_at) VALUES ($1, $2, $3, 1, $4, $5)
             ON CONFLICT (mailbox, uidvalidity, uid) DO UPDATE SET attempts = ingest_failures.attempts + 1, last_error = excluded.last_error, updated_at = excluded.updated_at
             RETURNING attempts",
        )
        .bind(mailbox)
        .bind(i64::from(uidvalidity))
        .bind(i64::from(uid))
        .bind(error)
        .bind(ts(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("attempts")?)
    }
}
