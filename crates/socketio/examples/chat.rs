//! A complete Socket.IO chat server on actix-web, for the official clients:
//! `cargo run -p epop-socketio --example chat` (`CHAT_LISTEN`, default 127.0.0.1:3000), then in JavaScript
//! `io("http://127.0.0.1:3000", { auth: { name: "ann" } })`.
//!
//! A client connects with a name (refused without one) and is welcomed; `join` `{room}` enters a room (everyone
//! starts in `lobby`); `chat` `{room, text}` goes to the room's other members, acknowledged `{ok: true}`.

use actix_web::App;
use epop_socketio::{
    Application, Builder, Handshake, HttpServer, Hub, IncomingEvent, Packet, Refusal, Socket,
};
use serde_json::json;
use std::net::TcpListener;
use std::sync::Arc;

/// The chat: every socket's state is its user's name.
struct Chat {
    hub: Hub<String>,
}

/// A string field of an event's first argument.
fn field<'a>(event: &'a IncomingEvent, name: &str) -> Option<&'a str> {
    event.args.first()?.get(name)?.as_str()
}

#[async_trait::async_trait]
impl Application for Chat {
    type State = String;

    fn has_namespace(&self, namespace: &str) -> bool {
        namespace == "/"
    }

    async fn authorize(&self, handshake: Handshake<'_>) -> Result<String, Refusal> {
        let name = handshake
            .auth
            .as_ref()
            .and_then(|auth| auth.get("name")?.as_str());
        match name {
            Some(name) if !name.trim().is_empty() => Ok(name.to_owned()),
            _ => Err(Refusal::new("a name is required")),
        }
    }

    async fn connecting(&self, socket: &Arc<Socket<String>>) {
        self.hub.join(socket.id(), "lobby");
    }

    async fn connected(&self, socket: &Arc<Socket<String>>) {
        socket.emit("welcome", vec![json!({"name": socket.state(), "room": "lobby"})]);
    }

    async fn event(&self, socket: &Arc<Socket<String>>, event: IncomingEvent) {
        let answer = match (event.name.as_str(), field(&event, "room")) {
            ("join", Some(room)) => {
                self.hub.join(socket.id(), room);
                json!({"ok": true})
            }
            ("chat", Some(room)) if self.hub.in_room(socket.id(), room) => {
                let text = field(&event, "text").unwrap_or_default();
                let message = json!(["chat", {"from": socket.state(), "room": room, "text": text}]);
                let packet = Packet::event("/", message, None, Vec::new());
                // Encoded once, queued for every other socket in the room.
                self.hub.broadcast(room, &packet, Some(socket.id()));
                json!({"ok": true})
            }
            _ => json!({"ok": false, "error": "unknown event or room"}),
        };
        if let Some(ack) = event.ack {
            socket.ack(ack, vec![answer], Vec::new());
        }
    }

    async fn disconnected(&self, socket: &Arc<Socket<String>>) {
        let packet = Packet::event("/", json!(["left", {"name": socket.state()}]), None, Vec::new());
        self.hub.broadcast("lobby", &packet, None);
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let hub = Hub::new();
    let io = Builder::new().build(Chat { hub: hub.clone() }, hub);
    let listen = std::env::var("CHAT_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = TcpListener::bind(&listen)?;
    println!("chat listening on http://{}", listener.local_addr()?);
    HttpServer::new()
        .socket_io("/socket.io", &io)
        .run(listener, move || {
            App::new().service(io.polling_service("/socket.io")).route(
                "/",
                actix_web::web::get().to(|| async { "Socket.IO chat: connect to /socket.io/" }),
            )
        })?
        .await
}
