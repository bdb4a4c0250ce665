//! Large blobs in pieces. A mail or attachment is stored with its first [`CHUNK_BYTES`] in its
//! own row and the rest in `chunks`, one piece a row, so that recording a 40 MB mail needs a
//! megabyte or so at a time beyond the bytes themselves: the database driver copies every value
//! it is given (to hand it to its worker), and SQLite copies it again to bind and again to build
//! the row, so one whole-blob insert costs three times the mail.

use sqlx::{AnyConnection, Row};

use super::StoreError;

/// The largest piece written at once.
pub const CHUNK_BYTES: usize = 1 << 20;

/// Whose bytes a piece belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    Message,
    Attachment,
}

impl Owner {
    fn as_str(self) -> &'static str {
        match self {
            Owner::Message => "message",
            Owner::Attachment => "attachment",
        }
    }

    /// SQL for the size of `table.column` plus its pieces, `id` being the owner row's id column.
    pub fn size_sql(self, column: &str, id: &str) -> String {
        format!(
            "(LENGTH({column}) + (SELECT COALESCE(SUM(LENGTH(c.bytes)), 0) FROM chunks c WHERE c.owner = '{}' AND c.owner_id = {id}))",
            self.as_str()
        )
    }
}

/// The part of `bytes` kept in the owner's own row.
pub fn head(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.len().min(CHUNK_BYTES)]
}

/// Writes what [`head`] left out, a piece at a time.
pub async fn write_rest(
    conn: &mut AnyConnection,
    owner: Owner,
    owner_id: i64,
    bytes: &[u8],
) -> Result<(), StoreError> {
    let Some(rest) = bytes.get(CHUNK_BYTES..) else {
        return Ok(());
    };
    for (seq, piece) in rest.chunks(CHUNK_BYTES).enumerate() {
        sqlx::query("INSERT INTO chunks (owner, owner_id, seq, bytes) VALUES ($1, $2, $3, $4)")
            .bind(owner.as_str())
            .bind(owner_id)
            .bind(i64::try_from(seq).unwrap_or(i64::MAX))
            .bind(piece)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The whole of a blob whose row holds `head`: the head followed by its pieces in order.
pub async fn read_whole(
    conn: &mut AnyConnection,
    owner: Owner,
    owner_id: i64,
    head: Vec<u8>,
) -> Result<Vec<u8>, StoreError> {
    let pieces =
        sqlx::query("SELECT bytes FROM chunks WHERE owner = $1 AND owner_id = $2 ORDER BY seq")
            .bind(owner.as_str())
            .bind(owner_id)
            .fetch_all(conn)
            .await?;
    let mut whole = head;
    for piece in &pieces {
        let bytes: Vec<u8> = piece.try_get("bytes")?;
        whole.extend_from_slice(&bytes);
    }
    Ok(whole)
}

/// Removes the pieces of every message of case `case_id` and of their attachments.
pub async fn remove_for_case(conn: &mut AnyConnection, case_id: i64) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM chunks WHERE (owner = 'message' AND owner_id IN (SELECT id FROM messages WHERE case_id = $1))
            OR (owner = 'attachment' AND owner_id IN (SELECT a.id FROM attachments a JOIN messages m ON m.id = a.message_row WHERE m.case_id = $1))",
    )
    .bind(case_id)
    .execute(conn)
    .await?;
    Ok(())
}
