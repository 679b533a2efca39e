-- The spool's batch id, so that a batch replayed after an ambiguous failure
-- (a timeout after ClickHouse may have stored it) is recognised and not
-- written twice. 0 for rows written straight from memory.
ALTER TABLE events ADD COLUMN batch_id UInt64;
