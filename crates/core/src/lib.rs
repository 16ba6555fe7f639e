//! # epop-core
//!
//! The small set of types every EPOP crate shares, and nothing else:
//!
//! - [`id`]: typed UUIDv7 identifiers, so a `UserId` can never be passed where a `ConversationId` is expected;
//! - [`event`]: the domain events that services write to the outbox and the real-time layer fans out;
//! - [`model`]: the wire types (messages, conversations, tasks, notifications …) that clients receive and events
//!   carry, and the enums of their fixed words ([`wire_enum!`]);
//! - [`clock`]: the source of "now", injectable for tests;
//! - [`error`]: the stable client-facing error codes and field errors that every domain error maps onto;
//! - [`page`]: cursor pagination (`limit`, opaque `cursor`, `{items, next_cursor}`).
//!
//! Design rule: this crate has no I/O and no framework dependency. Domain crates depend on it; it depends on
//! no other EPOP crate.

pub mod clock;
pub mod error;
pub mod event;
pub mod id;
pub mod model;
pub mod page;

pub use clock::{Clock, SystemClock};
pub use error::{ErrorCode, FieldError};
pub use event::DomainEvent;
pub use id::*;
pub use page::{Cursor, CursorError, Page, PageRequest};
