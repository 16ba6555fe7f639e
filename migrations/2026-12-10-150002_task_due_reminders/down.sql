DROP TABLE task_due_reminders;
