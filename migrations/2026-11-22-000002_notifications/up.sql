-- Email notifications: preferences, the outbox, invitations, and once-a-day jobs.

CREATE TABLE notification_preferences (
    practitioner_id uuid NOT NULL REFERENCES practitioners (id),
    kind            text NOT NULL CHECK (kind IN ('TEAM_CHANGED', 'LEAD_CHANGED', 'TASK_ASSIGNED',
                        'TASK_COMPLETED', 'TASK_OVERDUE', 'CONTACT_MISSED')),
    delivery        text NOT NULL CHECK (delivery IN ('IMMEDIATE', 'DAILY_DIGEST', 'OFF')),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (practitioner_id, kind)
);

-- The outbox: one row per message to one recipient, written in the same transaction as the
-- change it announces, rendered then (so it says only what the recipient could see then).
CREATE TABLE notifications (
    id              uuid PRIMARY KEY,
    recipient_id    uuid NOT NULL REFERENCES practitioners (id),
    kind            text NOT NULL CHECK (kind IN ('TEAM_CHANGED', 'LEAD_CHANGED', 'TASK_ASSIGNED',
                        'TASK_COMPLETED', 'TASK_OVERDUE', 'CONTACT_MISSED', 'ATTENTION_RAISED',
                        'INVITATION', 'DIGEST')),
    child_id        uuid REFERENCES children (id),
    -- WAITING: held for the recipient's daily digest. PENDING: to send. DIGESTED: sent inside
    -- a digest. SENT, FAILED: done.
    status          text NOT NULL CHECK (status IN ('WAITING', 'PENDING', 'SENT', 'FAILED', 'DIGESTED')),
    subject         text NOT NULL,
    body_text       text NOT NULL,
    body_html       text NOT NULL,
    -- Plain-text lines this item contributes to a digest.
    digest_line     text,
    digest_id       uuid REFERENCES notifications (id),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    CHECK ((status = 'SENT') = (sent_at IS NOT NULL))
);
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX notifications_waiting_idx ON notifications (recipient_id) WHERE status = 'WAITING';
CREATE INDEX notifications_failed_idx ON notifications (created_at) WHERE status = 'FAILED';
CREATE INDEX notifications_recipient_idx ON notifications (recipient_id, created_at);

-- One-time links to set a first password. Only a digest of the token is kept.
CREATE TABLE invitations (
    id              uuid PRIMARY KEY,
    practitioner_id uuid NOT NULL REFERENCES practitioners (id),
    token_hash      bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX invitations_practitioner_idx ON invitations (practitioner_id);

-- Jobs that run once a day across every server process: the first to insert the row runs it.
CREATE TABLE daily_runs (
    job         text NOT NULL,
    run_on      date NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, run_on)
);

-- An overdue task is announced once a day at most.
CREATE TABLE task_overdue_notices (
    task_id     uuid NOT NULL REFERENCES tasks (id),
    noticed_on  date NOT NULL,
    PRIMARY KEY (task_id, noticed_on)
);
