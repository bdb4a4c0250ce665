-- Typed events: the stage an event belongs to gets its own column, so "acknowledged at stage 2"
-- is a column match instead of a LIKE over the JSON text. Existing rows are filled from their
-- detail (the append-only trigger is lifted for this one backfill and put back).
ALTER TABLE events ADD COLUMN stage TEXT;
DROP TRIGGER events_no_update;
UPDATE events SET stage = CASE
    WHEN kind = 'escalated' THEN json_extract(detail, '$.to_stage')
    WHEN json_valid(detail) THEN json_extract(detail, '$.stage')
END
WHERE json_valid(detail);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE INDEX events_kind_stage ON events (kind, stage, at);
