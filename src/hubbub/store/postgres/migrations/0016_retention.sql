-- A channel's own message retention, set by an admin (NULL: the hub's message_retention_days).
ALTER TABLE channels ADD COLUMN retention_days double precision;
