-- Shared request counters for rate limits other than sign-in (e.g. searches per practitioner),
-- in fixed windows, so every server process counts the same requests.
CREATE TABLE rate_windows (
    bucket          text NOT NULL,
    window_start    timestamptz NOT NULL,
    hits            integer NOT NULL CHECK (hits > 0),
    PRIMARY KEY (bucket, window_start)
);

-- The audit log is read by action (e.g. refused searches) and by actor agency (agency admins).
CREATE INDEX audit_events_action_idx ON audit_events (action, id);
CREATE INDEX audit_events_actor_agency_idx ON audit_events (actor_agency_id, id);
