DROP INDEX tasks_text_idx;
DROP INDEX tasks_board_idx;
ALTER TABLE tasks DROP CONSTRAINT tasks_position_check;
ALTER TABLE tasks DROP COLUMN position;
DROP TABLE task_labels;
DROP TABLE project_labels;
