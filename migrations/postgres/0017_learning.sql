-- What people taught the classifier (issue 12): examples to learn from, imported from a
-- landlord's previous system (`redress import-history`), and each model `redress train` fitted,
-- the newest in use.
CREATE TABLE training_examples (
    id        BIGSERIAL PRIMARY KEY,
    sha256    TEXT    NOT NULL UNIQUE,
    text      TEXT    NOT NULL,
    kind      TEXT,
    area      TEXT,
    source    TEXT    NOT NULL,
    added_at  BIGINT  NOT NULL
);
CREATE TABLE learned_models (
    id          BIGSERIAL PRIMARY KEY,
    trained_at  BIGINT  NOT NULL,
    examples    BIGINT  NOT NULL,
    model       TEXT    NOT NULL
);
