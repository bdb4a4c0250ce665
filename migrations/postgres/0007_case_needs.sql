-- What every person dealing with a case must know: the resident's reasonable adjustments (e.g.
-- large print, call before visiting), the authority held for a representative, and a postal
-- address for a resident without e-mail (their letters are printed and posted).
ALTER TABLE cases ADD COLUMN adjustments TEXT;
ALTER TABLE cases ADD COLUMN authority TEXT;
ALTER TABLE cases ADD COLUMN postal_address TEXT;
