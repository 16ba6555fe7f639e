//! Account e-mails: password reset links (and e-mail verification links), sent from the durable job queue.
//!
//! Why a job rather than sending in the request: `POST /api/auth/password-reset` must cost the same whether or
//! not the address has an account, so the request only enqueues `{kind, email}` (one insert either way) and
//! answers. The job looks the account up, issues the token (only its SHA-256 is stored, in
//! `account_email_tokens`) and sends it: the token itself never touches the database, the job table included.
//! A failed send is retried by the queue with backoff; each attempt issues a new token, which replaces the
//! previous one.
//!
//! This module holds what the jobs carry and what the e-mails say; [`crate::account_mail_sender`] runs the
//! jobs. This crate never depends on an SMTP client: the gateway gives [`crate::AccountEmails`] a [`Mailer`]
//! (the notifications crate's SMTP sender behind an adapter).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The job queue of account e-mails.
pub const ACCOUNT_EMAIL_QUEUE: &str = "account_email";

/// One plain-text e-mail to one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// The recipient's display name.
    pub to_name: String,
    /// The recipient's address.
    pub to_email: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Sends e-mails (SMTP in production; the gateway provides it).
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `mail`; an `Err` is retried by the job queue.
    async fn send(&self, mail: OutgoingMail) -> Result<(), String>;
}

/// What an account e-mail job carries (never a token: the job issues it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum AccountEmailJob {
    /// A reset link for the account with this e-mail, if there is one.
    PasswordReset {
        /// As the requester typed it (matched case-insensitively).
        email: String,
    },
    /// A verification link for the account with this e-mail, if there is one and its address is not verified
    /// yet (on sign-up, on an e-mail change, and when asked again).
    VerifyEmail {
        /// The address to verify (matched case-insensitively).
        email: String,
    },
}

/// A token issued for a recipient, ready to be e-mailed.
#[derive(Debug)]
pub(crate) struct IssuedToken {
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) token: String,
}

/// The password reset e-mail. The token stands on a line of its own (`code: ...`) besides the link, so that
/// it survives any line wrapping of the transfer encoding and can be pasted into a client without a browser.
pub(crate) fn password_reset_mail(app_url: &str, issued: IssuedToken, minutes: i64) -> OutgoingMail {
    OutgoingMail {
        subject: "Reset your EPOP password".to_owned(),
        body: format!(
            "Someone, hopefully you, asked to reset the password of the EPOP\n\
             account of {email}.\n\n\
             To choose a new password, open this link within {minutes} minutes:\n\
             {app_url}/reset-password?token={token}\n\n\
             or enter this code:\n\
             code: {token}\n\n\
             The link works once, and signs you out everywhere. If you did not\n\
             ask for it, ignore this e-mail: your password stays as it is.\n",
            email = issued.email,
            token = issued.token,
        ),
        to_name: issued.name,
        to_email: issued.email,
    }
}

/// The e-mail verification e-mail.
pub(crate) fn verify_email_mail(app_url: &str, issued: IssuedToken, hours: i64) -> OutgoingMail {
    OutgoingMail {
        subject: "Confirm your e-mail address for EPOP".to_owned(),
        body: format!(
            "Please confirm that {email} is your address for EPOP\n\
             by opening this link within {hours} hours:\n\
             {app_url}/verify-email?token={token}\n\n\
             or enter this code:\n\
             code: {token}\n\n\
             If you did not sign up for EPOP or change your address,\n\
             ignore this e-mail.\n",
            email = issued.email,
            token = issued.token,
        ),
        to_name: issued.name,
        to_email: issued.email,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_carry_no_token_and_round_trip() {
        let job = AccountEmailJob::PasswordReset {
            email: "ann@example.com".into(),
        };
        let value = serde_json::to_value(&job).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"kind": "password_reset", "email": "ann@example.com"})
        );
        assert_eq!(serde_json::from_value::<AccountEmailJob>(value).unwrap(), job);
    }

    #[test]
    fn the_reset_mail_has_the_link_and_the_code_on_lines_of_their_own() {
        let mail = password_reset_mail(
            "https://app.example",
            IssuedToken {
                name: "Ann".into(),
                email: "ann@example.com".into(),
                token: "tok".into(),
            },
            30,
        );
        assert_eq!(mail.to_email, "ann@example.com");
        assert!(
            mail.body
                .contains("\nhttps://app.example/reset-password?token=tok\n")
        );
        assert!(mail.body.contains("\ncode: tok\n"));
        assert!(mail.body.contains("30 minutes"));
    }
}
