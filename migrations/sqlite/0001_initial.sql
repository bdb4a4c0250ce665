-- redress schema, SQLite. Times are UTC seconds since the Unix epoch.

CREATE TABLE cases (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    reference         TEXT    NOT NULL UNIQUE,
    kind              TEXT    NOT NULL,
    stage             TEXT,
    status            TEXT    NOT NULL DEFAULT 'open',
    customer_address  TEXT,
    customer_name     TEXT,
    subject           TEXT    NOT NULL DEFAULT '',
    received_at       INTEGER NOT NULL,
    needs_attention   INTEGER NOT NULL DEFAULT 0,
    attention_reason  TEXT,
    service_area      TEXT,
    owner             TEXT,
    created_at        INTEGER NOT NULL
);
CREATE INDEX cases_status ON cases (status);

CREATE TABLE messages (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id           INTEGER REFERENCES cases (id),
    direction         TEXT    NOT NULL,
    message_id        TEXT    NOT NULL DEFAULT '',
    sha256            TEXT    NOT NULL,
    raw               BLOB    NOT NULL,
    mailbox           TEXT,
    uidvalidity       INTEGER,
    uid               INTEGER,
    received_at       INTEGER NOT NULL,
    from_address      TEXT,
    subject           TEXT    NOT NULL DEFAULT '',
    classification    TEXT,
    reasons           TEXT,
    created_at        INTEGER NOT NULL,
    UNIQUE (message_id, sha256)
);
CREATE INDEX messages_case ON messages (case_id);
CREATE INDEX messages_message_id ON messages (message_id);

CREATE TABLE attachments (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    message_row       INTEGER NOT NULL REFERENCES messages (id),
    filename          TEXT,
    content_type      TEXT    NOT NULL,
    sha256            TEXT    NOT NULL,
    bytes             BLOB    NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_row);

CREATE TABLE events (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id           INTEGER NOT NULL REFERENCES cases (id),
    at                INTEGER NOT NULL,
    kind              TEXT    NOT NULL,
    actor             TEXT    NOT NULL,
    detail            TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX events_case ON events (case_id);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE deadlines (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id           INTEGER NOT NULL REFERENCES cases (id),
    kind              TEXT    NOT NULL,
    due_at            INTEGER NOT NULL,
    rule              TEXT    NOT NULL,
    status            TEXT    NOT NULL DEFAULT 'open',
    created_at        INTEGER NOT NULL,
    closed_at         INTEGER
);
CREATE INDEX deadlines_open ON deadlines (status, due_at);
CREATE INDEX deadlines_case ON deadlines (case_id);

CREATE TABLE outbox (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id           INTEGER REFERENCES cases (id),
    kind              TEXT    NOT NULL,
    dedupe_key        TEXT    NOT NULL UNIQUE,
    message_id        TEXT    NOT NULL UNIQUE,
    to_address        TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    body              TEXT    NOT NULL,
    in_reply_to       TEXT,
    refs              TEXT,
    status            TEXT    NOT NULL DEFAULT 'pending',
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NOT NULL,
    claimed_until     INTEGER,
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    sent_at           INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE mailbox_state (
    mailbox           TEXT    PRIMARY KEY,
    uidvalidity       INTEGER NOT NULL,
    last_uid          INTEGER NOT NULL
);

CREATE TABLE reference_counters (
    year              INTEGER PRIMARY KEY,
    last_value        INTEGER NOT NULL
);
