"""A fake Telegram Bot API server on 127.0.0.1 for feed tests: real HTTP, real JSON.

Serves `/bot<token>/<method>` for getMe, getUpdates, sendMessage and deleteWebhook, taking
parameters from a JSON body, a form body or the query string like the real server.
getUpdates behaves like Telegram's: an `offset` confirms (deletes) every update below it, and
with nothing to return the request is held open for up to `timeout` seconds, answered early
when an update arrives. A wrong token gets 401.

Tests script trouble per method with `script(method, Scripted(...))`: an error status and body,
a raw (non-JSON, truncated) body, or a stall before answering. Every call is recorded in
`calls`, in arrival order.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "CONFLICT_POLLER",
    "CONFLICT_WEBHOOK",
    "Call",
    "FakeTelegram",
    "Scripted",
    "running_fake",
]

CONFLICT_POLLER = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
_MAX_HOLD = 5.0  # never hold a long poll longer than this, whatever a test asks


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    params: dict[str, Any]
    token: str
    at: float  # time.monotonic() when the request arrived


@dataclass(slots=True)
class Scripted:
    """One scripted answer. `body` dict -> JSON; bytes -> sent as is. `stall` seconds first.

    `truncate` sends a Content-Length larger than the body and closes the connection: the
    client sees the answer cut off mid-way.
    """

    status: int = 200
    body: dict[str, Any] | bytes | None = None
    stall: float = 0.0
    truncate: bool = False
    content_type: str = "application/json"

    @classmethod
    def error(cls, code: int, description: str, *, retry_after: int | None = None) -> Scripted:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return cls(status=code, body=body)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up (a closed feed, a timed-out reply) are part of the tests


@dataclass
class FakeTelegram:
    token: str
    bot: dict[str, Any] = field(
        default_factory=lambda: {
            "id": 7000000001,
            "is_bot": True,
            "first_name": "Зерно",
            "username": "zerno_coffee_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
        }
    )
    calls: list[Call] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    webhook_url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 500000001
        self._next_message_id = 9000
        self._scripts: dict[str, deque[Scripted]] = {}
        self._closing = threading.Event()
        self._releases = 0  # bumped by release_polls(): held polls answer at once
        self.server: ThreadingHTTPServer | None = None

    # -- what tests use --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update; one without an update_id gets the next one."""
        with self._lock:
            if "update_id" not in update:
                update = {"update_id": self._next_update_id, **update}
            if isinstance(update.get("update_id"), int):
                self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
            self._updates.append(update)
            self._lock.notify_all()
        return update

    def add_raw_update(self, update: Any) -> None:
        """Queue anything at all, for malformed-update tests."""
        with self._lock:
            self._updates.append(update)
            self._lock.notify_all()

    def pending(self) -> list[int]:
        """update_ids the server still holds (not yet confirmed by an offset)."""
        with self._lock:
            return [u["update_id"] for u in self._updates if isinstance(u, dict)]

    def release_polls(self) -> None:
        """Answer every held long poll now (empty), as if its timeout had passed."""
        with self._lock:
            self._releases += 1
            self._lock.notify_all()

    def script(self, method: str, *answers: Scripted) -> None:
        with self._lock:
            self._scripts.setdefault(method, deque()).extend(answers)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def wait_for_call(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.calls_to(method)
            if len(calls) >= count:
                return calls
            time.sleep(0.01)
        raise AssertionError(f"expected {count} call(s) to {method}, got {self.calls_to(method)}")

    # -- serving ---------------------------------------------------------------------------

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake._handle(self, b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                fake._handle(self, self.rfile.read(length))

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the default writes every request (with its token) to stderr

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        # A short poll interval: shutdown() waits up to one interval.
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def stop(self) -> None:
        self._closing.set()
        with self._lock:
            self._lock.notify_all()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        parsed = urllib.parse.urlsplit(handler.path)
        parts = parsed.path.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            self._send(handler, Scripted.error(404, "Not Found"))
            return
        token, method = urllib.parse.unquote(parts[0][3:]), parts[1]
        params = self._params(handler, parsed.query, body)
        with self._lock:
            self.calls.append(Call(method, params, token, time.monotonic()))
            scripted = self._scripts.get(method)
            answer = scripted.popleft() if scripted else None
        if answer is not None:
            if answer.stall:
                self._closing.wait(answer.stall)
            self._send(handler, answer)
            return
        if token != self.token:
            self._send(handler, Scripted.error(401, "Unauthorized"))
            return
        handlers = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "deleteWebhook": self._delete_webhook,
        }
        if method not in handlers:
            self._send(handler, Scripted.error(404, "Not Found: method not found"))
            return
        self._send(handler, handlers[method](params))

    @staticmethod
    def _params(handler: BaseHTTPRequestHandler, query: str, body: bytes) -> dict[str, Any]:
        params: dict[str, Any] = dict(urllib.parse.parse_qsl(query))
        content_type = handler.headers.get("content-type", "")
        if body and content_type.startswith("application/json"):
            params.update(json.loads(body))
        elif body:
            params.update(urllib.parse.parse_qsl(body.decode()))
        return params

    def _send(self, handler: BaseHTTPRequestHandler, answer: Scripted) -> None:
        if isinstance(answer.body, bytes):
            data = answer.body
        else:
            data = json.dumps(answer.body or {}, ensure_ascii=False).encode()
        try:
            handler.send_response(answer.status)
            handler.send_header("Content-Type", answer.content_type)
            length = len(data) * 2 + 10 if answer.truncate else len(data)
            handler.send_header("Content-Length", str(length))
            if answer.truncate:
                handler.send_header("Connection", "close")
                handler.close_connection = True
            handler.end_headers()
            handler.wfile.write(data)
            handler.wfile.flush()
        except OSError:
            pass  # the client gave up (closed during a long poll)

    # -- methods ---------------------------------------------------------------------------

    def _get_me(self, params: dict[str, Any]) -> Scripted:
        return Scripted(body={"ok": True, "result": self.bot})

    def _get_updates(self, params: dict[str, Any]) -> Scripted:
        if self.webhook_url:
            return Scripted.error(409, CONFLICT_WEBHOOK)
        offset = int(params.get("offset", 0) or 0)
        timeout = min(float(params.get("timeout", 0) or 0), _MAX_HOLD)
        limit = int(params.get("limit", 100) or 100)
        deadline = time.monotonic() + timeout
        with self._lock:
            releases = self._releases
            while True:
                if offset:
                    # Like Telegram: an offset confirms, and forgets, everything below it.
                    self._updates = [
                        u
                        for u in self._updates
                        if not (isinstance(u, dict) and isinstance(u.get("update_id"), int))
                        or u["update_id"] >= offset
                    ]
                if self._updates:
                    return Scripted(body={"ok": True, "result": self._updates[:limit]})
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closing.is_set() or self._releases != releases:
                    return Scripted(body={"ok": True, "result": []})
                self._lock.wait(remaining)

    def _send_message(self, params: dict[str, Any]) -> Scripted:
        if "chat_id" not in params or not params.get("text"):
            return Scripted.error(400, "Bad Request: message text is empty")
        with self._lock:
            self._next_message_id += 1
            message_id = self._next_message_id
            self.sent.append(params)
        chat_id = params["chat_id"]
        result: dict[str, Any] = {
            "message_id": message_id,
            "from": self.bot,
            "chat": {"id": chat_id, "type": "private" if int(chat_id) > 0 else "supergroup"},
            "date": int(time.time()),
            "text": params["text"],
        }
        return Scripted(body={"ok": True, "result": result})

    def _delete_webhook(self, params: dict[str, Any]) -> Scripted:
        self.webhook_url = ""
        return Scripted(body={"ok": True, "result": True, "description": "Webhook was deleted"})


@contextmanager
def running_fake(token: str) -> Iterator[FakeTelegram]:
    fake = FakeTelegram(token)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
