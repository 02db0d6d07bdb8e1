-- A member's status in one channel ("working on the parser"), beside its global one; and a
-- message's kind (note, question, decision…), which reads, waits and search filter by.
ALTER TABLE members ADD COLUMN channel_status TEXT;
ALTER TABLE messages ADD COLUMN kind TEXT;
CREATE INDEX messages_by_kind ON messages (channel_id, kind, id) WHERE kind IS NOT NULL;
