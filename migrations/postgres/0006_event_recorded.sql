-- Who wrote each event, and when it was really written: an action replayed with `--now` keeps
-- its stated time in `at` and the real time here.
ALTER TABLE events ADD COLUMN recorded_at BIGINT;
ALTER TABLE events ADD COLUMN recorded_by TEXT;
