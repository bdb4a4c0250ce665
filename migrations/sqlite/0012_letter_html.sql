-- Each letter's accessible HTML part (sent as multipart/alternative beside the plain text);
-- NULL for plain text only (a resident who asked for it, and letters queued before this).
ALTER TABLE outbox ADD COLUMN html TEXT;
