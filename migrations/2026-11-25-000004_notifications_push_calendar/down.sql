DROP INDEX calendar_events_user_start_idx;
DROP INDEX calendar_events_user_range_idx;
DROP TABLE calendar_events;

DROP INDEX push_subscriptions_user_id_idx;
DROP TABLE push_subscriptions;

DROP INDEX notifications_user_unread_idx;
DROP INDEX notifications_user_created_idx;
DROP TABLE notifications;

-- Created by this migration's up (IF NOT EXISTS).
DROP EXTENSION IF EXISTS btree_gist;
