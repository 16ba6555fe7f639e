DROP TABLE settings;

DROP INDEX jobs_running_idx;
DROP INDEX jobs_queued_idx;
DROP TABLE jobs;

DROP INDEX outbox_unpublished_idx;
DROP TABLE outbox;
