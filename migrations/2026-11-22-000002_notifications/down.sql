DROP TABLE IF EXISTS task_overdue_notices;
DROP TABLE IF EXISTS daily_runs;
DROP TABLE IF EXISTS invitations;
DROP TABLE IF EXISTS notifications;
DROP TABLE IF EXISTS notification_preferences;
