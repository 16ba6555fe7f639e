-- Due-date reminders of tasks (docs/api.md, Due-date reminders): a row per task whose assignee has a reminder
-- still ahead (`EPOP_TASK_DUE_REMINDERS` minutes before its due date), with the one job of the `task-reminders`
-- queue queued for it (`job_id`), moved when the due date or the assignee changes, cancelled when the task is
-- done or deleted.
CREATE TABLE task_due_reminders (
    task_id    uuid        PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    next_at    timestamptz NOT NULL,
    job_id     bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
