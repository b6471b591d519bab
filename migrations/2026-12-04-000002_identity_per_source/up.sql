-- Identity per source (PRODUCT.md rule 2): a child's identity details are recorded per
-- involvement, as that agency knows them. A reader sees the details most recently recorded
-- through an involvement they may see, so nothing a hidden service recorded reaches anyone
-- outside it. The date of birth stays on the child: it is what records are matched on.

CREATE TABLE child_identities (
    id              uuid PRIMARY KEY,
    child_id        uuid NOT NULL REFERENCES children (id),
    -- The involvement the details were recorded through. NULL only for details that were
    -- recorded with no involvement before this table existed: nobody is shown those.
    involvement_id  uuid REFERENCES involvements (id),
    given_name      text NOT NULL CHECK (length(btrim(given_name)) BETWEEN 1 AND 100),
    family_name     text NOT NULL CHECK (length(btrim(family_name)) BETWEEN 1 AND 100),
    gender          text CHECK (gender IS NULL OR length(gender) <= 50),
    postcode        text CHECK (postcode IS NULL OR length(postcode) <= 10),
    nhs_number      text CHECK (nhs_number IS NULL OR nhs_number ~ '^[0-9]{10}$'),
    school_upn      text CHECK (school_upn IS NULL OR school_upn ~ '^[A-Z][0-9]{11}[0-9A-Z]$'),
    la_id           text CHECK (la_id IS NULL OR length(la_id) <= 50),
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX child_identities_child_idx ON child_identities (child_id, recorded_at DESC, id DESC);
CREATE INDEX child_identities_involvement_idx ON child_identities (involvement_id);
-- Registering a child finds an existing record by names (as any source wrote them) and date
-- of birth.
CREATE INDEX child_identities_names_idx
    ON child_identities (lower(family_name), lower(given_name));

-- Until now each child held one set of details: every involvement recorded them.
INSERT INTO child_identities (id, child_id, involvement_id, given_name, family_name, gender,
                              postcode, nhs_number, school_upn, la_id, recorded_at)
SELECT gen_random_uuid(), c.id, i.id, c.given_name, c.family_name, c.gender, c.postcode,
       c.nhs_number, c.school_upn, c.la_id, i.created_at
FROM children c JOIN involvements i ON i.child_id = c.id;

INSERT INTO child_identities (id, child_id, involvement_id, given_name, family_name, gender,
                              postcode, nhs_number, school_upn, la_id, recorded_at)
SELECT gen_random_uuid(), c.id, NULL, c.given_name, c.family_name, c.gender, c.postcode,
       c.nhs_number, c.school_upn, c.la_id, c.created_at
FROM children c
WHERE NOT EXISTS (SELECT 1 FROM involvements i WHERE i.child_id = c.id);

ALTER TABLE children
    DROP COLUMN given_name,
    DROP COLUMN family_name,
    DROP COLUMN gender,
    DROP COLUMN postcode,
    DROP COLUMN nhs_number,
    DROP COLUMN school_upn,
    DROP COLUMN la_id;
