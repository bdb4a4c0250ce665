//! The database: the single source of truth for messages, cases, events, deadlines and the outbox.
//! It owns every query: nothing outside this folder names SQL or sqlx.
//!
//! One interface over SQLite (the default: embedded, file created 0600, WAL) and PostgreSQL (for
//! several instances side by side), through sqlx's `Any` driver with SQL both accept. The two
//! places where they differ are chosen here: the schema (`migrations/sqlite`, `migrations/postgres`)
//! and how the outbox worker claims a row (`UPDATE ... RETURNING` inside a write transaction on
//! SQLite, `FOR UPDATE SKIP LOCKED` on PostgreSQL). Times are stored as UTC seconds.
//!
//! Files: [`rows`] (what comes back), then one file per table group: [`messages`], [`cases`],
//! [`events`], [`deadlines`], [`outbox`], [`reminders`], [`figures`] (dashboard and report reads),
//! [`senders`] (restrictions and mailbox state), [`annual`] (the published report's counts, in SQL).

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};

pub mod accounts;
pub mod annual;
pub mod cases;
pub mod chunks;
pub mod deadlines;
pub mod events;
pub mod figures;
pub mod health;
pub mod learning;
pub mod messages;
pub mod outbox;
pub mod reminders;
pub mod retention;
pub mod rows;
pub mod senders;
#[cfg(test)]
mod tests;
pub mod watch;
pub mod worklist;

pub use accounts::{AccountRow, SessionRow};
pub use rows::*;
pub use worklist::{CaseFilter, CasePage, ListedCase};

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot prepare the SQLite file {path}: {error}")]
    File { path: String, error: std::io::Error },
    #[error("no case with reference {0}")]
    NoSuchCase(String),
    #[error("the record holds `{value}` in {column}, which this version does not know")]
    Unknown { column: &'static str, value: String },
}

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Who is writing (the account running redress), stamped on every event.
    operator: Arc<str>,
    /// SQLite has one writer at a time, and a writer kept waiting polls with growing sleeps, so
    /// under a steady stream of short transactions (a backlog being recorded) one writer can
    /// wait for most of a second. The outbox's "the server took it" mark must not: every
    /// moment it waits is a moment in which a crash sends the letter again (measured by the
    /// chaos test: 2.4 duplicate letters a crash with SQLite's own waiting). Writers in this
    /// process take turns here instead, and that mark goes first.
    writers: Arc<WriteTurns>,
}

/// Turns to write on SQLite: first come first served, except that an urgent writer (the
/// outbox's sent mark) goes before every writer not yet writing.
#[derive(Debug, Default)]
pub(crate) struct WriteTurns {
    turn: Arc<tokio::sync::Mutex<()>>,
    urgent: std::sync::atomic::AtomicUsize,
    urgent_done: tokio::sync::Notify,
}

impl WriteTurns {
    async fn ordinary(&self) -> tokio::sync::OwnedMutexGuard<()> {
        use std::sync::atomic::Ordering;
        loop {
            let calm = self.urgent_done.notified();
            if self.urgent.load(Ordering::SeqCst) > 0 {
                calm.await;
                continue;
            }
            let guard = self.turn.clone().lock_owned().await;
            if self.urgent.load(Ordering::SeqCst) == 0 {
                return guard;
            }
        }
    }

    async fn urgent(&self) -> tokio::sync::OwnedMutexGuard<()> {
        use std::sync::atomic::Ordering;
        self.urgent.fetch_add(1, Ordering::SeqCst);
        let guard = self.turn.clone().lock_owned().await;
        self.urgent.fetch_sub(1, Ordering::SeqCst);
        self.urgent_done.notify_waiters();
        guard
    }
}

/// A write transaction on the store: everything a change does is written through one.
#[derive(Debug)]
pub struct Tx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    operator: Arc<str>,
    /// This process's write turn on SQLite, held until the transaction ends.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Tx {
    /// Makes every write in the transaction permanent.
    pub async fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit().await?)
    }

    /// Undoes every write in the transaction.
    pub async fn rollback(self) -> Result<(), StoreError> {
        Ok(self.tx.rollback().await?)
    }

    fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

pub(crate) fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(crate) fn from_ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://...`). A new SQLite file is created 0600.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let mut url = url.to_string();
        if backend == Backend::Sqlite {
            let path = sqlite_path(&url);
            if path != ":memory:" {
                prepare_sqlite_file(Path::new(&path))?;
            }
            if !url.contains('?') {
                url.push_str("?mode=rwc");
            }
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA busy_timeout = 10000",
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA synchronous = NORMAL",
                        ] {
                            sqlx::query(pragma).execute(&mut *conn).await?;
                        }
                    } else {
                        // Every statement redress runs is short: compiling one by JIT costs
                        // 50-70 ms for each of the report's counts over a million cases and
                        // gains nothing (PostgreSQL's docs: JIT pays off for long, CPU-bound
                        // queries).
                        sqlx::query("SET jit = off").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        Ok(Store {
            pool,
            backend,
            operator: Arc::from("redress"),
            writers: Arc::new(WriteTurns::default()),
        })
    }

    /// What a check finds at `url` without changing anything: a SQLite file that is not there yet
    /// is reported, not created; otherwise how many migrations the next start will apply.
    pub async fn inspect(url: &str) -> Result<String, StoreError> {
        let sqlite = url.starts_with("sqlite:");
        let Some(pool) = read_only(url).await? else {
            return Ok(format!(
                "{} does not exist yet: it is created at the first start",
                sqlite_path(url)
            ));
        };
        let known = match sqlite {
            true => sqlx::migrate!("migrations/sqlite").migrations.len(),
            false => sqlx::migrate!("migrations/postgres").migrations.len(),
        };
        let applied = migrations_applied(&pool).await;
        pool.close().await;
        let pending = (known as i64 - applied).max(0);
        Ok(match pending {
            0 => "schema up to date".to_string(),
            n => format!("{n} migration(s) to apply at the next start"),
        })
    }

    /// Applies the schema migrations for this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&self.pool).await?,
            Backend::Postgres => {
                let before = migrations_applied(&self.pool).await;
                sqlx::migrate!("migrations/postgres")
                    .run(&self.pool)
                    .await?;
                if migrations_applied(&self.pool).await != before {
                    self.refresh_planner_statistics().await?;
                }
            }
        }
        Ok(())
    }

    /// Does on PostgreSQL what autovacuum does after a table fills (`VACUUM ANALYZE`): a
    /// migration that fills a new table (0018 writes a row per case and stage) leaves it without
    /// statistics and without its visibility map until autovacuum comes by, or for good where
    /// autovacuum is off, and the report's counts then take plans that run for minutes instead
    /// of a second, and read the table where its index would do. SQLite is left as it is: its
    /// counts are written for the planner it has without `sqlite_stat1` (see [`annual`]).
    pub async fn refresh_planner_statistics(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("VACUUM ANALYZE").execute(&self.pool).await?;
        }
        Ok(())
    }

    /// The same store, stamping `operator` (the account acting) on every event it writes.
    pub fn acting_as(self, operator: &str) -> Store {
        Store {
            operator: Arc::from(operator),
            ..self
        }
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// SQLite's journal mode (`wal` expected); `None` on PostgreSQL.
    pub async fn journal_mode(&self) -> Result<Option<String>, StoreError> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        let row = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&self.pool)
            .await?;
        Ok(Some(row.try_get(0)?))
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite, so writers queue instead of failing).
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let turn = self.write_turn().await;
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx {
            tx,
            operator: self.operator.clone(),
            _turn: turn,
        })
    }

    /// Waits for this process's turn to write, on SQLite (PostgreSQL has no single writer).
    async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match self.backend {
            Backend::Sqlite => Some(self.writers.ordinary().await),
            Backend::Postgres => None,
        }
    }

    /// The next turn to write, before any writer still waiting (see [`Store`]'s `writers`).
    pub(crate) async fn urgent_write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match self.backend {
            Backend::Sqlite => Some(self.writers.urgent().await),
            Backend::Postgres => None,
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// How many migrations the database has applied (none before the first, when there is no
/// migrations table yet).
async fn migrations_applied(pool: &AnyPool) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .and_then(|row| row.try_get("n"))
        .unwrap_or(0)
}

/// One connection to the database at `url` that changes nothing (SQLite opened read-only), or
/// `None` when a SQLite file is not there yet (it is never created here).
async fn read_only(url: &str) -> Result<Option<AnyPool>, StoreError> {
    sqlx::any::install_default_drivers();
    let url = if url.starts_with("sqlite:") {
        let path = sqlite_path(url);
        if !Path::new(&path).exists() {
            return Ok(None);
        }
        format!("sqlite://{path}?mode=ro")
    } else {
        url.to_string()
    };
    Ok(Some(
        AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await?,
    ))
}

fn sqlite_path(url: &str) -> String {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    rest.split('?').next().unwrap_or(rest).to_string()
}

/// Creates the SQLite file (and its folder) readable by its owner only.
fn prepare_sqlite_file(path: &Path) -> Result<(), StoreError> {
    let err = |error| StoreError::File {
        path: path.display().to_string(),
        error,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    if !path.exists() {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(err)?;
    }
    Ok(())
}
