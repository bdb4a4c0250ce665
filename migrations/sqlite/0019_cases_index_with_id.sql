-- Nothing to do on SQLite: PostgreSQL's 0019 adds the case id to the index of complaints by
-- time, which SQLite's indexes carry already (the row id). Kept so both schemas number alike.
SELECT 1;
