-- What enrichment adds to each event: browser and OS from the user agent,
-- the acquisition source and medium, a screen-size class, the click-id
-- parameter's name (never its value), and location from the truncated
-- address. One column per statement: 18.16 has no ADD COLUMN IF NOT EXISTS,
-- so the runner skips a column that already exists.
ALTER TABLE events ADD COLUMN browser String;
ALTER TABLE events ADD COLUMN browser_version String;
ALTER TABLE events ADD COLUMN os String;
ALTER TABLE events ADD COLUMN os_version String;
ALTER TABLE events ADD COLUMN device String;
ALTER TABLE events ADD COLUMN screen_size String;
ALTER TABLE events ADD COLUMN source String;
ALTER TABLE events ADD COLUMN medium String;
ALTER TABLE events ADD COLUMN click_id_param String;
ALTER TABLE events ADD COLUMN country String;
ALTER TABLE events ADD COLUMN region String;
ALTER TABLE events ADD COLUMN city String;
