// A node dies while clients are connected: clients of the other node keep working, and the dead node's users
// go offline for everyone once their presence claims expire.
// Usage: node node-killed.mjs <node A URL> <node B URL>; prints READY, then waits for a line on stdin once
// node A has been killed.
import { io } from "socket.io-client";
import assert from "node:assert/strict";
import readline from "node:readline";

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
  const { body } = await api(nodeB, "POST", "/api/auth/register", null, {
    name, email: `${name.toLowerCase()}-${Date.now()}@example.com`, password: "correct horse battery",
  });
  return { id: body.user.id, token: body.access_token };
}

function connect(base, token) {
  const socket = io(base, { auth: { token }, reconnection: false, transports: ["websocket"] });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

function waitFor(socket, event, predicate, timeout) {
  return new Promise((resolve, reject) => {
    const handler = (value) => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      resolve(value);
    };
    const timer = setTimeout(() => reject(new Error(`no matching ${event} within ${timeout} ms`)), timeout);
    socket.on(event, handler);
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
const group = await api(nodeB, "POST", "/api/conversations", bob.token, { type: "group", name: "Survivors", member_ids: [ann.id, cat.id] });
const conversation = group.body.id;
const onA = await connect(nodeA, ann.token);
const bobOnB = await connect(nodeB, bob.token);
const catOnB = await connect(nodeB, cat.token);
const offline = waitFor(bobOnB, "presence", (event) => event.user_id === ann.id && event.status === "offline", 15000);
offline.catch(() => {});

console.log("READY");
const lines = readline.createInterface({ input: process.stdin });
await new Promise((resolve) => lines.once("line", resolve));
lines.close();

await check("the dead node's clients lose their connection", async () => {
  if (onA.connected) {
    await waitFor(onA, "disconnect", () => true, 10000);
  }
});

await check("clients of the surviving node keep working", async () => {
  const received = waitFor(catOnB, "message:new", (message) => message.content === "still alive", 5000);
  const ack = await bobOnB.timeout(5000).emitWithAck("message:send", { conversation_id: conversation, content: "still alive" });
  assert.equal(ack.ok, true);
  await received;
});

await check("the dead node's users go offline once their claims expire", async () => {
  const event = await offline;
  assert.ok(event.last_seen_at);
});

bobOnB.close();
catOnB.close();
process.exit(process.exitCode ?? 0);
