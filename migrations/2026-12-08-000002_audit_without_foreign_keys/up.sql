-- The audit trail outlives what it names: a child's or a practitioner's row may one day be
-- erased under a retention policy while the record of who read it must stay. So its ids are
-- not foreign keys. They also cost every audited read three key-share row locks (on the
-- actor, their agency and the child), taken by every concurrent reader of the same rows.
ALTER TABLE audit_events
  DROP CONSTRAINT IF EXISTS audit_events_actor_id_fkey,
  DROP CONSTRAINT IF EXISTS audit_events_actor_agency_id_fkey,
  DROP CONSTRAINT IF EXISTS audit_events_child_id_fkey;
