-- Personal data through its life. A case past retention is purged: its mails, attachments and
-- letters removed and its personal fields and free text blanked, keeping an anonymised skeleton
-- so past years' figures stay the same. Events stay append-only except inside an audited purge:
-- the purge holds a row in purge_permits for its own transaction only, and the trigger allows a
-- change then and never otherwise. purge_log records each purge without personal data.
ALTER TABLE cases ADD COLUMN held_reason TEXT;
ALTER TABLE cases ADD COLUMN purged_at BIGINT;

CREATE TABLE purge_permits (
    started_at   BIGINT NOT NULL
);

CREATE TABLE purge_log (
    id           BIGSERIAL PRIMARY KEY,
    at           BIGINT NOT NULL,
    reference    TEXT   NOT NULL,
    rule         TEXT   NOT NULL,
    by_account   TEXT   NOT NULL,
    messages     BIGINT NOT NULL,
    letters      BIGINT NOT NULL
);

CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM purge_permits) THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'events are append-only';
END;
$$ LANGUAGE plpgsql;
