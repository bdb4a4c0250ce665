-- Typed events: the stage an event belongs to gets its own column, so "acknowledged at stage 2"
-- is a column match instead of a LIKE over the JSON text. Existing rows are filled from their
-- detail (the append-only trigger is lifted for this one backfill and put back).
ALTER TABLE events ADD COLUMN stage TEXT;
ALTER TABLE events DISABLE TRIGGER events_no_change;
UPDATE events SET stage = CASE
    WHEN kind = 'escalated' THEN detail::jsonb ->> 'to_stage'
    ELSE detail::jsonb ->> 'stage'
END
WHERE detail LIKE '{%';
ALTER TABLE events ENABLE TRIGGER events_no_change;
CREATE INDEX events_kind_stage ON events (kind, stage, at);
