//! EPOP's real-time application (CONTRACT section 7) on the Socket.IO layer: authentication from the
//! handshake `auth`, rooms per user and per conversation, the client events (`message:send`, `typing:*`,
//! `message:read`) answered through acks, and the fan-out of domain events from the bus to sockets.

use super::hub::{Hub, conversation_room, presence_room, user_room};
use super::presence::Presence;
use super::presence_throttle::{Decision, PresenceThrottle};
use super::recovery::RecoveryStore;
use super::socketio::{Application, IncomingEvent, Refusal, Socket};
use crate::error::ApiError;
use crate::rate_limit::Quota;
use crate::state::AppState;
use async_trait::async_trait;
use epop_chat::{ChatError, Sent};
use epop_core::{ConversationId, DomainEvent, ErrorCode, MessageId, UserId};
use epop_realtime_protocol::socket::Packet;
use epop_storage::events::PublishedEvent;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a typing indicator lasts without renewal.
const TYPING_TTL: Duration = Duration::from_secs(5);
/// The most events a recovery replays; a socket that missed more is told it was not recovered.
const REPLAY_LIMIT: i64 = 1_000;
/// The window of the per-socket event limit.
const SOCKET_LIMIT_WINDOW: Duration = Duration::from_secs(10);

/// What the server knows of a connected socket.
struct Context {
    user: UserId,
    /// The socket asked for connection state recovery: events carry offsets, and a drop is remembered.
    recover: bool,
    /// The user's conversations, loaded before the CONNECT reply so the rooms are joined right after it.
    conversations: Vec<ConversationId>,
    /// Events counted in the current window, and when the window started.
    limit: Mutex<(Instant, u32)>,
    /// The socket has missed nothing up to this position (where its recovery would resume at the earliest).
    floor: i64,
    /// The users whose presence this socket asked for (`presence:subscribe`), at most
    /// `EPOP_PRESENCE_SUBSCRIPTIONS_MAX`; they end with the socket (the rooms are left when it is removed).
    subscriptions: Mutex<HashSet<UserId>>,
}

/// The EPOP Socket.IO application.
pub struct EpopRealtime {
    state: AppState,
    hub: Arc<Hub>,
    presence: Arc<Presence>,
    recovery: RecoveryStore,
    /// Live typing indicators: (conversation, user) -> generation, so a renewal outlives the old timer.
    typing: Mutex<HashMap<(ConversationId, UserId), u64>>,
    /// The position of the last event the fan-out delivered: a socket that connects now has missed nothing
    /// after it, which is the floor of its recovery offset.
    delivered: AtomicI64,
    /// Presence announcements, at most one per user per `EPOP_PRESENCE_INTERVAL_MS`.
    presence_throttle: Mutex<PresenceThrottle>,
}

impl std::fmt::Debug for EpopRealtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpopRealtime").finish_non_exhaustive()
    }
}

fn context(socket: &Socket) -> Option<Arc<Context>> {
    let state = super::lock(&socket.state).clone()?;
    state.downcast::<Context>().ok()
}

fn ok(extra: Value) -> Value {
    let mut body = json!({"ok": true});
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    body
}

fn failure(code: ErrorCode, message: &str) -> Value {
    json!({"ok": false, "error": {"code": code.as_str(), "message": message}})
}

fn chat_failure(error: ChatError) -> Value {
    let api = ApiError::from(error);
    let message = api.detail.clone().unwrap_or_else(|| api.code.title().to_owned());
    if api.code.http_status() >= 500 {
        tracing::error!(error = %api, "socket event failed");
    }
    failure(api.code, &message)
}

/// The id of a message as an event carries it.
fn message_id_of(message: &Value) -> Option<MessageId> {
    message
        .get("id")?
        .as_str()?
        .parse::<uuid::Uuid>()
        .ok()
        .map(MessageId::from)
}

fn uuid_field(args: &[Value], field: &str) -> Option<uuid::Uuid> {
    args.first()?.get(field)?.as_str()?.parse().ok()
}

impl EpopRealtime {
    /// The application over `state`, with this node's `hub`.
    pub fn new(state: AppState, hub: Arc<Hub>) -> Arc<Self> {
        let presence = state.presence.clone();
        let recovery = RecoveryStore::new(state.redis.clone(), &state.config.redis_prefix);
        let state_interval = state.config.realtime.presence_interval;
        Arc::new(Self {
            state,
            hub,
            presence,
            recovery,
            typing: Mutex::new(HashMap::new()),
            delivered: AtomicI64::new(0),
            presence_throttle: Mutex::new(PresenceThrottle::new(state_interval)),
        })
    }

    /// `user` came online (their first socket anywhere) or went offline (their last): announced to whoever
    /// sees their presence now, or, within an interval of the last announcement, by one look at the
    /// interval's end that announces their presence as it is then.
    async fn presence_changed(self: &Arc<Self>, user: UserId, online: bool) {
        let decision = super::lock(&self.presence_throttle).changed(user, online, Instant::now());
        match decision {
            Decision::Now => self.announce_presence(user, online).await,
            Decision::Nothing => {}
            Decision::LookAt(at) => {
                let app = Arc::downgrade(self);
                tokio::spawn(async move {
                    tokio::time::sleep_until(at.into()).await;
                    let Some(app) = app.upgrade() else { return };
                    let online = app.presence.online_among(&[user]).await.contains(&user);
                    let announce =
                        super::lock(&app.presence_throttle).look_again(user, online, Instant::now());
                    if announce {
                        app.announce_presence(user, online).await;
                    }
                });
            }
        }
    }

    /// Tells everyone who sees `user`'s presence that they are online or offline now.
    async fn announce_presence(&self, user: UserId, online: bool) {
        let conversations = self.audience(user).await.conversations;
        let event = DomainEvent::PresenceChanged {
            user_id: user,
            online,
            last_seen_at: (!online).then(chrono::Utc::now),
            conversations,
        };
        self.publish_ephemeral(event).await;
    }

    /// Announces offline the users of nodes that died (their presence claims expired), until the process ends.
    pub fn spawn_presence_sweeper(self: &Arc<Self>) {
        let app = Arc::downgrade(self);
        let every = self.state.config.presence_ttl / 3;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(app) = app.upgrade() else { return };
                for user in app.presence.take_expired().await {
                    let conversations = app.audience(user).await.conversations;
                    let event = DomainEvent::PresenceChanged {
                        user_id: user,
                        online: false,
                        last_seen_at: Some(chrono::Utc::now()),
                        conversations,
                    };
                    app.publish_ephemeral(event).await;
                }
            }
        });
    }

    /// Forwards domain events from the bus to this node's sockets until the process ends. Presence goes its
    /// own way, in order, on a task of its own: a connect storm in a large group (each arrival announced to
    /// every member) must not hold up messages.
    pub fn spawn_fan_out(self: &Arc<Self>) {
        let app = self.clone();
        let mut events = self.state.events.subscribe();
        let (presence, mut presence_queue) = tokio::sync::mpsc::unbounded_channel::<Arc<PublishedEvent>>();
        let presence_app = self.clone();
        tokio::spawn(async move {
            while let Some(event) = presence_queue.recv().await {
                presence_app.deliver(&event).await;
            }
        });
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) if matches!(event.event, DomainEvent::PresenceChanged { .. }) => {
                        // The presence task lives as long as this one.
                        let _ = presence.send(event);
                    }
                    Ok(event) => app.deliver_in_order(&event).await,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        // What this node's bus no longer holds is read from the outbox, in order; ephemeral
                        // events (typing) are gone, and nothing is lost that a client would miss for good.
                        let after = app.delivered.load(Ordering::Acquire);
                        if after == 0 {
                            continue;
                        }
                        tracing::warn!(missed, after, "real-time fan-out fell behind; reading the outbox");
                        match app.state.events.since(after).await {
                            Ok(missed) => {
                                for event in missed {
                                    app.deliver_in_order(&event).await;
                                }
                            }
                            Err(error) => {
                                tracing::warn!(%error, "could not read the events the fan-out missed")
                            }
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }

    /// Delivers an event unless it was already (a positioned event at or below the last one delivered, seen
    /// again after a catch-up read).
    async fn deliver_in_order(&self, published: &PublishedEvent) {
        if published.position > 0 {
            if published.position <= self.delivered.load(Ordering::Acquire) {
                return;
            }
            self.delivered.store(published.position, Ordering::Release);
        }
        self.deliver(published).await;
    }

    /// Emits to a room; sockets that asked for recovery also get the event's outbox id as a last argument
    /// (`offset` 0: an ephemeral event, which carries none).
    fn emit_to_room(
        &self,
        room: &str,
        event: &str,
        args: Value,
        offset: i64,
        except_socket: Option<&str>,
        except_user: Option<UserId>,
    ) {
        let packet = Packet::event("/", json!([event, args]), None, Vec::new());
        let with_offset = (offset > 0)
            .then(|| Packet::event("/", json!([event, args, offset.to_string()]), None, Vec::new()));
        self.hub
            .broadcast(room, &packet, with_offset.as_ref(), except_socket, except_user);
    }

    async fn deliver(&self, published: &PublishedEvent) {
        let offset = published.position;
        match &published.event {
            DomainEvent::MessageCreated {
                conversation_id,
                message,
                origin,
                ..
            } => {
                self.emit_to_room(
                    &conversation_room(*conversation_id),
                    "message:new",
                    self.state.chat.signed_for_delivery(message).await,
                    offset,
                    origin.as_deref(),
                    None,
                );
            }
            DomainEvent::MessageUpdated {
                conversation_id,
                message,
            } => {
                self.emit_to_room(
                    &conversation_room(*conversation_id),
                    "message:updated",
                    self.state.chat.signed_for_delivery(message).await,
                    offset,
                    None,
                    None,
                );
            }
            DomainEvent::MessageDeleted {
                conversation_id,
                message_id,
            } => {
                let body = json!({"id": message_id, "conversation_id": conversation_id});
                self.emit_to_room(
                    &conversation_room(*conversation_id),
                    "message:deleted",
                    body,
                    offset,
                    None,
                    None,
                );
            }
            DomainEvent::ReadPositionMoved {
                conversation_id,
                user_id,
                message_id,
            } => {
                let body =
                    json!({"conversation_id": conversation_id, "user_id": user_id, "message_id": message_id});
                self.emit_to_room(
                    &conversation_room(*conversation_id),
                    "message:read",
                    body,
                    offset,
                    None,
                    None,
                );
            }
            DomainEvent::TypingChanged {
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
                    offset,
                    None,
                    Some(*user_id),
                );
            }
            DomainEvent::PresenceChanged {
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
                self.hub.broadcast_to_rooms(&rooms, &packet, *user_id);
            }
            DomainEvent::ConversationCreated {
                conversation_id,
                member_ids,
            } => {
                self.joined(*conversation_id, member_ids, offset).await;
            }
            DomainEvent::ConversationMembersChanged {
                conversation_id,
                added,
                removed,
                member_ids,
            } => {
                self.joined(*conversation_id, added, offset).await;
                let room = conversation_room(*conversation_id);
                for user in removed {
                    for socket in self.hub.sockets_in(&user_room(*user)) {
                        self.hub.leave(&socket.id, &room);
                    }
                }
                let mut shown = None;
                for user in member_ids {
                    if self.hub.sockets_in(&user_room(*user)).is_empty() {
                        continue;
                    }
                    if let Ok(conversation) = self.state.chat.conversation(*user, *conversation_id).await {
                        let value = serde_json::to_value(&conversation).unwrap_or(Value::Null);
                        self.emit_to_room(
                            &user_room(*user),
                            "conversation:updated",
                            value.clone(),
                            offset,
                            None,
                            None,
                        );
                        shown = Some(value);
                    }
                }
                let removed_here: Vec<UserId> = removed
                    .iter()
                    .copied()
                    .filter(|user| !self.hub.sockets_in(&user_room(*user)).is_empty())
                    .collect();
                if !removed_here.is_empty() {
                    // A removed user can no longer load the conversation: show them a member's view of it
                    // (loaded now when no member is connected here), with nothing unread.
                    let view = match shown {
                        Some(value) => Some(value),
                        None => match member_ids.first() {
                            Some(member) => self
                                .state
                                .chat
                                .conversation(*member, *conversation_id)
                                .await
                                .ok()
                                .and_then(|c| serde_json::to_value(&c).ok()),
                            None => None,
                        },
                    };
                    let mut value = view.unwrap_or_else(|| json!({"id": conversation_id, "members": []}));
                    value["unread_count"] = json!(0);
                    for user in removed_here {
                        self.emit_to_room(
                            &user_room(user),
                            "conversation:updated",
                            value.clone(),
                            offset,
                            None,
                            None,
                        );
                    }
                }
            }
            // Project events reach users as notifications, not as socket events.
            DomainEvent::TaskAssigned { .. } | DomainEvent::ProjectMemberAdded { .. } => {}
            DomainEvent::NotificationCreated {
                user_id,
                notification,
            } => {
                self.emit_to_room(
                    &user_room(*user_id),
                    "notification:new",
                    notification.clone(),
                    offset,
                    None,
                    None,
                );
            }
            DomainEvent::SessionsRevoked { user_id } => {
                self.state.auth.sessions_revoked_elsewhere(*user_id);
                for socket in self.hub.sockets_in(&user_room(*user_id)) {
                    socket.disconnect();
                    socket.session().close(super::engine::CloseReason::ServerClose);
                }
            }
        }
    }

    /// Local sockets of `users` join the conversation's room and learn of it (`conversation:new`).
    async fn joined(&self, conversation: ConversationId, users: &[UserId], offset: i64) {
        let room = conversation_room(conversation);
        for user in users {
            let sockets = self.hub.sockets_in(&user_room(*user));
            if sockets.is_empty() {
                continue;
            }
            for socket in &sockets {
                self.hub.join(&socket.id, &room);
            }
            if let Ok(value) = self
                .state
                .chat
                .conversation(*user, conversation)
                .await
                .map(|c| serde_json::to_value(&c))
            {
                self.emit_to_room(
                    &user_room(*user),
                    "conversation:new",
                    value.unwrap_or(Value::Null),
                    offset,
                    None,
                    None,
                );
            }
        }
    }

    /// Replays to a recovered socket what it missed after position `after` in its rooms (filtered in SQL), in
    /// order, each with its position as the last argument; messages as they are now (a deleted one's content
    /// is never sent, an edited one's old text neither). Returns `false`, sending nothing, when the replay
    /// cannot be complete (more than [`REPLAY_LIMIT`] events, or the outbox cannot be read).
    async fn replay(
        &self,
        socket: &Arc<Socket>,
        user: UserId,
        conversations: &[ConversationId],
        after: i64,
    ) -> bool {
        let rooms: Vec<uuid::Uuid> = conversations.iter().map(|c| c.into_uuid()).collect();
        let events = match self.state.db.get().await {
            Ok(mut conn) => {
                epop_storage::outbox::published_for(
                    &mut conn,
                    after,
                    &rooms,
                    user.into_uuid(),
                    REPLAY_LIMIT + 1,
                )
                .await
            }
            Err(error) => Err(error.into()),
        };
        let events = match events {
            Ok(events) if events.len() as i64 <= REPLAY_LIMIT => events,
            Ok(_) => return false,
            Err(error) => {
                tracing::warn!(%error, "could not replay missed events");
                return false;
            }
        };
        let message_ids: Vec<MessageId> = events
            .iter()
            .filter_map(|published| match &published.event {
                DomainEvent::MessageCreated { message, .. } | DomainEvent::MessageUpdated { message, .. } => {
                    message_id_of(message)
                }
                _ => None,
            })
            .collect();
        let current: HashMap<MessageId, Value> =
            match self.state.chat.current_messages(user, &message_ids).await {
                Ok(messages) => messages
                    .into_iter()
                    .filter_map(|m| serde_json::to_value(&m).ok().map(|value| (m.id, value)))
                    .collect(),
                Err(error) => {
                    tracing::warn!(%error, "could not load the replayed messages");
                    return false;
                }
            };
        let now = |message: &Value| message_id_of(message).and_then(|id| current.get(&id).cloned());
        for published in events {
            let offset = Value::String(published.position.to_string());
            let emit = |name: &str, args: Value| socket.emit(name, vec![args, offset.clone()]);
            match published.event {
                DomainEvent::MessageCreated { message, .. } => {
                    if let Some(message) = now(&message) {
                        emit("message:new", message);
                    }
                }
                DomainEvent::MessageUpdated { message, .. } => {
                    if let Some(message) = now(&message) {
                        emit("message:updated", message);
                    }
                }
                DomainEvent::MessageDeleted {
                    conversation_id,
                    message_id,
                } => {
                    emit(
                        "message:deleted",
                        json!({"id": message_id, "conversation_id": conversation_id}),
                    );
                }
                DomainEvent::ReadPositionMoved {
                    conversation_id,
                    user_id,
                    message_id,
                } => {
                    emit(
                        "message:read",
                        json!({"conversation_id": conversation_id, "user_id": user_id, "message_id": message_id}),
                    );
                }
                DomainEvent::ConversationCreated {
                    conversation_id,
                    member_ids,
                } if member_ids.contains(&user) => {
                    if let Ok(conversation) = self.state.chat.conversation(user, conversation_id).await {
                        emit(
                            "conversation:new",
                            serde_json::to_value(&conversation).unwrap_or(Value::Null),
                        );
                    }
                }
                DomainEvent::ConversationMembersChanged {
                    conversation_id,
                    added,
                    member_ids,
                    ..
                } if member_ids.contains(&user) => {
                    if let Ok(conversation) = self.state.chat.conversation(user, conversation_id).await {
                        let value = serde_json::to_value(&conversation).unwrap_or(Value::Null);
                        if added.contains(&user) {
                            emit("conversation:new", value.clone());
                        }
                        emit("conversation:updated", value);
                    }
                }
                DomainEvent::NotificationCreated {
                    user_id,
                    notification,
                } if user_id == user => {
                    emit("notification:new", notification);
                }
                DomainEvent::SessionsRevoked { user_id } if user_id == user => {
                    socket.disconnect();
                    socket.session().close(super::engine::CloseReason::ServerClose);
                    return true;
                }
                _ => {}
            }
        }
        true
    }

    /// Who sees `user`'s presence (their direct conversations and groups up to the limit, and those
    /// conversations' members), in one query; nobody when the database cannot say (presence is best effort).
    async fn audience(&self, user: UserId) -> epop_chat::PresenceAudience {
        match self
            .state
            .chat
            .presence_audience(user, self.state.config.presence_group_limit)
            .await
        {
            Ok(audience) => audience,
            Err(error) => {
                tracing::warn!(%error, "could not load a user's presence audience");
                epop_chat::PresenceAudience::default()
            }
        }
    }

    /// `presence:subscribe` / `presence:unsubscribe` `{user_ids: [..]}`: the socket joins (leaves) the presence
    /// rooms of those users it may see (who share a conversation with it); the subscribe ack gives their
    /// current presence. At most `EPOP_PRESENCE_SUBSCRIPTIONS_MAX` users per socket.
    async fn presence_subscription(
        &self,
        socket: &Arc<Socket>,
        user: UserId,
        args: &[Value],
        subscribe: bool,
    ) -> Value {
        let Some(context) = context(socket) else {
            return failure(ErrorCode::Unauthorized, "not connected");
        };
        let max = self.state.config.presence_subscriptions_max;
        let Some(ids) = args
            .first()
            .and_then(|a| a.get("user_ids"))
            .and_then(Value::as_array)
        else {
            return failure(
                ErrorCode::ValidationFailed,
                "user_ids must be an array of user ids",
            );
        };
        if ids.len() > max {
            return failure(
                ErrorCode::ValidationFailed,
                &format!("at most {max} user ids per socket"),
            );
        }
        let mut users = Vec::with_capacity(ids.len());
        let mut distinct = HashSet::with_capacity(ids.len());
        for id in ids {
            let Some(id) = id.as_str().and_then(|id| id.parse::<uuid::Uuid>().ok()) else {
                return failure(
                    ErrorCode::ValidationFailed,
                    "user_ids must be an array of user ids",
                );
            };
            let id = UserId::from(id);
            if distinct.insert(id) {
                users.push(id);
            }
        }
        if !subscribe {
            let left: Vec<UserId> = {
                let mut subscriptions = super::lock(&context.subscriptions);
                users.into_iter().filter(|u| subscriptions.remove(u)).collect()
            };
            for user in left {
                self.hub.leave(&socket.id, &presence_room(user));
            }
            return ok(json!({}));
        }
        let visible = match self.state.chat.presence_visible(user, &users).await {
            Ok(visible) => visible,
            Err(error) => return chat_failure(error),
        };
        let added: Vec<UserId> = {
            let mut subscriptions = super::lock(&context.subscriptions);
            let added: Vec<UserId> = visible
                .iter()
                .copied()
                .filter(|u| !subscriptions.contains(u))
                .collect();
            if subscriptions.len() + added.len() > max {
                return failure(
                    ErrorCode::ValidationFailed,
                    &format!("at most {max} user ids per socket"),
                );
            }
            subscriptions.extend(added.iter().copied());
            added
        };
        // Joined before the look-up, so a change in between is announced rather than missed.
        for user in &added {
            self.hub.join(&socket.id, &presence_room(*user));
        }
        let visible: HashSet<UserId> = visible.into_iter().collect();
        let ordered: Vec<UserId> = users.into_iter().filter(|u| visible.contains(u)).collect();
        let presence = self.presence.statuses(&ordered, true).await;
        ok(json!({"presence": presence}))
    }

    fn over_limit(&self, context: &Context) -> bool {
        let limit = self.state.config.rate_limits.socket_per_10s;
        if limit == 0 {
            return false;
        }
        let mut window = super::lock(&context.limit);
        if window.0.elapsed() >= SOCKET_LIMIT_WINDOW {
            *window = (Instant::now(), 0);
        }
        window.1 += 1;
        window.1 > limit
    }

    async fn publish_ephemeral(&self, event: DomainEvent) {
        self.state.events.publish_ephemeral(event).await;
    }

    async fn typing(self: &Arc<Self>, user: UserId, conversation: ConversationId, is_typing: bool) {
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
        self.publish_ephemeral(DomainEvent::TypingChanged {
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
                    app.publish_ephemeral(DomainEvent::TypingChanged {
                        conversation_id: conversation,
                        user_id: user,
                        is_typing: false,
                    })
                    .await;
                }
            });
        }
    }

    async fn handle(
        self: &Arc<Self>,
        socket: &Arc<Socket>,
        user: UserId,
        event: &IncomingEvent,
    ) -> Option<Value> {
        let conversation = uuid_field(&event.args, "conversation_id").map(ConversationId::from);
        match event.name.as_str() {
            "message:send" => {
                let Some(conversation) = conversation else {
                    return Some(failure(
                        ErrorCode::ValidationFailed,
                        "conversation_id is required",
                    ));
                };
                let payload = event.args.first();
                let content = payload
                    .and_then(|p| p.get("content"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let client_id = payload.and_then(|p| p.get("client_id")).and_then(Value::as_str);
                if content.contains('\0')
                    || client_id.is_some_and(|c| c.is_empty() || c.contains('\0') || c.chars().count() > 128)
                {
                    return Some(failure(
                        ErrorCode::ValidationFailed,
                        "content or client_id is invalid",
                    ));
                }
                let sent = self
                    .state
                    .chat
                    .send(
                        user,
                        conversation,
                        content,
                        client_id,
                        &[],
                        Some(socket.id.clone()),
                    )
                    .await;
                Some(match sent {
                    Ok(Sent::Created(message) | Sent::Existing(message)) => ok(json!({"message": message})),
                    Err(error) => chat_failure(error),
                })
            }
            "typing:start" | "typing:stop" => {
                let Some(conversation) = conversation else {
                    return Some(failure(
                        ErrorCode::ValidationFailed,
                        "conversation_id is required",
                    ));
                };
                if !self.hub.in_room(&socket.id, &conversation_room(conversation)) {
                    return Some(failure(ErrorCode::NotFound, "the resource does not exist"));
                }
                self.typing(user, conversation, event.name == "typing:start")
                    .await;
                Some(ok(json!({})))
            }
            "message:read" => {
                let (Some(conversation), Some(message)) =
                    (conversation, uuid_field(&event.args, "message_id"))
                else {
                    return Some(failure(
                        ErrorCode::ValidationFailed,
                        "conversation_id and message_id are required",
                    ));
                };
                Some(
                    match self
                        .state
                        .chat
                        .mark_read(user, conversation, MessageId::from(message))
                        .await
                    {
                        Ok(()) => ok(json!({})),
                        Err(error) => chat_failure(error),
                    },
                )
            }
            "presence:subscribe" | "presence:unsubscribe" => Some(
                self.presence_subscription(socket, user, &event.args, event.name == "presence:subscribe")
                    .await,
            ),
            _ => Some(failure(ErrorCode::NotFound, "unknown event")),
        }
    }
}

/// The application as the Socket.IO layer sees it (a newtype so the `Arc` receiver methods stay usable).
pub struct EpopApplication(pub Arc<EpopRealtime>);

#[async_trait]
impl Application for EpopApplication {
    fn has_namespace(&self, namespace: &str) -> bool {
        namespace == "/"
    }

    async fn authorize(&self, socket: &Arc<Socket>) -> Result<(), Refusal> {
        let refusal = || Refusal::new("unauthorized");
        let auth = socket.take_auth();
        let token = auth
            .as_ref()
            .and_then(|auth| auth.get("token"))
            .and_then(Value::as_str)
            .ok_or_else(refusal)?;
        // Signature, expiry, and a session not ended since (a logout everywhere, a new password or e-mail).
        let claims = match self.0.state.auth.authenticate(token).await {
            Ok(claims) => claims,
            Err(epop_auth::AuthError::Unauthorized) => return Err(refusal()),
            Err(error) => {
                tracing::warn!(%error, "could not check the socket's session; refusing the connection");
                return Err(Refusal::new("unavailable"));
            }
        };
        // Every connect costs queries, Redis calls and presence work: a user may connect only so often, on
        // every node together.
        let per_minute = self.0.state.config.realtime.connects_per_user_per_minute;
        if let Err(limited) = self
            .0
            .state
            .limiter
            .check(
                "socket-connect",
                &claims.sub.to_string(),
                Quota::per_minute(per_minute),
            )
            .await
        {
            return Err(Refusal {
                message: "rate_limited".into(),
                data: Some(json!({"retry_after": limited.retry_after_secs()})),
            });
        }
        let auth = auth.as_ref();
        let recover = auth
            .and_then(|a| a.get("recover"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        // The session to resume, if the client names one of its own within the window: its floor, moved
        // forward (never back) by the offset the client last received.
        let mut resumed: Option<(String, i64)> = None;
        if recover {
            let previous = auth.and_then(|a| a.get("pid")).and_then(Value::as_str);
            let offset = auth
                .and_then(|a| a.get("offset"))
                .and_then(Value::as_str)
                .and_then(|o| o.parse::<i64>().ok());
            if let (Some(pid), Some(offset)) = (previous, offset)
                && let Some(floor) = self.0.recovery.take(pid, claims.sub).await
            {
                resumed = Some((pid.to_owned(), offset.max(floor)));
            }
        }
        let floor = self.0.delivered.load(Ordering::Acquire);
        let conversations = self
            .0
            .state
            .chat
            .conversation_ids(claims.sub)
            .await
            // A socket that cannot know its rooms would silently miss every event: refuse it; the client
            // retries, and its reconnection backoff spreads a connect storm out.
            .map_err(|error| {
                tracing::warn!(%error, "could not load the socket's conversations; refusing the connection");
                Refusal::new("unavailable")
            })?;
        let context = Arc::new(Context {
            user: claims.sub,
            recover,
            conversations,
            limit: Mutex::new((Instant::now(), 0)),
            floor: resumed.as_ref().map_or(floor, |(_, after)| (*after).min(floor)),
            subscriptions: Mutex::new(HashSet::new()),
        });
        *super::lock(&socket.state) = Some(context.clone());
        // Sockets never outlive their credentials.
        let expires_in = (claims.exp - chrono::Utc::now().timestamp()).max(0) as u64;
        socket.session().expire_in(Duration::from_secs(expires_in));
        // Everything a connect entails happens before the CONNECT reply (what the socket is sent meanwhile is
        // held until the reply went out): the rooms are joined before anything is looked up, so nothing is
        // missed in between, and a connect storm paces itself by the clients' own waiting instead of piling up
        // work behind replies already sent.
        let app = &self.0;
        app.hub.add(socket, context.user, context.recover);
        for conversation in &context.conversations {
            app.hub.join(&socket.id, &conversation_room(*conversation));
        }
        if recover {
            // Not recovered (a fresh pid) when there is no session to resume or more was missed than a replay
            // holds: the client then knows to resync over REST instead of trusting a partial replay.
            let recovered = match &resumed {
                Some((pid, after)) => app
                    .replay(socket, context.user, &context.conversations, *after)
                    .await
                    .then(|| pid.clone()),
                None => None,
            };
            *super::lock(&socket.pid) = Some(recovered.unwrap_or_else(super::engine::random_id));
        }
        // Presence reaches the members of the user's direct conversations and groups up to the limit (and
        // subscribers), never every member of a large group: one query for who they are, then this node's
        // index of online users and one Redis round trip for those online elsewhere.
        let audience = app.audience(context.user).await;
        if app.presence.connect(context.user).await {
            app.presence_changed(context.user, true).await;
        }
        let online = app.presence.online_among(&audience.partners).await;
        socket.emit("presence:list", vec![json!({"online": online})]);
        Ok(())
    }

    async fn connected(&self, _socket: &Arc<Socket>) {}

    async fn event(&self, socket: &Arc<Socket>, event: IncomingEvent) {
        let app = &self.0;
        let Some(context) = context(socket) else { return };
        let answer = if app.over_limit(&context) {
            Some(failure(ErrorCode::RateLimited, "too many events"))
        } else {
            app.handle(socket, context.user, &event).await
        };
        if let (Some(id), Some(answer)) = (event.ack, answer) {
            socket.ack(id, vec![answer], Vec::new());
        }
    }

    async fn disconnected(&self, socket: &Arc<Socket>) {
        let app = &self.0;
        if let Some(context) = context(socket)
            && context.recover
        {
            let pid = super::lock(&socket.pid).clone();
            if let Some(pid) = pid {
                app.recovery.save(&pid, context.user, context.floor).await;
            }
        }
        let Some((user, _)) = app.hub.remove(&socket.id) else {
            return;
        };
        // Presence counts the user's sockets here itself: it is told of every socket that goes, and says
        // when the last one anywhere went.
        if app.presence.disconnect(user).await {
            app.presence_changed(user, false).await;
        }
    }
}
