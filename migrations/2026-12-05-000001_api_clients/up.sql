-- Machine credentials for case-management vendors (rule 10). An API client acts as its agency,
-- through an account of its own in `practitioners` (kind 'API_CLIENT', an agency admin's role,
-- no password, never on a team), so that every rule, audit event and foreign key that names
-- an actor names the client. Revoking the client deactivates that account.
ALTER TABLE practitioners
    ADD COLUMN kind text NOT NULL DEFAULT 'PERSON' CHECK (kind IN ('PERSON', 'API_CLIENT'));
ALTER TABLE practitioners
    ADD CONSTRAINT practitioners_clients_have_no_password
    CHECK (kind = 'PERSON' OR password_hash IS NULL);

CREATE TABLE api_clients (
    -- The same id as the client's account.
    id              uuid PRIMARY KEY REFERENCES practitioners (id),
    agency_id       uuid NOT NULL REFERENCES agencies (id),
    name            text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    scopes          text[] NOT NULL CHECK (cardinality(scopes) > 0),
    -- SHA-256 of a 256-bit random secret (client_secret_basic), or a public key in PEM
    -- (private_key_jwt): exactly one.
    secret_hash     bytea CHECK (secret_hash IS NULL OR length(secret_hash) = 32),
    public_key_pem  text CHECK (public_key_pem IS NULL OR length(public_key_pem) <= 10000),
    created_by      uuid NOT NULL REFERENCES practitioners (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    revoked_by      uuid REFERENCES practitioners (id),
    CHECK ((secret_hash IS NULL) <> (public_key_pem IS NULL)),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX api_clients_agency_idx ON api_clients (agency_id, created_at);

-- Client assertions (private_key_jwt) are single-use: their ids are kept until they expire.
CREATE TABLE api_client_assertions (
    client_id   uuid NOT NULL REFERENCES api_clients (id),
    jti         text NOT NULL CHECK (length(jti) BETWEEN 1 AND 200),
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);
