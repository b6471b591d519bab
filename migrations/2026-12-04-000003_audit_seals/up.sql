-- Tamper evidence for the audit log. The server's role may insert audit events, so the log
-- alone cannot show that its past was not changed. Every minute a sealer appends one seal
-- covering the events recorded in [covers_from, covers_to): their count and a SHA-256 digest
-- chained to the previous seal's. Every event recorded before covers_to had committed when the
-- seal was made (no transaction that began earlier was still running), so a later change to a
-- sealed window (an edit, a deletion, a row inserted with a backdated time) no longer matches
-- its seal, and `patchwork audit verify` reports the first seal that breaks.
CREATE TABLE audit_seals (
    seq          bigint PRIMARY KEY CHECK (seq > 0),
    covers_from  timestamptz NOT NULL,
    covers_to    timestamptz NOT NULL CHECK (covers_to > covers_from),
    events       bigint NOT NULL CHECK (events >= 0),
    digest       bytea NOT NULL CHECK (length(digest) = 32),
    sealed_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER audit_seals_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_seals_no_truncate
    BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
