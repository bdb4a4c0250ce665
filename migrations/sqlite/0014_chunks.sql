-- Large mails and attachments kept in pieces: the row holds the first CHUNK_BYTES and `chunks`
-- the rest, in order, so recording a 40 MB mail never needs several whole copies in memory (the
-- database driver and the database each copy what they are given).
CREATE TABLE chunks (
    owner     TEXT    NOT NULL,
    owner_id  INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    bytes     BLOB    NOT NULL,
    PRIMARY KEY (owner, owner_id, seq)
);
