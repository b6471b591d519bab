ALTER TABLE audit_events
  ADD CONSTRAINT audit_events_actor_id_fkey FOREIGN KEY (actor_id) REFERENCES practitioners (id),
  ADD CONSTRAINT audit_events_actor_agency_id_fkey FOREIGN KEY (actor_agency_id) REFERENCES agencies (id),
  ADD CONSTRAINT audit_events_child_id_fkey FOREIGN KEY (child_id) REFERENCES children (id);
