//! The scopes of personal access tokens: a closed set, each naming an area and whether it reads or writes.
//!
//! A token may do only what its scopes allow. Which scope each API route needs is decided in one table in the
//! gateway (`apps/gateway/src/scopes.rs`); a route missing from it refuses tokens altogether (account
//! management: passwords, e-mail, the second factor, sessions, tokens themselves, and the admin API).
//! `:write` does not include `:read`: a token that posts messages and reads them back needs both.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

// `$name:tt`, not `:literal`: a `literal` fragment reaches the derives wrapped in an invisible group, which
// utoipa's `serde(rename)` parser skips (the schema listed the variant names instead of the wire names).
macro_rules! scopes {
    ($($(#[$doc:meta])* $variant:ident => $name:tt,)*) => {
        /// What a personal access token may do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        // Named apart from the calendar's and the webhooks' `Scope` in the OpenAPI document.
        #[cfg_attr(feature = "openapi", schema(as = TokenScope))]
        pub enum Scope {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl Scope {
            /// Every scope, in the order of this list.
            pub const ALL: &'static [Scope] = &[$(Scope::$variant,)*];

            /// The stored and wire name, such as `messages:write`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Scope::$variant => $name,)*
                }
            }
        }
    };
}

scopes! {
    /// The people directory, profiles (`GET /api/users…`, the caller's own profile) and presence.
    UsersRead => "users:read",
    /// Conversations and their members: the list, one conversation, per-conversation notification settings.
    ConversationsRead => "conversations:read",
    /// Creating conversations, adding and removing members, per-conversation notification settings.
    ConversationsWrite => "conversations:write",
    /// Messages, threads, reactions, pins, saved messages, edit history, search, file downloads; connecting a
    /// socket (which receives messages).
    MessagesRead => "messages:read",
    /// Sending, editing and deleting messages, reacting, pinning, saving, read positions, scheduled messages,
    /// reminders, file uploads; the socket's `message:send`, `message:read` and typing events.
    MessagesWrite => "messages:write",
    /// Projects and their members.
    ProjectsRead => "projects:read",
    /// Creating, changing and deleting projects and their members.
    ProjectsWrite => "projects:write",
    /// Tasks, their comments, activity, labels and the board.
    TasksRead => "tasks:read",
    /// Creating, changing, moving and deleting tasks, comments and labels.
    TasksWrite => "tasks:write",
    /// Calendar events, one's reminders of them, free/busy and the `.ics` export.
    CalendarRead => "calendar:read",
    /// Creating, changing, answering and deleting calendar events, setting one's reminders of them.
    CalendarWrite => "calendar:write",
    /// Notifications and the notification settings.
    NotificationsRead => "notifications:read",
    /// Marking notifications read, notification settings, Web Push subscriptions.
    NotificationsWrite => "notifications:write",
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no [`Scope`].
#[derive(Debug, thiserror::Error)]
#[error("unknown scope `{0}`")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>().unwrap(), *scope);
            let wire = serde_json::to_value(scope).unwrap();
            assert_eq!(wire, scope.as_str());
        }
        assert!("messages:delete".parse::<Scope>().is_err());
        assert!(serde_json::from_value::<Scope>(serde_json::json!("admin")).is_err());
    }
}
