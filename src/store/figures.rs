//! Reads for the managers' dashboard and the published report: whole-record scans, typed.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::rows::{EventRow, event_from_row, typed};
use super::{Store, StoreError, from_ts, ts};
use crate::case::deadlines::DeadlineKind;
use crate::case::model::{CaseKind, Event, Stage};

/// An open case, as the dashboard counts it.
#[derive(Debug, Clone)]
pub struct OpenCase {
    pub kind: CaseKind,
    pub stage: Option<Stage>,
    pub owner: Option<String>,
}

/// A case as the report reads it, with its typed history and its open deadlines now past due.
#[derive(Debug, Clone)]
pub struct ReportCase {
    pub id: i64,
    pub reference: String,
    pub customer_address: Option<String>,
    pub kind: CaseKind,
    pub received_at: DateTime<Utc>,
    pub service_area: Option<String>,
    pub themes: Vec<String>,
    /// (when, what) in the order recorded; records this version does not know are left out.
    pub events: Vec<(DateTime<Utc>, Event)>,
    /// Deadlines not met: open past due, or closed as never met.
    pub overdue_deadlines: Vec<DeadlineKind>,
}

impl Store {
    /// Every open case's kind, stage and owner.
    pub async fn open_cases(&self) -> Result<Vec<OpenCase>, StoreError> {
        let rows = sqlx::query("SELECT kind, stage, owner FROM cases WHERE status = 'open'")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let stage: Option<String> = row.try_get("stage")?;
                Ok(OpenCase {
                    kind: typed("cases.kind", row.try_get("kind")?, CaseKind::parse)?,
                    stage: stage
                        .map(|s| typed("cases.stage", s, Stage::parse))
                        .transpose()?,
                    owner: row.try_get("owner")?,
                })
            })
            .collect()
    }

    /// Events of `kind` at `stage` recorded since `since`.
    pub async fn stage_events_since(
        &self,
        kind: &str,
        stage: Stage,
        since: DateTime<Utc>,
    ) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, kind, actor, detail, recorded_at, recorded_by FROM events WHERE kind = $1 AND stage = $2 AND at >= $3",
        )
        .bind(kind)
        .bind(stage.as_str())
        .bind(ts(since))
        .fetch_all(&self.pool)
        .await?;
        let rows: Vec<EventRow> = rows.iter().map(event_from_row).collect::<Result<_, _>>()?;
        Ok(rows.iter().filter_map(EventRow::event).collect())
    }

    /// Deadlines of `kind` due since `since` that were missed: still open on an open case past
    /// `now`, or closed as never met.
    pub async fn missed_deadlines(
        &self,
        kind: DeadlineKind,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM deadlines d JOIN cases c ON c.id = d.case_id WHERE d.kind = $1 AND d.due_at >= $3 AND ((d.status = 'open' AND d.due_at < $2 AND c.status = 'open') OR d.status = 'missed')")
            .bind(kind.as_str())
            .bind(ts(now))
            .bind(ts(since))
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Every case with its history, as the record stood at `now`.
    pub async fn report_cases(&self, now: DateTime<Utc>) -> Result<Vec<ReportCase>, StoreError> {
        let mut cases = std::collections::BTreeMap::new();
        for row in sqlx::query("SELECT id, reference, customer_address, kind, received_at, service_area, themes FROM cases")
            .fetch_all(&self.pool)
            .await?
        {
            let id: i64 = row.try_get("id")?;
            cases.insert(id, ReportCase {
                id,
                reference: row.try_get("reference")?,
                customer_address: row.try_get("customer_address")?,
                kind: typed("cases.kind", row.try_get("kind")?, CaseKind::parse)?,
                received_at: from_ts(row.try_get("received_at")?),
                service_area: row.try_get("service_area")?,
                themes: serde_json::from_str(&row.try_get::<String, _>("themes")?).unwrap_or_default(),
                events: Vec::new(),
                overdue_deadlines: Vec::new(),
            });
        }
        for row in sqlx::query("SELECT case_id, at, kind, actor, detail, recorded_at, recorded_by FROM events ORDER BY id")
            .fetch_all(&self.pool)
            .await?
        {
            let stored = event_from_row(&row)?;
            if let (Some(case), Some(event)) = (
                cases.get_mut(&row.try_get::<i64, _>("case_id")?),
                stored.event(),
            ) {
                case.events.push((stored.at, event));
            }
        }
        for row in
            sqlx::query("SELECT case_id, kind FROM deadlines WHERE (status = 'open' AND due_at < $1) OR status = 'missed'")
                .bind(ts(now))
                .fetch_all(&self.pool)
                .await?
        {
            if let Some(case) = cases.get_mut(&row.try_get::<i64, _>("case_id")?) {
                case.overdue_deadlines.push(typed(
                    "deadlines.kind",
                    row.try_get("kind")?,
                    DeadlineKind::parse,
                )?);
            }
        }
        Ok(cases.into_values().collect())
    }
}
