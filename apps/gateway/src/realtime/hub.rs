//! This node's sockets and rooms. A room is a user (`u:{id}`, all their sockets) or a conversation
//! (`c:{id}`, every member's sockets). Broadcasts encode a packet once and hand the same frames to every
//! socket's queue.

use super::lock;
use super::socketio::{Socket, frames_of};
use epop_core::{ConversationId, UserId};
use epop_realtime_protocol::socket::Packet;
use prometheus::IntGauge;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// A room name.
pub fn user_room(user: UserId) -> String {
    format!("u:{user}")
}

/// A room name.
pub fn conversation_room(conversation: ConversationId) -> String {
    format!("c:{conversation}")
}

/// A socket as a room knows it: the socket, its user, whether it asked for connection state recovery.
type Member = (Arc<Socket>, UserId, bool);

#[derive(Default)]
struct Rooms {
    sockets: HashMap<String, Member>,
    /// Room -> its sockets by id (the socket itself, so a broadcast looks nothing up per socket).
    members: HashMap<String, HashMap<String, Member>>,
    joined: HashMap<String, HashSet<String>>,
}

/// The sockets connected to this node, by room.
pub struct Hub {
    rooms: Mutex<Rooms>,
    gauge: IntGauge,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

impl Hub {
    /// An empty hub that keeps `gauge` (`socketio_connected_sockets`) current.
    pub fn new(gauge: IntGauge) -> Self {
        Self {
            rooms: Mutex::new(Rooms::default()),
            gauge,
        }
    }

    /// Registers a socket of `user` (`recover`: it receives event offsets); it joins the user's room.
    pub fn add(&self, socket: &Arc<Socket>, user: UserId, recover: bool) {
        let mut rooms = lock(&self.rooms);
        rooms
            .sockets
            .insert(socket.id.clone(), (socket.clone(), user, recover));
        self.gauge.set(rooms.sockets.len() as i64);
        drop(rooms);
        self.join(&socket.id, &user_room(user));
    }

    /// Removes a socket from every room; returns how many sockets its user still has here.
    pub fn remove(&self, socket_id: &str) -> Option<(UserId, usize)> {
        let mut rooms = lock(&self.rooms);
        let (_, user, _) = rooms.sockets.remove(socket_id)?;
        for room in rooms.joined.remove(socket_id).unwrap_or_default() {
            if let Some(members) = rooms.members.get_mut(&room) {
                members.remove(socket_id);
                if members.is_empty() {
                    rooms.members.remove(&room);
                }
            }
        }
        self.gauge.set(rooms.sockets.len() as i64);
        let left = rooms.members.get(&user_room(user)).map_or(0, HashMap::len);
        Some((user, left))
    }

    /// Puts a socket in a room.
    pub fn join(&self, socket_id: &str, room: &str) {
        let mut rooms = lock(&self.rooms);
        let Some(member) = rooms.sockets.get(socket_id).cloned() else {
            return;
        };
        rooms
            .members
            .entry(room.to_owned())
            .or_default()
            .insert(socket_id.to_owned(), member);
        rooms
            .joined
            .entry(socket_id.to_owned())
            .or_default()
            .insert(room.to_owned());
    }

    /// Takes a socket out of a room.
    pub fn leave(&self, socket_id: &str, room: &str) {
        let mut rooms = lock(&self.rooms);
        if let Some(members) = rooms.members.get_mut(room) {
            members.remove(socket_id);
        }
        if let Some(joined) = rooms.joined.get_mut(socket_id) {
            joined.remove(room);
        }
    }

    /// Whether a socket is in a room.
    pub fn in_room(&self, socket_id: &str, room: &str) -> bool {
        lock(&self.rooms)
            .members
            .get(room)
            .is_some_and(|m| m.contains_key(socket_id))
    }

    /// The sockets in a room.
    pub fn sockets_in(&self, room: &str) -> Vec<Arc<Socket>> {
        lock(&self.rooms)
            .members
            .get(room)
            .map(|members| members.values().map(|(socket, _, _)| socket.clone()).collect())
            .unwrap_or_default()
    }

    /// The users with at least one socket on this node.
    pub fn local_users(&self) -> Vec<UserId> {
        let rooms = lock(&self.rooms);
        let users: HashSet<UserId> = rooms.sockets.values().map(|(_, user, _)| *user).collect();
        users.into_iter().collect()
    }

    /// Sends `packet` once to every socket in any of `rooms` (a socket in several rooms gets it once), except
    /// the sockets of `except_user`. The packet is encoded once. Used for presence, which may wait for the
    /// engine's flush tick (see [`super::engine::Session::send_frames_lazily`]).
    pub fn broadcast_to_rooms(&self, rooms: &[String], packet: &Packet, except_user: UserId) {
        let frames = frames_of(packet);
        let targets: Vec<Arc<Socket>> = {
            let state = lock(&self.rooms);
            let mut rooms = rooms.iter().filter_map(|room| state.members.get(room));
            match (rooms.next(), rooms.next()) {
                (None, _) => Vec::new(),
                // One room (the common case): its sockets are distinct already.
                (Some(only), None) => only
                    .values()
                    .filter(|(_, user, _)| *user != except_user)
                    .map(|(socket, _, _)| socket.clone())
                    .collect(),
                (Some(first), Some(second)) => {
                    let mut seen: HashMap<&str, &Arc<Socket>> = HashMap::new();
                    for members in [first, second].into_iter().chain(rooms) {
                        for (id, (socket, user, _)) in members {
                            if *user != except_user {
                                seen.insert(id, socket);
                            }
                        }
                    }
                    seen.into_values().cloned().collect()
                }
            }
        };
        for socket in targets {
            socket.send_encoded_lazily(&frames);
        }
    }

    /// Sends `packet` to every socket in `room`, except the socket `except_socket` and the sockets of
    /// `except_user`; sockets that asked for recovery get `with_offset` instead when given. Each packet is
    /// encoded once, whatever the number of sockets.
    pub fn broadcast(
        &self,
        room: &str,
        packet: &Packet,
        with_offset: Option<&Packet>,
        except_socket: Option<&str>,
        except_user: Option<UserId>,
    ) {
        let plain = frames_of(packet);
        let offset = with_offset.map(frames_of);
        let targets: Vec<(Arc<Socket>, bool)> = {
            let rooms = lock(&self.rooms);
            let Some(members) = rooms.members.get(room) else {
                return;
            };
            members
                .iter()
                .filter(|(id, _)| Some(id.as_str()) != except_socket)
                .filter(|(_, (_, user, _))| Some(*user) != except_user)
                .map(|(_, (socket, _, recover))| (socket.clone(), *recover))
                .collect()
        };
        for (socket, recover) in targets {
            match (&offset, recover) {
                (Some(offset), true) => socket.send_encoded(offset),
                _ => socket.send_encoded(&plain),
            }
        }
    }
}
