-- Tasks get structure, discussion and history (docs/api.md, Task comments, Subtasks, Task activity).

-- Subtasks: a task's parent is a task of the same project (checked by the service, which also refuses cycles
-- and keeps the depth limit). Deleting a parent deletes its subtree unless the service detached the children
-- first (`DELETE /api/tasks/:id?children=detach`).
ALTER TABLE tasks ADD COLUMN parent_id uuid NULL REFERENCES tasks (id) ON DELETE CASCADE;
ALTER TABLE tasks ADD CONSTRAINT tasks_parent_not_self_check CHECK (parent_id <> id);
-- A parent's children (progress, the subtree walks, the FK cascade).
CREATE INDEX tasks_parent_idx ON tasks (parent_id, status) WHERE parent_id IS NOT NULL;

CREATE TABLE task_comments (
    id         uuid        PRIMARY KEY,
    task_id    uuid        NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    author_id  uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body       text        NOT NULL,
    -- the project members the body mentions (`<@USER_ID>`), without the author
    mentions   uuid[]      NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    edited_at  timestamptz NULL,
    CONSTRAINT task_comments_body_length_check CHECK (char_length(body) BETWEEN 1 AND 10000)
);

-- A task's comments, oldest first (also the FK cascade from tasks).
CREATE INDEX task_comments_task_idx ON task_comments (task_id, created_at, id);
-- A user's comments go with the user.
CREATE INDEX task_comments_author_idx ON task_comments (author_id);

-- Who hears of a task's comments: its creator, its assignees and its commenters (added as they become one).
CREATE TABLE task_watchers (
    task_id    uuid        NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, user_id)
);

CREATE INDEX task_watchers_user_idx ON task_watchers (user_id);

INSERT INTO task_watchers (task_id, user_id)
SELECT id, created_by FROM tasks
UNION
SELECT id, assigned_to FROM tasks WHERE assigned_to IS NOT NULL;

-- Every change to a task: who, when, which field, the old and new values (JSON, as the API shows them).
-- Written in the same transaction as the change.
CREATE TABLE task_activity (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id    uuid        NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    actor_id   uuid        NULL REFERENCES users (id) ON DELETE SET NULL,
    field      text        NOT NULL,
    old_value  jsonb       NULL,
    new_value  jsonb       NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A task's activity, oldest first (also the FK cascade from tasks).
CREATE INDEX task_activity_task_idx ON task_activity (task_id, id);
-- ON DELETE SET NULL from users.
CREATE INDEX task_activity_actor_idx ON task_activity (actor_id) WHERE actor_id IS NOT NULL;
