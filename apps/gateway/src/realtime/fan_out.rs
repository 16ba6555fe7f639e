//! Committed domain events and live signals to sockets. `EpopRealtime::client_events` is the one mapping from
//! a domain event to what clients receive (audience, event name, payload), used by live delivery here and by
//! the replay of a recovering socket ([`super::recovery`]). Live delivery reads the bus in order; typing is
//! delivered as it comes, and presence goes its own way on a task of its own, so that a connect storm in a
//! large group never holds up messages.

use super::{EpopRealtime, LiveSignal, SocketState, conversation_room, presence_room, user_room};
use epop_core::model::{EventMessage, Message, ReminderChange, ScheduledMessageChange, TaskCommentChange};
use epop_core::{
    ConversationId, DomainEvent, MessageId, ProjectId, ReminderId, ScheduledMessageId, TaskId, UserId,
};
use epop_socketio::{Broadcast, Packet};
use epop_storage::events::PublishedEvent;
use serde::{Deserialize as _, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// The most `thread:updated` per thread: one per second.
const THREAD_INTERVAL: Duration = Duration::from_secs(1);

/// The most `message:reactions` per message: one per 250 ms.
const REACTIONS_INTERVAL: Duration = Duration::from_millis(250);

/// What is coalesced, per what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoalesceKey {
    /// A thread's `thread:updated`, by root message.
    Thread(MessageId),
    /// A message's `message:reactions`.
    Reactions(MessageId),
}

/// An emission held back by coalescing.
#[derive(Debug)]
pub struct Emission {
    room: String,
    name: &'static str,
    payload: Value,
    offset: Option<i64>,
}

/// Who receives a client event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every member's sockets of a conversation.
    Conversation(ConversationId),
    /// Every socket of a user.
    User(UserId),
}

impl Audience {
    fn room(self) -> String {
        match self {
            Audience::Conversation(conversation) => conversation_room(conversation),
            Audience::User(user) => user_room(user),
        }
    }
}

/// What one domain event means to clients.
#[derive(Debug)]
pub enum Outcome {
    /// An event to emit.
    Emit {
        /// Who receives it.
        audience: Audience,
        /// The Socket.IO event name.
        name: &'static str,
        /// The event's one argument, encoded once for every recipient.
        payload: Value,
        /// A socket that does not receive it (the one that sent the message).
        except_socket: Option<String>,
    },
    /// Every socket of the user ends (their sessions were revoked).
    Disconnect(UserId),
    /// The sockets of one session of the user end (it was ended on its own).
    EndSession(UserId, epop_core::TokenFamilyId),
}

fn emit(audience: Audience, name: &'static str, payload: Value) -> Outcome {
    Outcome::Emit {
        audience,
        name,
        payload,
        except_socket: None,
    }
}

/// The payload of `task:comment`: the project, the task, and the change's `action` and `comment`.
#[derive(Serialize)]
struct TaskCommentOut<'a> {
    project_id: ProjectId,
    task_id: TaskId,
    #[serde(flatten)]
    change: &'a TaskCommentChange,
}

/// `scheduled_message:deleted` to the sender's sockets: one of their scheduled messages left their list (`reason`:
/// `cancelled`, `posted` as `message_id`, or `failed`).
fn scheduled_message_gone(
    user: UserId,
    id: ScheduledMessageId,
    conversation: ConversationId,
    reason: &str,
    message_id: Option<MessageId>,
) -> Outcome {
    let payload =
        json!({"id": id, "conversation_id": conversation, "reason": reason, "message_id": message_id});
    emit(Audience::User(user), "scheduled_message:deleted", payload)
}

/// `reminder:deleted` to the owner's sockets: one of their reminders left their list (`reason`: `cancelled`,
/// `fired` or `dropped`).
fn reminder_gone(
    user: UserId,
    id: ReminderId,
    message: MessageId,
    conversation: ConversationId,
    reason: &str,
) -> Outcome {
    let payload = json!({"id": id, "message_id": message, "conversation_id": conversation, "reason": reason});
    emit(Audience::User(user), "reminder:deleted", payload)
}

/// For whom `EpopRealtime::client_events` maps an event.
#[derive(Debug)]
pub enum Scope<'a> {
    /// Live delivery: this node's sockets, messages with fresh download links.
    Live,
    /// The replay to one user's recovering socket, messages as they are now (a deleted one is not sent).
    Replay {
        /// The recovering socket's user.
        user: UserId,
        /// The replayed messages as they are now, by id.
        current: &'a HashMap<MessageId, Message>,
    },
}

impl EpopRealtime {
    /// Forwards domain events and live signals from the bus to this node's sockets until the process ends.
    /// Presence goes its own way, in order, on a task of its own: a connect storm in a large group (each
    /// arrival announced to every member) must not hold up messages.
    pub fn spawn_fan_out(self: &Arc<Self>) {
        let app = self.clone();
        let mut events = self.state.events.subscribe();
        let mut signals = self.state.events.subscribe_signals();
        let (presence, mut presence_queue) = tokio::sync::mpsc::unbounded_channel::<LiveSignal>();
        let presence_app = self.clone();
        tokio::spawn(async move {
            while let Some(signal) = presence_queue.recv().await {
                presence_app.deliver_signal(&signal);
            }
        });
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    event = events.recv() => match event {
                        Ok(event) => app.deliver_in_order(&event).await,
                        Err(RecvError::Lagged(missed)) => app.catch_up(missed).await,
                        Err(RecvError::Closed) => return,
                    },
                    signal = signals.recv() => match signal {
                        Ok(signal) => match LiveSignal::deserialize(&*signal) {
                            // The presence task lives as long as this one.
                            Ok(signal @ LiveSignal::Presence { .. }) => {
                                let _ = presence.send(signal);
                            }
                            Ok(signal) => app.deliver_signal(&signal),
                            Err(error) => tracing::warn!(%error, "an unknown live signal"),
                        },
                        // Live signals are not stored: what the bus no longer holds is gone.
                        Err(RecvError::Lagged(missed)) => {
                            tracing::warn!(missed, "real-time fan-out missed live signals");
                        }
                        Err(RecvError::Closed) => return,
                    },
                }
            }
        });
    }

    /// What this node's bus no longer holds is read from the outbox, in order: nothing is lost that a client
    /// would miss for good.
    async fn catch_up(self: &Arc<Self>, missed: u64) {
        let after = self.delivered.load(Ordering::Acquire);
        if after == 0 {
            return;
        }
        tracing::warn!(missed, after, "real-time fan-out fell behind; reading the outbox");
        match self.state.events.since(after).await {
            Ok(missed) => {
                for event in missed {
                    self.deliver_in_order(&event).await;
                }
            }
            Err(error) => tracing::warn!(%error, "could not read the events the fan-out missed"),
        }
    }

    /// Delivers an event unless it was already (a positioned event at or below the last one delivered, seen
    /// again after a catch-up read).
    async fn deliver_in_order(self: &Arc<Self>, published: &PublishedEvent) {
        if published.position <= self.delivered.load(Ordering::Acquire) {
            return;
        }
        self.delivered.store(published.position, Ordering::Release);
        self.deliver(published).await;
    }

    /// Emits to a room; sockets that asked for recovery also get the event's position as a last argument
    /// (`offset`; none for an event that is not stored).
    fn emit_to_room(
        &self,
        room: &str,
        event: &str,
        args: Value,
        offset: Option<i64>,
        except_socket: Option<&str>,
        except_user: Option<UserId>,
    ) {
        let packet = Packet::event("/", json!([event, args]), None, Vec::new());
        let with_offset = offset
            .map(|offset| Packet::event("/", json!([event, args, offset.to_string()]), None, Vec::new()));
        let recovering = |socket: &SocketState| socket.recover;
        let excepted = |socket: &SocketState| Some(socket.user) == except_user;
        let mut broadcast = Broadcast::room(room)
            .except_socket(except_socket)
            .except(&excepted);
        if let Some(with_offset) = &with_offset {
            broadcast = broadcast.alternate(with_offset, &recovering);
        }
        self.hub.send(broadcast, &packet);
    }

    /// Delivers a live signal to this node's sockets (no offset: it is not stored).
    fn deliver_signal(&self, signal: &LiveSignal) {
        match signal {
            LiveSignal::Typing {
                conversation_id,
                user_id,
                is_typing,
            } => {
                let body =
                    json!({"conversation_id": conversation_id, "user_id": user_id, "is_typing": is_typing});
                self.emit_to_room(
                    &conversation_room(*conversation_id),
                    "typing",
                    body,
                    None,
                    None,
                    Some(*user_id),
                );
            }
            LiveSignal::Presence {
                user_id,
                online,
                last_seen_at,
                conversations,
            } => {
                let status = if *online { "online" } else { "offline" };
                let body = json!({"user_id": user_id, "status": status, "last_seen_at": last_seen_at});
                // The members of the user's direct conversations and small groups, and the sockets that asked.
                let rooms: Vec<String> = conversations
                    .iter()
                    .map(|c| conversation_room(*c))
                    .chain(std::iter::once(presence_room(*user_id)))
                    .collect();
                let packet = Packet::event("/", json!(["presence", body]), None, Vec::new());
                let own = |socket: &SocketState| socket.user == *user_id;
                self.hub
                    .send(Broadcast::rooms(&rooms).except(&own).lazily(), &packet);
            }
        }
    }

    /// Delivers one committed event to this node's sockets; a thread's summaries are coalesced (at most one
    /// `thread:updated` per thread per second).
    async fn deliver(self: &Arc<Self>, published: &PublishedEvent) {
        let offset = Some(published.position);
        self.follow_membership(&published.event);
        let coalesced = match &published.event {
            DomainEvent::ThreadUpdated { root_id, .. } => {
                Some((CoalesceKey::Thread(*root_id), THREAD_INTERVAL))
            }
            DomainEvent::ReactionsChanged { message_id, .. } => {
                Some((CoalesceKey::Reactions(*message_id), REACTIONS_INTERVAL))
            }
            _ => None,
        };
        for outcome in self.client_events(&published.event, &Scope::Live).await {
            match (outcome, coalesced) {
                (
                    Outcome::Emit {
                        audience,
                        name,
                        payload,
                        ..
                    },
                    Some((key, interval)),
                ) => self.emit_coalesced(
                    key,
                    interval,
                    Emission {
                        room: audience.room(),
                        name,
                        payload,
                        offset,
                    },
                ),
                (
                    Outcome::Emit {
                        audience,
                        name,
                        payload,
                        except_socket,
                    },
                    None,
                ) => self.emit_to_room(
                    &audience.room(),
                    name,
                    payload,
                    offset,
                    except_socket.as_deref(),
                    None,
                ),
                (Outcome::Disconnect(user), _) => {
                    self.state.auth.sessions_revoked_elsewhere(user);
                    // The cutoff is read off the fan-out path: a socket signed in again after it stays open.
                    let app = self.clone();
                    tokio::spawn(async move { app.close_ended_sessions(user).await });
                }
                (Outcome::EndSession(user, session), _) => {
                    self.state.auth.session_ended_elsewhere(session);
                    for socket in self.hub.sockets_in(&user_room(user)) {
                        if socket.state().session == Some(session) {
                            socket.disconnect();
                            socket.session().close(epop_socketio::CloseReason::ServerClose);
                        }
                    }
                }
            }
        }
    }

    /// Closes `user`'s sockets whose access token was issued up to the user's session cutoff (the event may
    /// arrive after the user signed in again: those sockets stay). When the cutoff cannot be read, closes them
    /// all.
    async fn close_ended_sessions(&self, user: UserId) {
        // From PostgreSQL, shared through Redis on the way: the change may come from a process without Redis.
        let cutoff = self.state.auth.resync_session_cutoff(user).await;
        if let Err(error) = &cutoff {
            tracing::warn!(%error, "could not read a session cutoff; closing every socket of the user");
        }
        for socket in self.hub.sockets_in(&user_room(user)) {
            let ended = match &cutoff {
                Ok(cutoff) => epop_auth::sessions::is_revoked(socket.state().token_issued_at, *cutoff),
                Err(_) => true,
            };
            if ended {
                socket.disconnect();
                socket.session().close(epop_socketio::CloseReason::ServerClose);
            }
        }
    }

    /// Emits now unless `key` was emitted less than `interval` ago; then only the latest emission of the window
    /// goes out, when the window closes. One task per open window; a key's entry goes with its quiet window, so
    /// the map holds only what was emitted in the last interval.
    fn emit_coalesced(self: &Arc<Self>, key: CoalesceKey, interval: Duration, emission: Emission) {
        {
            let mut windows = super::lock(&self.windows);
            if let Some(waiting) = windows.get_mut(&key) {
                *waiting = Some(emission);
                return;
            }
            windows.insert(key, None);
        }
        self.emit_now(&emission);
        let app = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let next = {
                    let mut windows = super::lock(&app.windows);
                    match windows.get_mut(&key).and_then(Option::take) {
                        Some(next) => next,
                        None => {
                            windows.remove(&key);
                            return;
                        }
                    }
                };
                app.emit_now(&next);
            }
        });
    }

    fn emit_now(&self, emission: &Emission) {
        self.emit_to_room(
            &emission.room,
            emission.name,
            emission.payload.clone(),
            emission.offset,
            None,
            None,
        );
    }

    /// This node's sockets follow membership changes: members' sockets join a conversation's room when they
    /// are added, and leave it when they are removed.
    fn follow_membership(&self, event: &DomainEvent) {
        let (conversation, added, removed): (_, &[UserId], &[UserId]) = match event {
            DomainEvent::ConversationCreated {
                conversation_id,
                member_ids,
            } => (conversation_id, member_ids, &[]),
            DomainEvent::ConversationMembersChanged {
                conversation_id,
                added,
                removed,
                ..
            } => (conversation_id, added, removed),
            _ => return,
        };
        let room = conversation_room(*conversation);
        for user in added {
            for socket in self.hub.sockets_in(&user_room(*user)) {
                self.hub.join(socket.id(), &room);
            }
        }
        for user in removed {
            for socket in self.hub.sockets_in(&user_room(*user)) {
                self.hub.leave(socket.id(), &room);
            }
        }
    }

    /// Whether events for `user` reach anyone in `scope`: a user with sockets on this node (live), or the
    /// recovering socket's user (replay).
    fn reaches(&self, scope: &Scope<'_>, user: UserId) -> bool {
        match scope {
            Scope::Live => self.hub.is_occupied(&user_room(user)),
            Scope::Replay { user: replayed, .. } => *replayed == user,
        }
    }

    /// A user's view of a conversation, as `conversation:new` and `conversation:updated` carry it.
    async fn conversation_view(&self, user: UserId, conversation: ConversationId) -> Option<Value> {
        let conversation = self.state.chat.conversation(user, conversation).await.ok()?;
        Some(serde_json::to_value(&conversation).unwrap_or(Value::Null))
    }

    /// A message as clients receive it in `scope`: with freshly signed download links (live), or as it is now
    /// (replay; `None` when it was deleted since).
    async fn message_view(&self, message: &EventMessage, scope: &Scope<'_>) -> Option<Value> {
        let view = match scope {
            Scope::Live => self.state.chat.signed_for_delivery(message).await,
            Scope::Replay { current, .. } => current.get(&message.id)?.clone(),
        };
        Some(serde_json::to_value(&view).unwrap_or(Value::Null))
    }

    /// What clients receive for `event` in `scope`: the one mapping from domain events to client events.
    /// Project events reach users as notifications.
    pub(super) async fn client_events(&self, event: &DomainEvent, scope: &Scope<'_>) -> Vec<Outcome> {
        match event {
            DomainEvent::MessageCreated {
                conversation_id,
                message,
                origin,
                ..
            } => match self.message_view(message, scope).await {
                Some(payload) => vec![Outcome::Emit {
                    audience: Audience::Conversation(*conversation_id),
                    name: "message:new",
                    payload,
                    except_socket: origin.clone(),
                }],
                None => Vec::new(),
            },
            DomainEvent::MessageUpdated {
                conversation_id,
                message,
                ..
            } => match self.message_view(message, scope).await {
                Some(payload) => vec![emit(
                    Audience::Conversation(*conversation_id),
                    "message:updated",
                    payload,
                )],
                None => Vec::new(),
            },
            DomainEvent::MessageDeleted {
                conversation_id,
                message_id,
            } => vec![emit(
                Audience::Conversation(*conversation_id),
                "message:deleted",
                json!({"id": message_id, "conversation_id": conversation_id}),
            )],
            DomainEvent::ReadPositionMoved {
                conversation_id,
                user_id,
                message_id,
            } => vec![emit(
                Audience::Conversation(*conversation_id),
                "message:read",
                json!({"conversation_id": conversation_id, "user_id": user_id, "message_id": message_id}),
            )],
            DomainEvent::ConversationCreated {
                conversation_id,
                member_ids,
            } => {
                let mut outcomes = Vec::new();
                for user in member_ids.iter().filter(|user| self.reaches(scope, **user)) {
                    if let Some(view) = self.conversation_view(*user, *conversation_id).await {
                        outcomes.push(emit(Audience::User(*user), "conversation:new", view));
                    }
                }
                outcomes
            }
            DomainEvent::ConversationMembersChanged {
                conversation_id,
                added,
                removed,
                member_ids,
            } => {
                let mut outcomes = Vec::new();
                let mut shown = None;
                for user in member_ids.iter().filter(|user| self.reaches(scope, **user)) {
                    if let Some(view) = self.conversation_view(*user, *conversation_id).await {
                        if added.contains(user) {
                            outcomes.push(emit(Audience::User(*user), "conversation:new", view.clone()));
                        }
                        outcomes.push(emit(Audience::User(*user), "conversation:updated", view.clone()));
                        shown = Some(view);
                    }
                }
                // A removed user can no longer load the conversation: show them a member's view of it (loaded
                // now when no member is reached here), with nothing unread. A replay reaches a current member only.
                let removed: Vec<UserId> = match scope {
                    Scope::Live => removed
                        .iter()
                        .copied()
                        .filter(|user| self.reaches(scope, *user))
                        .collect(),
                    Scope::Replay { .. } => Vec::new(),
                };
                if !removed.is_empty() {
                    let view = match shown {
                        Some(view) => Some(view),
                        None => match member_ids.first() {
                            Some(member) => self.conversation_view(*member, *conversation_id).await,
                            None => None,
                        },
                    };
                    let mut view = view.unwrap_or_else(|| json!({"id": conversation_id, "members": []}));
                    view["unread_count"] = json!(0);
                    for user in removed {
                        outcomes.push(emit(Audience::User(user), "conversation:updated", view.clone()));
                    }
                }
                outcomes
            }
            DomainEvent::ThreadUpdated {
                conversation_id,
                root_id,
                thread,
            } => vec![emit(
                Audience::Conversation(*conversation_id),
                "thread:updated",
                json!({"conversation_id": conversation_id, "root_id": root_id, "thread": thread}),
            )],
            DomainEvent::ReactionsChanged {
                conversation_id,
                message_id,
                reactions,
            } => vec![emit(
                Audience::Conversation(*conversation_id),
                "message:reactions",
                json!({"conversation_id": conversation_id, "message_id": message_id, "reactions": reactions}),
            )],
            DomainEvent::ThreadRead {
                user_id,
                conversation_id,
                root_id,
                message_id,
            } if self.reaches(scope, *user_id) => vec![emit(
                Audience::User(*user_id),
                "thread:read",
                json!({"conversation_id": conversation_id, "root_id": root_id, "message_id": message_id}),
            )],
            DomainEvent::ReadPositionMovedBack {
                conversation_id,
                user_id,
                message_id,
                unread_from,
            } if self.reaches(scope, *user_id) => vec![emit(
                Audience::User(*user_id),
                "message:read",
                json!({"conversation_id": conversation_id, "user_id": user_id, "message_id": message_id,
                       "unread_from": unread_from}),
            )],
            DomainEvent::NotificationCreated {
                user_id,
                notification,
            } if self.reaches(scope, *user_id) => {
                let payload = serde_json::to_value(notification).unwrap_or(Value::Null);
                vec![emit(Audience::User(*user_id), "notification:new", payload)]
            }
            // Live, every node hears of it (its sign-in checks forget the ended sessions), sockets or not.
            DomainEvent::SessionsRevoked { user_id } => match scope {
                Scope::Live => vec![Outcome::Disconnect(*user_id)],
                Scope::Replay { user, .. } if user == user_id => vec![Outcome::Disconnect(*user_id)],
                Scope::Replay { .. } => Vec::new(),
            },
            DomainEvent::PinsChanged {
                conversation_id,
                message_id,
                pinned,
                user_id,
            } => vec![emit(
                Audience::Conversation(*conversation_id),
                "conversation:pins",
                json!({"conversation_id": conversation_id, "message_id": message_id, "pinned": pinned, "user_id": user_id}),
            )],
            // A user's own scheduled messages and reminders: to their sockets only (a failure and a reminder that
            // comes also reach them as notifications).
            DomainEvent::ScheduledMessageChanged {
                user_id,
                scheduled_message_id,
                conversation_id,
                change,
                scheduled_message,
                message_id,
            } if self.reaches(scope, *user_id) => match (change, scheduled_message) {
                (ScheduledMessageChange::Created, Some(shown)) => {
                    vec![emit(Audience::User(*user_id), "scheduled_message:new", json!(shown))]
                }
                (ScheduledMessageChange::Updated, Some(shown)) => {
                    vec![emit(Audience::User(*user_id), "scheduled_message:updated", json!(shown))]
                }
                (reason, _) => vec![scheduled_message_gone(
                    *user_id,
                    *scheduled_message_id,
                    *conversation_id,
                    reason.as_str(),
                    *message_id,
                )],
            },
            DomainEvent::ScheduledMessageFailed {
                user_id,
                scheduled_message_id,
                conversation_id,
                ..
            } if self.reaches(scope, *user_id) => vec![scheduled_message_gone(
                *user_id,
                *scheduled_message_id,
                *conversation_id,
                "failed",
                None,
            )],
            DomainEvent::ReminderChanged {
                user_id,
                reminder_id,
                message_id,
                conversation_id,
                change,
                reminder,
            } if self.reaches(scope, *user_id) => match (change, reminder) {
                (ReminderChange::Created, Some(shown)) => {
                    vec![emit(Audience::User(*user_id), "reminder:new", json!(shown))]
                }
                (reason, _) => vec![reminder_gone(
                    *user_id,
                    *reminder_id,
                    *message_id,
                    *conversation_id,
                    reason.as_str(),
                )],
            },
            DomainEvent::ReminderDue {
                user_id,
                reminder_id,
                message_id,
                conversation_id,
                ..
            } if self.reaches(scope, *user_id) => {
                vec![reminder_gone(*user_id, *reminder_id, *message_id, *conversation_id, "fired")]
            }
            DomainEvent::SessionEnded { user_id, session_id } => match scope {
                Scope::Live => vec![Outcome::EndSession(*user_id, *session_id)],
                Scope::Replay { user, .. } if user == user_id => {
                    vec![Outcome::EndSession(*user_id, *session_id)]
                }
                Scope::Replay { .. } => Vec::new(),
            },
            // A board's live updates: to each connected member of the project (live only; the outbox keeps no
            // audience for them, so a recovering socket reloads instead).
            DomainEvent::TaskUpdated {
                project_id,
                task_id,
                member_ids,
                task,
            } => member_ids
                .iter()
                .filter(|user| self.reaches(scope, **user))
                .map(|user| {
                    emit(
                        Audience::User(*user),
                        "task:updated",
                        json!({"project_id": project_id, "task_id": task_id, "task": task, "deleted": task.is_none()}),
                    )
                })
                .collect(),
            DomainEvent::TaskCommentChanged {
                project_id,
                task_id,
                member_ids,
                change,
            } => member_ids
                .iter()
                .filter(|user| self.reaches(scope, **user))
                .map(|user| {
                    emit(
                        Audience::User(*user),
                        "task:comment",
                        serde_json::to_value(TaskCommentOut {
                            project_id: *project_id,
                            task_id: *task_id,
                            change,
                        })
                        .unwrap_or(Value::Null),
                    )
                })
                .collect(),
            DomainEvent::NotificationCreated { .. }
            | DomainEvent::ScheduledMessageChanged { .. }
            | DomainEvent::ScheduledMessageFailed { .. }
            | DomainEvent::ReminderChanged { .. }
            | DomainEvent::ReminderDue { .. }
            | DomainEvent::ThreadRead { .. }
            | DomainEvent::ReadPositionMovedBack { .. }
            | DomainEvent::TaskAssigned { .. }
            | DomainEvent::ProjectMemberAdded { .. }
            | DomainEvent::CalendarNotice { .. }
            | DomainEvent::TaskDueSoon { .. }
            | DomainEvent::TaskCommented { .. } => Vec::new(),
        }
    }
}
