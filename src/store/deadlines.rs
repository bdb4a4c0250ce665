//! Deadlines: set, closed (met, superseded, closed with the case) and read.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use sqlx::Row;

use super::rows::{DEADLINE_COLUMNS, DeadlineRow, deadline_from_row};
use super::{Store, StoreError, Tx, ts};
use crate::case::deadlines::{Deadline, DeadlineKind};

/// How a deadline stopped being open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineEnd {
    /// What was due was done.
    Met,
    /// Replaced by a recomputed deadline of the same kind.
    Superseded,
    /// The case closed or was refused.
    Closed,
    /// What was due was never done, and no longer can be (an acknowledgement never sent before
    /// the response): it counts as late in every figure.
    Missed,
}

impl DeadlineEnd {
    fn as_str(self) -> &'static str {
        match self {
            DeadlineEnd::Met => "met",
            DeadlineEnd::Superseded => "superseded",
            DeadlineEnd::Closed => "closed",
            DeadlineEnd::Missed => "missed",
        }
    }
}

impl Store {
    /// Every deadline of a case, open or not, in the order set.
    pub async fn deadlines_of(&self, case_id: i64) -> Result<Vec<DeadlineRow>, StoreError> {
        deadlines_of(&mut *self.pool.acquire().await?, case_id).await
    }
}

impl Tx {
    /// Stores a deadline on a case.
    pub async fn insert_deadline(
        &mut self,
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
            .execute(self.conn())
            .await?;
        self.refresh_next_due(case_id).await
    }

    /// Closes the open deadline of `kind` on a case. Returns how many were closed.
    pub async fn close_deadline(
        &mut self,
        case_id: i64,
        kind: DeadlineKind,
        end: DeadlineEnd,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE deadlines SET status = $1, closed_at = $2 WHERE case_id = $3 AND kind = $4 AND status = 'open'")
            .bind(end.as_str())
            .bind(ts(now))
            .bind(case_id)
            .bind(kind.as_str())
            .execute(self.conn())
            .await?;
        self.refresh_next_due(case_id).await?;
        Ok(done.rows_affected())
    }

    /// Closes every open deadline of a case except the outstanding actions promised in responses
    /// and Awaab's Law's clocks (they belong to the hazard, not the complaint).
    pub async fn close_case_deadlines(
        &mut self,
        case_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE deadlines SET status = $1, closed_at = $2 WHERE case_id = $3 AND status = 'open' AND kind <> 'outstanding_action' AND kind NOT LIKE 'awaab%'")
            .bind(DeadlineEnd::Closed.as_str())
            .bind(ts(now))
            .bind(case_id)
            .execute(self.conn())
            .await?;
        self.refresh_next_due(case_id).await
    }

    /// Marks an open outstanding action done; returns what it was, or `None` when there is no such open action.
    pub async fn complete_action(
        &mut self,
        case_id: i64,
        deadline_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let done = sqlx::query("UPDATE deadlines SET status = 'met', closed_at = $1 WHERE id = $2 AND case_id = $3 AND kind = 'outstanding_action' AND status = 'open' RETURNING rule")
            .bind(ts(now))
            .bind(deadline_id)
            .bind(case_id)
            .fetch_optional(self.conn())
            .await?;
        self.refresh_next_due(case_id).await?;
        Ok(match done {
            Some(row) => Some(row.try_get("rule")?),
            None => None,
        })
    }

    /// Keeps `cases.next_due_at` (what the lists order and filter by) equal to the case's
    /// earliest open deadline; every write to deadlines above ends with it.
    async fn refresh_next_due(&mut self, case_id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE cases SET next_due_at = (SELECT MIN(d.due_at) FROM deadlines d WHERE d.case_id = $1 AND d.status = 'open') WHERE id = $1")
            .bind(case_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// The earliest open deadline of a case.
    pub async fn next_open_deadline(
        &mut self,
        case_id: i64,
    ) -> Result<Option<DeadlineRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {DEADLINE_COLUMNS} FROM deadlines WHERE case_id = $1 AND status = 'open' ORDER BY due_at LIMIT 1"
        ))
        .bind(case_id)
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(deadline_from_row).transpose()
    }
}

/// Every deadline of a case, in the order set.
pub(super) async fn deadlines_of(
    conn: &mut AnyConnection,
    case_id: i64,
) -> Result<Vec<DeadlineRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {DEADLINE_COLUMNS} FROM deadlines WHERE case_id = $1 ORDER BY id"
    ))
    .bind(case_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(deadline_from_row).collect()
}
