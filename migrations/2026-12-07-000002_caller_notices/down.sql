DROP TRIGGER sharing_agreements_notify_callers ON sharing_agreements;
DROP TRIGGER practitioners_notify_callers ON practitioners;
DROP FUNCTION notify_callers_changed();
