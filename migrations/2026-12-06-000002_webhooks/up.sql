-- Events out. Every change to a team is written to `activity` in the change's own transaction;
-- these columns put those rows in an order that readers can follow without ever skipping one:
-- by the writing transaction's id, then by insertion. A reader takes only rows whose
-- transaction is older than every transaction still running (the snapshot's xmin), so a row
-- committed late by a slow transaction is never passed over.
ALTER TABLE activity
    ADD COLUMN txid bigint NOT NULL DEFAULT (pg_current_xact_id()::text)::bigint,
    ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX activity_feed_idx ON activity (txid, seq);

-- An agency's HTTPS endpoint for events about the teams it may see (Standard Webhooks).
CREATE TABLE webhook_subscriptions (
    id                  uuid PRIMARY KEY,
    agency_id           uuid NOT NULL REFERENCES agencies (id),
    url                 text NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
    event_types         text[] NOT NULL CHECK (cardinality(event_types) > 0),
    -- `whsec_` + base64 of 32 random bytes; the previous one signs too until previous_until.
    secret              text NOT NULL,
    previous_secret     text,
    previous_until      timestamptz,
    status              text NOT NULL DEFAULT 'ACTIVE'
                        CHECK (status IN ('ACTIVE', 'PAUSED', 'DISABLED')),
    -- The sequence number the next delivery gets: 1, 2, 3, ... with no gaps.
    next_sequence       bigint NOT NULL DEFAULT 1,
    -- Back-off of the whole endpoint (the circuit breaker): nothing is sent before this.
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    consecutive_failures integer NOT NULL DEFAULT 0,
    failing_since       timestamptz,
    -- A worker delivering to this endpoint holds it until then.
    lease_until         timestamptz,
    created_by          uuid NOT NULL REFERENCES practitioners (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz
);
CREATE INDEX webhook_subscriptions_agency_idx ON webhook_subscriptions (agency_id);

-- One event for one subscription: written in the change's own transaction, as the subscribing
-- agency may see it then; numbered in feed order by a worker once every earlier transaction
-- has ended; signed and sent in sequence order; DEAD after the last attempt (a dead letter,
-- replayable by an admin).
CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,
    subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id),
    activity_id     uuid NOT NULL REFERENCES activity (id),
    event_type      text NOT NULL,
    -- The event (type, timestamp, data) as the agency may see it.
    event           jsonb NOT NULL,
    -- Set when numbered: the subscription's next number, and the body byte for byte as signed
    -- and sent.
    sequence        bigint,
    payload         text,
    status          text NOT NULL DEFAULT 'PENDING'
                    CHECK (status IN ('PENDING', 'SENT', 'DEAD')),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (subscription_id, sequence)
);
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (subscription_id, sequence)
    WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_unnumbered_idx ON webhook_deliveries (subscription_id)
    WHERE sequence IS NULL;

-- Agency admins hear when their endpoint is disabled.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('TEAM_CHANGED', 'LEAD_CHANGED', 'TASK_ASSIGNED', 'TASK_COMPLETED',
                    'TASK_OVERDUE', 'CONTACT_MISSED', 'ATTENTION_RAISED', 'INVITATION', 'DIGEST',
                    'WEBHOOK_DISABLED'));

-- What each change's involvement, task and contact were just after it, so that its event
-- tells what happened then, however they change later.
ALTER TABLE activity ADD COLUMN snapshot jsonb;
