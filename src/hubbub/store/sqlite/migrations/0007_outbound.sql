-- An integration the admin created with allow_private: its webhook may reach addresses the
-- hub otherwise refuses to send to (loopback, private networks…). 1 for yes, 0 for no.
ALTER TABLE integrations ADD COLUMN allow_private INTEGER NOT NULL DEFAULT 0
    CHECK (allow_private IN (0, 1));
