-- Mails that could not be recorded, by where they wait: after three failed passes a mail is
-- moved to the quarantine folder for a person instead of being fetched again forever.
CREATE TABLE ingest_failures (
    mailbox      TEXT    NOT NULL,
    uidvalidity  INTEGER NOT NULL,
    uid          INTEGER NOT NULL,
    attempts     INTEGER NOT NULL,
    last_error   TEXT    NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (mailbox, uidvalidity, uid)
);
