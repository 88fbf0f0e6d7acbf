-- Issue 18: a deadline counted into a year the working-day calendar does not cover is stored
-- as provisional (uncovered days counted Monday–Friday) and counted again once a calendar
-- covering that year is installed. 1 = provisional.
ALTER TABLE rights_requests ADD COLUMN due_provisional BIGINT NOT NULL DEFAULT 0;
