//! # epop-projects
//!
//! Projects, their members and roles, and tasks, with no HTTP in sight: the gateway maps
//! [`ProjectsService`] onto routes, and anyone can embed it.
//!
//! Design notes:
//! - **One place decides who may do what.** Every service method resolves the caller's [`ProjectRole`] in the
//!   project (a global admin acts as `owner` on every project, see [`access::effective_role`]) and asks the
//!   pure function [`access::allowed`] about one [`Action`]. Someone with no role gets `NotFound` (the project
//!   is invisible to them); someone with a role that does not allow the action gets `Forbidden`.
//! - **Owners are never lost.** Membership changes lock the project row (`SELECT .. FOR UPDATE`), count the
//!   owners and refuse to demote or remove the last one (`LastOwner`), so two concurrent demotions cannot
//!   both succeed. When the user named in `projects.owner_id` stops being an owner, the earliest remaining
//!   owner takes their place.
//! - **Leaving unassigns.** Removing a member (or a member leaving) unassigns their open tasks (status other
//!   than `done`) in that project in the same transaction.
//! - **Optimistic concurrency for tasks.** `tasks.version` starts at 1 and increases on every change; it is
//!   the task's ETag, and an update may require one of a set of versions ([`IfMatch`]), checked under the
//!   row lock.
//! - **Orders.** A project's tasks page by `(created_at, id)`, oldest first, a fixed order. The caller's
//!   tasks across projects page by `(due_date NULLS LAST, id)`; that order can change, so the cursor carries
//!   the moment of the first page and later pages leave out tasks created after it.
//! - **Events.** Assigning a task to someone else and adding a member append a [`epop_core::DomainEvent`] to
//!   the outbox in the same transaction; the relay publishes it after commit. This crate does not know who
//!   listens.

pub mod access;
mod comments;
pub mod error;
mod labels;
pub mod mentions;
pub mod model;
pub mod rank;
pub mod reminders;
mod repo;
pub mod service;

pub use access::{Action, allowed, effective_role};
pub use error::{ProjectsError, ProjectsResult};
pub use model::*;
pub use reminders::DueReminderJobs;
pub use service::ProjectsService;
