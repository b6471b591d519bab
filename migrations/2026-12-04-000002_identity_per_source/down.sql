ALTER TABLE children
    ADD COLUMN given_name text,
    ADD COLUMN family_name text,
    ADD COLUMN gender text,
    ADD COLUMN postcode text,
    ADD COLUMN nhs_number text,
    ADD COLUMN school_upn text,
    ADD COLUMN la_id text;

-- Back to one set of details per child: the first recorded.
UPDATE children c
SET given_name = f.given_name, family_name = f.family_name, gender = f.gender,
    postcode = f.postcode, nhs_number = f.nhs_number, school_upn = f.school_upn, la_id = f.la_id
FROM (SELECT DISTINCT ON (child_id) * FROM child_identities
      ORDER BY child_id, recorded_at, id) f
WHERE f.child_id = c.id;

ALTER TABLE children
    ALTER COLUMN given_name SET NOT NULL,
    ALTER COLUMN family_name SET NOT NULL,
    ADD CHECK (length(btrim(given_name)) BETWEEN 1 AND 100),
    ADD CHECK (length(btrim(family_name)) BETWEEN 1 AND 100);
CREATE INDEX children_family_name_trgm_idx ON children USING gin (lower(family_name) gin_trgm_ops);

DROP TABLE child_identities;
