//! Typed identifiers. Every id is a UUIDv7 (time-ordered), wrapped in its own type.
//!
//! The types reach the database layer: each is a Diesel expression of SQL type `uuid` (`AsExpression`) and
//! loads from one (`FromSqlRow`), as Lemmy's id newtypes do, so repository functions take and return
//! `UserId`, `ConversationId` … and the compiler refuses a swapped argument.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            Serialize,
            Deserialize,
            diesel::expression::AsExpression,
            diesel::deserialize::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        pub struct $name(pub Uuid);

        impl diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <Uuid as diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::to_sql(&self.0, out)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                <Uuid as diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::from_sql(bytes)
                    .map(Self)
            }
        }

        impl $name {
            /// A new, time-ordered (v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The raw UUID, for storage.
            pub fn into_uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }

        impl From<$name> for Uuid {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    )*};
}

typed_id!(
    /// Identifies a user account.
    UserId,
    /// Identifies a chain of rotated refresh tokens that started at one login.
    TokenFamilyId,
    /// Identifies a direct or group conversation.
    ConversationId,
    /// Identifies a chat message.
    MessageId,
    /// Identifies an uploaded file.
    AttachmentId,
    /// Identifies a project.
    ProjectId,
    /// Identifies a task.
    TaskId,
    /// Identifies a notification.
    NotificationId,
    /// Identifies a calendar event.
    CalendarEventId,
    /// Identifies a Web Push subscription.
    PushSubscriptionId,
    /// Identifies a message scheduled to be posted later.
    ScheduledMessageId,
    /// Identifies a reminder about a message.
    ReminderId,
    /// Identifies a comment on a task.
    TaskCommentId,
    /// Identifies a project's task label.
    LabelId,
    /// A personal access token (`/api/users/me/tokens`).
    AccessTokenId,
    /// An incoming webhook of a conversation.
    IncomingWebhookId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_time_ordered_and_round_trip_through_text() {
        let first = UserId::new();
        let second = UserId::new();
        assert!(first < second);
        assert_eq!(first.to_string().parse::<UserId>().unwrap(), first);
        assert!("not-a-uuid".parse::<UserId>().is_err());
    }

    #[test]
    fn ids_serialize_as_plain_strings() {
        let id = MessageId::new();
        assert_eq!(
            serde_json::to_value(id).unwrap(),
            serde_json::json!(id.to_string())
        );
    }
}
