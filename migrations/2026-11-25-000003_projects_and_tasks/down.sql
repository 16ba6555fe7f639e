DROP INDEX tasks_project_due_idx;
DROP INDEX tasks_assigned_due_idx;
DROP INDEX tasks_project_status_created_idx;
DROP INDEX tasks_project_created_idx;
DROP TABLE tasks;

DROP INDEX project_members_user_id_idx;
DROP TABLE project_members;

DROP INDEX projects_status_idx;
DROP TABLE projects;
