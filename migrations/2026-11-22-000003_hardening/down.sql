DROP INDEX audit_events_actor_agency_idx;
DROP INDEX audit_events_action_idx;
DROP TABLE rate_windows;
