-- The staff web app and the residents' pages.
-- accounts: people who sign in (argon2id hashes; no hash = single sign-on only).
-- sessions: signed-in browsers, by the SHA-256 of the cookie's token, with the CSRF token of
-- their forms. resident_links: a case's private read-only link for its resident; the token is
-- kept as issued so later letters can carry the same link; revoking clears it.
CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    email          TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    role           TEXT    NOT NULL,
    password_hash  TEXT,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_sha256   TEXT    PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    csrf           TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE resident_links (
    token          TEXT    PRIMARY KEY,
    case_id        INTEGER NOT NULL REFERENCES cases (id),
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER
);
CREATE INDEX resident_links_case ON resident_links (case_id);

-- The case lists filter and order by these.
CREATE INDEX cases_owner ON cases (owner, status);
CREATE INDEX cases_received ON cases (received_at);

-- Each case's next open deadline, kept by the store whenever a deadline is set or closed, so
-- the lists ordered and filtered by it stay fast over a hundred thousand cases.
ALTER TABLE cases ADD COLUMN next_due_at INTEGER;
UPDATE cases SET next_due_at = (SELECT MIN(d.due_at) FROM deadlines d WHERE d.case_id = cases.id AND d.status = 'open');
CREATE INDEX cases_next_due ON cases (next_due_at);
