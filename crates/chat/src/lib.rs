//! # epop-chat
//!
//! Conversations (direct and group), messages, read positions, search and file attachments, with no HTTP in
//! sight: the gateway maps [`ChatService`] onto routes, and anyone can embed it.
//!
//! Design notes:
//! - **Ordering.** Every message gets a per-conversation `seq` inside the insert transaction: the sender's
//!   transaction first bumps `conversations.last_seq` (`UPDATE .. RETURNING`), which row-locks the conversation
//!   until commit, so `seq` order is commit order. Paging and `after` catch-up follow `seq`, so a client never
//!   skips a message that committed late.
//! - **Idempotency.** A `client_id` repeated by the same sender in the same conversation returns the first
//!   message; under the conversation lock the check is race-free, and a unique index is the backstop.
//! - **Visibility.** Every read is filtered by membership inside the query; a non-member gets `NotFound`,
//!   exactly as if the conversation did not exist.
//! - **Events.** Every change appends a [`epop_core::DomainEvent`] to the outbox in its transaction; the relay
//!   publishes it after commit. This crate does not know who listens.
//! - **Search.** A stored `tsvector` of the `simple` configuration over text whose CJK runs are rewritten into
//!   overlapping bigrams (`epop_search_text` in the migrations), so Chinese and Japanese words are found
//!   through the same GIN index.
//! - **Mentions.** Parsed from the text on send and edit ([`mentions::parse`]), kept to members, and stored
//!   twice: on the message as written (`mentions`, `mentions_here`, `mentions_all`) and as one
//!   `message_mentions` row per member reached, which the unread mention counts range over by index.
//!   `<!here>` asks the embedding application who is online ([`OnlineUsers`]; nobody by default).

pub mod error;
pub mod files;
pub mod incoming_webhooks;
pub mod mentions;
pub mod model;
pub mod reminders;
mod repo;
pub mod scheduled;
mod send_batch;
pub mod service;

pub use error::{ChatError, ChatResult};
pub use mentions::{NobodyOnline, OnlineUsers};
pub use model::*;
pub use service::{ChatService, ChatSettings};
