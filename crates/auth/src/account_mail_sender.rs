//! The account e-mail jobs' runner: issues the link token the job asks for (through [`AuthService`]) and sends
//! the e-mail that [`crate::account_mail`] writes. Apart from that module so that the service, which enqueues
//! the jobs, and the runner, which calls the service back, do not import each other.

use crate::account_mail::{
    ACCOUNT_EMAIL_QUEUE, AccountEmailJob, Mailer, password_reset_mail, verify_email_mail,
};
use crate::service::AuthService;
use async_trait::async_trait;
use epop_storage::jobs::JobHandler;
use serde_json::Value;
use std::sync::Arc;

/// Runs the account e-mail jobs (queue [`ACCOUNT_EMAIL_QUEUE`]).
pub struct AccountEmails {
    auth: AuthService,
    mailer: Arc<dyn Mailer>,
    app_url: String,
}

impl std::fmt::Debug for AccountEmails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountEmails")
            .field("app_url", &self.app_url)
            .finish_non_exhaustive()
    }
}

impl AccountEmails {
    /// Sends through `mailer`; links point into the web app at `app_url` (no trailing slash).
    pub fn new(auth: AuthService, mailer: Arc<dyn Mailer>, app_url: &str) -> Self {
        Self {
            auth,
            mailer,
            app_url: app_url.trim_end_matches('/').to_owned(),
        }
    }
}

#[async_trait]
impl JobHandler for AccountEmails {
    fn queue(&self) -> &'static str {
        ACCOUNT_EMAIL_QUEUE
    }

    async fn run(&self, payload: &Value) -> Result<(), String> {
        let job: AccountEmailJob = match serde_json::from_value(payload.clone()) {
            Ok(job) => job,
            // Nothing a retry could fix; say so in the job's last error.
            Err(error) => return Err(format!("not an account e-mail job: {error}")),
        };
        let mail = match job {
            AccountEmailJob::PasswordReset { email } => {
                let issued = self
                    .auth
                    .issue_password_reset(&email)
                    .await
                    .map_err(|e| e.to_string())?;
                // No account with this address: nothing to send (the requester was told the same either way).
                let Some(issued) = issued else {
                    return Ok(());
                };
                password_reset_mail(&self.app_url, issued, self.auth.password_reset_minutes())
            }
            AccountEmailJob::VerifyEmail { email } => {
                let issued = self
                    .auth
                    .issue_email_verification(&email)
                    .await
                    .map_err(|e| e.to_string())?;
                // No account has this address any more, or it was verified meanwhile.
                let Some(issued) = issued else {
                    return Ok(());
                };
                verify_email_mail(&self.app_url, issued, self.auth.email_verification_hours())
            }
        };
        self.mailer.send(mail).await
    }
}
