-- redress schema, PostgreSQL. Times are UTC seconds since the Unix epoch.

CREATE TABLE cases (
    id                BIGSERIAL PRIMARY KEY,
    reference         TEXT    NOT NULL UNIQUE,
    kind              TEXT    NOT NULL,
    stage             TEXT,
    status            TEXT    NOT NULL DEFAULT 'open',
    customer_address  TEXT,
    customer_name     TEXT,
    subject           TEXT    NOT NULL DEFAULT '',
    received_at       BIGINT NOT NULL,
    needs_attention   BIGINT NOT NULL DEFAULT 0,
    attention_reason  TEXT,
    service_area      TEXT,
    owner             TEXT,
    created_at        BIGINT NOT NULL
);
CREATE INDEX cases_status ON cases (status);

CREATE TABLE messages (
    id                BIGSERIAL PRIMARY KEY,
    case_id           BIGINT REFERENCES cases (id),
    direction         TEXT    NOT NULL,
    message_id        TEXT    NOT NULL DEFAULT '',
    sha256            TEXT    NOT NULL,
    raw               BYTEA    NOT NULL,
    mailbox           TEXT,
    uidvalidity       BIGINT,
    uid               BIGINT,
    received_at       BIGINT NOT NULL,
    from_address      TEXT,
    subject           TEXT    NOT NULL DEFAULT '',
    classification    TEXT,
    reasons           TEXT,
    created_at        BIGINT NOT NULL,
    UNIQUE (message_id, sha256)
);
CREATE INDEX messages_case ON messages (case_id);
CREATE INDEX messages_message_id ON messages (message_id);

CREATE TABLE attachments (
    id                BIGSERIAL PRIMARY KEY,
    message_row       BIGINT NOT NULL REFERENCES messages (id),
    filename          TEXT,
    content_type      TEXT    NOT NULL,
    sha256            TEXT    NOT NULL,
    bytes             BYTEA    NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_row);

CREATE TABLE events (
    id                BIGSERIAL PRIMARY KEY,
    case_id           BIGINT NOT NULL REFERENCES cases (id),
    at                BIGINT NOT NULL,
    kind              TEXT    NOT NULL,
    actor             TEXT    NOT NULL,
    detail            TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX events_case ON events (case_id);
CREATE FUNCTION events_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'events are append-only'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
FOR EACH ROW EXECUTE FUNCTION events_append_only();

CREATE TABLE deadlines (
    id                BIGSERIAL PRIMARY KEY,
    case_id           BIGINT NOT NULL REFERENCES cases (id),
    kind              TEXT    NOT NULL,
    due_at            BIGINT NOT NULL,
    rule              TEXT    NOT NULL,
    status            TEXT    NOT NULL DEFAULT 'open',
    created_at        BIGINT NOT NULL,
    closed_at         BIGINT
);
CREATE INDEX deadlines_open ON deadlines (status, due_at);
CREATE INDEX deadlines_case ON deadlines (case_id);

CREATE TABLE outbox (
    id                BIGSERIAL PRIMARY KEY,
    case_id           BIGINT REFERENCES cases (id),
    kind              TEXT    NOT NULL,
    dedupe_key        TEXT    NOT NULL UNIQUE,
    message_id        TEXT    NOT NULL UNIQUE,
    to_address        TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    body              TEXT    NOT NULL,
    in_reply_to       TEXT,
    refs              TEXT,
    status            TEXT    NOT NULL DEFAULT 'pending',
    attempts          BIGINT NOT NULL DEFAULT 0,
    next_attempt_at   BIGINT NOT NULL,
    claimed_until     BIGINT,
    last_error        TEXT,
    created_at        BIGINT NOT NULL,
    sent_at           BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE mailbox_state (
    mailbox           TEXT    PRIMARY KEY,
    uidvalidity       BIGINT NOT NULL,
    last_uid          BIGINT NOT NULL
);

CREATE TABLE reference_counters (
    year              BIGINT PRIMARY KEY,
    last_value        BIGINT NOT NULL
);
