-- What every person dealing with a case must know: the resident's reasonable adjustments (e.g.
-- large print, call before visiting) and the authority held for a representative.
ALTER TABLE cases ADD COLUMN adjustments TEXT;
ALTER TABLE cases ADD COLUMN authority TEXT;
