//! The case lists people work from: filtered, searched and paged in SQL, so a list stays fast
//! over a hundred thousand cases; and the pieces of a case a page downloads.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::chunks::{self, Owner};
use super::rows::{CASE_COLUMNS, CaseRow, case_from_row, typed};
use super::{Store, StoreError, from_ts, ts};
use crate::case::deadlines::DeadlineKind;

/// Which cases a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Only cases owned by this address.
    pub owner: Option<String>,
    /// `stage1` or `stage2`.
    pub stage: Option<String>,
    /// `open`, `closed` or `refused`.
    pub status: Option<String>,
    pub service_area: Option<String>,
    /// Only cases whose next deadline falls before this time.
    pub due_before: Option<DateTime<Utc>>,
    /// Only cases with a deadline past due at this time.
    pub overdue_at: Option<DateTime<Utc>>,
    /// Only cases flagged for attention or with a possible hazard.
    pub flagged: bool,
    /// Words in the reference, name, address or subject.
    pub search: Option<String>,
    /// Soonest deadline first (else newest first).
    pub by_deadline: bool,
}

/// A case in a list, with its next open deadline.
#[derive(Debug, Clone)]
pub struct ListedCase {
    pub case: CaseRow,
    pub next_due: Option<(DeadlineKind, DateTime<Utc>)>,
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct CasePage {
    pub cases: Vec<ListedCase>,
    /// How many cases match, over every page.
    pub total: i64,
}

/// A value bound to a built query.
enum Bound {
    Text(String),
    Number(i64),
}

/// A WHERE clause being built: each `?` in a condition becomes the value's `$n`.
#[derive(Default)]
struct Conditions {
    clauses: Vec<String>,
    values: Vec<Bound>,
}

impl Conditions {
    fn add(&mut self, clause: &str, value: Bound) {
        self.values.push(value);
        let n = format!("${}", self.values.len());
        self.clauses.push(clause.replace('?', &n));
    }
}

/// The WHERE clause of `filter` and its values, numbered from `$1`.
fn conditions(filter: &CaseFilter) -> (String, Vec<Bound>) {
    let mut w = Conditions::default();
    let text = |value: &String| Bound::Text(value.clone());
    if let Some(owner) = &filter.owner {
        w.add("c.owner = ?", text(owner));
    }
    if let Some(stage) = &filter.stage {
        w.add("c.stage = ?", text(stage));
    }
    if let Some(status) = &filter.status {
        w.add("c.status = ?", text(status));
    }
    if let Some(area) = &filter.service_area {
        w.add("c.service_area = ?", text(area));
    }
    if let Some(before) = filter.due_before {
        w.add("c.next_due_at < ?", Bound::Number(ts(before)));
    }
    if let Some(now) = filter.overdue_at {
        w.add(
            "c.status = 'open' AND c.next_due_at < ?",
            Bound::Number(ts(now)),
        );
    }
    if filter.flagged {
        w.clauses
            .push("(c.needs_attention <> 0 OR c.hazard IS NOT NULL)".into());
    }
    for word in filter
        .search
        .iter()
        .flat_map(|s| s.split_whitespace())
        .take(5)
    {
        let pattern = format!("%{}%", word.to_lowercase().replace(['%', '_'], ""));
        w.add("(LOWER(c.reference) LIKE ? OR LOWER(COALESCE(c.customer_name, '')) LIKE ? OR LOWER(COALESCE(c.customer_address, '')) LIKE ? OR LOWER(COALESCE(c.postal_address, '')) LIKE ? OR LOWER(c.subject) LIKE ?)", Bound::Text(pattern));
    }
    let sql = if w.clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", w.clauses.join(" AND "))
    };
    (sql, w.values)
}

impl Store {
    /// One page (`page` from 0) of `per_page` cases matching `filter`.
    pub async fn case_page(
        &self,
        filter: &CaseFilter,
        page: i64,
        per_page: i64,
    ) -> Result<CasePage, StoreError> {
        let (where_sql, values) = conditions(filter);
        let count_sql = format!("SELECT COUNT(*) AS n FROM cases c {where_sql}");
        let mut count = sqlx::query(&count_sql);
        for value in &values {
            count = bind(count, value);
        }
        let total: i64 = count.fetch_one(&self.pool).await?.try_get("n")?;
        let order = if filter.due_before.is_some() || filter.overdue_at.is_some() {
            // Every case listed has a next deadline: the index gives the order.
            "c.next_due_at, c.id DESC"
        } else if filter.by_deadline {
            "CASE WHEN c.next_due_at IS NULL THEN 1 ELSE 0 END, c.next_due_at, c.id DESC"
        } else {
            "c.id DESC"
        };
        let columns = CASE_COLUMNS
            .split(", ")
            .map(|column| format!("c.{column}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns}, c.next_due_at AS next_due FROM cases c {where_sql} ORDER BY {order} LIMIT {} OFFSET {}",
            per_page.clamp(1, 500),
            page.max(0) * per_page.clamp(1, 500)
        );
        let mut query = sqlx::query(&sql);
        for value in &values {
            query = bind(query, value);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut cases = Vec::with_capacity(rows.len());
        for row in &rows {
            let case = case_from_row(row)?;
            let next_due = match row.try_get::<Option<i64>, _>("next_due")? {
                Some(due) => self
                    .next_due_kind(case.id, due)
                    .await?
                    .map(|k| (k, from_ts(due))),
                None => None,
            };
            cases.push(ListedCase { case, next_due });
        }
        Ok(CasePage { cases, total })
    }

    async fn next_due_kind(
        &self,
        case_id: i64,
        due: i64,
    ) -> Result<Option<DeadlineKind>, StoreError> {
        let row = sqlx::query("SELECT kind FROM deadlines WHERE case_id = $1 AND status = 'open' AND due_at = $2 LIMIT 1")
            .bind(case_id)
            .bind(due)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(typed(
                "deadlines.kind",
                row.try_get("kind")?,
                DeadlineKind::parse,
            )?)),
            None => Ok(None),
        }
    }

    /// The distinct service areas on record, for a list's filter.
    pub async fn service_areas(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT DISTINCT service_area FROM cases WHERE service_area IS NOT NULL ORDER BY service_area")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(r.try_get("service_area")?))
            .collect()
    }

    /// The raw bytes of message `message_row`, if it belongs to case `case_id`.
    pub async fn raw_message_of_case(
        &self,
        case_id: i64,
        message_row: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query("SELECT raw FROM messages WHERE id = $1 AND case_id = $2")
            .bind(message_row)
            .bind(case_id)
            .fetch_optional(&mut *conn)
            .await?;
        Ok(match row {
            Some(row) => Some(
                chunks::read_whole(&mut conn, Owner::Message, message_row, row.try_get("raw")?)
                    .await?,
            ),
            None => None,
        })
    }

    /// Attachment number `index` (from 0) of a message of case `case_id`: name, type, bytes.
    pub async fn attachment_of_case(
        &self,
        case_id: i64,
        message_row: i64,
        index: i64,
    ) -> Result<Option<(Option<String>, String, Vec<u8>)>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query("SELECT a.id, a.filename, a.content_type, a.bytes FROM attachments a JOIN messages m ON m.id = a.message_row WHERE m.id = $1 AND m.case_id = $2 ORDER BY a.id LIMIT 1 OFFSET $3")
            .bind(message_row)
            .bind(case_id)
            .bind(index.max(0))
            .fetch_optional(&mut *conn)
            .await?;
        Ok(match row {
            Some(row) => {
                let id: i64 = row.try_get("id")?;
                let head = row.try_get("bytes")?;
                Some((
                    row.try_get("filename")?,
                    row.try_get("content_type")?,
                    chunks::read_whole(&mut conn, Owner::Attachment, id, head).await?,
                ))
            }
            None => None,
        })
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind<'q>(query: AnyQuery<'q>, value: &'q Bound) -> AnyQuery<'q> {
    match value {
        Bound::Text(text) => query.bind(text.as_str()),
        Bound::Number(n) => query.bind(*n),
    }
}
