-- One row per reminder sent about a deadline (kind: before, due_day, overdue; day: the working
-- day it is for), so a restart, a second pass or a second instance never sends one twice.
CREATE TABLE reminders (
    deadline_id       INTEGER NOT NULL REFERENCES deadlines (id),
    kind              TEXT    NOT NULL,
    day               TEXT    NOT NULL,
    case_id           INTEGER NOT NULL REFERENCES cases (id),
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (deadline_id, kind, day)
);
