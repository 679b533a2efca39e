-- The daily visitor-id salts. Each collector offers a random candidate for
-- a day and all of them use the smallest one, so they agree without a lock.
-- One partition per day, so that rotation erases a day with DROP PARTITION;
-- old_parts_lifetime and cleanup_delay_period make the server delete the
-- dropped files within seconds instead of the default eight minutes.
CREATE TABLE IF NOT EXISTS salts (
    day Date,
    salt FixedString(32),
    created_at DateTime
) ENGINE = MergeTree()
PARTITION BY day
ORDER BY (day, salt)
SETTINGS old_parts_lifetime = 1, cleanup_delay_period = 1;
