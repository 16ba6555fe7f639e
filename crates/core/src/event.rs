//! Domain events: facts that happened, written to the outbox in the same transaction as the change and
//! published after commit. Subscribers (the real-time layer, notifications) react to them without the
//! publishing crate knowing they exist.

use crate::id::UserId;
use serde::{Deserialize, Serialize};

/// Everything that happened in the domain that another part of the system may react to.
///
/// Serialized with a `type` tag, so the outbox and the Redis channel carry self-describing JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DomainEvent {
    /// Every session of the user ended (logout everywhere, or a password or e-mail change): live sockets of
    /// the user must be disconnected on every node.
    SessionsRevoked {
        /// Whose sessions ended.
        user_id: UserId,
    },
}

impl DomainEvent {
    /// The event's tag, as stored in the outbox's `event_type` column.
    pub fn event_type(&self) -> &'static str {
        match self {
            DomainEvent::SessionsRevoked { .. } => "sessions_revoked",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_json_and_round_trip() {
        let event = DomainEvent::SessionsRevoked {
            user_id: UserId::new(),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], event.event_type());
        assert_eq!(serde_json::from_value::<DomainEvent>(json).unwrap(), event);
    }
}
