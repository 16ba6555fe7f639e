-- A subscription the push service answered 404/410 for (or whose endpoint now resolves to an address the
-- server does not contact) is disabled instead of deleted: nothing is pushed to it again, while the API keeps
-- answering for it as before (the same endpoint again is 200, DELETE is 204), so that no answer tells a
-- subscriber what the push service said.
ALTER TABLE push_subscriptions ADD COLUMN disabled_at timestamptz NULL;
