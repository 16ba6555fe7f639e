//! What a client may ask over its socket (`docs/api.md`, Real time), each answered through its ack with
//! `{"ok": true, ...}` or `{"ok": false, "error": {"code", "message"}}`: `message:send`, `typing:start` /
//! `typing:stop`, `message:read`, `message:unread`, `thread:read`, and `presence:subscribe` / `presence:unsubscribe`. Payloads deserialize
//! into typed requests checked by the same rules as the HTTP bodies ([`crate::extract::parse_value`],
//! [`crate::rules`]): NUL characters, types and formats, lengths.

use super::{EpopRealtime, EpopSocket, SocketState, conversation_room, presence_room};
use crate::error::ApiError;
use epop_chat::{ChatError, Sent};
use epop_core::{ConversationId, ErrorCode, MessageId, UserId};
use epop_socketio::IncomingEvent;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The window of the per-socket event limit.
const SOCKET_LIMIT_WINDOW: Duration = Duration::from_secs(10);

/// `message:send`: a message posted over the socket (the HTTP body's fields, with the conversation).
#[derive(Debug, Deserialize, garde::Validate)]
struct SendMessage {
    #[garde(required)]
    conversation_id: Option<Uuid>,
    /// Checked by the chat service, as for `POST /api/conversations/{id}/messages`.
    #[garde(skip)]
    content: Option<String>,
    #[garde(custom(crate::rules::client_id))]
    client_id: Option<String>,
    /// As for the HTTP body.
    #[garde(skip)]
    thread_root_id: Option<Uuid>,
    #[garde(skip)]
    send_to_conversation: Option<bool>,
}

/// `thread:read`.
#[derive(Debug, Deserialize, garde::Validate)]
struct ThreadRead {
    #[garde(required)]
    root_id: Option<Uuid>,
    #[garde(skip)]
    message_id: Option<Uuid>,
}

/// `typing:start` / `typing:stop`.
#[derive(Debug, Deserialize, garde::Validate)]
struct Typing {
    #[garde(required)]
    conversation_id: Option<Uuid>,
}

/// `message:read` and `message:unread`.
#[derive(Debug, Deserialize, garde::Validate)]
struct MarkRead {
    #[garde(required)]
    conversation_id: Option<Uuid>,
    #[garde(required)]
    message_id: Option<Uuid>,
}

/// `presence:subscribe` / `presence:unsubscribe`.
#[derive(Debug, Deserialize, garde::Validate)]
struct PresenceSubscription {
    #[garde(required)]
    user_ids: Option<Vec<Uuid>>,
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

/// An error as an ack: its code, and its failing fields (or its detail) as the message.
fn api_failure(api: ApiError) -> Value {
    let message = if api.errors.is_empty() {
        api.detail.clone().unwrap_or_else(|| api.code.title().to_owned())
    } else {
        api.errors
            .iter()
            .map(|error| format!("{}: {}", error.field, error.message))
            .collect::<Vec<_>>()
            .join("; ")
    };
    if api.code.http_status() >= 500 {
        tracing::error!(error = %api, "socket event failed");
    }
    failure(api.code, &message)
}

fn chat_failure(error: ChatError) -> Value {
    api_failure(ApiError::from(error))
}

/// The event's payload (its first argument) as `T`, by the rules of an HTTP body.
fn payload<T>(event: &IncomingEvent) -> Result<T, Value>
where
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    let value = event.args.first().cloned().unwrap_or(Value::Null);
    crate::extract::parse_value(value).map_err(api_failure)
}

/// Either side of a result: an ack is the answer whether the request succeeded or not.
fn answer(result: Result<Value, Value>) -> Value {
    result.unwrap_or_else(|failure| failure)
}

impl EpopRealtime {
    /// Handles a client event and answers its ack, if it asked for one.
    pub(super) async fn client_event(self: &Arc<Self>, socket: &Arc<EpopSocket>, event: IncomingEvent) {
        let context = socket.state();
        let answer = if self.over_limit(context) {
            failure(ErrorCode::RateLimited, "too many events")
        } else {
            answer(self.handle(socket, context.user, &event).await)
        };
        if let Some(id) = event.ack {
            socket.ack(id, vec![answer], Vec::new());
        }
    }

    async fn handle(
        self: &Arc<Self>,
        socket: &Arc<EpopSocket>,
        user: UserId,
        event: &IncomingEvent,
    ) -> Result<Value, Value> {
        if let Some(grant) = &socket.state().grant {
            let scope = crate::scopes::socket_event_scope(&event.name);
            if !grant.allows(scope) {
                return Err(failure(
                    ErrorCode::Forbidden,
                    &format!("this access token lacks the scope `{scope}`"),
                ));
            }
        }
        match event.name.as_str() {
            "message:send" => {
                let request: SendMessage = payload(event)?;
                let conversation = ConversationId::from(request.conversation_id.unwrap_or_default());
                let thread = crate::routes::chat::message_send::thread_reply(
                    request.thread_root_id,
                    request.send_to_conversation,
                )
                .map_err(api_failure)?;
                let sent = self
                    .state
                    .chat
                    .send(
                        user,
                        conversation,
                        request.content.as_deref().unwrap_or_default(),
                        request.client_id.as_deref(),
                        &[],
                        thread,
                        Some(socket.id().to_owned()),
                    )
                    .await;
                match sent {
                    Ok(Sent::Created(message) | Sent::Existing(message)) => {
                        Ok(ok(json!({"message": message})))
                    }
                    Err(error) => Err(chat_failure(error)),
                }
            }
            "typing:start" | "typing:stop" => {
                let request: Typing = payload(event)?;
                let conversation = ConversationId::from(request.conversation_id.unwrap_or_default());
                if !self.hub.in_room(socket.id(), &conversation_room(conversation)) {
                    return Err(failure(ErrorCode::NotFound, "the resource does not exist"));
                }
                self.typing(user, conversation, event.name == "typing:start")
                    .await;
                Ok(ok(json!({})))
            }
            "message:read" => {
                let request: MarkRead = payload(event)?;
                let conversation = ConversationId::from(request.conversation_id.unwrap_or_default());
                let message = MessageId::from(request.message_id.unwrap_or_default());
                match self.state.chat.mark_read(user, conversation, message).await {
                    Ok(()) => Ok(ok(json!({}))),
                    Err(error) => Err(chat_failure(error)),
                }
            }
            "message:unread" => {
                let request: MarkRead = payload(event)?;
                let conversation = ConversationId::from(request.conversation_id.unwrap_or_default());
                let message = MessageId::from(request.message_id.unwrap_or_default());
                match self.state.chat.mark_unread(user, conversation, message).await {
                    Ok(()) => Ok(ok(json!({}))),
                    Err(error) => Err(chat_failure(error)),
                }
            }
            "thread:read" => {
                let request: ThreadRead = payload(event)?;
                let root = MessageId::from(request.root_id.unwrap_or_default());
                let message = request.message_id.map(MessageId::from);
                match self.state.chat.mark_thread_read(user, root, message).await {
                    Ok(()) => Ok(ok(json!({}))),
                    Err(error) => Err(chat_failure(error)),
                }
            }
            "presence:subscribe" | "presence:unsubscribe" => {
                let request: PresenceSubscription = payload(event)?;
                let ids = request.user_ids.unwrap_or_default();
                self.presence_subscription(socket, user, &ids, event.name == "presence:subscribe")
                    .await
            }
            _ => Err(failure(ErrorCode::NotFound, "unknown event")),
        }
    }

    /// `presence:subscribe` / `presence:unsubscribe` `{user_ids: [..]}`: the socket joins (leaves) the presence
    /// rooms of those users it may see (who share a conversation with it); the subscribe ack gives their
    /// current presence. At most `EPOP_PRESENCE_SUBSCRIPTIONS_MAX` users per socket.
    async fn presence_subscription(
        &self,
        socket: &Arc<EpopSocket>,
        user: UserId,
        ids: &[Uuid],
        subscribe: bool,
    ) -> Result<Value, Value> {
        let context = socket.state();
        let max = self.state.config.presence_subscriptions_max;
        let too_many = || {
            failure(
                ErrorCode::ValidationFailed,
                &format!("at most {max} user ids per socket"),
            )
        };
        if ids.len() > max {
            return Err(too_many());
        }
        let mut users = Vec::with_capacity(ids.len());
        let mut distinct = HashSet::with_capacity(ids.len());
        for id in ids {
            let id = UserId::from(*id);
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
                self.hub.leave(socket.id(), &presence_room(user));
            }
            return Ok(ok(json!({})));
        }
        let visible = self
            .state
            .chat
            .presence_visible(user, &users)
            .await
            .map_err(chat_failure)?;
        let added: Vec<UserId> = {
            let mut subscriptions = super::lock(&context.subscriptions);
            let added: Vec<UserId> = visible
                .iter()
                .copied()
                .filter(|u| !subscriptions.contains(u))
                .collect();
            if subscriptions.len() + added.len() > max {
                return Err(too_many());
            }
            subscriptions.extend(added.iter().copied());
            added
        };
        // Joined before the look-up, so a change in between is announced rather than missed.
        for user in &added {
            self.hub.join(socket.id(), &presence_room(*user));
        }
        let visible: HashSet<UserId> = visible.into_iter().collect();
        let ordered: Vec<UserId> = users.into_iter().filter(|u| visible.contains(u)).collect();
        let presence = self.presence.statuses(&ordered, true).await;
        Ok(ok(json!({"presence": presence})))
    }

    fn over_limit(&self, context: &SocketState) -> bool {
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
}
