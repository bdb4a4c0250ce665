-- Mails that could not be recorded, by where they wait: after three failed passes a mail is
-- moved to the quarantine folder for a person instead of being fetched again forever.
CREATE TABLE ingest_failures (
    mailbox      TEXT    NOT NULL,
    uidvalidity  BIGINT NOT NULL,
    uid          BIGINT NOT NULL,
    attempts     BIGINT NOT NULL,
    last_error   TEXT    NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (mailbox, uidvalidity, uid)
);
