-- Labels per project, assigned to tasks; the board order of tasks; the text filter of a project's tasks
-- (docs/api.md, Labels and filters, Board order).

CREATE TABLE project_labels (
    id         uuid        PRIMARY KEY,
    project_id uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       text        NOT NULL,
    -- `#rrggbb`, lower case
    colour     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT project_labels_name_length_check CHECK (char_length(name) BETWEEN 1 AND 50),
    CONSTRAINT project_labels_colour_check CHECK (colour ~ '^#[0-9a-f]{6}$')
);

-- A project's labels, oldest first (also the FK cascade from projects).
CREATE INDEX project_labels_project_idx ON project_labels (project_id, created_at, id);
-- One name per project, whatever its case.
CREATE UNIQUE INDEX project_labels_name_idx ON project_labels (project_id, lower(name));

CREATE TABLE task_labels (
    task_id  uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    label_id uuid NOT NULL REFERENCES project_labels (id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, label_id)
);

-- The tasks with a label (the `label` filter, the FK cascade from project_labels).
CREATE INDEX task_labels_label_idx ON task_labels (label_id, task_id);

-- Board order: a rank within the task's status column (crates/projects/src/rank.rs), compared bytewise.
ALTER TABLE tasks ADD COLUMN position text COLLATE "C" NULL;
UPDATE tasks SET position = ranked.position
FROM (SELECT id, to_char(row_number() OVER (PARTITION BY project_id, status ORDER BY created_at, id),
                         'FM000000000') || 'V' AS position
      FROM tasks) AS ranked
WHERE tasks.id = ranked.id;
ALTER TABLE tasks ALTER COLUMN position SET NOT NULL;
ALTER TABLE tasks ADD CONSTRAINT tasks_position_check CHECK (position ~ '^[0-9A-Za-z]*[1-9A-Za-z]$' AND char_length(position) <= 200);

-- A column of the board, in order.
CREATE INDEX tasks_board_idx ON tasks (project_id, status, position, id);
-- The `q` filter: words of the title and the description.
CREATE INDEX tasks_text_idx ON tasks USING gin (to_tsvector('simple', title || ' ' || description));
