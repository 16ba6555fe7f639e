-- Whether the owner proved control of the account's e-mail address (opened a link sent to it). Accounts that
-- exist before this migration start unverified: with EPOP_REQUIRE_VERIFIED_EMAIL on, their owners ask for a
-- new link (`POST /api/auth/verify-email/resend`) or reset their password, which verifies the address too.
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;
