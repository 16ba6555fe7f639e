DROP TABLE account_email_tokens;
