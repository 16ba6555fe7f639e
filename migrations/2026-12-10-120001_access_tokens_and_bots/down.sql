DROP TABLE personal_access_tokens;
ALTER TABLE users DROP COLUMN is_bot;
