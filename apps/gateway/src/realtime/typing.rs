//! Typing indicators: `typing:start` lasts [`TYPING_TTL`] unless renewed, `typing:stop` ends it. Never stored:
//! published to every node as it happens (best effort).

use super::{EpopRealtime, LiveSignal};
use epop_core::{ConversationId, UserId};
use std::sync::Arc;
use std::time::Duration;

/// How long a typing indicator lasts without renewal.
pub const TYPING_TTL: Duration = Duration::from_secs(5);

impl EpopRealtime {
    /// `user` started or stopped typing in `conversation`: announced now, and a start ends by itself after
    /// [`TYPING_TTL`] unless renewed (the generation of each renewal outlives the old timer).
    pub(super) async fn typing(
        self: &Arc<Self>,
        user: UserId,
        conversation: ConversationId,
        is_typing: bool,
    ) {
        let generation = {
            let mut typing = super::lock(&self.typing);
            if is_typing {
                let entry = typing.entry((conversation, user)).or_insert(0);
                *entry += 1;
                Some(*entry)
            } else {
                typing.remove(&(conversation, user));
                None
            }
        };
        self.publish_signal(&LiveSignal::Typing {
            conversation_id: conversation,
            user_id: user,
            is_typing,
        })
        .await;
        if let Some(generation) = generation {
            let app = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(TYPING_TTL).await;
                let expired = {
                    let mut typing = super::lock(&app.typing);
                    let current = typing.get(&(conversation, user)).copied();
                    if current == Some(generation) {
                        typing.remove(&(conversation, user));
                        true
                    } else {
                        false
                    }
                };
                if expired {
                    app.publish_signal(&LiveSignal::Typing {
                        conversation_id: conversation,
                        user_id: user,
                        is_typing: false,
                    })
                    .await;
                }
            });
        }
    }
}
