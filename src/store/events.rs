//! The append-only record of what happened to each case (typed [`Event`]s; the database's
//! triggers refuse any update or delete).

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

use super::rows::{EventRow, event_from_row};
use super::{StoreError, Tx, ts};
use crate::case::model::{Event, Outcome, Stage};

impl Tx {
    /// Appends an event to a case's record: `at` is when it happened (the clock's time, `--now`
    /// in a replay), and the real time of writing and the acting account are stamped beside it.
    pub async fn insert_event(
        &mut self,
        case_id: i64,
        at: DateTime<Utc>,
        actor: &str,
        event: &Event,
    ) -> Result<(), StoreError> {
        let (kind, detail) = event.to_parts();
        let operator = self.operator.to_string();
        sqlx::query(
            "INSERT INTO events (case_id, at, kind, actor, detail, stage, recorded_at, recorded_by, on_time, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(case_id)
        .bind(ts(at))
        .bind(kind)
        .bind(actor)
        .bind(detail.to_string())
        .bind(event.stage().map(Stage::as_str))
        .bind(ts(Utc::now()))
        .bind(operator)
        .bind(event.on_time().map(i64::from))
        .bind(event.outcome().map(Outcome::as_str))
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

/// A case's events, oldest first.
pub(super) async fn events_of(
    conn: &mut AnyConnection,
    case_id: i64,
) -> Result<Vec<EventRow>, StoreError> {
    let rows =
        sqlx::query("SELECT at, kind, actor, detail, recorded_at, recorded_by FROM events WHERE case_id = $1 ORDER BY id")
            .bind(case_id)
            .fetch_all(conn)
            .await?;
    rows.iter().map(event_from_row).collect()
}
