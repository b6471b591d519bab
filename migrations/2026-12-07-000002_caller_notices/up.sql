-- Each server process keeps who its callers are (agency, role, the agreements in force for
-- their agency) between requests. A change to a practitioner or to any sharing agreement tells
-- every process, at commit, to forget what it kept (LISTEN patchwork_callers).
CREATE FUNCTION notify_callers_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'practitioners' THEN
    PERFORM pg_notify('patchwork_callers', OLD.id::text);
  ELSE
    PERFORM pg_notify('patchwork_callers', '*');
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER practitioners_notify_callers
  AFTER UPDATE OR DELETE ON practitioners
  FOR EACH ROW EXECUTE FUNCTION notify_callers_changed();

CREATE TRIGGER sharing_agreements_notify_callers
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sharing_agreements
  FOR EACH STATEMENT EXECUTE FUNCTION notify_callers_changed();
