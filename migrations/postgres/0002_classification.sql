-- What the classifier found about a case: themes (JSON array), a possible Awaab's Law hazard,
-- and whether it was written on someone else's behalf.
ALTER TABLE cases ADD COLUMN themes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE cases ADD COLUMN hazard TEXT;
ALTER TABLE cases ADD COLUMN representative BIGINT NOT NULL DEFAULT 0;
