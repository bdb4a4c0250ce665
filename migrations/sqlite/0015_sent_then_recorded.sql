-- A letter is marked sent by itself the moment the mail server takes it, and its copy and the
-- events it causes are recorded just after: a crash in between can no longer send it again
-- (only a crash in the instant before the mark can), and the unfinished recording is completed
-- at the next start. `recorded` is 0 only in that gap.
ALTER TABLE outbox ADD COLUMN recorded INTEGER NOT NULL DEFAULT 1;
CREATE INDEX outbox_unrecorded ON outbox (id) WHERE recorded = 0;
