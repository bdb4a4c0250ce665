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

/// The ids (column `id`) of the cases that asked at `stage` in the span ($1, $2). A query over
/// them starts from this list (`CROSS JOIN`, which SQLite keeps in the order written), not from
/// every complaint on record.
fn asked_at(stage: Stage) -> &'static str {
    match stage {
        Stage::Stage1 => {
            "SELECT id FROM cases WHERE kind = 'complaint' AND received_at >= $1 AND received_at < $2"
        }
        Stage::Stage2 => {
            "SELECT case_id AS id FROM events WHERE kind = 'escalated' AND stage = 'stage2' AND at >= $1 AND at < $2"
        }
    }
}

impl Store {
    /// The rows of `sql`, with the span's start and end bound as $1 and $2.
    async fn rows_in(&self, sql: &str, span: Span) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
        Ok(sqlx::query(sql)
            .bind(ts(span.start))
            .bind(ts(span.end))
            .fetch_all(&self.pool)
            .await?)
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
        let sql = match self.backend {
            // SQLite: one lookup per case on the case's own index is its fastest plan.
            Backend::Sqlite => format!(
                "SELECT COUNT(*) AS asked, \
                   COALESCE(SUM(CASE WHEN ack IS NOT NULL OR late = 1 THEN 1 ELSE 0 END), 0) AS known, \
                   COALESCE(SUM(CASE WHEN ack = 1 THEN 1 ELSE 0 END), 0) AS on_time \
                 FROM (SELECT \
                   (SELECT CASE WHEN e.on_time = 0 THEN 0 ELSE 1 END FROM events e \
                      WHERE e.case_id = c.id AND e.kind = 'acknowledged' AND e.stage = $3 ORDER BY e.id LIMIT 1) AS ack, \
                   (SELECT 1 FROM deadlines d WHERE d.case_id = c.id AND d.kind = $4 \
                      AND ((d.status = 'open' AND d.due_at < $5) OR d.status = 'missed') LIMIT 1) AS late \
                 FROM cases c WHERE c.id IN ({asked})) x",
                asked = asked_at(stage),
            ),
            // PostgreSQL runs a lookup per row as a subplan, one index scan each (1.6 s over a
            // year of a million cases); written as joins, it hashes them (0.5 s).
            Backend::Postgres => format!(
                "SELECT COUNT(*) AS asked, \
                   COALESCE(SUM(CASE WHEN f.case_id IS NOT NULL OR l.case_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS known, \
                   COALESCE(SUM(CASE WHEN f.case_id IS NOT NULL AND f.on_time IS DISTINCT FROM 0 THEN 1 ELSE 0 END), 0) AS on_time \
                 FROM (SELECT DISTINCT id FROM ({asked}) a) c \
                 LEFT JOIN (SELECT e.case_id, e.on_time FROM events e \
                     WHERE e.kind = 'acknowledged' AND e.stage = $3 AND e.case_id IN ({asked}) \
                     AND NOT EXISTS (SELECT 1 FROM events b WHERE b.case_id = e.case_id \
                       AND b.kind = 'acknowledged' AND b.stage = $3 AND b.id < e.id)) f ON f.case_id = c.id \
                 LEFT JOIN (SELECT DISTINCT case_id FROM deadlines WHERE kind = $4 \
                     AND ((status = 'open' AND due_at < $5) OR status = 'missed')) l ON l.case_id = c.id",
                asked = asked_at(stage),
            ),
        };
        let row = sqlx::query(&sql)
            .bind(ts(span.start))
            .bind(ts(span.end))
            .bind(stage.as_str())
            .bind(acknowledgement.as_str())
            .bind(ts(now))
            .fetch_one(&self.pool)
            .await?;
        Ok(Asked {
            asked: row.try_get("asked")?,
            acknowledgement_known: row.try_get("known")?,
            acknowledged_on_time: row.try_get("on_time")?,
        })
    }

    /// The stage's first responses issued in the span, by outcome: in time (the response says
    /// so), and whether the stage had been extended.
    pub async fn issued(&self, stage: Stage, span: Span) -> Result<Vec<Issued>, StoreError> {
        // Grouped by what is counted, so each response's "was the stage extended" is looked up
        // once (a sum over it would look it up again for each sum). PostgreSQL, as in `asked`,
        // gets the same count written as joins.
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT outcome, CAST(on_time AS BIGINT) AS on_time, CAST(extended AS BIGINT) AS extended, COUNT(*) AS n \
             FROM (SELECT e.outcome AS outcome, \
               CASE WHEN e.on_time = 1 THEN 1 ELSE 0 END AS on_time, \
               CASE WHEN EXISTS (SELECT 1 FROM events x WHERE x.case_id = e.case_id AND x.kind = 'extended' AND x.stage = $3) \
                 THEN 1 ELSE 0 END AS extended \
             FROM events e WHERE e.kind = 'responded' AND e.stage = $3 AND e.at >= $1 AND e.at < $2 \
               AND NOT EXISTS (SELECT 1 FROM events p WHERE p.case_id = e.case_id AND p.kind = 'responded' \
                 AND p.stage = $3 AND p.id < e.id)) r \
             GROUP BY outcome, on_time, extended"
            }
            Backend::Postgres => {
                "SELECT r.outcome, CAST(r.on_time AS BIGINT) AS on_time, \
                   CAST(CASE WHEN x.case_id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS extended, COUNT(*) AS n \
                 FROM (SELECT e.case_id, e.outcome, CASE WHEN e.on_time = 1 THEN 1 ELSE 0 END AS on_time \
                   FROM events e WHERE e.kind = 'responded' AND e.stage = $3 AND e.at >= $1 AND e.at < $2 \
                   AND NOT EXISTS (SELECT 1 FROM events p WHERE p.case_id = e.case_id AND p.kind = 'responded' \
                     AND p.stage = $3 AND p.id < e.id)) r \
                 LEFT JOIN (SELECT DISTINCT case_id FROM events WHERE kind = 'extended' AND stage = $3) x \
                   ON x.case_id = r.case_id \
                 GROUP BY 1, 2, 3"
            }
        };
        let rows = sqlx::query(sql)
            .bind(ts(span.start))
            .bind(ts(span.end))
            .bind(stage.as_str())
            .fetch_all(&self.pool)
            .await?;
        let mut issued: Vec<Issued> = Vec::new();
        for row in &rows {
            let outcome: Option<String> = row.try_get("outcome")?;
            let (on_time, extended) = (
                row.try_get::<i64, _>("on_time")? * row.try_get::<i64, _>("n")?,
                row.try_get::<i64, _>("extended")? * row.try_get::<i64, _>("n")?,
            );
            let n: i64 = row.try_get("n")?;
            let both = if on_time > 0 && extended > 0 { n } else { 0 };
            let entry = match issued.iter_mut().find(|i| i.outcome == outcome) {
                Some(entry) => entry,
                None => {
                    issued.push(Issued {
                        outcome,
                        count: 0,
                        on_time: 0,
                        extended: 0,
                        extended_on_time: 0,
                    });
                    issued.last_mut().expect("just pushed")
                }
            };
            entry.count += n;
            entry.on_time += on_time;
            entry.extended += extended;
            entry.extended_on_time += both;
        }
        Ok(issued)
    }

    /// Cases given a response in the span, by the stage and outcome of the last one in it; of
    /// stage 2 responses not upheld, those that left no actions outstanding.
    pub async fn concluded(&self, span: Span) -> Result<Vec<Concluded>, StoreError> {
        let sql = format!(
            "SELECT stage, outcome, COUNT(*) AS n, COALESCE(SUM(no_actions), 0) AS no_actions \
             FROM (SELECT e.stage AS stage, e.outcome AS outcome, \
               CASE WHEN e.stage = 'stage2' AND e.outcome = 'not_upheld' AND {no_actions} THEN 1 ELSE 0 END AS no_actions \
             FROM events e WHERE e.kind = 'responded' AND e.stage IN ('stage1', 'stage2') AND e.at >= $1 AND e.at < $2 \
               AND NOT EXISTS (SELECT 1 FROM events l WHERE l.case_id = e.case_id AND l.kind = 'responded' \
                 AND l.stage IN ('stage1', 'stage2') AND {at} >= $1 AND {at} < $2 AND l.id > e.id)) r \
             GROUP BY stage, outcome",
            no_actions = self.backend.json_empty("e.detail", "actions"),
            at = self.backend.per_row("l.at"),
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
        let counts = sqlx::query(&sql)
            .bind(ts(span.start))
            .bind(ts(span.end))
            .fetch_one(&self.pool)
            .await?;
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
        .bind(ts(span.end))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }
}
