-- The last original start of a series (after COUNT, UNTIL and the instance bound), written with `series_end`.
-- A range query walks a rule from a period near the range instead of from DTSTART, and this bounds the walk
-- where counting instances from DTSTART would. NULL for single events, and for series stored before this
-- column (those are walked from DTSTART, as before, until they next change).
ALTER TABLE calendar_events ADD COLUMN last_start timestamptz;
