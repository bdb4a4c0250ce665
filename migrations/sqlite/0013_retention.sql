-- Personal data through its life. A case past retention is purged: its mails, attachments and
-- letters removed and its personal fields and free text blanked, keeping an anonymised skeleton
-- so past years' figures stay the same. Events stay append-only except inside an audited purge:
-- the purge holds a row in purge_permits for its own transaction only, and the triggers allow a
-- change then and never otherwise. purge_log records each purge without personal data.
ALTER TABLE cases ADD COLUMN held_reason TEXT;
ALTER TABLE cases ADD COLUMN purged_at INTEGER;

CREATE TABLE purge_permits (
    started_at   INTEGER NOT NULL
);

CREATE TABLE purge_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,
    reference    TEXT    NOT NULL,
    rule         TEXT    NOT NULL,
    by_account   TEXT    NOT NULL,
    messages     INTEGER NOT NULL,
    letters      INTEGER NOT NULL
);

DROP TRIGGER events_no_update;
DROP TRIGGER events_no_delete;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
WHEN NOT EXISTS (SELECT 1 FROM purge_permits)
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
WHEN NOT EXISTS (SELECT 1 FROM purge_permits)
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
