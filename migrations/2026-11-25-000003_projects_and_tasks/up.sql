-- Projects, project members and tasks (contract sections 5 and 10).

CREATE TABLE projects (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    owner_id    uuid        NOT NULL REFERENCES users (id),
    status      text        NOT NULL DEFAULT 'active',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT projects_status_check CHECK (status IN ('active', 'on_hold', 'completed', 'archived'))
);

-- Global admins list every project, optionally by status.
CREATE INDEX projects_status_idx ON projects (status);

CREATE TABLE project_members (
    project_id uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, user_id),
    CONSTRAINT project_members_role_check CHECK (role IN ('owner', 'admin', 'member', 'viewer'))
);

-- A user's projects.
CREATE INDEX project_members_user_id_idx ON project_members (user_id);

CREATE TABLE tasks (
    id          uuid        PRIMARY KEY,
    project_id  uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    title       text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    status      text        NOT NULL DEFAULT 'todo',
    assigned_to uuid        NULL REFERENCES users (id) ON DELETE SET NULL,
    due_date    timestamptz NULL,
    -- bumped on every update; the ETag of GET/PUT /api/tasks/:id
    version     bigint      NOT NULL DEFAULT 1,
    created_by  uuid        NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tasks_status_check CHECK (status IN ('todo', 'in_progress', 'in_review', 'done')),
    CONSTRAINT tasks_version_check CHECK (version >= 1)
);

-- A project's tasks, oldest first (also serves the FK cascade from projects).
CREATE INDEX tasks_project_created_idx ON tasks (project_id, created_at, id);
-- ... filtered by status.
CREATE INDEX tasks_project_status_created_idx ON tasks (project_id, status, created_at, id);
-- GET /api/tasks?assigned_to=: by due_date then id (NULL due dates last,
-- the btree default for ASC); also serves ON DELETE SET NULL from users.
CREATE INDEX tasks_assigned_due_idx ON tasks (assigned_to, due_date, id);
-- GET /api/tasks across the caller's projects, by due_date then id.
CREATE INDEX tasks_project_due_idx ON tasks (project_id, due_date, id);
