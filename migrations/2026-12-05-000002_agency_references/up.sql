-- Case-management systems name children, involvements, contacts and staff by their own
-- references. Each agency's references are its own: the same reference in two agencies names
-- two different things, and no agency learns another's.

-- A child as one agency's system of record knows it. The child joins Patchwork (child_id is
-- set) when the agency first allocates a practitioner; until then nobody else sees it. Its
-- details are recorded through each involvement the agency allocates (identity per source).
CREATE TABLE agency_children (
    agency_id      uuid NOT NULL REFERENCES agencies (id),
    ref            text NOT NULL CHECK (length(ref) BETWEEN 1 AND 200),
    child_id       uuid REFERENCES children (id),
    given_name     text NOT NULL CHECK (length(btrim(given_name)) BETWEEN 1 AND 100),
    family_name    text NOT NULL CHECK (length(btrim(family_name)) BETWEEN 1 AND 100),
    date_of_birth  date NOT NULL,
    gender         text CHECK (gender IS NULL OR length(gender) <= 50),
    postcode       text CHECK (postcode IS NULL OR length(postcode) <= 10),
    nhs_number     text CHECK (nhs_number IS NULL OR nhs_number ~ '^[0-9]{10}$'),
    school_upn     text CHECK (school_upn IS NULL OR school_upn ~ '^[A-Z][0-9]{11}[0-9A-Z]$'),
    la_id          text CHECK (la_id IS NULL OR length(la_id) <= 50),
    version        integer NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agency_id, ref)
);
CREATE INDEX agency_children_child_idx ON agency_children (child_id);

-- An involvement an agency's system allocated, by its reference.
CREATE TABLE agency_involvements (
    agency_id       uuid NOT NULL REFERENCES agencies (id),
    ref             text NOT NULL CHECK (length(ref) BETWEEN 1 AND 200),
    involvement_id  uuid NOT NULL REFERENCES involvements (id),
    child_ref       text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agency_id, ref),
    FOREIGN KEY (agency_id, child_ref) REFERENCES agency_children (agency_id, ref)
);
CREATE INDEX agency_involvements_involvement_idx ON agency_involvements (involvement_id);

-- A contact an agency's system recorded, by its reference.
CREATE TABLE agency_contacts (
    agency_id   uuid NOT NULL REFERENCES agencies (id),
    ref         text NOT NULL CHECK (length(ref) BETWEEN 1 AND 200),
    contact_id  uuid NOT NULL REFERENCES contacts (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agency_id, ref)
);

-- A practitioner's staff reference in their agency's systems.
ALTER TABLE practitioners
    ADD COLUMN staff_ref text CHECK (staff_ref IS NULL OR length(staff_ref) BETWEEN 1 AND 100);
CREATE UNIQUE INDEX practitioners_staff_ref_key ON practitioners (agency_id, staff_ref);
