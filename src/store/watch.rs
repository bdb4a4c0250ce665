//! One instance watches the mailbox at a time. On PostgreSQL several instances may run side by
//! side: they share sending and reminders (rows claimed with `FOR UPDATE SKIP LOCKED`), but
//! only the holder of a session-level advisory lock reads the mailbox, so they do not all fetch
//! the same backlog. The lock lives on a connection of its own; when its holder dies, the
//! server closes that connection and another instance takes over at its next try.

use sqlx::{Connection, Row};

use super::{Backend, Store, StoreError};

/// The advisory lock's key: "redress" in ASCII.
const WATCH_KEY: i64 = 0x0072_6564_7265_7373;

/// Held while this instance watches the mailbox; dropping it lets another take over.
#[derive(Debug)]
pub struct WatchLock {
    /// PostgreSQL: the connection holding the lock (closed, and the lock freed, on drop).
    _connection: Option<sqlx::AnyConnection>,
}

impl Store {
    /// The watch lock if no other instance holds it; on SQLite (one instance) always.
    pub async fn try_watch_lock(&self) -> Result<Option<WatchLock>, StoreError> {
        if self.backend == Backend::Sqlite {
            return Ok(Some(WatchLock { _connection: None }));
        }
        let mut connection = self.pool.acquire().await?.detach();
        let row = sqlx::query("SELECT pg_try_advisory_lock($1) AS held")
            .bind(WATCH_KEY)
            .fetch_one(&mut connection)
            .await?;
        if row.try_get::<bool, _>("held")? {
            Ok(Some(WatchLock {
                _connection: Some(connection),
            }))
        } else {
            connection.close().await?;
            Ok(None)
        }
    }
}
