//! This node's sockets and rooms. A room is a user (`u:{id}`, all their sockets), a conversation
//! (`c:{id}`, every member's sockets) or a user's presence subscribers (`p:{id}`). Broadcasts encode a
//! packet once and hand the same frames to every socket's queue.
//!
//! **Lanes.** Each actix worker thread runs a fan-out lane ([`Hub::start_lane`]): a socket connected on that
//! worker belongs to its lane, and a broadcast hands the lane all of its sockets in one job, so that their
//! connection tasks are queued and woken on the thread they run on. Waking a task of another thread costs a
//! system call each (the worker's event loop is unparked); a lane costs one per worker and broadcast, and the
//! workers queue their halves in parallel. Every broadcast to a socket goes through its lane, in order.
//! Sockets registered on a thread without a lane (lane 0) are served by the broadcasting task itself.

use super::frame::OutFrame;
use super::lock;
use super::socketio::{Socket, frames_of};
use epop_core::{ConversationId, UserId};
use epop_realtime_protocol::socket::Packet;
use prometheus::IntGauge;
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// A room name.
pub fn user_room(user: UserId) -> String {
    format!("u:{user}")
}

/// A room name.
pub fn conversation_room(conversation: ConversationId) -> String {
    format!("c:{conversation}")
}

/// A room name: the sockets that asked for `user`'s presence (`presence:subscribe`).
pub fn presence_room(user: UserId) -> String {
    format!("p:{user}")
}

/// A socket as a room knows it.
#[derive(Clone)]
struct Member {
    socket: Arc<Socket>,
    user: UserId,
    /// It asked for connection state recovery (events carry their offset).
    recover: bool,
    /// The fan-out lane that queues its frames (0: none, the broadcasting task does).
    lane: Lane,
}

/// A lane's targets in a broadcast's per-lane lists, made as lanes turn up.
fn bucket(by_lane: &mut Vec<Vec<(Arc<Socket>, bool)>>, lane: Lane) -> &mut Vec<(Arc<Socket>, bool)> {
    if by_lane.len() <= lane {
        by_lane.resize_with(lane + 1, Vec::new);
    }
    &mut by_lane[lane]
}

/// A fan-out lane: 1 + its index in [`Hub::lanes`], or 0 for none.
type Lane = usize;

thread_local! {
    /// The lane this thread runs, with the id of its hub.
    static CURRENT_LANE: Cell<(usize, Lane)> = const { Cell::new((0, 0)) };
}

/// Hub ids, so that a thread's lane is only ever taken for its own hub.
static NEXT_HUB_ID: AtomicUsize = AtomicUsize::new(1);

/// One broadcast's share for one lane: its sockets and the frames they get.
struct LaneJob {
    /// The sockets, with whether each gets `offset` rather than `plain`.
    targets: Vec<(Arc<Socket>, bool)>,
    plain: Vec<OutFrame>,
    offset: Option<Vec<OutFrame>>,
    /// Presence: the frames may wait for the engine's flush tick.
    lazily: bool,
}

impl LaneJob {
    fn run(self) {
        for (socket, recover) in self.targets {
            let frames = match (&self.offset, recover) {
                (Some(offset), true) => offset,
                _ => &self.plain,
            };
            if self.lazily {
                socket.send_encoded_lazily(frames);
            } else {
                socket.send_encoded(frames);
            }
        }
    }
}

#[derive(Default)]
struct Rooms {
    sockets: HashMap<String, Member>,
    /// Room -> its sockets by id (the socket itself, so a broadcast looks nothing up per socket).
    members: HashMap<String, HashMap<String, Member>>,
    joined: HashMap<String, HashSet<String>>,
}

/// The sockets connected to this node, by room.
pub struct Hub {
    id: usize,
    rooms: Mutex<Rooms>,
    /// The lanes' job queues, lane `n` at index `n - 1`.
    lanes: Mutex<Vec<mpsc::UnboundedSender<LaneJob>>>,
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
            id: NEXT_HUB_ID.fetch_add(1, Ordering::Relaxed),
            rooms: Mutex::new(Rooms::default()),
            lanes: Mutex::new(Vec::new()),
            gauge,
        }
    }

    /// Starts a fan-out lane on this thread, which must run a tokio `LocalSet` (an actix worker's does):
    /// sockets registered on this thread from now on are queued by it.
    pub fn start_lane(&self) {
        let (jobs, mut queue) = mpsc::unbounded_channel::<LaneJob>();
        let lane = {
            let mut lanes = lock(&self.lanes);
            lanes.push(jobs);
            lanes.len()
        };
        CURRENT_LANE.with(|current| current.set((self.id, lane)));
        tokio::task::spawn_local(async move {
            while let Some(job) = queue.recv().await {
                job.run();
            }
        });
    }

    /// This thread's lane for this hub (0: none).
    fn current_lane(&self) -> Lane {
        let (hub, lane) = CURRENT_LANE.with(Cell::get);
        if hub == self.id { lane } else { 0 }
    }

    /// Hands each lane its targets (lane 0's, and those of a lane that is gone, are queued here).
    fn dispatch(
        &self,
        by_lane: Vec<Vec<(Arc<Socket>, bool)>>,
        plain: &[OutFrame],
        offset: Option<&[OutFrame]>,
        lazily: bool,
    ) {
        let mut here = Vec::new();
        {
            let lanes = lock(&self.lanes);
            for (lane, targets) in by_lane.into_iter().enumerate() {
                if targets.is_empty() {
                    continue;
                }
                let job = LaneJob {
                    targets,
                    plain: plain.to_vec(),
                    offset: offset.map(<[OutFrame]>::to_vec),
                    lazily,
                };
                match lane.checked_sub(1).and_then(|index| lanes.get(index)) {
                    Some(queue) => {
                        if let Err(mpsc::error::SendError(job)) = queue.send(job) {
                            here.push(job);
                        }
                    }
                    None => here.push(job),
                }
            }
        }
        for job in here {
            job.run();
        }
    }

    /// Registers a socket of `user` (`recover`: it receives event offsets); it joins the user's room.
    pub fn add(&self, socket: &Arc<Socket>, user: UserId, recover: bool) {
        let member = Member {
            socket: socket.clone(),
            user,
            recover,
            lane: self.current_lane(),
        };
        let mut rooms = lock(&self.rooms);
        rooms.sockets.insert(socket.id.clone(), member);
        self.gauge.set(rooms.sockets.len() as i64);
        drop(rooms);
        self.join(&socket.id, &user_room(user));
    }

    /// Removes a socket from every room; returns how many sockets its user still has here.
    pub fn remove(&self, socket_id: &str) -> Option<(UserId, usize)> {
        let mut rooms = lock(&self.rooms);
        let user = rooms.sockets.remove(socket_id)?.user;
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
            if members.is_empty() {
                rooms.members.remove(room);
            }
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
            .map(|members| members.values().map(|member| member.socket.clone()).collect())
            .unwrap_or_default()
    }

    /// The users with at least one socket on this node.
    pub fn local_users(&self) -> Vec<UserId> {
        let rooms = lock(&self.rooms);
        let users: HashSet<UserId> = rooms.sockets.values().map(|member| member.user).collect();
        users.into_iter().collect()
    }

    /// Sends `packet` once to every socket in any of `rooms` (a socket in several rooms gets it once), except
    /// the sockets of `except_user`. The packet is encoded once. Used for presence, which may wait for the
    /// engine's flush tick (see [`super::engine::Session::send_frames_lazily`]).
    pub fn broadcast_to_rooms(&self, rooms: &[String], packet: &Packet, except_user: UserId) {
        let frames = frames_of(packet);
        let mut by_lane = Vec::new();
        {
            let state = lock(&self.rooms);
            let mut rooms = rooms.iter().filter_map(|room| state.members.get(room));
            let mut add =
                |member: &Member| bucket(&mut by_lane, member.lane).push((member.socket.clone(), false));
            match (rooms.next(), rooms.next()) {
                (None, _) => {}
                // One room (the common case): its sockets are distinct already.
                (Some(only), None) => only
                    .values()
                    .filter(|member| member.user != except_user)
                    .for_each(&mut add),
                (Some(first), Some(second)) => {
                    let mut seen: HashMap<&str, &Member> = HashMap::new();
                    for members in [first, second].into_iter().chain(rooms) {
                        for (id, member) in members {
                            if member.user != except_user {
                                seen.insert(id, member);
                            }
                        }
                    }
                    seen.into_values().for_each(&mut add);
                }
            }
        }
        self.dispatch(by_lane, &frames, None, true);
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
        let mut by_lane = Vec::new();
        {
            let rooms = lock(&self.rooms);
            let Some(members) = rooms.members.get(room) else {
                return;
            };
            for (id, member) in members {
                if Some(id.as_str()) == except_socket || Some(member.user) == except_user {
                    continue;
                }
                bucket(&mut by_lane, member.lane).push((member.socket.clone(), member.recover));
            }
        }
        self.dispatch(by_lane, &plain, offset.as_deref(), false);
    }
}
