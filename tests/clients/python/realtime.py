"""End-to-end checks of docs/api.md's real-time section with python-socketio, unmodified.

Usage: python realtime.py <gateway base URL>. Prints `ok - ...` per check; exits non-zero when one fails.
"""

import sys
import threading
import time
import uuid

import requests
import socketio

BASE = sys.argv[1]
FAILED = False


def api(method, path, token=None, body=None):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = requests.request(method, BASE + path, json=body, headers=headers, timeout=10)
    return response.status_code, (response.json() if response.text else None)


def register(name):
    status, body = api("POST", "/api/auth/register", body={
        "name": name, "email": f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com", "password": "correct horse battery"})
    assert status == 201, status
    return body["user"]["id"], body["access_token"]


def check(name, body):
    global FAILED
    try:
        body()
        print(f"ok - {name}", flush=True)
    except Exception as error:  # noqa: BLE001 - report every failure and go on
        FAILED = True
        print(f"not ok - {name}: {error!r}", flush=True)


class Recorder:
    """Collects events of one client and lets a check wait for them."""

    def __init__(self, client, *events):
        self.cond = threading.Condition()
        self.seen = {event: [] for event in events}
        for event in events:
            client.on(event, self._handler(event))

    def _handler(self, event):
        def handle(data):
            with self.cond:
                self.seen[event].append(data)
                self.cond.notify_all()
        return handle

    def wait(self, event, timeout=5):
        deadline = time.time() + timeout
        with self.cond:
            while not self.seen[event]:
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError(f"no {event} within {timeout} s")
                self.cond.wait(left)
            return self.seen[event].pop(0)


ann_id, ann = register("Ann")
bob_id, bob = register("Bob")
status, group = api("POST", "/api/conversations", ann, {"type": "group", "name": "Py", "member_ids": [bob_id]})
assert status == 201
conversation = group["id"]


def refused():
    client = socketio.Client(reconnection=False)
    errors = []
    client.on("connect_error", errors.append)
    try:
        client.connect(BASE, auth={"token": "nope"}, transports=["websocket"], wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        assert errors == [{"message": "unauthorized"}], errors
        return
    raise AssertionError("a bad token connected")


check("a bad token is refused", refused)

receiver = socketio.Client(reconnection=False)
received = Recorder(receiver, "message:new", "presence:list")
receiver.connect(BASE, auth={"token": bob}, wait_timeout=5)


def presence():
    listed = received.wait("presence:list")
    assert listed == {"online": []}, listed


check("presence:list arrives on connect", presence)
sender = socketio.Client(reconnection=False)
sender.connect(BASE, auth={"token": ann}, transports=["websocket"], wait_timeout=5)


def upgraded():
    deadline = time.time() + 5
    while receiver.transport() != "websocket" and time.time() < deadline:
        time.sleep(0.05)
    assert receiver.transport() == "websocket", receiver.transport()


def send_and_receive():
    ack = sender.call("message:send", {"conversation_id": conversation, "content": "from python"}, timeout=5)
    assert ack["ok"] is True, ack
    message = received.wait("message:new")
    assert message["id"] == ack["message"]["id"]
    assert message["content"] == "from python"


def rest_message():
    status, sent = api("POST", f"/api/conversations/{conversation}/messages", ann, {"content": "over REST"})
    assert status == 201
    assert received.wait("message:new")["id"] == sent["id"]


def bad_payload():
    ack = sender.call("message:send", {"content": "no conversation"}, timeout=5)
    assert ack == {"ok": False, "error": {"code": "validation_failed", "message": ack["error"]["message"]}}, ack


check("the default transport upgrades to WebSocket", upgraded)
check("message:send is acknowledged and delivered to the other member", send_and_receive)
check("a REST message is delivered as message:new", rest_message)
check("an invalid event payload is answered with validation_failed", bad_payload)

sender.disconnect()
receiver.disconnect()
sys.exit(1 if FAILED else 0)
