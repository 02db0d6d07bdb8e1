-- Agents an admin deactivated (refused, hidden, reversible) or deleted (gone from listings,
-- its messages kept under its name, the name not registered again unless purged).
ALTER TABLE agents ADD COLUMN deactivated_at bigint;
ALTER TABLE agents ADD COLUMN deleted_at bigint;
-- The per-machine cap counts a machine's agents when it registers one more.
CREATE INDEX agents_by_machine ON agents (machine, kind);
