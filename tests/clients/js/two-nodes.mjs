// Two gateway nodes sharing PostgreSQL and Redis: what happens on node A reaches clients of node B.
// Usage: node two-nodes.mjs <node A base URL> <node B base URL>.
import { io } from "socket.io-client";
import assert from "node:assert/strict";

const [nodeA, nodeB] = process.argv.slice(2);

async function api(base, method, path, token, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function register(name) {
  const { status, body } = await api(nodeA, "POST", "/api/auth/register", null, {
    name, email: `${name.toLowerCase()}-${Date.now()}-${Math.random()}@example.com`, password: "correct horse battery",
  });
  assert.equal(status, 201);
  return { id: body.user.id, token: body.access_token };
}

function connect(base, token) {
  const socket = io(base, { auth: { token }, reconnection: false, transports: ["websocket"] });
  const presence = new Promise((resolve) => socket.once("presence:list", resolve));
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve({ socket, presence }));
    socket.once("connect_error", reject);
  });
}

function onceWhere(socket, event, predicate, timeout = 5000) {
  return new Promise((resolve, reject) => {
    const handler = (value) => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      socket.off(event, handler);
      resolve(value);
    };
    const timer = setTimeout(() => {
      socket.off(event, handler);
      reject(new Error(`no matching ${event} within ${timeout} ms`));
    }, timeout);
    socket.on(event, handler);
  });
}

function once(socket, event, timeout = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeout} ms`)), timeout);
    socket.once(event, (value) => {
      clearTimeout(timer);
      resolve(value);
    });
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
const group = await api(nodeA, "POST", "/api/conversations", ann.token, { type: "group", name: "Nodes", member_ids: [bob.id] });
const conversation = group.body.id;
const a = await connect(nodeA, ann.token);
await a.presence;
const b = await connect(nodeB, bob.token);

await check("presence crosses nodes: B sees A's user online", async () => {
  assert.deepEqual(await b.presence, { online: [ann.id] });
});

await check("a message posted on node A reaches a client of node B", async () => {
  const received = once(b.socket, "message:new");
  const sent = await api(nodeA, "POST", `/api/conversations/${conversation}/messages`, ann.token, { content: "across nodes" });
  assert.equal(sent.status, 201);
  assert.equal((await received).id, sent.body.id);
});

await check("a socket message on node B reaches a client of node A", async () => {
  const received = onceWhere(a.socket, "message:new", (message) => message.content === "back again");
  const ack = await b.socket.timeout(5000).emitWithAck("message:send", { conversation_id: conversation, content: "back again" });
  assert.equal(ack.ok, true);
  assert.equal((await received).id, ack.message.id);
});

await check("typing on node A reaches node B", async () => {
  const typing = once(b.socket, "typing");
  await a.socket.timeout(5000).emitWithAck("typing:start", { conversation_id: conversation });
  assert.deepEqual(await typing, { conversation_id: conversation, user_id: ann.id, is_typing: true });
  const expired = once(b.socket, "typing", 8000);
  assert.equal((await expired).is_typing, false, "an indicator that is not renewed stops after 5 s");
});

await check("a session dropped on node A is recovered on node B with the missed events", async () => {
  const r = await new Promise((resolve, reject) => {
    const socket = io(nodeA, {
      auth: { token: ann.token, recover: true },
      transports: ["websocket"],
      reconnectionDelay: 1000,
      reconnectionDelayMax: 1000,
      randomizationFactor: 0,
    });
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
  const seen = [];
  r.on("message:new", (message) => seen.push(message.content));
  await api(nodeA, "POST", `/api/conversations/${conversation}/messages`, bob.token, { content: "first" });
  await onceWhere(r, "message:new", (message) => message.content === "first");
  r.io.uri = nodeB; // the load balancer sends the reconnection to the other node
  r.io.engine.close();
  await api(nodeB, "POST", `/api/conversations/${conversation}/messages`, bob.token, { content: "while away" });
  await once(r, "connect");
  assert.equal(r.recovered, true);
  await onceWhere(r, "message:new", (message) => message.content === "while away").catch(() => {});
  assert.deepEqual(seen, ["first", "while away"]);
  r.close();
});

await check("logging out on node A disconnects the user's sockets on node B", async () => {
  const gone = once(b.socket, "disconnect");
  assert.equal((await api(nodeA, "POST", "/api/auth/logout-all", bob.token)).status, 204);
  await gone;
});

a.socket.close();
process.exit(process.exitCode ?? 0);
