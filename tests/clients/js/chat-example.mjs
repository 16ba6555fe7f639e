// Drives `cargo run -p epop-socketio --example chat` with the official JavaScript client: a connect refused
// without a name, the default transport (polling, then the upgrade to WebSocket) and WebSocket alone, acks,
// and a chat message reaching the room's other member but not its sender. Usage: node chat-example.mjs URL
import assert from "node:assert/strict";
import { io } from "socket.io-client";

const url = process.argv[2];

function connect(name, options = {}) {
  return new Promise((resolve, reject) => {
    const socket = io(url, { auth: { name }, reconnection: false, timeout: 5000, ...options });
    socket.once("welcome", (welcome) => resolve([socket, welcome]));
    socket.once("connect_error", (error) => {
      socket.close();
      reject(error);
    });
  });
}

async function until(condition, what) {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

await assert.rejects(connect(""), (error) => error.message === "a name is required");

const [ann, welcome] = await connect("ann");
assert.deepEqual(welcome, { name: "ann", room: "lobby" });
await until(() => ann.io.engine.transport.name === "websocket", "the upgrade to WebSocket");

const [bob] = await connect("bob", { transports: ["websocket"] });
const [cat] = await connect("cat", { transports: ["polling"] });
assert.deepEqual(await cat.timeout(5000).emitWithAck("join", { room: "rust" }), { ok: true });
assert.deepEqual(await bob.timeout(5000).emitWithAck("join", { room: "rust" }), { ok: true });

let echoed = false;
bob.on("chat", () => {
  echoed = true;
});
const atCat = new Promise((resolve) => cat.once("chat", resolve));
assert.deepEqual(await bob.timeout(5000).emitWithAck("chat", { room: "rust", text: "hello" }), { ok: true });
assert.deepEqual(await atCat, { from: "bob", room: "rust", text: "hello" });
assert.deepEqual(await ann.timeout(5000).emitWithAck("chat", { room: "rust", text: "not a member" }), {
  ok: false,
  error: "unknown event or room",
});
assert.equal(echoed, false, "the sender does not get its own message");

const left = new Promise((resolve) => ann.once("left", resolve));
bob.close();
assert.deepEqual(await left, { name: "bob" });
ann.close();
cat.close();
console.log("ok - the official client chats through the example server");
process.exit(0);
