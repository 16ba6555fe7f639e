DROP INDEX refresh_tokens_expires_at_idx;
DROP INDEX refresh_tokens_user_id_active_idx;
DROP INDEX refresh_tokens_family_id_idx;
DROP TABLE refresh_tokens;

DROP INDEX users_name_prefix_idx;
DROP INDEX users_name_order_idx;
DROP INDEX users_email_lower_key;
DROP TABLE users;
