-- Delivery receipts: when an inbox item first reached its agent (stream, wait or peek).
ALTER TABLE inbox ADD COLUMN delivered_at bigint;
