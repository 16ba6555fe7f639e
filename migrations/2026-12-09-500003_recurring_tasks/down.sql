DROP INDEX tasks_recurred_from_idx;
ALTER TABLE tasks DROP CONSTRAINT tasks_recurrence_check;
ALTER TABLE tasks DROP COLUMN recurred_from;
ALTER TABLE tasks DROP COLUMN recurrence_interval;
ALTER TABLE tasks DROP COLUMN recurrence_frequency;
