//! The published report's counts, made in SQL over one period's rows (found by index on kind and
//! time), so a year's report reads a few hundred numbers instead of every event on record.
//!
//! What each count means for the report (the received base, the issued base, who complained) is
//! said in [`crate::report`]; this file says only how each is counted, on both backends. The
//! places they differ are the reads of JSON (the `json_` functions of [`Backend`]).
//!
//! A lookup made once per row ("a later response on the same case") must go by the case's index
//! (`events_case_kind`), never by the kind-and-time index, or it reads every response of the
//! year for each response of the year (a minute and more over a million cases). Where a time
//! bound would tempt the planner to that index, SQLite gets it as `+e.at` (no index;
//! [`Backend::per_row`]).
//!
//! A case's first acknowledgement and first response at each stage, and whether the stage was
//! extended, are read from `case_stages` (migration 0018), which the store keeps beside every
//! event it writes: from the events, "the first response" was an anti-join over every response
//! on record, years of them, on every run.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Backend, Store, StoreError, ts};
use crate::case::model::Stage;

/// A span of time: from `start`, up to but not including `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Complaints received in a span with one service area and one set of themes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedGroup {
    pub service_area: Option<String>,
    pub themes: Vec<String>,
    pub count: i64,
}

/// Those who asked at a stage in a span (complaints received, reviews requested), and how
/// their acknowledgements went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Asked {
    pub asked: i64,
    /// Acknowledged, or not acknowledged and past due: the acknowledgement rate's base.
    pub acknowledgement_known: i64,
    pub acknowledged_on_time: i64,
}

/// A stage's first responses issued in a span, with one outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// As stored (`upheld`, `partly_upheld`, `not_upheld`).
    pub outcome: Option<String>,
    pub count: i64,
    pub on_time: i64,
    /// Of `count`, responses at a stage that had been extended.
    pub extended: i64,
    pub extended_on_time: i64,
}

/// Cases whose last response in a span was at `stage` with `outcome`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concluded {
    pub stage: Option<String>,
    pub outcome: Option<String>,
    pub count: i64,
    /// Of `count`, stage 2 responses not upheld that left no actions outstanding (no further
    /// action was needed).
    pub no_actions: i64,
}

/// Reviews requested in a span with one recorded reason and the resident's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub reason: Option<String>,
    pub words: Option<String>,
    pub count: i64,
}

/// The Ombudsman's part in a span.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OmbudsmanCounts {
    pub referrals: i64,
    /// Cases with at least one finding in the span.
    pub determined: i64,
    /// Cases referred by the span's end with no finding by then.
    pub open: i64,
    /// (finding, area, count), as stored.
    pub findings: Vec<(String, String, i64)>,
}

/// Complaints with the handler's flag of who complained (`customer` or `community`), the
/// address when asked for, and the stages they asked at in the span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complainants {
    pub flagged: Option<String>,
    pub address: Option<String>,
    /// Received in the span.
    pub stage1: bool,
    /// A review requested in the span.
    pub stage2: bool,
    pub count: i64,
}

impl Backend {
    /// SQL for the text at `path` (keys joined by dots) in the JSON held in `column`: SQLite's
    /// `->>` and PostgreSQL's `#>>`.
    fn json_text(self, column: &str, path: &str) -> String {
        match self {
            Backend::Sqlite => format!("({column} ->> '$.{path}')"),
            Backend::Postgres => {
                format!("({column}::jsonb #>> '{{{}}}')", path.replace('.', ","))
            }
        }
    }

    /// `column` in a lookup made once per row: on SQLite written `+column` so the planner goes by
    /// the case's index, never the kind-and-time one (see the top of this file); PostgreSQL joins
    /// such lookups by hash, where the time index helps.
    fn per_row(self, column: &str) -> String {
        match self {
            Backend::Sqlite => format!("+{column}"),
            Backend::Postgres => column.to_string(),
        }
    }

    /// SQL for "the JSON in `column` has an empty array at `key`".
    fn json_empty(self, column: &str, key: &str) -> String {
        match self {
            Backend::Sqlite => format!("json_array_length({column}, '$.{key}') = 0"),
            Backend::Postgres => format!("jsonb_array_length({column}::jsonb -> '{key}') = 0"),
        }
    }
}

/// The ids (column `id`) of the cases that asked at `stage` in the span ($1, $2), each once (a
/// case that asked twice for a review is one case asking). A query over them starts from this
/// list (`CROSS JOIN`, which SQLite keeps in the order written), not from every complaint on
/// record.
fn asked_at(stage: Stage) -> &'static str {
    match stage {
        Stage::Stage1 => {
            "SELECT id FROM cases WHERE kind = 'complaint' AND received_at >= $1 AND received_at < $2"
        }
        Stage::Stage2 => {
            "SELECT DISTINCT case_id AS id FROM events WHERE kind = 'escalated' AND stage = 'stage2' AND at >= $1 AND at < $2"
        }
    }
}

/// One of the report's counts, ready to run.
type Count<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

impl Store {
    /// Runs one of the report's counts. The report runs them two at a time, one per core
    /// ([`crate::report`]); on PostgreSQL each runs without parallel workers, which would only
    /// compete with the other for the same cores (measured by `cargo bench --bench report`:
    /// 2.1 s with them, 1.8 s without, over a million cases on 2 cores).
    async fn count(&self, query: Count<'_>) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
        if self.backend == Backend::Sqlite {
            return Ok(query.fetch_all(&self.pool).await?);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET LOCAL max_parallel_workers_per_gather = 0")
            .execute(&mut *tx)
            .await?;
        let rows = query.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// The one row of a count (an aggregate without groups).
    async fn count_one(&self, query: Count<'_>) -> Result<sqlx::any::AnyRow, StoreError> {
        let rows = self.count(query).await?;
        Ok(rows.into_iter().next().ok_or(sqlx::Error::RowNotFound)?)
    }

    /// The rows of `sql`, with the span's start and end bound as $1 and $2.
    async fn rows_in(&self, sql: &str, span: Span) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
        self.count(sqlx::query(sql).bind(ts(span.start)).bind(ts(span.end)))
            .await
    }

    /// Compliments, feedback and service requests received in the span, by kind.
    pub async fn received_by_kind(&self, span: Span) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = self.rows_in("SELECT kind, COUNT(*) AS n FROM cases WHERE kind IN ('compliment', 'feedback', 'service_request') \
             AND received_at >= $1 AND received_at < $2 GROUP BY kind", span).await?;
        rows.iter()
            .map(|row| Ok((row.try_get("kind")?, row.try_get("n")?)))
            .collect()
    }

    /// Complaints received in the span, grouped by service area (`None`: not yet assigned) and
    /// themes: one pass over the index, the themes read once per group, not once per complaint.
    pub async fn complaints_received_by_area(
        &self,
        span: Span,
    ) -> Result<Vec<ReceivedGroup>, StoreError> {
        let rows = self
            .rows_in(
                "SELECT service_area, themes, COUNT(*) AS n FROM cases \
             WHERE kind = 'complaint' AND received_at >= $1 AND received_at < $2 \
             GROUP BY service_area, themes",
                span,
            )
            .await?;
        rows.iter()
            .map(|row| {
                let themes: String = row.try_get("themes")?;
                Ok(ReceivedGroup {
                    service_area: row.try_get("service_area")?,
                    themes: serde_json::from_str(&themes).unwrap_or_default(),
                    count: row.try_get("n")?,
                })
            })
            .collect()
    }

    /// Those who asked at `stage` in the span, and whether each was acknowledged in time: the
    /// first acknowledgement on record says (an older one that did not say counts as in time);
    /// with none, a deadline past due at `now` or closed as missed makes it late.
    pub async fn asked(
        &self,
        stage: Stage,
        span: Span,
        now: DateTime<Utc>,
    ) -> Result<Asked, StoreError> {
        let (acknowledgement, _) = stage.deadline_kinds();
        // Each case's first acknowledgement is kept in `case_stages`; a deadline is looked up
        // only to say whether one not yet acknowledged is late.
        let sql = format!(
            "SELECT COUNT(*) AS asked, \
               COALESCE(SUM(CASE WHEN s.acknowledged_on_time IS NOT NULL OR l.case_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS known, \
               COALESCE(SUM(CASE WHEN s.acknowledged_on_time = 1 THEN 1 ELSE 0 END), 0) AS on_time \
             FROM ({asked}) c \
             LEFT JOIN case_stages s ON s.case_id = c.id AND s.stage = $3 \
             LEFT JOIN (SELECT DISTINCT case_id FROM deadlines WHERE kind = $4 \
                 AND ((status = 'open' AND due_at < $5) OR status = 'missed')) l ON l.case_id = c.id",
            asked = asked_at(stage),
        );
        let row = sqlx::query(&sql)
            .bind(ts(span.start))
            .bind(ts(span.end))
            .bind(stage.as_str())
            .bind(acknowledgement.as_str())
            .bind(ts(now));
        let row = self.count_one(row).await?;
        Ok(Asked {
            asked: row.try_get("asked")?,
            acknowledgement_known: row.try_get("known")?,
            acknowledged_on_time: row.try_get("on_time")?,
        })
    }

    /// The stage's first responses issued in the span, by outcome: in time (the response says
    /// so), and whether the stage had been extended.
    pub async fn issued(&self, stage: Stage, span: Span) -> Result<Vec<Issued>, StoreError> {
        // The first response at each case's stage is kept in `case_stages` (migration 0018),
        // with whether the stage was extended, so this is one range of its index.
        let sql = "SELECT outcome, COUNT(*) AS n, \
               COALESCE(SUM(CASE WHEN responded_on_time = 1 THEN 1 ELSE 0 END), 0) AS on_time, \
               COALESCE(SUM(CASE WHEN extended = 1 THEN 1 ELSE 0 END), 0) AS extended, \
               COALESCE(SUM(CASE WHEN extended = 1 AND responded_on_time = 1 THEN 1 ELSE 0 END), 0) AS extended_on_time \
             FROM case_stages WHERE stage = $3 AND responded_at >= $1 AND responded_at < $2 \
             GROUP BY outcome";
        let rows = sqlx::query(sql)
            .bind(ts(span.start))
            .bind(ts(span.end))
            .bind(stage.as_str());
        self.count(rows)
            .await?
            .iter()
            .map(|row| {
                Ok(Issued {
                    outcome: row.try_get("outcome")?,
                    count: row.try_get("n")?,
                    on_time: row.try_get("on_time")?,
                    extended: row.try_get("extended")?,
                    extended_on_time: row.try_get("extended_on_time")?,
                })
            })
            .collect()
    }

    /// Cases given a response in the span, by the stage and outcome of the last one in it; of
    /// stage 2 responses not upheld, those that left no actions outstanding.
    pub async fn concluded(&self, span: Span) -> Result<Vec<Concluded>, StoreError> {
        // Each case's last response in the span: SQLite looks for a later one case by case;
        // PostgreSQL sorts the span's responses (found by the partial index `events_responded`)
        // by case and keeps the last, where its anti-join hashed them twice (1.0 s against 0.5
        // over a year of a million cases).
        let last = match self.backend {
            Backend::Sqlite => format!(
                "SELECT e.stage, e.outcome, e.detail FROM events e WHERE e.kind = 'responded' \
                   AND e.stage IN ('stage1', 'stage2') AND e.at >= $1 AND e.at < $2 \
                   AND NOT EXISTS (SELECT 1 FROM events l WHERE l.case_id = e.case_id AND l.kind = 'responded' \
                     AND l.stage IN ('stage1', 'stage2') AND {at} >= $1 AND {at} < $2 AND l.id > e.id)",
                at = self.backend.per_row("l.at"),
            ),
            Backend::Postgres => "SELECT DISTINCT ON (e.case_id) e.stage, e.outcome, e.detail FROM events e \
                 WHERE e.kind = 'responded' AND e.stage IN ('stage1', 'stage2') AND e.at >= $1 AND e.at < $2 \
                 ORDER BY e.case_id, e.id DESC"
                .to_string(),
        };
        let sql = format!(
            "SELECT stage, outcome, COUNT(*) AS n, COALESCE(SUM(no_actions), 0) AS no_actions \
             FROM (SELECT e.stage AS stage, e.outcome AS outcome, \
               CASE WHEN e.stage = 'stage2' AND e.outcome = 'not_upheld' AND {no_actions} THEN 1 ELSE 0 END AS no_actions \
             FROM ({last}) e) r \
             GROUP BY stage, outcome",
            no_actions = self.backend.json_empty("e.detail", "actions"),
        );
        let rows = self.rows_in(&sql, span).await?;
        rows.iter()
            .map(|row| {
                Ok(Concluded {
                    stage: row.try_get("stage")?,
                    outcome: row.try_get("outcome")?,
                    count: row.try_get("n")?,
                    no_actions: row.try_get("no_actions")?,
                })
            })
            .collect()
    }

    /// Reviews requested in the span, by recorded reason and the resident's words.
    pub async fn escalations(&self, span: Span) -> Result<Vec<Escalation>, StoreError> {
        let sql = format!(
            "SELECT reason, words, COUNT(*) AS n FROM (SELECT {reason} AS reason, {words} AS words \
             FROM events WHERE kind = 'escalated' AND stage = 'stage2' AND at >= $1 AND at < $2) r \
             GROUP BY reason, words",
            reason = self.backend.json_text("detail", "detail.reason"),
            words = self.backend.json_text("detail", "detail.words"),
        );
        let rows = self.rows_in(&sql, span).await?;
        rows.iter()
            .map(|row| {
                Ok(Escalation {
                    reason: row.try_get("reason")?,
                    words: row.try_get("words")?,
                    count: row.try_get("n")?,
                })
            })
            .collect()
    }

    /// Refusals recorded in the span, by the reason given.
    pub async fn refusals(&self, span: Span) -> Result<Vec<(String, i64)>, StoreError> {
        let sql = format!(
            "SELECT reason, COUNT(*) AS n FROM (SELECT {reason} AS reason FROM events \
             WHERE kind = 'refused' AND at >= $1 AND at < $2) r GROUP BY reason",
            reason = self.backend.json_text("detail", "reason"),
        );
        let rows = self.rows_in(&sql, span).await?;
        rows.iter()
            .map(|row| {
                let reason: Option<String> = row.try_get("reason")?;
                Ok((reason.unwrap_or_default(), row.try_get("n")?))
            })
            .collect()
    }

    /// Referrals and findings in the span, and cases still with the Ombudsman at its end.
    pub async fn ombudsman(&self, span: Span) -> Result<OmbudsmanCounts, StoreError> {
        let sql = format!(
            "SELECT \
               (SELECT COUNT(*) FROM events WHERE kind = 'ombudsman_referral' AND at >= $1 AND at < $2) AS referrals, \
               (SELECT COUNT(DISTINCT case_id) FROM events WHERE kind = 'ombudsman_finding' AND at >= $1 AND at < $2) AS determined, \
               (SELECT COUNT(DISTINCT r.case_id) FROM events r WHERE r.kind = 'ombudsman_referral' AND r.at < $2 \
                  AND NOT EXISTS (SELECT 1 FROM events f WHERE f.case_id = r.case_id AND f.kind = 'ombudsman_finding' AND {at} < $2)) AS open",
            at = self.backend.per_row("f.at"),
        );
        let counts = sqlx::query(&sql).bind(ts(span.start)).bind(ts(span.end));
        let counts = self.count_one(counts).await?;
        let sql = format!(
            "SELECT finding, area, COUNT(*) AS n FROM (SELECT {finding} AS finding, {area} AS area FROM events \
             WHERE kind = 'ombudsman_finding' AND at >= $1 AND at < $2) f GROUP BY finding, area",
            finding = self.backend.json_text("detail", "finding"),
            area = self.backend.json_text("detail", "area"),
        );
        let findings = self
            .rows_in(&sql, span)
            .await?
            .iter()
            .map(|row| {
                let finding: Option<String> = row.try_get("finding")?;
                let area: Option<String> = row.try_get("area")?;
                Ok((
                    finding.unwrap_or_default(),
                    area.unwrap_or_default(),
                    row.try_get("n")?,
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(OmbudsmanCounts {
            referrals: counts.try_get("referrals")?,
            determined: counts.try_get("determined")?,
            open: counts.try_get("open")?,
            findings,
        })
    }

    /// Complaints received, or reviewed at stage 2, in the span, by the handler's latest flag
    /// of who complained, and by address when `with_addresses` (to look up in a customers list).
    /// Those received are read from the index alone when no address is wanted.
    pub async fn complainants(
        &self,
        span: Span,
        with_addresses: bool,
    ) -> Result<Vec<Complainants>, StoreError> {
        let address = if with_addresses {
            "c.customer_address"
        } else {
            "CAST(NULL AS TEXT)"
        };
        // The handler's latest flag: a lookup per case on SQLite, a join on PostgreSQL (which
        // runs a lookup per row as a subplan, 0.6 s over a year of a million cases, against 0.1).
        let source = self.backend.json_text("detail", "source");
        let (flagged, flags) = match self.backend {
            Backend::Sqlite => (
                format!(
                    "(SELECT {source} FROM events s WHERE s.case_id = c.id AND s.kind = 'source_set' ORDER BY s.id DESC LIMIT 1)"
                ),
                String::new(),
            ),
            Backend::Postgres => (
                "s.source".to_string(),
                format!(
                    "LEFT JOIN (SELECT DISTINCT ON (case_id) case_id, {source} AS source FROM events \
                     WHERE kind = 'source_set' ORDER BY case_id, id DESC) s ON s.case_id = c.id"
                ),
            ),
        };
        let sql = format!(
            "SELECT flagged, address, CAST(stage1 AS BIGINT) AS stage1, CAST(stage2 AS BIGINT) AS stage2, COUNT(*) AS n \
             FROM (SELECT {flagged} AS flagged, {address} AS address, 1 AS stage1, \
                 CASE WHEN c.id IN ({stage2}) THEN 1 ELSE 0 END AS stage2 \
               FROM cases c {flags} WHERE c.kind = 'complaint' AND c.received_at >= $1 AND c.received_at < $2 \
             UNION ALL SELECT {flagged}, {address}, 0, 1 \
               FROM ({stage2}) AS asked CROSS JOIN cases c {flags} \
               WHERE c.id = asked.id AND c.kind = 'complaint' AND NOT (c.received_at >= $1 AND c.received_at < $2)) x \
             GROUP BY flagged, address, stage1, stage2",
            stage2 = asked_at(Stage::Stage2),
        );
        let rows = self.rows_in(&sql, span).await?;
        rows.iter()
            .map(|row| {
                Ok(Complainants {
                    flagged: row.try_get("flagged")?,
                    address: row.try_get("address")?,
                    stage1: row.try_get::<i64, _>("stage1")? == 1,
                    stage2: row.try_get::<i64, _>("stage2")? == 1,
                    count: row.try_get("n")?,
                })
            })
            .collect()
    }

    /// Complaints received in the span.
    pub async fn complaints_received(&self, span: Span) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM cases WHERE kind = 'complaint' AND received_at >= $1 AND received_at < $2",
        )
        .bind(ts(span.start))
        .bind(ts(span.end));
        Ok(self.count_one(row).await?.try_get("n")?)
    }
}
