//! E-mail delivery of notifications: a background job per notification (queue `email`), sent over SMTP with
//! lettre (rustls with ring; no OpenSSL). Failures are retried by the job queue with backoff. Only verified
//! addresses are mailed (`users.email_verified`).

use async_trait::async_trait;
use diesel::{OptionalExtension as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use epop_core::model::NotificationKind;
use epop_storage::DbPool;
use epop_storage::jobs::JobHandler;
use epop_storage::schema::users;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use serde_json::Value;

/// The job queue name of e-mail deliveries.
pub const EMAIL_QUEUE: &str = "email";

/// Sends notification e-mails.
pub struct EmailSender {
    pool: DbPool,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for EmailSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailSender")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// An SMTP URL or sender address that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EmailConfigError(pub String);

impl EmailSender {
    /// A sender through `smtp_url` (`smtp://host:port`, `smtps://user:pass@host`) from `from`.
    pub fn new(pool: DbPool, smtp_url: &str, from: &str) -> Result<Self, EmailConfigError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| EmailConfigError(format!("EPOP_SMTP_URL: {e}")))?
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| EmailConfigError(format!("EPOP_SMTP_FROM: {e}")))?;
        Ok(Self {
            pool,
            transport,
            from,
        })
    }
}

impl EmailSender {
    /// Sends one plain-text e-mail to `name <email>` (also what account e-mails go through).
    pub async fn send_plain(
        &self,
        name: &str,
        email: &str,
        subject: String,
        body: String,
    ) -> Result<(), String> {
        self.send(name, email, subject, body, None).await
    }

    /// Sends one e-mail to `name <email>`: plain text, and with `attachment` a `multipart/mixed` one that
    /// carries it too.
    async fn send(
        &self,
        name: &str,
        email: &str,
        subject: String,
        body: String,
        attachment: Option<MailAttachment<'_>>,
    ) -> Result<(), String> {
        let to = format!("{} <{}>", name.replace(['<', '>', '"'], ""), email)
            .parse::<Mailbox>()
            .map_err(|e| e.to_string())?;
        let builder = Message::builder().from(self.from.clone()).to(to).subject(subject);
        let message = match attachment {
            None => builder.body(body),
            Some(file) => {
                let content_type = ContentType::parse(file.content_type).map_err(|e| e.to_string())?;
                builder.multipart(MultiPart::mixed().singlepart(SinglePart::plain(body)).singlepart(
                    Attachment::new(file.filename.to_owned()).body(file.content.to_owned(), content_type),
                ))
            }
        }
        .map_err(|e| e.to_string())?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// A file an e-mail carries (a calendar notice's `.ics`), as the e-mail job names it.
#[derive(Debug, Clone, Copy)]
struct MailAttachment<'a> {
    filename: &'a str,
    content_type: &'a str,
    content: &'a str,
}

impl<'a> MailAttachment<'a> {
    /// The `attachment` of an e-mail job, `{filename, content_type, content}`.
    fn of(job: &'a Value) -> Option<Self> {
        let file = job.get("attachment")?;
        let text = |key: &str| file.get(key).and_then(Value::as_str);
        Some(Self {
            filename: text("filename")?,
            content_type: text("content_type")?,
            content: text("content")?,
        })
    }
}

/// Subject and body of a notification e-mail of an unknown `kind` (a job written by another version).
fn generic(kind: &str) -> (String, String) {
    (format!("EPOP: {kind}"), "You have a new notification.".to_owned())
}

/// Subject and body of a notification e-mail.
pub fn render(kind: NotificationKind, payload: &Value) -> (String, String) {
    let text = |key: &str| {
        payload
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match kind {
        NotificationKind::TaskAssigned => (
            format!("Task assigned: {}", text("title")),
            format!("You were assigned the task \"{}\".", text("title")),
        ),
        NotificationKind::ProjectMemberAdded => (
            format!("You were added to {}", text("project_name")),
            format!(
                "You are now {} of the project \"{}\".",
                text("role"),
                text("project_name")
            ),
        ),
        NotificationKind::CalendarInvited => (
            format!("Invitation: {}", text("title")),
            format!(
                "You are invited to \"{}\" ({}).",
                text("title"),
                text("start_time")
            ),
        ),
        NotificationKind::CalendarUpdated => (
            format!("Updated: {}", text("title")),
            format!(
                "\"{}\" changed; it now starts {}.",
                text("title"),
                text("start_time")
            ),
        ),
        NotificationKind::CalendarCancelled => (
            format!("Cancelled: {}", text("title")),
            format!("\"{}\" ({}) is cancelled.", text("title"), text("start_time")),
        ),
        NotificationKind::CalendarReminder => (
            format!("Reminder: {}", text("title")),
            format!("\"{}\" starts {}.", text("title"), text("start_time")),
        ),
        NotificationKind::TaskDue => (
            format!("Due: {}", text("title")),
            format!("The task \"{}\" is due {}.", text("title"), text("due_date")),
        ),
        NotificationKind::TaskComment => (
            format!("New comment on {}", text("title")),
            format!(
                "A task you follow, \"{}\", has a new comment:\n\n{}",
                text("title"),
                text("preview")
            ),
        ),
        NotificationKind::TaskMention => (
            format!("You were mentioned on {}", text("title")),
            format!(
                "You were mentioned in a comment on the task \"{}\":\n\n{}",
                text("title"),
                text("preview")
            ),
        ),
        NotificationKind::Message => (
            "New message".to_owned(),
            format!("You have a new message:\n\n{}", text("preview")),
        ),
        NotificationKind::Mention => (
            "You were mentioned".to_owned(),
            format!("You were mentioned in a message:\n\n{}", text("preview")),
        ),
        NotificationKind::ScheduledMessageFailed | NotificationKind::Reminder => generic(kind.as_str()),
    }
}

#[async_trait]
impl JobHandler for EmailSender {
    fn queue(&self) -> &'static str {
        EMAIL_QUEUE
    }

    async fn run(&self, payload: &Value) -> Result<(), String> {
        let user = payload
            .get("user_id")
            .and_then(Value::as_str)
            .and_then(|u| u.parse::<epop_core::UserId>().ok())
            .ok_or("the job has no user")?;
        let notification = payload.get("notification").ok_or("the job has no notification")?;
        let kind = notification
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        // Read since, or do-not-disturb (then put back for its end): nothing to send now.
        if !crate::control::admit(&self.pool, EMAIL_QUEUE, user, payload).await? {
            return Ok(());
        }
        let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
        let recipient: Option<(String, String, bool)> = users::table
            .find(user)
            .select((users::name, users::email, users::email_verified))
            .first(&mut conn)
            .await
            .optional()
            .map_err(|e| e.to_string())?;
        drop(conn);
        // The account is gone, or its address is not verified (it may not be the owner's: a sign-up with
        // someone else's address must not make EPOP mail them): nothing to deliver, and nothing to retry.
        let Some((name, email, true)) = recipient else {
            return Ok(());
        };
        let payload_of = notification.get("payload").unwrap_or(&Value::Null);
        let (subject, body) = match kind.parse::<NotificationKind>() {
            Ok(kind) => render(kind, payload_of),
            Err(_) => generic(kind),
        };
        self.send(&name, &email, subject, body, MailAttachment::of(payload))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::{NotificationKind, render};
    use serde_json::json;

    #[test]
    fn every_type_renders_a_subject_and_body() {
        let (subject, body) = render(NotificationKind::TaskAssigned, &json!({"title": "Ship it"}));
        assert_eq!(subject, "Task assigned: Ship it");
        assert!(body.contains("Ship it"));
        let (subject, _) = render(
            NotificationKind::ProjectMemberAdded,
            &json!({"project_name": "Apollo", "role": "viewer"}),
        );
        assert_eq!(subject, "You were added to Apollo");
        let (_, body) = render(NotificationKind::Message, &json!({"preview": "hello"}));
        assert!(body.ends_with("hello"));
        let (subject, body) = render(NotificationKind::Reminder, &json!({"preview": "hello"}));
        assert_eq!(
            (subject.as_str(), body.as_str()),
            ("EPOP: reminder", "You have a new notification.")
        );
    }
}
