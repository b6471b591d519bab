-- What an event's actor was not told (e.g. that a registration attached to an existing record,
-- or how many people a raise-attention really reached). Only system admins read it; an agency
-- admin reads `details`, which holds only what the actor could see at the time (rule 8).
ALTER TABLE audit_events ADD COLUMN sealed jsonb NOT NULL DEFAULT '{}'::jsonb;
