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
        self.project_stage(case_id, at, event).await
    }

    /// Keeps the case's row in `case_stages` (migration 0018) in step with `event`: the first
    /// acknowledgement and first response at a stage, and whether it was ever extended. The
    /// report counts stages from it, one index range each.
    async fn project_stage(
        &mut self,
        case_id: i64,
        at: DateTime<Utc>,
        event: &Event,
    ) -> Result<(), StoreError> {
        let query = match event {
            Event::Acknowledged { stage, on_time, .. } => sqlx::query(
                "INSERT INTO case_stages (case_id, stage, acknowledged_on_time) VALUES ($1, $2, $3) \
                 ON CONFLICT (case_id, stage) DO UPDATE SET \
                 acknowledged_on_time = COALESCE(case_stages.acknowledged_on_time, excluded.acknowledged_on_time)",
            )
            .bind(case_id)
            .bind(stage.as_str())
            // An acknowledgement that does not say is counted in time, as older ones were.
            .bind(i64::from(*on_time != Some(false))),
            Event::Responded {
                stage,
                outcome,
                on_time,
                ..
            } => sqlx::query(
                "INSERT INTO case_stages (case_id, stage, responded_at, outcome, responded_on_time) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (case_id, stage) DO UPDATE SET \
                 responded_at = COALESCE(case_stages.responded_at, excluded.responded_at), \
                 outcome = CASE WHEN case_stages.responded_at IS NULL THEN excluded.outcome ELSE case_stages.outcome END, \
                 responded_on_time = CASE WHEN case_stages.responded_at IS NULL \
                   THEN excluded.responded_on_time ELSE case_stages.responded_on_time END",
            )
            .bind(case_id)
            .bind(stage.as_str())
            .bind(ts(at))
            .bind(outcome.as_str())
            .bind(on_time.map(i64::from)),
            Event::Extended { stage, .. } => sqlx::query(
                "INSERT INTO case_stages (case_id, stage, extended) VALUES ($1, $2, 1) \
                 ON CONFLICT (case_id, stage) DO UPDATE SET extended = 1",
            )
            .bind(case_id)
            .bind(stage.as_str()),
            _ => return Ok(()),
        };
        query.execute(self.conn()).await?;
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
