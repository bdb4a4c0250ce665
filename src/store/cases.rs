//! Cases: references, opening, flags, stage/status/owner changes, and reading a case whole.

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use sqlx::Row;

use super::deadlines::deadlines_of;
use super::events::events_of;
use super::messages::{first_message_id, messages_of};
use super::outbox::letters_of;
use super::rows::{CASE_COLUMNS, CaseDetail, CaseRow, CaseState, NewCase, Recorded, case_from_row};
use super::{Store, StoreError, Tx, ts};
use crate::case::model::{CaseKind, CaseStatus, Event, Stage};

impl Store {
    /// The case with this reference.
    pub async fn case_by_reference(&self, reference: &str) -> Result<Option<CaseRow>, StoreError> {
        case_where(&mut *self.pool.acquire().await?, Key::Reference(reference)).await
    }

    /// The reference of a case.
    pub async fn reference_of(&self, case_id: i64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT reference FROM cases WHERE id = $1")
            .bind(case_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("reference")?),
            None => None,
        })
    }

    /// Cases, newest first.
    pub async fn list_cases(&self, limit: i64) -> Result<Vec<CaseRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM cases ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(case_from_row).collect()
    }

    /// Everything on record about a case.
    pub async fn case_detail(&self, reference: &str) -> Result<CaseDetail, StoreError> {
        let conn = &mut *self.pool.acquire().await?;
        let case = case_where(conn, Key::Reference(reference))
            .await?
            .ok_or_else(|| StoreError::NoSuchCase(reference.to_string()))?;
        Ok(CaseDetail {
            deadlines: deadlines_of(conn, case.id).await?,
            events: events_of(conn, case.id).await?,
            messages: messages_of(conn, case.id).await?,
            letters: letters_of(conn, case.id).await?,
            case,
        })
    }

    /// A case as the case core decides on it, read outside a transaction (for classification).
    pub async fn case_state(&self, case_id: i64) -> Result<CaseState, StoreError> {
        let conn = &mut *self.pool.acquire().await?;
        let case = case_where(conn, Key::Id(case_id))
            .await?
            .ok_or_else(|| StoreError::NoSuchCase(format!("#{case_id}")))?;
        state_of(conn, case).await
    }
}

impl Tx {
    /// A case as the case core decides on it, read inside this transaction.
    pub async fn case_state_by_reference(
        &mut self,
        reference: &str,
    ) -> Result<Option<CaseState>, StoreError> {
        match case_where(self.conn(), Key::Reference(reference)).await? {
            Some(case) => Ok(Some(state_of(self.conn(), case).await?)),
            None => Ok(None),
        }
    }

    /// A case as the case core decides on it, by id, inside this transaction.
    pub async fn case_state(&mut self, case_id: i64) -> Result<CaseState, StoreError> {
        let case = self.case_by_id(case_id).await?;
        state_of(self.conn(), case).await
    }

    /// The case with this id.
    pub async fn case_by_id(&mut self, case_id: i64) -> Result<CaseRow, StoreError> {
        case_where(self.conn(), Key::Id(case_id))
            .await?
            .ok_or_else(|| StoreError::NoSuchCase(format!("#{case_id}")))
    }

    /// Allocates the next case reference for `year`: `PREFIX-YYYY-NNNNNN`.
    pub async fn next_reference(&mut self, prefix: &str, year: i32) -> Result<String, StoreError> {
        sqlx::query("INSERT INTO reference_counters (year, last_value) VALUES ($1, 0) ON CONFLICT (year) DO NOTHING")
            .bind(i64::from(year))
            .execute(self.conn())
            .await?;
        let row = sqlx::query("UPDATE reference_counters SET last_value = last_value + 1 WHERE year = $1 RETURNING last_value")
            .bind(i64::from(year))
            .fetch_one(self.conn())
            .await?;
        let n: i64 = row.try_get("last_value")?;
        Ok(format!("{prefix}-{year}-{n:06}"))
    }

    /// Opens a case and returns its id.
    pub async fn insert_case(
        &mut self,
        reference: &str,
        case: &NewCase,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO cases (reference, kind, stage, status, customer_address, customer_name, subject, received_at, needs_attention, attention_reason, service_area, owner, created_at, themes, hazard, representative, postal_address)
             VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
        )
        .bind(reference)
        .bind(case.kind.as_str())
        .bind(case.stage.map(Stage::as_str))
        .bind(case.customer_address.as_deref())
        .bind(case.customer_name.as_deref())
        .bind(case.subject.as_str())
        .bind(ts(case.received_at))
        .bind(i64::from(case.attention_reason.is_some()))
        .bind(case.attention_reason.as_deref())
        .bind(case.service_area.as_deref())
        .bind(case.owner.as_deref())
        .bind(ts(now))
        .bind(serde_json::to_string(&case.themes).unwrap_or_else(|_| "[]".into()))
        .bind(case.hazard.as_deref())
        .bind(i64::from(case.representative))
        .bind(case.postal_address.as_deref())
        .fetch_one(self.conn())
        .await?;
        Ok(row.try_get("id")?)
    }

    /// Flags a case for a person, with the reason, and records that as an event.
    pub async fn flag_case(
        &mut self,
        case_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE cases SET needs_attention = 1, attention_reason = $1 WHERE id = $2")
            .bind(reason)
            .bind(case_id)
            .execute(self.conn())
            .await?;
        let event = Event::NeedsAttention {
            reason: reason.to_string(),
        };
        self.insert_event(case_id, now, "redress", &event).await
    }

    /// Moves a case to a stage, or to none (it is not a complaint).
    pub async fn set_stage(
        &mut self,
        case_id: i64,
        stage: Option<Stage>,
    ) -> Result<(), StoreError> {
        self.set_column(case_id, "stage", stage.map(Stage::as_str))
            .await
    }

    /// Corrects what a case is.
    pub async fn set_kind(&mut self, case_id: i64, kind: CaseKind) -> Result<(), StoreError> {
        self.set_column(case_id, "kind", Some(kind.as_str())).await
    }

    /// Records a case's hazard, detected or triaged.
    pub async fn set_hazard(&mut self, case_id: i64, hazard: &str) -> Result<(), StoreError> {
        self.set_column(case_id, "hazard", Some(hazard)).await
    }

    /// Records the reasonable adjustments the resident needs.
    pub async fn set_adjustments(&mut self, case_id: i64, needs: &str) -> Result<(), StoreError> {
        self.set_column(case_id, "adjustments", Some(needs)).await
    }

    /// Records the authority held for the resident's representative.
    pub async fn set_authority(&mut self, case_id: i64, authority: &str) -> Result<(), StoreError> {
        self.set_column(case_id, "authority", Some(authority)).await
    }

    /// Corrects a case's service area.
    pub async fn set_service_area(&mut self, case_id: i64, area: &str) -> Result<(), StoreError> {
        self.set_column(case_id, "service_area", Some(area)).await
    }

    /// Sets what a case is about (the report's themes).
    pub async fn set_themes(&mut self, case_id: i64, themes: &[String]) -> Result<(), StoreError> {
        let json = serde_json::to_string(themes).unwrap_or_else(|_| "[]".into());
        self.set_column(case_id, "themes", Some(&json)).await
    }

    /// Sets a case's status.
    pub async fn set_status(&mut self, case_id: i64, status: CaseStatus) -> Result<(), StoreError> {
        self.set_column(case_id, "status", Some(status.as_str()))
            .await
    }

    /// Hands a case to an owner.
    pub async fn set_owner(&mut self, case_id: i64, owner: &str) -> Result<(), StoreError> {
        self.set_column(case_id, "owner", Some(owner)).await
    }

    async fn set_column(
        &mut self,
        case_id: i64,
        column: &'static str,
        value: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(&format!("UPDATE cases SET {column} = $1 WHERE id = $2"))
            .bind(value)
            .bind(case_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

/// How a case is looked up.
enum Key<'a> {
    Id(i64),
    Reference(&'a str),
}

async fn case_where(conn: &mut AnyConnection, key: Key<'_>) -> Result<Option<CaseRow>, StoreError> {
    let column = match key {
        Key::Id(_) => "id",
        Key::Reference(_) => "reference",
    };
    let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE {column} = $1");
    let query = sqlx::query(&sql);
    let query = match key {
        Key::Id(id) => query.bind(id),
        Key::Reference(reference) => query.bind(reference),
    };
    let row = query.fetch_optional(conn).await?;
    row.as_ref().map(case_from_row).transpose()
}

async fn state_of(conn: &mut AnyConnection, case: CaseRow) -> Result<CaseState, StoreError> {
    let history = events_of(conn, case.id)
        .await?
        .into_iter()
        .filter_map(|row| {
            let event = row.event()?;
            Some(Recorded {
                at: row.at,
                actor: row.actor,
                event,
            })
        })
        .collect();
    Ok(CaseState {
        deadlines: deadlines_of(conn, case.id).await?,
        first_message_id: first_message_id(conn, case.id).await?,
        history,
        case,
    })
}
