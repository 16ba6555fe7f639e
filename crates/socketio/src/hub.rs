//! This node's sockets and rooms. A room is any name; a socket is in as many rooms as the application puts it
//! in, and leaves them all when it disconnects. Broadcasts encode a packet once and hand the same frames to
//! every socket's queue.
//!
//! **Lanes.** Each actix worker thread runs a fan-out lane ([`Hub::start_lane`]; [`crate::HttpServer`] starts
//! one on every worker): a socket connected on that worker belongs to its lane, and a broadcast hands the lane
//! all of its sockets in one job, so that their connection tasks are queued and woken on the thread they run
//! on. Waking a task of another thread costs a system call each (the worker's event loop is unparked); a lane
//! costs one per worker and broadcast, and the workers queue their halves in parallel. Every broadcast to a
//! socket goes through its lane, in order. Sockets registered on a thread without a lane (lane 0) are served
//! by the broadcasting task itself.

use crate::frame::OutFrame;
use crate::lock;
use crate::socket::{Socket, frames_of};
use epop_realtime_protocol::socket::Packet;
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// A socket as a room knows it.
struct Member<S> {
    socket: Arc<Socket<S>>,
    /// The fan-out lane that queues its frames (0: none, the broadcasting task does).
    lane: Lane,
}

impl<S> Clone for Member<S> {
    fn clone(&self) -> Self {
        Self {
            socket: self.socket.clone(),
            lane: self.lane,
        }
    }
}

/// A broadcast's targets for each lane: the sockets, with whether each gets the alternate packet.
type ByLane<S> = Vec<Vec<(Arc<Socket<S>>, bool)>>;

/// A lane's targets in a broadcast's per-lane lists, made as lanes turn up.
fn bucket<S>(by_lane: &mut ByLane<S>, lane: Lane) -> &mut Vec<(Arc<Socket<S>>, bool)> {
    if by_lane.len() <= lane {
        by_lane.resize_with(lane + 1, Vec::new);
    }
    &mut by_lane[lane]
}

/// A fan-out lane: 1 + its index in the hub's lanes, or 0 for none.
type Lane = usize;

thread_local! {
    /// The lane this thread runs, with the id of its hub.
    static CURRENT_LANE: Cell<(usize, Lane)> = const { Cell::new((0, 0)) };
}

/// Hub ids, so that a thread's lane is only ever taken for its own hub.
static NEXT_HUB_ID: AtomicUsize = AtomicUsize::new(1);

/// One broadcast's share for one lane: its sockets and the frames they get.
struct LaneJob<S> {
    /// The sockets, with whether each gets `alternate` rather than `plain`.
    targets: Vec<(Arc<Socket<S>>, bool)>,
    plain: Vec<OutFrame>,
    alternate: Option<Vec<OutFrame>>,
    /// The frames may wait for the engine's flush tick.
    lazily: bool,
}

impl<S> LaneJob<S> {
    fn run(self) {
        for (socket, alternate) in self.targets {
            let frames = match (&self.alternate, alternate) {
                (Some(other), true) => other,
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

struct Rooms<S> {
    sockets: HashMap<String, Member<S>>,
    /// Room -> its sockets by id (the socket itself, so a broadcast looks nothing up per socket).
    members: HashMap<String, HashMap<String, Member<S>>>,
    joined: HashMap<String, HashSet<String>>,
}

struct Shared<S> {
    id: usize,
    rooms: Mutex<Rooms<S>>,
    /// The lanes' job queues, lane `n` at index `n - 1`.
    lanes: Mutex<Vec<mpsc::UnboundedSender<LaneJob<S>>>>,
    /// Told the number of sockets whenever it changes (a metrics gauge, say).
    on_count: Option<Box<dyn Fn(usize) + Send + Sync>>,
}

/// The sockets connected to this node, by room; a cheap handle (clones share the rooms).
pub struct Hub<S> {
    shared: Arc<Shared<S>>,
}

impl<S> Clone for Hub<S> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<S> std::fmt::Debug for Hub<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

impl<S: Send + Sync + 'static> Default for Hub<S> {
    fn default() -> Self {
        Self::new()
    }
}

/// Picks sockets by their state.
type Pick<'a, S> = &'a dyn Fn(&S) -> bool;

/// Who a broadcast reaches and what each gets: the sockets in one room, or in any of several (each once),
/// less those excepted; sockets that `alternate` picks get its packet instead.
pub struct Broadcast<'a, S> {
    rooms: Targets<'a>,
    except_socket: Option<&'a str>,
    except: Option<Pick<'a, S>>,
    alternate: Option<(&'a Packet, Pick<'a, S>)>,
    lazily: bool,
}

/// The rooms a broadcast goes to.
#[derive(Clone, Copy)]
enum Targets<'a> {
    One(&'a str),
    Any(&'a [String]),
}

impl<'a, S> Broadcast<'a, S> {
    /// The sockets in `room`.
    pub fn room(room: &'a str) -> Self {
        Self::new(Targets::One(room))
    }

    /// The sockets in any of `rooms` (a socket in several gets the packet once).
    pub fn rooms(rooms: &'a [String]) -> Self {
        Self::new(Targets::Any(rooms))
    }

    fn new(rooms: Targets<'a>) -> Self {
        Self {
            rooms,
            except_socket: None,
            except: None,
            alternate: None,
            lazily: false,
        }
    }

    /// Not this socket (the sender of what is broadcast, say).
    pub fn except_socket(mut self, socket_id: Option<&'a str>) -> Self {
        self.except_socket = socket_id;
        self
    }

    /// Not the sockets whose state `skip` picks.
    pub fn except(mut self, skip: Pick<'a, S>) -> Self {
        self.except = Some(skip);
        self
    }

    /// The sockets whose state `when` picks get `packet` instead (encoded once too).
    pub fn alternate(mut self, packet: &'a Packet, when: Pick<'a, S>) -> Self {
        self.alternate = Some((packet, when));
        self
    }

    /// The frames may wait up to the engine's flush tick (see
    /// [`crate::engine::Session::send_frames_lazily`]): for state a moment's delay does not harm.
    pub fn lazily(mut self) -> Self {
        self.lazily = true;
        self
    }

    fn skips(&self, id: &str, state: &S) -> bool {
        Some(id) == self.except_socket || self.except.is_some_and(|skip| skip(state))
    }

    fn picks_alternate(&self, state: &S) -> bool {
        self.alternate.is_some_and(|(_, when)| when(state))
    }
}

impl<S: Send + Sync + 'static> Hub<S> {
    /// An empty hub.
    pub fn new() -> Self {
        Self::with_count_observer(None)
    }

    /// An empty hub that tells `on_count` the number of its sockets whenever it changes.
    pub fn with_count_observer(on_count: Option<Box<dyn Fn(usize) + Send + Sync>>) -> Self {
        Self {
            shared: Arc::new(Shared {
                id: NEXT_HUB_ID.fetch_add(1, Ordering::Relaxed),
                rooms: Mutex::new(Rooms {
                    sockets: HashMap::new(),
                    members: HashMap::new(),
                    joined: HashMap::new(),
                }),
                lanes: Mutex::new(Vec::new()),
                on_count,
            }),
        }
    }

    /// Starts a fan-out lane on this thread, which must run a tokio `LocalSet` (an actix worker's does):
    /// sockets registered on this thread from now on are queued by it.
    pub fn start_lane(&self) {
        let (jobs, mut queue) = mpsc::unbounded_channel::<LaneJob<S>>();
        let lane = {
            let mut lanes = lock(&self.shared.lanes);
            lanes.push(jobs);
            lanes.len()
        };
        CURRENT_LANE.with(|current| current.set((self.shared.id, lane)));
        tokio::task::spawn_local(async move {
            while let Some(job) = queue.recv().await {
                job.run();
            }
        });
    }

    /// This thread's lane for this hub (0: none).
    fn current_lane(&self) -> Lane {
        let (hub, lane) = CURRENT_LANE.with(Cell::get);
        if hub == self.shared.id { lane } else { 0 }
    }

    /// Hands each lane its targets (lane 0's, and those of a lane that is gone, are queued here).
    fn dispatch(&self, by_lane: ByLane<S>, plain: &[OutFrame], alternate: Option<&[OutFrame]>, lazily: bool) {
        let mut here = Vec::new();
        {
            let lanes = lock(&self.shared.lanes);
            for (lane, targets) in by_lane.into_iter().enumerate() {
                if targets.is_empty() {
                    continue;
                }
                let job = LaneJob {
                    targets,
                    plain: plain.to_vec(),
                    alternate: alternate.map(<[OutFrame]>::to_vec),
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

    fn count_changed(&self, count: usize) {
        if let Some(on_count) = &self.shared.on_count {
            on_count(count);
        }
    }

    /// Registers a socket (the server does, once it is authorized).
    pub(crate) fn add(&self, socket: &Arc<Socket<S>>) {
        let member = Member {
            socket: socket.clone(),
            lane: self.current_lane(),
        };
        let mut rooms = lock(&self.shared.rooms);
        rooms.sockets.insert(socket.id().to_owned(), member);
        let count = rooms.sockets.len();
        drop(rooms);
        self.count_changed(count);
    }

    /// Removes a socket from every room (the server does, when it disconnects).
    pub(crate) fn remove(&self, socket_id: &str) {
        let mut rooms = lock(&self.shared.rooms);
        if rooms.sockets.remove(socket_id).is_none() {
            return;
        }
        for room in rooms.joined.remove(socket_id).unwrap_or_default() {
            if let Some(members) = rooms.members.get_mut(&room) {
                members.remove(socket_id);
                if members.is_empty() {
                    rooms.members.remove(&room);
                }
            }
        }
        let count = rooms.sockets.len();
        drop(rooms);
        self.count_changed(count);
    }

    /// Puts a socket in a room (nothing when the socket is not connected).
    pub fn join(&self, socket_id: &str, room: &str) {
        let mut rooms = lock(&self.shared.rooms);
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
        let mut rooms = lock(&self.shared.rooms);
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
        lock(&self.shared.rooms)
            .members
            .get(room)
            .is_some_and(|m| m.contains_key(socket_id))
    }

    /// The sockets in a room.
    pub fn sockets_in(&self, room: &str) -> Vec<Arc<Socket<S>>> {
        lock(&self.shared.rooms)
            .members
            .get(room)
            .map(|members| members.values().map(|member| member.socket.clone()).collect())
            .unwrap_or_default()
    }

    /// Whether a room has any socket.
    pub fn is_occupied(&self, room: &str) -> bool {
        lock(&self.shared.rooms).members.contains_key(room)
    }

    /// How many sockets are connected.
    pub fn len(&self) -> usize {
        lock(&self.shared.rooms).sockets.len()
    }

    /// Whether no socket is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sends `packet` to every socket in `room`, except the socket `except` (its sender, say). Encoded once,
    /// whatever the number of sockets.
    pub fn broadcast(&self, room: &str, packet: &Packet, except: Option<&str>) {
        self.send(Broadcast::room(room).except_socket(except), packet);
    }

    /// Sends `packet` as `broadcast` says. Each packet is encoded once, whatever the number of sockets.
    pub fn send(&self, broadcast: Broadcast<'_, S>, packet: &Packet) {
        let plain = frames_of(packet);
        let alternate = broadcast.alternate.map(|(packet, _)| frames_of(packet));
        let mut by_lane = Vec::new();
        {
            let state = lock(&self.shared.rooms);
            let named: &[String] = match broadcast.rooms {
                Targets::One(_) => &[],
                Targets::Any(rooms) => rooms,
            };
            let one = match broadcast.rooms {
                Targets::One(room) => Some(room),
                Targets::Any(_) => None,
            };
            let mut rooms = one
                .into_iter()
                .chain(named.iter().map(String::as_str))
                .filter_map(|room| state.members.get(room));
            let mut add = |member: &Member<S>| {
                let alternate = broadcast.picks_alternate(member.socket.state());
                bucket(&mut by_lane, member.lane).push((member.socket.clone(), alternate));
            };
            match (rooms.next(), rooms.next()) {
                (None, _) => {}
                // One room (the common case): its sockets are distinct already.
                (Some(only), None) => {
                    for (id, member) in only {
                        if !broadcast.skips(id, member.socket.state()) {
                            add(member);
                        }
                    }
                }
                (Some(first), Some(second)) => {
                    let mut seen: HashMap<&str, &Member<S>> = HashMap::new();
                    for members in [first, second].into_iter().chain(rooms) {
                        for (id, member) in members {
                            if !broadcast.skips(id, member.socket.state()) {
                                seen.insert(id, member);
                            }
                        }
                    }
                    seen.into_values().for_each(&mut add);
                }
            }
        }
        self.dispatch(by_lane, &plain, alternate.as_deref(), broadcast.lazily);
    }
}
