-- The unacceptable-behaviour policy: mail from a restricted sender is still recorded and reaches
-- a person (the single point of contact), but gets no automatic reply until the restriction ends.
CREATE TABLE restrictions (
    address           TEXT    NOT NULL,
    until_day         TEXT    NOT NULL,
    contact           TEXT    NOT NULL,
    reason            TEXT    NOT NULL,
    created_by        TEXT    NOT NULL,
    created_at        INTEGER NOT NULL
);
CREATE INDEX restrictions_address ON restrictions (address);
