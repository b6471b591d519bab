ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('TEAM_CHANGED', 'LEAD_CHANGED', 'TASK_ASSIGNED', 'TASK_COMPLETED',
                    'TASK_OVERDUE', 'CONTACT_MISSED', 'ATTENTION_RAISED', 'INVITATION', 'DIGEST'));
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
DROP INDEX activity_feed_idx;
ALTER TABLE activity DROP COLUMN snapshot, DROP COLUMN seq, DROP COLUMN txid;
