//! What the reminder scheduler reads and claims: open deadlines coming due, reminders already
//! sent, and each owner's open cases for the daily digest.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::Row;

use super::rows::typed;
use super::{Store, StoreError, Tx, from_ts, ts};
use crate::case::deadlines::DeadlineKind;
use crate::case::model::Stage;

/// An open deadline with what a reminder says about its case.
#[derive(Debug, Clone, Serialize)]
pub struct DueDeadline {
    pub id: i64,
    pub case_id: i64,
    pub kind: DeadlineKind,
    pub due_at: DateTime<Utc>,
    pub rule: String,
    pub reference: String,
    pub stage: Option<Stage>,
    pub customer_name: Option<String>,
    pub customer_address: Option<String>,
    pub postal_address: Option<String>,
    pub subject: String,
    pub owner: Option<String>,
    pub representative: bool,
    pub adjustments: Option<String>,
    pub authority: Option<String>,
}

/// One open deadline of an open case, for an owner's digest.
#[derive(Debug, Clone)]
pub struct DigestRow {
    pub owner: String,
    pub reference: String,
    pub stage: Option<Stage>,
    pub customer_name: Option<String>,
    pub kind: DeadlineKind,
    pub due_at: DateTime<Utc>,
}

fn stage_of(value: Option<String>) -> Result<Option<Stage>, StoreError> {
    value
        .map(|s| typed("cases.stage", s, Stage::parse))
        .transpose()
}

impl Store {
    /// Open deadlines due by `horizon`, soonest first: of open cases, plus the outstanding actions
    /// promised in a response and Awaab's Law's clocks (they outlive the complaint).
    pub async fn open_deadlines_due_by(
        &self,
        horizon: DateTime<Utc>,
    ) -> Result<Vec<DueDeadline>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, d.case_id, d.kind, d.due_at, d.rule, c.reference, c.stage, c.customer_name, c.customer_address, c.postal_address, c.subject, c.owner, c.representative, c.adjustments, c.authority
             FROM deadlines d JOIN cases c ON c.id = d.case_id
             WHERE d.status = 'open' AND (c.status = 'open' OR d.kind = 'outstanding_action' OR d.kind LIKE 'awaab%') AND d.due_at <= $1
             ORDER BY d.due_at, d.id",
        )
        .bind(ts(horizon))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DueDeadline {
                    id: row.try_get("id")?,
                    case_id: row.try_get("case_id")?,
                    kind: typed("deadlines.kind", row.try_get("kind")?, DeadlineKind::parse)?,
                    due_at: from_ts(row.try_get("due_at")?),
                    rule: row.try_get("rule")?,
                    reference: row.try_get("reference")?,
                    stage: stage_of(row.try_get("stage")?)?,
                    customer_name: row.try_get("customer_name")?,
                    customer_address: row.try_get("customer_address")?,
                    postal_address: row.try_get("postal_address")?,
                    subject: row.try_get("subject")?,
                    owner: row.try_get("owner")?,
                    representative: row.try_get::<i64, _>("representative")? != 0,
                    adjustments: row.try_get("adjustments")?,
                    authority: row.try_get("authority")?,
                })
            })
            .collect()
    }

    /// Reminders already recorded for deadlines from `lowest_deadline` on: (deadline, kind, day).
    pub async fn reminders_sent(
        &self,
        lowest_deadline: i64,
    ) -> Result<HashSet<(i64, String, String)>, StoreError> {
        let rows =
            sqlx::query("SELECT deadline_id, kind, day FROM reminders WHERE deadline_id >= $1")
                .bind(lowest_deadline)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("deadline_id")?,
                    row.try_get("kind")?,
                    row.try_get("day")?,
                ))
            })
            .collect()
    }

    /// Everyone who owns an open case.
    pub async fn open_case_owners(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT owner FROM cases WHERE status = 'open' AND owner IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| row.try_get("owner"))
            .collect::<Result<_, _>>()?)
    }

    /// The open deadlines of open, owned cases, by owner, reference and due time.
    pub async fn digest_rows(&self) -> Result<Vec<DigestRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.reference, c.stage, c.customer_name, c.owner, d.kind, d.due_at
             FROM cases c JOIN deadlines d ON d.case_id = c.id
             WHERE c.status = 'open' AND c.owner IS NOT NULL AND d.status = 'open'
             ORDER BY c.owner, c.reference, d.due_at",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DigestRow {
                    owner: row.try_get("owner")?,
                    reference: row.try_get("reference")?,
                    stage: stage_of(row.try_get("stage")?)?,
                    customer_name: row.try_get("customer_name")?,
                    kind: typed("deadlines.kind", row.try_get("kind")?, DeadlineKind::parse)?,
                    due_at: from_ts(row.try_get("due_at")?),
                })
            })
            .collect()
    }
}

impl Tx {
    /// Records that the reminder of `kind` for `day` is being sent; false when it already was
    /// (by this instance or another).
    pub async fn claim_reminder(
        &mut self,
        deadline: &DueDeadline,
        kind: &str,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let recorded = sqlx::query(
            "INSERT INTO reminders (deadline_id, kind, day, case_id, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (deadline_id, kind, day) DO NOTHING",
        )
        .bind(deadline.id)
        .bind(kind)
        .bind(day.to_string())
        .bind(deadline.case_id)
        .bind(ts(now))
        .execute(self.conn())
        .await?;
        Ok(recorded.rows_affected() == 1)
    }
}
