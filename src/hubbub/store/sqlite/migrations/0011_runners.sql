-- An agent an always-on runner acts as: runners stop answering a thread whose last messages
-- were all written by such agents, so two runners cannot talk to each other for ever.
ALTER TABLE agents ADD COLUMN runner INTEGER NOT NULL DEFAULT 0 CHECK (runner IN (0, 1));
