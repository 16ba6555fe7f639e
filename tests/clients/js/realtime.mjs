// End-to-end checks of docs/api.md's real-time section with the official JavaScript client, unmodified.
// Usage: node realtime.mjs <gateway base URL>. Exits 0 when every check passes; prints what failed otherwise.
import { io } from "socket.io-client";
import assert from "node:assert/strict";

const base = process.argv[2];
let seq = 0;

async function api(method, path, token, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function register(name) {
  seq += 1;
  const { status, body } = await api("POST", "/api/auth/register", null, {
    name,
    email: `${name.toLowerCase()}${seq}-${Date.now()}@example.com`,
    password: "correct horse battery",
  });
  assert.equal(status, 201);
  return { id: body.user.id, token: body.access_token };
}

function connect(token, options = {}) {
  const socket = io(base, { auth: { token }, reconnection: false, timeout: 5000, ...options });
  const presence = once(socket, "presence:list");
  presence.catch(() => {}); // awaited only by the checks that need it
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve({ socket, presence }));
    socket.once("connect_error", (error) => reject(error));
  });
}

function once(socket, event, timeout = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeout} ms`)), timeout);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

function onceMatching(socket, event, predicate, timeout = 5000) {
  return new Promise((resolve, reject) => {
    const handler = (value) => {
      if (predicate(value)) {
        clearTimeout(timer);
        socket.off(event, handler);
        resolve(value);
      }
    };
    const timer = setTimeout(() => {
      socket.off(event, handler);
      reject(new Error(`no matching ${event} within ${timeout} ms`));
    }, timeout);
    socket.on(event, handler);
  });
}

function nothing(socket, event, wait = 400) {
  return new Promise((resolve, reject) => {
    const handler = () => reject(new Error(`unexpected ${event}`));
    socket.on(event, handler);
    setTimeout(() => {
      socket.off(event, handler);
      resolve();
    }, wait);
  });
}

async function check(name, body) {
  try {
    await body();
    console.log(`ok - ${name}`);
  } catch (error) {
    console.log(`not ok - ${name}: ${error.stack || error}`);
    process.exitCode = 1;
  }
}

const ann = await register("Ann");
const bob = await register("Bob");
const cat = await register("Cat");
const group = await api("POST", "/api/conversations", ann.token, { type: "group", name: "Team", member_ids: [bob.id] });
assert.equal(group.status, 201);
const conversation = group.body.id;

await check("a missing or bad token is refused with connect_error 'unauthorized' on both transports", async () => {
  for (const transports of [["websocket"], ["polling"]]) {
    await assert.rejects(connect("not-a-token", { transports }), (error) => error.message === "unauthorized");
    const socket = io(base, { reconnection: false, transports });
    const [error] = await once(socket, "connect_error");
    assert.equal(error.message, "unauthorized");
    socket.close();
  }
});

const a = await connect(ann.token, { transports: ["websocket"] });
// Ann's list is computed right after her CONNECT: let it arrive before Bob comes online.
await a.presence.catch(() => {});
const b = await connect(bob.token);

await check("the default client upgrades from polling to WebSocket", async () => {
  if (b.socket.io.engine.transport.name !== "websocket") {
    await once(b.socket.io.engine, "upgrade");
  }
  assert.equal(b.socket.io.engine.transport.name, "websocket");
});

await check("presence:list on connect names online people who share a conversation", async () => {
  const [annList] = await a.presence;
  assert.deepEqual(annList, { online: [] });
  const [bobList] = await b.presence;
  assert.deepEqual(bobList, { online: [ann.id] });
});

await check("a message sent over REST reaches every member's sockets", async () => {
  const toBob = once(b.socket, "message:new");
  const toAnn = once(a.socket, "message:new");
  const sent = await api("POST", `/api/conversations/${conversation}/messages`, ann.token, { content: "hello over REST" });
  assert.equal(sent.status, 201);
  const [[message], [echo]] = await Promise.all([toBob, toAnn]);
  assert.equal(message.id, sent.body.id);
  assert.equal(message.content, "hello over REST");
  assert.deepEqual(echo, message);
});

await check("message:send is acknowledged with the message and reaches others, not the sending socket", async () => {
  const toAnn = once(a.socket, "message:new");
  const quiet = nothing(b.socket, "message:new");
  const ack = await b.socket.timeout(5000).emitWithAck("message:send", { conversation_id: conversation, content: "hi from a socket", client_id: "js-1" });
  assert.equal(ack.ok, true);
  assert.equal(ack.message.content, "hi from a socket");
  assert.equal(ack.message.client_id, "js-1");
  const [message] = await toAnn;
  assert.equal(message.id, ack.message.id);
  await quiet;
  const again = await b.socket.timeout(5000).emitWithAck("message:send", { conversation_id: conversation, content: "dup", client_id: "js-1" });
  assert.equal(again.message.id, ack.message.id, "client_id makes it idempotent");
});

await check("typing reaches others (not the typist) and stops", async () => {
  const started = once(b.socket, "typing");
  const quiet = nothing(a.socket, "typing");
  const ack = await a.socket.timeout(5000).emitWithAck("typing:start", { conversation_id: conversation });
  assert.equal(ack.ok, true);
  const [event] = await started;
  assert.deepEqual(event, { conversation_id: conversation, user_id: ann.id, is_typing: true });
  await quiet;
  const stopped = once(b.socket, "typing");
  await a.socket.timeout(5000).emitWithAck("typing:stop", { conversation_id: conversation });
  assert.equal((await stopped)[0].is_typing, false);
});

await check("events for a conversation the user is not in are refused with not_found", async () => {
  const c = await connect(cat.token, { transports: ["websocket"] });
  for (const event of ["typing:start", "message:read"]) {
    const ack = await c.socket.timeout(5000).emitWithAck(event, { conversation_id: conversation, message_id: conversation });
    assert.equal(ack.ok, false);
    assert.equal(ack.error.code, "not_found");
  }
  const send = await c.socket.timeout(5000).emitWithAck("message:send", { conversation_id: conversation, content: "intrude" });
  assert.equal(send.error.code, "not_found");
  c.socket.close();
});

await check("message:read goes to every member, the reader's own sockets included", async () => {
  const posted = await api("POST", `/api/conversations/${conversation}/messages`, ann.token, { content: "read me" });
  const latest = posted.body;
  const toAnn = once(a.socket, "message:read");
  const toBob = once(b.socket, "message:read");
  const ack = await b.socket.timeout(5000).emitWithAck("message:read", { conversation_id: conversation, message_id: latest.id });
  assert.equal(ack.ok, true);
  const [[event]] = await Promise.all([toAnn, toBob]);
  assert.deepEqual(event, { conversation_id: conversation, user_id: bob.id, message_id: latest.id });
});

await check("a user added to a group gets conversation:new and its messages", async () => {
  const c = await connect(cat.token, { transports: ["polling"] });
  const created = once(c.socket, "conversation:new");
  const updated = once(a.socket, "conversation:updated");
  const added = await api("POST", `/api/conversations/${conversation}/members`, ann.token, { user_ids: [cat.id] });
  assert.equal(added.status, 200);
  const [[conv]] = await Promise.all([created, updated]);
  assert.equal(conv.id, conversation);
  const next = once(c.socket, "message:new");
  await api("POST", `/api/conversations/${conversation}/messages`, ann.token, { content: "welcome, Cat" });
  assert.equal((await next)[0].content, "welcome, Cat");
  c.socket.close();
});

await check("presence: going offline is announced to people who share a conversation", async () => {
  const offline = onceMatching(a.socket, "presence", (event) => event.user_id === bob.id);
  b.socket.close();
  const event = await offline;
  assert.equal(event.user_id, bob.id);
  assert.equal(event.status, "offline");
  assert.ok(event.last_seen_at);
});

await check("logging out everywhere disconnects the user's sockets", async () => {
  const bob2 = await connect(bob.token, { transports: ["websocket"] });
  const gone = once(bob2.socket, "disconnect");
  const response = await api("POST", "/api/auth/logout-all", bob.token);
  assert.equal(response.status, 204);
  const [reason] = await gone;
  assert.ok(["io server disconnect", "transport close"].includes(reason), reason);
});

await check("connection state recovery (opt-in): back within 2 minutes, rooms and missed events are restored in order", async () => {
  const dan = await register("Dan");
  await api("POST", `/api/conversations/${conversation}/members`, ann.token, { user_ids: [dan.id] });
  const r = await connect(dan.token, {
    transports: ["websocket"],
    auth: { token: dan.token, recover: true },
    reconnection: true,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 1000,
    randomizationFactor: 0,
  });
  const received = [];
  r.socket.on("message:new", (message, offset) => received.push({ content: message.content, offset }));
  await api("POST", `/api/conversations/${conversation}/messages`, ann.token, { content: "before the drop" });
  await onceMatching(r.socket, "message:new", (message) => message.content === "before the drop");
  assert.equal(typeof received[0].offset, "string", "events carry an offset as their last argument");
  r.socket.io.engine.close();
  await api("POST", `/api/conversations/${conversation}/messages`, ann.token, { content: "missed 1" });
  await api("POST", `/api/conversations/${conversation}/messages`, ann.token, { content: "missed 2" });
  await once(r.socket, "connect", 5000);
  assert.equal(r.socket.recovered, true);
  await onceMatching(r.socket, "message:new", (message) => message.content === "missed 2").catch(() => {});
  const contents = received.map((entry) => entry.content);
  assert.deepEqual(contents, ["before the drop", "missed 1", "missed 2"]);
  const offsets = received.map((entry) => Number(entry.offset));
  assert.ok(offsets[0] < offsets[1] && offsets[1] < offsets[2], `offsets in order: ${offsets}`);
  // The rooms came back: a new message arrives live.
  const live = onceMatching(r.socket, "message:new", (message) => message.content === "after recovery");
  await api("POST", `/api/conversations/${conversation}/messages`, ann.token, { content: "after recovery" });
  await live;
  r.socket.close();
});

await check("recovery replays what is true now: edited text, never a deleted message, nothing before the connection", async () => {
  const eve = await register("Eve");
  await api("POST", `/api/conversations/${conversation}/members`, ann.token, { user_ids: [eve.id] });
  // Delivered (to Ann's socket) before Eve connects: history to her.
  const delivered = onceMatching(a.socket, "message:new", (message) => message.content === "history before eve connected");
  await api("POST", `/api/conversations/${conversation}/messages`, ann.token, { content: "history before eve connected" });
  await delivered;
  const r = await connect(eve.token, {
    transports: ["websocket"],
    auth: { token: eve.token, recover: true },
    reconnection: true,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 1000,
    randomizationFactor: 0,
  });
  const received = [];
  const deleted = [];
  r.socket.on("message:new", (message) => received.push(message.content));
  r.socket.on("message:updated", (message) => received.push(`edited:${message.content}`));
  r.socket.on("message:deleted", (body) => deleted.push(body.id));
  await api("POST", `/api/conversations/${conversation}/messages`, ann.token, { content: "seen live" });
  await onceMatching(r.socket, "message:new", (message) => message.content === "seen live");
  r.socket.io.engine.close();
  const secret = await api("POST", `/api/conversations/${conversation}/messages`, ann.token, { content: "secret, then deleted" });
  assert.equal((await api("DELETE", `/api/messages/${secret.body.id}`, ann.token)).status, 204);
  const draft = await api("POST", `/api/conversations/${conversation}/messages`, ann.token, { content: "draft" });
  assert.equal((await api("PUT", `/api/messages/${draft.body.id}`, ann.token, { content: "final" })).status, 200);
  // A client claiming it received nothing at all still gets nothing from before its connection.
  r.socket._lastOffset = "0";
  await once(r.socket, "connect", 5000);
  assert.equal(r.socket.recovered, true);
  const live = onceMatching(r.socket, "message:new", (message) => message.content === "after the replay");
  await api("POST", `/api/conversations/${conversation}/messages`, ann.token, { content: "after the replay" });
  await live;
  // The server's floor is where the socket connected: claiming offset "0" replays from there (so "seen live"
  // comes twice), never the history before it.
  assert.deepEqual(received, ["seen live", "seen live", "final", "edited:final", "after the replay"]);
  assert.deepEqual(deleted, [secret.body.id]);
  r.socket.close();
});

await check("without recover, events carry exactly their arguments", async () => {
  const plain = await connect(ann.token, { transports: ["websocket"] });
  const args = new Promise((resolve) => plain.socket.once("message:new", (...all) => resolve(all)));
  await api("POST", `/api/conversations/${conversation}/messages`, ann.token, { content: "plain" });
  assert.equal((await args).length, 1);
  plain.socket.close();
});

a.socket.close();
process.exit(process.exitCode ?? 0);
