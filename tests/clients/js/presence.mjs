// Presence in large groups (docs/api.md, Presence; issue 10) with the official JavaScript client, against a gateway
// started with EPOP_PRESENCE_GROUP_LIMIT=3 and EPOP_PRESENCE_SUBSCRIPTIONS_MAX=2.
// Usage: node presence.mjs <gateway base URL>. Exits 0 when every check passes; prints what failed otherwise.
//
// Negative checks never wait for a timeout: presence events reach a socket in the order they were announced,
// so "Ann never saw Cat come online" is checked once Ann has seen a later arrival (Eve's).
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

// Connects and records every `presence` event the socket gets, in order.
function connect(token) {
  const socket = io(base, { auth: { token }, reconnection: false, timeout: 5000, transports: ["websocket"] });
  const seen = [];
  socket.on("presence", (event) => seen.push(event));
  const list = once(socket, "presence:list");
  list.catch(() => {});
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve({ socket, seen, list }));
    socket.once("connect_error", (error) => reject(error));
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

// Resolves once `client` has seen a presence event of `user` with `status`.
function presenceOf(client, user, status, timeout = 5000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (client.seen.some((event) => event.user_id === user && event.status === status)) return resolve();
      if (Date.now() - started > timeout) return reject(new Error(`no presence ${status} of ${user} within ${timeout} ms`));
      setTimeout(poll, 20);
    };
    poll();
  });
}

function ack(socket, event, payload) {
  return socket.timeout(5000).emitWithAck(event, payload);
}

function disconnected(client) {
  return new Promise((resolve) => {
    client.socket.once("disconnect", () => resolve());
    client.socket.close();
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

// Ann, Bob, Cat, Dan and Eve are in one group of 5 (over the limit of 3). Ann and Bob also share a direct
// conversation, Ann and Eve a group of 2 (under the limit); Fay only a direct conversation with Bob.
const [ann, bob, cat, dan, eve, fay] = await Promise.all(["Ann", "Bob", "Cat", "Dan", "Eve", "Fay"].map(register));
const big = await api("POST", "/api/conversations", ann.token, {
  type: "group",
  name: "Everyone",
  member_ids: [bob.id, cat.id, dan.id, eve.id],
});
assert.equal(big.status, 201);
assert.equal((await api("POST", "/api/conversations", ann.token, { type: "direct", member_ids: [bob.id] })).status, 201);
assert.equal(
  (await api("POST", "/api/conversations", ann.token, { type: "group", name: "Pair", member_ids: [eve.id] })).status,
  201,
);
assert.equal((await api("POST", "/api/conversations", fay.token, { type: "direct", member_ids: [bob.id] })).status, 201);

const a = await connect(ann.token);
await a.list;
const b = await connect(bob.token);
const c = await connect(cat.token);
const e = await connect(eve.token);

await check("in a group over the limit, presence reaches only those who share a direct conversation or a small group", async () => {
  await presenceOf(a, bob.id, "online");
  await presenceOf(a, eve.id, "online");
  // Cat came online before Eve: had Ann been told, she would have been told before Eve's arrival.
  assert.ok(!a.seen.some((event) => event.user_id === cat.id), JSON.stringify(a.seen));
});

await check("presence:list follows the same rule", async () => {
  assert.deepEqual(await a.list, { online: [] });
  assert.deepEqual(await b.list, { online: [ann.id] });
  // Cat shares only the large group with everyone online: nobody is listed.
  assert.deepEqual(await c.list, { online: [] });
  assert.deepEqual(await e.list, { online: [ann.id] });
});

await check("presence:subscribe answers the current presence, and then the user's presence comes", async () => {
  const answer = await ack(a.socket, "presence:subscribe", { user_ids: [cat.id, dan.id] });
  assert.equal(answer.ok, true, JSON.stringify(answer));
  assert.deepEqual(answer.presence, [
    { user_id: cat.id, status: "online", last_seen_at: null },
    { user_id: dan.id, status: "offline", last_seen_at: null },
  ]);
  const d = await connect(dan.token);
  await presenceOf(a, dan.id, "online");
  await disconnected(c);
  await presenceOf(a, cat.id, "offline");
  const offline = a.seen.find((event) => event.user_id === cat.id && event.status === "offline");
  assert.ok(!Number.isNaN(Date.parse(offline.last_seen_at)), JSON.stringify(offline));
  // Bob never subscribed: he sees neither (checked once a later arrival he does see, Fay's, reached him).
  const f = await connect(fay.token);
  await presenceOf(b, fay.id, "online");
  assert.ok(!b.seen.some((event) => [cat.id, dan.id].includes(event.user_id)), JSON.stringify(b.seen));
  f.socket.close();
  d.socket.close();
  await disconnected(e);
  await presenceOf(a, eve.id, "offline");
});

await check("presence:subscribe refuses bad input with ok:false", async () => {
  for (const payload of [{}, { user_ids: "x" }, { user_ids: [42] }, { user_ids: ["not-a-uuid"] }, "nothing"]) {
    const answer = await ack(a.socket, "presence:subscribe", payload);
    assert.equal(answer.ok, false, JSON.stringify(payload));
    assert.equal(answer.error.code, "validation_failed");
    assert.equal(typeof answer.error.message, "string");
  }
  // The bound is per socket (2 here): Cat and Dan are followed already.
  const over = await ack(a.socket, "presence:subscribe", { user_ids: [eve.id] });
  assert.equal(over.ok, false);
  assert.equal(over.error.code, "validation_failed");
  const many = await ack(a.socket, "presence:subscribe", { user_ids: [bob.id, cat.id, dan.id] });
  assert.equal(many.ok, false);
});

await check("presence:unsubscribe stops it, and frees room under the bound", async () => {
  const answer = await ack(a.socket, "presence:unsubscribe", { user_ids: [cat.id] });
  assert.deepEqual(answer, { ok: true });
  const bad = await ack(a.socket, "presence:unsubscribe", { user_ids: "x" });
  assert.equal(bad.ok, false);
  const again = await ack(a.socket, "presence:subscribe", { user_ids: [eve.id] });
  assert.equal(again.ok, true, JSON.stringify(again));
  a.seen.length = 0;
  const c2 = await connect(cat.token);
  const e2 = await connect(eve.token);
  await presenceOf(a, eve.id, "online");
  assert.ok(!a.seen.some((event) => event.user_id === cat.id), JSON.stringify(a.seen));
  await disconnected(c2);
  await disconnected(e2);
  await presenceOf(a, eve.id, "offline");
});

await check("a user with two sockets who closes both is announced offline", async () => {
  const b2 = await connect(bob.token);
  await b2.list;
  a.seen.length = 0;
  await disconnected(b);
  // Still online through the second socket: a later arrival (Eve) comes first, with no offline of Bob before.
  const e3 = await connect(eve.token);
  await presenceOf(a, eve.id, "online");
  assert.ok(!a.seen.some((event) => event.user_id === bob.id), JSON.stringify(a.seen));
  await disconnected(b2);
  await presenceOf(a, bob.id, "offline");
  e3.socket.close();
});

a.socket.close();
process.exit(process.exitCode ?? 0);
