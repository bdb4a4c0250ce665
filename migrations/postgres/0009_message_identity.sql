-- A mail's identity ignores the trace headers added in transit (Received, Delivered-To, ...),
-- so the same mail delivered again by another route is recognised as a duplicate. Rows from
-- before keep a NULL identity and are still matched by their exact bytes (sha256).
ALTER TABLE messages ADD COLUMN identity TEXT;
CREATE UNIQUE INDEX messages_identity ON messages (message_id, identity);
