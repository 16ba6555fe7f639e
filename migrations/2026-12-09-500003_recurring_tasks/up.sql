-- Recurring tasks (docs/api.md, Recurring tasks): a rule (frequency and interval); completing such a task creates
-- the next one, once: `recurred_from` names the task it follows and is unique.
ALTER TABLE tasks
    ADD COLUMN recurrence_frequency text NULL,
    ADD COLUMN recurrence_interval integer NULL,
    ADD COLUMN recurred_from uuid NULL REFERENCES tasks (id) ON DELETE SET NULL;
ALTER TABLE tasks ADD CONSTRAINT tasks_recurrence_check CHECK (
    (recurrence_frequency IS NULL AND recurrence_interval IS NULL)
    OR (recurrence_frequency IN ('daily', 'weekly', 'monthly', 'yearly') AND recurrence_interval BETWEEN 1 AND 365)
);
-- One next task per task, whatever races; also the ON DELETE SET NULL.
CREATE UNIQUE INDEX tasks_recurred_from_idx ON tasks (recurred_from) WHERE recurred_from IS NOT NULL;
