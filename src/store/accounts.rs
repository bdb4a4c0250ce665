//! Staff accounts, their signed-in sessions, and residents' private links to their case.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::rows::typed;
use super::{Store, StoreError, Tx, ts};
use crate::accounts::Role;

/// An account as stored (the password hash stays in the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub id: i64,
    pub email: String,
    /// How letters are signed and actions recorded ("Jo Bloggs").
    pub name: String,
    pub role: Role,
    pub disabled: bool,
}

/// A signed-in session: whose, and the token its forms must carry.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub account: AccountRow,
    pub csrf: String,
}

fn account_from_row(row: &AnyRow) -> Result<AccountRow, StoreError> {
    Ok(AccountRow {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: typed("accounts.role", row.try_get("role")?, Role::parse)?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
    })
}

impl Store {
    /// Adds an account; `false` when the address already has one.
    pub async fn add_account(
        &self,
        email: &str,
        name: &str,
        role: Role,
        password_hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("INSERT INTO accounts (email, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING")
            .bind(email.trim().to_ascii_lowercase())
            .bind(name.trim())
            .bind(role.as_str())
            .bind(password_hash)
            .bind(ts(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every account, by address.
    pub async fn accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let rows =
            sqlx::query("SELECT id, email, name, role, disabled FROM accounts ORDER BY email")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(account_from_row).collect()
    }

    /// The account with this address and its password hash.
    pub async fn account_for_sign_in(
        &self,
        email: &str,
    ) -> Result<Option<(AccountRow, Option<String>)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, email, name, role, disabled, password_hash FROM accounts WHERE email = $1",
        )
        .bind(email.trim().to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Some((
                account_from_row(&row)?,
                row.try_get("password_hash")?,
            ))),
            None => Ok(None),
        }
    }

    /// Sets an account's password hash and signs it out everywhere; `false` when there is no such account.
    pub async fn set_password(&self, email: &str, hash: &str) -> Result<bool, StoreError> {
        self.change_account(
            "UPDATE accounts SET password_hash = $1 WHERE email = $2",
            hash,
            email,
        )
        .await
    }

    /// Sets an account's role; `false` when there is no such account.
    pub async fn set_role(&self, email: &str, role: Role) -> Result<bool, StoreError> {
        self.change_account(
            "UPDATE accounts SET role = $1 WHERE email = $2",
            role.as_str(),
            email,
        )
        .await
    }

    /// Disables (or enables) an account and signs it out everywhere.
    pub async fn set_disabled(&self, email: &str, disabled: bool) -> Result<bool, StoreError> {
        let flag = if disabled { "1" } else { "0" };
        self.change_account(
            "UPDATE accounts SET disabled = CAST($1 AS INTEGER) WHERE email = $2",
            flag,
            email,
        )
        .await
    }

    async fn change_account(
        &self,
        sql: &str,
        value: &str,
        email: &str,
    ) -> Result<bool, StoreError> {
        let email = email.trim().to_ascii_lowercase();
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(sql)
            .bind(value)
            .bind(&email)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM sessions WHERE account_id IN (SELECT id FROM accounts WHERE email = $1)",
        )
        .bind(&email)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a sign-in: the session lives until `expires_at`.
    pub async fn start_session(
        &self,
        token_sha256: &str,
        account_id: i64,
        csrf: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(ts(now))
            .execute(&self.pool)
            .await?;
        sqlx::query("INSERT INTO sessions (token_sha256, account_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_sha256)
            .bind(account_id)
            .bind(csrf)
            .bind(ts(now))
            .bind(ts(expires_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The live session with this token digest, of an account still enabled.
    pub async fn session(
        &self,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query("SELECT a.id, a.email, a.name, a.role, a.disabled, s.csrf FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_sha256 = $1 AND s.expires_at > $2 AND a.disabled = 0")
            .bind(token_sha256)
            .bind(ts(now))
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(SessionRow {
                account: account_from_row(&row)?,
                csrf: row.try_get("csrf")?,
            })),
            None => Ok(None),
        }
    }

    /// Signs a session out.
    pub async fn end_session(&self, token_sha256: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1")
            .bind(token_sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The reference of the case a live resident link opens.
    pub async fn case_of_resident_link(&self, token: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT c.reference FROM resident_links l JOIN cases c ON c.id = l.case_id WHERE l.token = $1 AND l.revoked_at IS NULL")
            .bind(token)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("reference")?),
            None => None,
        })
    }

    /// Revokes a case's resident link; the next letter carries a new one. `false` when it had none.
    pub async fn revoke_resident_link(
        &self,
        case_id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE resident_links SET revoked_at = $1 WHERE case_id = $2 AND revoked_at IS NULL",
        )
        .bind(ts(now))
        .bind(case_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

impl Tx {
    /// The case's live resident link token, issued now if it has none.
    pub async fn resident_link(
        &mut self,
        case_id: i64,
        new_token: impl FnOnce() -> String,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let row = sqlx::query(
            "SELECT token FROM resident_links WHERE case_id = $1 AND revoked_at IS NULL",
        )
        .bind(case_id)
        .fetch_optional(self.conn())
        .await?;
        if let Some(row) = row {
            return Ok(row.try_get("token")?);
        }
        let token = new_token();
        sqlx::query("INSERT INTO resident_links (token, case_id, created_at) VALUES ($1, $2, $3)")
            .bind(&token)
            .bind(case_id)
            .bind(ts(now))
            .execute(self.conn())
            .await?;
        Ok(token)
    }
}
