"""A webhook receiver for the integration tests: verifies every delivery with the Standard Webhooks reference
library (PyPI `standardwebhooks`) against the secrets the test gave it, records what arrived, and answers as the
test planned (a status, a `Retry-After`, or a long wait before answering).

It listens on 127.0.0.1 (a free port, printed as the first line of stdout: `{"port": N}`).

- `POST /hooks/<name>`: a delivery to the hook `<name>`; answered by the next planned response of that hook, or
  `200` when none is left.
- `POST /_control/secrets/<name>` `{"secrets": [...]}`: the secrets (`whsec_...`) each delivery to `<name>` is
  verified with, each on its own (a record says which of them verified it).
- `POST /_control/plan/<name>` `{"responses": [{"status": 500}, {"status": 429, "retry_after": "120"},
  {"hang": 30}, ...]}`: the answers to the next deliveries, in order.
- `GET /_control/received`: every delivery so far, in arrival order: `{name, webhook_id, timestamp, body,
  verified: [bool per secret], signatures, answered}`.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

LOCK = threading.Lock()
SECRETS = {}
PLANS = {}
RECEIVED = []


def verified_with(secrets, body, headers):
    results = []
    for secret in secrets:
        try:
            Webhook(secret).verify(body, headers)
            results.append(True)
        except WebhookVerificationError:
            results.append(False)
    return results


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status, payload=None, headers=()):
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_control/received":
            with LOCK:
                self.reply(200, list(RECEIVED))
        else:
            self.reply(404, {"error": "unknown path"})

    def do_POST(self):
        body = self.body()
        parts = self.path.strip("/").split("/")
        if parts[:2] == ["_control", "secrets"] and len(parts) == 3:
            with LOCK:
                SECRETS[parts[2]] = json.loads(body)["secrets"]
            self.reply(204)
        elif parts[:2] == ["_control", "plan"] and len(parts) == 3:
            with LOCK:
                PLANS.setdefault(parts[2], []).extend(json.loads(body)["responses"])
            self.reply(204)
        elif parts[0] == "hooks" and len(parts) == 2:
            self.delivery(parts[1], body)
        else:
            self.reply(404, {"error": "unknown path"})

    def delivery(self, name, body):
        headers = {
            "webhook-id": self.headers.get("webhook-id", ""),
            "webhook-timestamp": self.headers.get("webhook-timestamp", ""),
            "webhook-signature": self.headers.get("webhook-signature", ""),
        }
        with LOCK:
            secrets = list(SECRETS.get(name, []))
            plan = PLANS.get(name, [])
            answer = plan.pop(0) if plan else {"status": 200}
        record = {
            "name": name,
            "webhook_id": headers["webhook-id"],
            "timestamp": headers["webhook-timestamp"],
            "signatures": headers["webhook-signature"].split(" "),
            "body": body.decode("utf-8", "replace"),
            "verified": verified_with(secrets, body, headers),
            "answered": answer.get("status", 200),
            "hung": "hang" in answer,
        }
        with LOCK:
            RECEIVED.append(record)
        if "hang" in answer:
            time.sleep(answer["hang"])
        extra = []
        if "retry_after" in answer:
            extra.append(("retry-after", str(answer["retry_after"])))
        try:
            self.reply(answer.get("status", 200), {"ok": True}, extra)
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
