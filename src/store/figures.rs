//! Reads for the managers' dashboard and the published report: whole-record scans, typed.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::annual::Span;
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

    /// Each case received or with an event in the span, with its whole history and its
    /// deadlines not met by `now`, handed to `each` one at a time in reference order, so a
    /// year's rows are never all in memory.
    pub async fn each_report_case<E: From<StoreError>>(
        &self,
        span: Span,
        now: DateTime<Utc>,
        mut each: impl FnMut(ReportCase) -> Result<(), E>,
    ) -> Result<(), E> {
        use futures::TryStreamExt;
        const IN_SPAN: &str = "SELECT id FROM cases WHERE received_at >= $1 AND received_at < $2 \
             UNION SELECT case_id FROM events WHERE at >= $1 AND at < $2";
        let mut overdue: std::collections::HashMap<i64, Vec<DeadlineKind>> = Default::default();
        for row in sqlx::query(&format!(
            "SELECT case_id, kind FROM deadlines WHERE ((status = 'open' AND due_at < $3) OR status = 'missed') \
             AND case_id IN ({IN_SPAN})"
        ))
        .bind(ts(span.start))
        .bind(ts(span.end))
        .bind(ts(now))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?
        {
            let kind = typed(
                "deadlines.kind",
                row.try_get("kind").map_err(StoreError::from)?,
                DeadlineKind::parse,
            )?;
            let case_id: i64 = row.try_get("case_id").map_err(StoreError::from)?;
            overdue.entry(case_id).or_default().push(kind);
        }
        let sql = format!(
            "SELECT c.id, c.reference, c.customer_address, c.kind, c.received_at, c.service_area, c.themes, \
               e.at, e.kind AS event_kind, e.detail \
             FROM cases c LEFT JOIN events e ON e.case_id = c.id \
             WHERE c.id IN ({IN_SPAN}) ORDER BY c.id, e.id"
        );
        let mut rows = sqlx::query(&sql)
            .bind(ts(span.start))
            .bind(ts(span.end))
            .fetch(&self.pool);
        let mut current: Option<ReportCase> = None;
        while let Some(row) = rows.try_next().await.map_err(StoreError::from)? {
            let id: i64 = row.try_get("id").map_err(StoreError::from)?;
            if let Some(done) = current.take_if(|c| c.id != id) {
                each(done)?;
            }
            let case = match &mut current {
                Some(case) => case,
                None => current.insert(report_case(&row, overdue.remove(&id).unwrap_or_default())?),
            };
            if let Some(event) = event_of(&row)? {
                case.events.push(event);
            }
        }
        if let Some(done) = current {
            each(done)?;
        }
        Ok(())
    }
}

/// A case's own columns, with no events yet.
fn report_case(
    row: &sqlx::any::AnyRow,
    overdue_deadlines: Vec<DeadlineKind>,
) -> Result<ReportCase, StoreError> {
    Ok(ReportCase {
        id: row.try_get("id")?,
        reference: row.try_get("reference")?,
        customer_address: row.try_get("customer_address")?,
        kind: typed("cases.kind", row.try_get("kind")?, CaseKind::parse)?,
        received_at: from_ts(row.try_get("received_at")?),
        service_area: row.try_get("service_area")?,
        themes: serde_json::from_str(&row.try_get::<String, _>("themes")?).unwrap_or_default(),
        events: Vec::new(),
        overdue_deadlines,
    })
}

/// The event on a row of the cases-with-events join: `None` for a case with none, or a record
/// this version does not know.
fn event_of(row: &sqlx::any::AnyRow) -> Result<Option<(DateTime<Utc>, Event)>, StoreError> {
    let Some(kind) = row.try_get::<Option<String>, _>("event_kind")? else {
        return Ok(None);
    };
    let detail: String = row.try_get("detail")?;
    let detail = serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null);
    let at = from_ts(row.try_get("at")?);
    Ok(Event::from_parts(&kind, &detail).map(|event| (at, event)))
}
