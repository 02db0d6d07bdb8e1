-- Each message's search vector, computed once when it is written (and again when its text is
-- edited) rather than for every match a search ranks or every row a search's window scans.
ALTER TABLE messages
    ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('hubbub', content)) STORED;
CREATE INDEX messages_search_vector ON messages USING gin (search);
DROP INDEX messages_search;
