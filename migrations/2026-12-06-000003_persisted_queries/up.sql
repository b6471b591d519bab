-- GraphQL documents by their SHA-256 (Apollo's persisted queries), shared by every process:
-- learnt from signed-in clients (automatic persisted queries), or registered by an operator
-- for the allow-list mode (PERSISTED_QUERIES=only), where nothing else runs.
CREATE TABLE persisted_queries (
    hash        text PRIMARY KEY CHECK (hash ~ '^[0-9a-f]{64}$'),
    query       text NOT NULL CHECK (length(query) BETWEEN 1 AND 100000),
    registered  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);
