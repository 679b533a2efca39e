-- The id the same visitor had under the previous UTC day's salt, for events
-- in the first 30 minutes after a UTC midnight (0 otherwise, and when that
-- salt was not available). Visitor ids change at midnight, so the query
-- service merges a visitor's id of day D with this id of day D-1 to keep one
-- visit that crosses midnight. One column per statement, as in 0003.
ALTER TABLE events ADD COLUMN prev_visitor_id UInt64;
