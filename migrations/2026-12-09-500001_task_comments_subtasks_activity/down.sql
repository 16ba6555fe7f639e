DROP TABLE task_activity;
DROP TABLE task_watchers;
DROP TABLE task_comments;
DROP INDEX tasks_parent_idx;
ALTER TABLE tasks DROP CONSTRAINT tasks_parent_not_self_check;
ALTER TABLE tasks DROP COLUMN parent_id;
