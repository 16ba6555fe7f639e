//! Connecting and disconnecting: a socket is authorized from its handshake `auth` (the access token, and the
//! recovery `pid`/`offset` when it asks to recover), joins its user's and conversations' rooms, is replayed
//! what it missed, and shows up in presence; on the way out, its recovery session is remembered and presence
//! updated.

use super::{EpopApplication, EpopSocket, SocketState, conversation_room};
use crate::rate_limit::Quota;
use async_trait::async_trait;
use epop_socketio::{Application, Handshake, IncomingEvent, Refusal};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[async_trait]
impl Application for EpopApplication {
    type State = SocketState;

    fn has_namespace(&self, namespace: &str) -> bool {
        namespace == "/"
    }

    async fn authorize(&self, handshake: Handshake<'_>) -> Result<SocketState, Refusal> {
        let app = &self.0;
        let refusal = || Refusal::new("unauthorized");
        let auth = handshake.auth;
        let token = auth
            .as_ref()
            .and_then(|auth| auth.get("token"))
            .and_then(Value::as_str)
            .ok_or_else(refusal)?;
        // Signature, expiry, and a session not ended since (a logout everywhere, a new password or e-mail).
        let claims = match app.state.auth.authenticate(token).await {
            Ok(claims) => claims,
            Err(epop_auth::AuthError::Unauthorized) => return Err(refusal()),
            Err(error) => {
                tracing::warn!(%error, "could not check the socket's session; refusing the connection");
                return Err(Refusal::new("unavailable"));
            }
        };
        // A personal access token connects only with the scope to read what the socket will receive.
        if let Some(grant) = &claims.grant
            && !grant.allows(crate::scopes::SOCKET_CONNECT)
        {
            return Err(Refusal::with_data(
                "forbidden",
                json!({"missing_scope": crate::scopes::SOCKET_CONNECT.as_str()}),
            ));
        }
        // Every connect costs queries, Redis calls and presence work: a user may connect only so often, on
        // every node together.
        let per_minute = app.state.config.realtime.connects_per_user_per_minute;
        if let Err(limited) = app
            .state
            .limiter
            .check(
                "socket-connect",
                &claims.sub.to_string(),
                Quota::per_minute(per_minute),
            )
            .await
        {
            return Err(Refusal::with_data(
                "rate_limited",
                json!({"retry_after": limited.retry_after_secs()}),
            ));
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
                && let Some(floor) = app.recovery.take(pid, claims.sub).await
            {
                resumed = Some((pid.to_owned(), offset.max(floor)));
            }
        }
        let floor = app.delivered.load(Ordering::Acquire);
        let conversations = app
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
        // Sockets never outlive their credentials.
        let expires_in = (claims.exp - chrono::Utc::now().timestamp()).max(0) as u64;
        handshake.session.expire_in(Duration::from_secs(expires_in));
        Ok(SocketState {
            user: claims.sub,
            token_issued_at: claims.issued_at_micros(),
            session: claims.sid,
            grant: claims.grant,
            recover,
            conversations,
            floor: resumed.as_ref().map_or(floor, |(_, after)| (*after).min(floor)),
            resumed,
            limit: Mutex::new((Instant::now(), 0)),
            subscriptions: Mutex::new(HashSet::new()),
        })
    }

    /// Everything a connect entails happens before the CONNECT reply (what the socket is sent meanwhile is
    /// held until the reply went out): the rooms are joined before anything is looked up, so nothing is
    /// missed in between, and a connect storm paces itself by the clients' own waiting instead of piling up
    /// work behind replies already sent.
    async fn connecting(&self, socket: &Arc<EpopSocket>) {
        let app = &self.0;
        let context = socket.state();
        app.hub.join(socket.id(), &super::user_room(context.user));
        for conversation in &context.conversations {
            app.hub.join(socket.id(), &conversation_room(*conversation));
        }
        if context.recover {
            // Not recovered (a fresh pid) when there is no session to resume or more was missed than a replay
            // holds: the client then knows to resync over REST instead of trusting a partial replay.
            let recovered = match &context.resumed {
                Some((pid, after)) => app
                    .replay(socket, context.user, &context.conversations, *after)
                    .await
                    .then(|| pid.clone()),
                None => None,
            };
            socket.set_recovery_id(recovered.unwrap_or_else(epop_socketio::random_id));
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
    }

    async fn event(&self, socket: &Arc<EpopSocket>, event: IncomingEvent) {
        self.0.client_event(socket, event).await;
    }

    async fn disconnected(&self, socket: &Arc<EpopSocket>) {
        let app = &self.0;
        let context = socket.state();
        if context.recover
            && let Some(pid) = socket.recovery_id()
        {
            app.recovery.save(&pid, context.user, context.floor).await;
        }
        // Presence counts the user's sockets here itself: it is told of every socket that goes, and says
        // when the last one anywhere went.
        if app.presence.disconnect(context.user).await {
            app.presence_changed(context.user, false).await;
        }
    }
}
