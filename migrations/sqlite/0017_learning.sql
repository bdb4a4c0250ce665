-- What people taught the classifier (issue 12): examples to learn from, imported from a
-- landlord's previous system (`redress import-history`), and each model `redress train` fitted,
-- the newest in use.
CREATE TABLE training_examples (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256    TEXT    NOT NULL UNIQUE,
    text      TEXT    NOT NULL,
    kind      TEXT,
    area      TEXT,
    source    TEXT    NOT NULL,
    added_at  INTEGER NOT NULL
);
CREATE TABLE learned_models (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    trained_at  INTEGER NOT NULL,
    examples    INTEGER NOT NULL,
    model       TEXT    NOT NULL
);
