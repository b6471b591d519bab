-- The whole data model of Patchwork: who is involved with which child, and the records that
-- keep that picture safe (sharing agreements, refresh tokens, activity, audit).

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;

CREATE TABLE agencies (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    kind        text NOT NULL CHECK (kind IN ('SOCIAL_CARE', 'EDUCATION', 'EARLY_YEARS', 'HEALTH',
                    'POLICE', 'HOUSING', 'YOUTH', 'PROBATION', 'VOLUNTARY', 'SUBSTANCE_MISUSE',
                    'MENTAL_HEALTH', 'DOMESTIC_ABUSE', 'OTHER')),
    sensitive   boolean NOT NULL DEFAULT false,
    email       text CHECK (email IS NULL OR length(email) <= 254),
    phone       text CHECK (phone IS NULL OR length(phone) <= 32),
    version     integer NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX agencies_name_key ON agencies (lower(name));

CREATE TABLE practitioners (
    id              uuid PRIMARY KEY,
    agency_id       uuid NOT NULL REFERENCES agencies (id),
    display_name    text NOT NULL CHECK (length(btrim(display_name)) BETWEEN 1 AND 200),
    email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    job_title       text CHECK (job_title IS NULL OR length(job_title) <= 200),
    phone           text CHECK (phone IS NULL OR length(phone) <= 32),
    mobile          text CHECK (mobile IS NULL OR length(mobile) <= 32),
    role            text NOT NULL CHECK (role IN ('PRACTITIONER', 'AGENCY_ADMIN', 'SYSTEM_ADMIN')),
    active          boolean NOT NULL DEFAULT true,
    -- argon2id PHC string; NULL until the practitioner has set a password.
    password_hash   text CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%'),
    deactivated_at  timestamptz,
    version         integer NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (active = (deactivated_at IS NULL))
);
CREATE UNIQUE INDEX practitioners_email_key ON practitioners (lower(email));
CREATE INDEX practitioners_agency_idx ON practitioners (agency_id);

CREATE TABLE children (
    id              uuid PRIMARY KEY,
    given_name      text NOT NULL CHECK (length(btrim(given_name)) BETWEEN 1 AND 100),
    family_name     text NOT NULL CHECK (length(btrim(family_name)) BETWEEN 1 AND 100),
    date_of_birth   date NOT NULL CHECK (date_of_birth >= DATE '1900-01-01'),
    gender          text CHECK (gender IS NULL OR length(gender) <= 50),
    postcode        text CHECK (postcode IS NULL OR length(postcode) <= 10),
    nhs_number      text CHECK (nhs_number IS NULL OR nhs_number ~ '^[0-9]{10}$'),
    school_upn      text CHECK (school_upn IS NULL OR school_upn ~ '^[A-Z][0-9]{11}[0-9A-Z]$'),
    la_id           text CHECK (la_id IS NULL OR length(la_id) <= 50),
    version         integer NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX children_dob_idx ON children (date_of_birth);
CREATE INDEX children_family_name_trgm_idx ON children USING gin (lower(family_name) gin_trgm_ops);

-- Family links between children (siblings and the like), part of the child's record.
CREATE TABLE child_links (
    child_id        uuid NOT NULL REFERENCES children (id),
    related_id      uuid NOT NULL REFERENCES children (id),
    relationship    text NOT NULL CHECK (relationship IN ('SIBLING', 'HALF_SIBLING', 'STEP_SIBLING', 'OTHER')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (child_id, related_id),
    CHECK (child_id <> related_id)
);
CREATE INDEX child_links_related_idx ON child_links (related_id);

CREATE TABLE involvements (
    id                  uuid PRIMARY KEY,
    child_id            uuid NOT NULL REFERENCES children (id),
    practitioner_id     uuid NOT NULL REFERENCES practitioners (id),
    -- The practitioner's agency when the involvement began; visibility follows this agency.
    agency_id           uuid NOT NULL REFERENCES agencies (id),
    role                text NOT NULL CHECK (length(btrim(role)) BETWEEN 1 AND 100),
    sensitivity         text NOT NULL CHECK (sensitivity IN ('STANDARD', 'RESTRICTED')),
    consent             text NOT NULL DEFAULT 'NOT_RECORDED'
                        CHECK (consent IN ('NOT_RECORDED', 'GIVEN', 'REFUSED', 'NOT_REQUIRED')),
    consent_recorded_by uuid REFERENCES practitioners (id),
    consent_recorded_at timestamptz,
    lawful_basis        text CHECK (lawful_basis IS NULL OR lawful_basis IN ('CONSENT', 'PUBLIC_TASK',
                            'LEGAL_OBLIGATION', 'VITAL_INTERESTS', 'LEGITIMATE_INTERESTS')),
    is_lead             boolean NOT NULL DEFAULT false,
    started_on          date NOT NULL,
    ended_on            date,
    end_reason          text CHECK (end_reason IS NULL OR length(end_reason) <= 500),
    last_contact_at     timestamptz,
    next_contact_at     timestamptz,
    version             integer NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (ended_on IS NULL OR ended_on >= started_on),
    -- Only an active, standard involvement can be the lead professional.
    CHECK (NOT is_lead OR (sensitivity = 'STANDARD' AND ended_on IS NULL)),
    CHECK ((consent = 'NOT_RECORDED') = (consent_recorded_at IS NULL))
);
CREATE UNIQUE INDEX involvements_one_active_per_practitioner
    ON involvements (practitioner_id, child_id) WHERE ended_on IS NULL;
CREATE UNIQUE INDEX involvements_one_lead_per_child
    ON involvements (child_id) WHERE is_lead AND ended_on IS NULL;
CREATE INDEX involvements_child_idx ON involvements (child_id);
CREATE INDEX involvements_agency_idx ON involvements (agency_id) WHERE ended_on IS NULL;

CREATE TABLE contacts (
    id              uuid PRIMARY KEY,
    involvement_id  uuid NOT NULL REFERENCES involvements (id),
    kind            text NOT NULL CHECK (kind IN ('HOME_VISIT', 'OFFICE_VISIT', 'SCHOOL_VISIT',
                        'PHONE', 'VIDEO', 'MEETING', 'OTHER')),
    outcome         text NOT NULL CHECK (outcome IN ('PLANNED', 'HAPPENED', 'CANCELLED',
                        'WAS_NOT_BROUGHT', 'NO_ACCESS')),
    at              timestamptz NOT NULL,
    recorded_by     uuid NOT NULL REFERENCES practitioners (id),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_involvement_at_idx ON contacts (involvement_id, at DESC, id DESC);

CREATE TABLE tasks (
    id              uuid PRIMARY KEY,
    child_id        uuid NOT NULL REFERENCES children (id),
    title           text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    description     text CHECK (description IS NULL OR length(description) <= 2000),
    assignee_id     uuid REFERENCES practitioners (id),
    created_by      uuid NOT NULL REFERENCES practitioners (id),
    due_on          date,
    status          text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'DONE', 'CANCELLED')),
    closed_at       timestamptz,
    closed_by       uuid REFERENCES practitioners (id),
    version         integer NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'OPEN') = (closed_at IS NULL))
);
CREATE INDEX tasks_child_idx ON tasks (child_id);
CREATE INDEX tasks_assignee_idx ON tasks (assignee_id, status);

CREATE TABLE sharing_agreements (
    id              uuid PRIMARY KEY,
    from_agency_id  uuid NOT NULL REFERENCES agencies (id),
    to_agency_id    uuid NOT NULL REFERENCES agencies (id),
    purpose         text NOT NULL CHECK (length(btrim(purpose)) BETWEEN 1 AND 1000),
    starts_on       date NOT NULL,
    -- Inclusive.
    ends_on         date,
    created_by      uuid NOT NULL REFERENCES practitioners (id),
    revoked_at      timestamptz,
    revoked_by      uuid REFERENCES practitioners (id),
    version         integer NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (from_agency_id <> to_agency_id),
    CHECK (ends_on IS NULL OR ends_on >= starts_on),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX sharing_agreements_to_idx ON sharing_agreements (to_agency_id, from_agency_id);
CREATE INDEX sharing_agreements_from_idx ON sharing_agreements (from_agency_id);

-- Refresh tokens are stored only as SHA-256 digests. Every rotation adds a row to the same
-- family; presenting a token that was already rotated revokes the whole family.
CREATE TABLE refresh_tokens (
    id              uuid PRIMARY KEY,
    family_id       uuid NOT NULL,
    practitioner_id uuid NOT NULL REFERENCES practitioners (id),
    token_hash      bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    issued_at       timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    rotated_at      timestamptz,
    revoked_at      timestamptz,
    CHECK (expires_at > issued_at)
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_practitioner_idx ON refresh_tokens (practitioner_id);

-- Failed sign-in counters, shared by every server process. A bucket is an account
-- ("account:<email>") or a client address ("address:<ip>"), counted in fixed windows.
CREATE TABLE login_failures (
    bucket          text NOT NULL,
    window_start    timestamptz NOT NULL,
    failures        integer NOT NULL CHECK (failures > 0),
    PRIMARY KEY (bucket, window_start)
);

-- What happened to a child's team: feeds the timeline and notifications.
CREATE TABLE activity (
    id              uuid PRIMARY KEY,
    child_id        uuid NOT NULL REFERENCES children (id),
    actor_id        uuid REFERENCES practitioners (id),
    kind            text NOT NULL CHECK (kind ~ '^[A-Z_]{3,40}$'),
    involvement_id  uuid REFERENCES involvements (id),
    task_id         uuid REFERENCES tasks (id),
    contact_id      uuid REFERENCES contacts (id),
    at              timestamptz NOT NULL DEFAULT now(),
    details         jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX activity_child_at_idx ON activity (child_id, at DESC, id DESC);

-- Every read and write of personal data. Append-only: a trigger refuses change and removal.
CREATE TABLE audit_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor_id        uuid REFERENCES practitioners (id),
    actor_agency_id uuid REFERENCES agencies (id),
    action          text NOT NULL CHECK (action ~ '^[A-Z_]{3,60}$'),
    child_id        uuid REFERENCES children (id),
    subject_type    text,
    subject_id      uuid,
    request_id      text,
    client_addr     text,
    reason          text CHECK (reason IS NULL OR length(reason) <= 1000),
    details         jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_events_at_idx ON audit_events (at);
CREATE INDEX audit_events_child_idx ON audit_events (child_id, at) WHERE child_id IS NOT NULL;
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, at);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_events_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
