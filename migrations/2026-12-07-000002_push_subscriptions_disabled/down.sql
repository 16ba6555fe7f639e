ALTER TABLE push_subscriptions DROP COLUMN disabled_at;
