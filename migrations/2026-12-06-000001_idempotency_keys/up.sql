-- The first answer to each POST an API client made with an Idempotency-Key (IETF httpapi
-- idempotency-key draft), kept 24 hours so that a retry, reaching any server process, is
-- answered the same without doing the work again. A key is claimed in the transaction that
-- does the work and stores the answer, so it is never seen half done: a concurrent retry waits
-- for that transaction and then replays its answer, or does the work itself if it rolled back.
CREATE TABLE idempotency_keys (
    client_id    uuid NOT NULL REFERENCES api_clients (id),
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    -- SHA-256 of the method, the path and the body: the same key with another request is refused.
    fingerprint  bytea NOT NULL CHECK (length(fingerprint) = 32),
    status       smallint NOT NULL,
    -- The answer's body, byte for byte.
    body         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
