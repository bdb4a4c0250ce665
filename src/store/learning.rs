//! What people taught the classifier: training examples (imported, or from cases people
//! corrected) and the models `redress train` fitted.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Store, StoreError, ts};
pub use crate::intake::learned::TrainingExample;

/// The newest fitted model: the one in use.
const NEWEST_MODEL: &str = "SELECT model FROM learned_models ORDER BY id DESC LIMIT 1";

/// A case a person corrected: its first mail and what it is now.
#[derive(Debug, Clone)]
pub struct CorrectedCase {
    pub message_row: i64,
    pub kind: String,
    pub area: Option<String>,
}

impl Store {
    /// The newest fitted model at `url`, read without creating or changing anything: `None`
    /// when there is no database yet, or no model in it.
    pub async fn peek_model(url: &str) -> Result<Option<String>, StoreError> {
        let Some(pool) = super::read_only(url).await? else {
            return Ok(None);
        };
        // A database not yet migrated this far has no table: no model.
        let row = sqlx::query(NEWEST_MODEL)
            .fetch_optional(&pool)
            .await
            .unwrap_or(None);
        pool.close().await;
        Ok(row.map(|r| r.try_get("model")).transpose()?)
    }

    /// Keeps `example` from `source`; `false` when the same example is already kept.
    pub async fn add_training_example(
        &self,
        example: &TrainingExample,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut hash = Sha256::new();
        for part in [
            example.text.as_str(),
            example.kind.as_deref().unwrap_or(""),
            example.area.as_deref().unwrap_or(""),
        ] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        let done = sqlx::query(
            "INSERT INTO training_examples (sha256, text, kind, area, source, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(hex::encode(hash.finalize()))
        .bind(&example.text)
        .bind(example.kind.as_deref())
        .bind(example.area.as_deref())
        .bind(source)
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every kept example, oldest first.
    pub async fn training_examples(&self) -> Result<Vec<TrainingExample>, StoreError> {
        let rows = sqlx::query("SELECT text, kind, area FROM training_examples ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(TrainingExample {
                    text: row.try_get("text")?,
                    kind: row.try_get("kind")?,
                    area: row.try_get("area")?,
                })
            })
            .collect()
    }

    /// Cases a person corrected (kind or service area), with the row of their first mail.
    pub async fn corrected_cases(&self) -> Result<Vec<CorrectedCase>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.kind, c.service_area, MIN(m.id) AS message_row FROM cases c \
             JOIN messages m ON m.case_id = c.id AND m.direction = 'in' \
             WHERE EXISTS (SELECT 1 FROM events e WHERE e.case_id = c.id AND e.kind = 'corrected') \
             GROUP BY c.id, c.kind, c.service_area ORDER BY c.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CorrectedCase {
                    message_row: row.try_get("message_row")?,
                    kind: row.try_get("kind")?,
                    area: row.try_get("service_area")?,
                })
            })
            .collect()
    }

    /// Keeps a fitted model (JSON) fitted on `examples` examples; the newest is the one in use.
    pub async fn save_model(
        &self,
        model: &str,
        examples: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO learned_models (trained_at, examples, model) VALUES ($1, $2, $3)")
            .bind(ts(now))
            .bind(examples)
            .bind(model)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The newest fitted model (JSON), if any.
    pub async fn latest_model(&self) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(NEWEST_MODEL).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get("model")).transpose()?)
    }
}
