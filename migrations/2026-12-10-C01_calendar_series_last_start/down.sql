ALTER TABLE calendar_events DROP COLUMN last_start;
