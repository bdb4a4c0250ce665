//! How redress is faring: the last success and error of each part (fetching mail, sending
//! letters), and the counts `/metrics` exposes.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError, from_ts, ts};

/// One part of redress whose health is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// Reading the mailbox.
    Fetch,
    /// Sending letters.
    Send,
}

impl Component {
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Fetch => "fetch",
            Component::Send => "send",
        }
    }
}

/// What is on record about one part.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HealthRow {
    pub last_ok_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Failing without a success since this time; `None` when the last attempt worked.
    pub failing_since: Option<DateTime<Utc>>,
    /// When people were told it was failing; `None` when they have not been (or were told it recovered).
    pub alerted_at: Option<DateTime<Utc>>,
}

/// Counts for `/metrics`, read at one moment.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub mails_fetched: i64,
    /// (kind, cases opened).
    pub cases_by_kind: Vec<(String, i64)>,
    /// (status, letters).
    pub letters_by_status: Vec<(String, i64)>,
    pub oldest_pending_at: Option<DateTime<Utc>>,
    pub deadlines_overdue: i64,
    pub deadlines_due_soon: i64,
}

impl Store {
    /// Records that `component` worked at `now`.
    pub async fn record_success(
        &self,
        component: Component,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO service_health (component, last_ok_at) VALUES ($1, $2) ON CONFLICT (component) DO UPDATE SET last_ok_at = $2, failing_since = NULL")
            .bind(component.as_str())
            .bind(ts(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records that `component` failed at `now` with `error` (a line for operators).
    pub async fn record_failure(
        &self,
        component: Component,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let error: String = error.chars().take(500).collect();
        sqlx::query("INSERT INTO service_health (component, last_error, last_error_at, failing_since) VALUES ($1, $2, $3, $3) ON CONFLICT (component) DO UPDATE SET last_error = $2, last_error_at = $3, failing_since = COALESCE(service_health.failing_since, $3)")
            .bind(component.as_str())
            .bind(error)
            .bind(ts(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records that people were told `component` is failing (`Some`), or that it recovered (`None`).
    pub async fn record_alert(
        &self,
        component: Component,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE service_health SET alerted_at = $1 WHERE component = $2")
            .bind(at.map(ts))
            .bind(component.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// What is on record about `component` (all empty before its first attempt).
    pub async fn health(&self, component: Component) -> Result<HealthRow, StoreError> {
        let row = sqlx::query("SELECT last_ok_at, last_error, last_error_at, failing_since, alerted_at FROM service_health WHERE component = $1")
            .bind(component.as_str())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(HealthRow::default());
        };
        let time = |name: &str| -> Result<Option<DateTime<Utc>>, StoreError> {
            Ok(row.try_get::<Option<i64>, _>(name)?.map(from_ts))
        };
        Ok(HealthRow {
            last_ok_at: time("last_ok_at")?,
            last_error: row.try_get("last_error")?,
            last_error_at: time("last_error_at")?,
            failing_since: time("failing_since")?,
            alerted_at: time("alerted_at")?,
        })
    }

    /// The counts `/metrics` exposes, as of `now`; deadlines "due soon" fall before `soon`.
    pub async fn counts(
        &self,
        now: DateTime<Utc>,
        soon: DateTime<Utc>,
    ) -> Result<Counts, StoreError> {
        let one = |sql: &'static str| async move {
            let row = sqlx::query(sql).fetch_one(&self.pool).await?;
            Ok::<i64, StoreError>(row.try_get("n")?)
        };
        let grouped = |sql: &'static str| async move {
            let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
            rows.iter()
                .map(|r| Ok((r.try_get("k")?, r.try_get("n")?)))
                .collect::<Result<Vec<(String, i64)>, StoreError>>()
        };
        let deadlines = |op: &'static str, at: DateTime<Utc>| async move {
            let sql = format!(
                "SELECT COUNT(*) AS n FROM deadlines d JOIN cases c ON c.id = d.case_id WHERE d.status = 'open' AND c.status = 'open' AND d.due_at {op} $1"
            );
            let row = sqlx::query(&sql).bind(ts(at)).fetch_one(&self.pool).await?;
            Ok::<i64, StoreError>(row.try_get("n")?)
        };
        let oldest =
            sqlx::query("SELECT MIN(created_at) AS t FROM outbox WHERE status = 'pending'")
                .fetch_one(&self.pool)
                .await?
                .try_get::<Option<i64>, _>("t")?;
        let overdue = deadlines("<", now).await?;
        Ok(Counts {
            mails_fetched: one("SELECT COUNT(*) AS n FROM messages WHERE direction = 'in'").await?,
            cases_by_kind: grouped(
                "SELECT kind AS k, COUNT(*) AS n FROM cases GROUP BY kind ORDER BY kind",
            )
            .await?,
            letters_by_status: grouped(
                "SELECT status AS k, COUNT(*) AS n FROM outbox GROUP BY status ORDER BY status",
            )
            .await?,
            oldest_pending_at: oldest.map(from_ts),
            deadlines_overdue: overdue,
            deadlines_due_soon: deadlines("<", soon).await? - overdue,
        })
    }

    /// How many open acknowledgement deadlines fall before `before` (at risk while letters fail).
    pub async fn acknowledgements_due_before(
        &self,
        before: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM deadlines d JOIN cases c ON c.id = d.case_id WHERE d.status = 'open' AND c.status = 'open' AND d.kind IN ('stage1_acknowledgement', 'stage2_acknowledgement') AND d.due_at < $1")
            .bind(ts(before))
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}
