"""A fake VK API on 127.0.0.1 for the VK feed's tests: real HTTP, real JSON, real vk_api client.

Serves `/method/<name>` (parameters from a form body or the query string, as vk_api posts them)
for groups.getLongPollServer, groups.getById, users.get, wall.getById, messages.send,
wall.createComment and newsfeed.search, and the Bots Long Poll server at `/lp`
(`?act=a_check&key=..&ts=..&wait=..`). Answers use API 5.199's shapes: {"response": ...} or
{"error": {"error_code", "error_msg", "request_params"}}.

The long poll behaves like VK's: every pushed update gets the next event number; a_check with
`ts` returns the updates from number `ts` on and the next `ts`, holding the request up to `wait`
seconds while there are none. A key that was never issued or has expired gets {"failed": 2}; a
`ts` older than the kept history (see `forget_history`) gets {"failed": 1, "ts": <oldest kept>}.

As VK does, wall.getById and newsfeed.search refuse a community token (error 27), messages.send
and wall.createComment refuse a repeated random_id / guid by answering the first id again, and
an unknown token gets error 5.

Tests script trouble with `script(method, Fault(...))`, where method is an API method name or
"a_check" for the long poll: a VK error code, an HTTP status, a raw (truncated, non-JSON) body, a
long-poll `failed`, or a stall before answering. Every request is recorded in `calls`, with the
token reduced to which one it was ("community", "service", "invalid", "none").
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
    "COMMUNITY_TOKEN",
    "GROUP_ID",
    "LONG_POLL",
    "SERVICE_TOKEN",
    "Call",
    "FakeVk",
    "Fault",
    "message_new",
    "running_fake",
]

COMMUNITY_TOKEN = "vk1.a.fake-community-token-7Qm2Lw"
SERVICE_TOKEN = "fake-service-token-9Zx4Rt"
GROUP_ID = 218000001
LONG_POLL = "a_check"
_MAX_HOLD = 5.0  # never hold a long poll longer than this, whatever a test asks
_ERROR_MESSAGES = {
    3: "Unknown method passed",
    5: "User authorization failed: invalid access_token (4).",
    6: "Too many requests per second",
    9: "Flood control",
    10: "Internal server error",
    14: "Captcha needed",
    15: "Access denied",
    27: "Group authorization failed: method is unavailable with group auth.",
    29: "Rate limit reached",
    100: "One of the parameters specified was missing or invalid",
    901: "Can't send messages for users without permission",
}


@dataclass(frozen=True, slots=True)
class Call:
    method: str  # an API method, or "a_check" for the long poll
    params: dict[str, str]  # without access_token
    token: str  # "community", "service", "invalid" or "none": never the token itself
    at: float  # time.monotonic() when the request arrived


@dataclass(slots=True)
class Fault:
    """One scripted misbehaviour. Checked in this order: stall, status, body, failed, error."""

    error: int | None = None  # answer {"error": {...}} with this VK error code
    status: int = 200  # an HTTP status other than 200: server trouble
    body: bytes | None = None  # sent as is: truncated or non-JSON
    failed: int | None = None  # long poll only: {"failed": n} (1 also carries the current ts)
    ts: str | None = None  # the ts sent with failed 1; default the current one
    stall: float = 0.0  # seconds to wait before answering (past the client's read timeout)
    sticky: bool = False  # keep answering like this until `clear`

    @classmethod
    def api_error(cls, code: int, *, sticky: bool = False) -> Fault:
        return cls(error=code, sticky=sticky)

    @classmethod
    def http(cls, status: int = 500, *, sticky: bool = False) -> Fault:
        return cls(status=status, body=b"<html>502 Bad Gateway</html>", sticky=sticky)

    @classmethod
    def garbage(cls, *, sticky: bool = False) -> Fault:
        return cls(body=b'{"response": {"key": "abc", "ser', sticky=sticky)

    @classmethod
    def long_poll_failed(cls, code: int, *, ts: str | None = None) -> Fault:
        return cls(failed=code, ts=ts)

    @classmethod
    def stalled(cls, seconds: float) -> Fault:
        return cls(stall=seconds)


class _ApiError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class FakeVk:
    group_id: int = GROUP_ID
    first_ts: int = 100
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    groups: dict[int, dict[str, Any]] = field(default_factory=dict)
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)  # "owner_post" -> post
    search_posts: list[dict[str, Any]] = field(default_factory=list)
    search_page_size: int = 200  # lower it to make newsfeed.search paginate
    calls: list[Call] = field(default_factory=list)
    sent: list[dict[str, str]] = field(default_factory=list)  # messages.send that posted
    comments: list[dict[str, str]] = field(default_factory=list)  # wall.createComment ditto

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self._events: list[dict[str, Any]] = []
        self._oldest = self.first_ts  # event numbers below this are forgotten
        self._keys: set[str] = set()
        self._issued = 0
        self._faults: dict[str, deque[Fault]] = {}
        self._random_ids: dict[tuple[str, str], int] = {}
        self._guids: dict[str, int] = {}
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def base(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._closing.set()
        with self._cond:
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- scripting -------------------------------------------------------------------------

    def push(self, *updates: dict[str, Any]) -> None:
        """Add long-poll updates; a held a_check answers at once."""
        with self._cond:
            self._events.extend(updates)
            self._cond.notify_all()

    def script(self, method: str, *faults: Fault) -> None:
        with self._cond:
            self._faults.setdefault(method, deque()).extend(faults)
            self._cond.notify_all()

    def clear(self, method: str | None = None) -> None:
        with self._cond:
            if method is None:
                self._faults.clear()
            else:
                self._faults.pop(method, None)

    def expire_keys(self) -> None:
        """Every issued long-poll key stops working: the next a_check gets failed 2."""
        with self._cond:
            self._keys.clear()

    def forget_history(self) -> None:
        """VK drops the events kept so far: an a_check with an older ts gets failed 1."""
        with self._cond:
            self._oldest = self.current_ts

    @property
    def current_ts(self) -> int:
        return self.first_ts + len(self._events)

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [call for call in self.calls if call.method == method]

    # -- dispatch --------------------------------------------------------------------------

    def _next_fault(self, method: str) -> Fault | None:
        with self._cond:
            faults = self._faults.get(method)
            if not faults:
                return None
            fault = faults[0]
            if not fault.sticky:
                faults.popleft()
            return fault

    def _record(self, method: str, params: dict[str, str]) -> str:
        token = params.pop("access_token", None)
        label = {COMMUNITY_TOKEN: "community", SERVICE_TOKEN: "service", None: "none"}.get(
            token, "invalid"
        )
        with self._cond:
            self.calls.append(Call(method, dict(params), label, time.monotonic()))
        return label

    def handle_api(self, method: str, params: dict[str, str]) -> tuple[int, bytes]:
        token = self._record(method, params)
        fault = self._next_fault(method)
        if fault is not None:
            answer = self._fault_answer(fault, method, params)
            if answer is not None:
                return answer
        try:
            if token not in ("community", "service"):
                raise _ApiError(5)
            handler = getattr(self, "_m_" + method.replace(".", "_"), None)
            if handler is None:
                raise _ApiError(3)
            result = handler(params, token)
        except _ApiError as exc:
            return 200, _json(_error(exc.code, method, params))
        except (KeyError, ValueError):
            return 200, _json(_error(100, method, params))
        return 200, _json({"response": result})

    def _fault_answer(
        self, fault: Fault, method: str, params: dict[str, str]
    ) -> tuple[int, bytes] | None:
        if fault.stall:
            self._closing.wait(fault.stall)
        if fault.status != 200:
            return fault.status, fault.body or b""
        if fault.body is not None:
            return 200, fault.body
        if fault.failed is not None:
            answer: dict[str, Any] = {"failed": fault.failed}
            if fault.failed == 1:
                answer["ts"] = fault.ts or str(self.current_ts)
            return 200, _json(answer)
        if fault.error is not None:
            return 200, _json(_error(fault.error, method, params))
        return None  # a bare stall: answer normally, late

    def handle_long_poll(self, params: dict[str, str]) -> tuple[int, bytes]:
        self._record(LONG_POLL, params)
        fault = self._next_fault(LONG_POLL)
        if fault is not None:
            answer = self._fault_answer(fault, LONG_POLL, params)
            if answer is not None:
                return answer
        if params.get("act") != "a_check":
            return 200, _json({"failed": 4})
        wait = min(float(params.get("wait", "0") or 0), _MAX_HOLD)
        deadline = time.monotonic() + wait
        with self._cond:
            if params.get("key") not in self._keys:
                return 200, _json({"failed": 2})
            try:
                ts = int(params.get("ts", ""))
            except ValueError:
                return 200, _json({"failed": 1, "ts": str(self.current_ts)})
            if ts < self._oldest:
                # As VK: carry on from the oldest event still kept.
                return 200, _json({"failed": 1, "ts": str(self._oldest)})
            if ts > self.current_ts:
                return 200, _json({"failed": 1, "ts": str(self.current_ts)})
            # Hold until an update arrives, `wait` runs out, or a test scripts a fault (answered
            # at once, as if VK had just failed this request).
            while self.current_ts <= ts and not self._closing.is_set():
                remaining = deadline - time.monotonic()
                if self._faults.get(LONG_POLL) or remaining <= 0:
                    break
                self._cond.wait(remaining)
            if self.current_ts > ts or not self._faults.get(LONG_POLL):
                updates = self._events[ts - self.first_ts :]
                return 200, _json({"ts": str(self.current_ts), "updates": updates})
        fault = self._next_fault(LONG_POLL)
        held = self._fault_answer(fault, LONG_POLL, params) if fault is not None else None
        return held or (200, _json({"ts": str(self.current_ts), "updates": []}))

    # -- methods ---------------------------------------------------------------------------

    def _m_groups_getLongPollServer(self, params: dict[str, str], token: str) -> Any:
        if token != "community":
            raise _ApiError(27)
        if int(params["group_id"]) != self.group_id:
            raise _ApiError(100)
        with self._cond:
            self._issued += 1
            key = f"lpkey{self._issued:04d}"
            self._keys.add(key)
            ts = self.current_ts
        return {"key": key, "server": f"{self.base}/lp", "ts": str(ts)}

    def _m_groups_getById(self, params: dict[str, str], token: str) -> Any:
        ids = params.get("group_ids") or params.get("group_id") or str(self.group_id)
        found = [self.groups[int(i)] for i in ids.split(",") if int(i) in self.groups]
        return {"groups": found, "profiles": []}

    def _m_users_get(self, params: dict[str, str], token: str) -> Any:
        ids = [int(i) for i in params["user_ids"].split(",") if i]
        return [self.users[i] for i in ids if i in self.users]

    def _m_wall_getById(self, params: dict[str, str], token: str) -> Any:
        if token != "service":
            raise _ApiError(27)
        keys = params["posts"].split(",")
        return {"items": [self.posts[k] for k in keys if k in self.posts]}

    def _m_messages_send(self, params: dict[str, str], token: str) -> Any:
        if token != "community":
            raise _ApiError(27)
        key = (params["peer_id"], params["random_id"])
        if not params.get("message"):
            raise _ApiError(100)
        with self._cond:
            if key not in self._random_ids:
                self._random_ids[key] = 7000 + len(self._random_ids) + 1
                self.sent.append(dict(params))
            return self._random_ids[key]

    def _m_wall_createComment(self, params: dict[str, str], token: str) -> Any:
        if token != "community":
            raise _ApiError(27)
        guid = params.get("guid") or f"no-guid-{len(self.comments)}"
        if int(params["owner_id"]) != -self.group_id or int(params["post_id"]) <= 0:
            raise _ApiError(15)  # a community token comments on its own wall only
        with self._cond:
            if guid not in self._guids:
                self._guids[guid] = 9000 + len(self._guids) + 1
                self.comments.append(dict(params))
            comment_id = self._guids[guid]
        parents = [int(params["reply_to_comment"])] if params.get("reply_to_comment") else []
        return {"comment_id": comment_id, "parents_stack": parents}

    def _m_newsfeed_search(self, params: dict[str, str], token: str) -> Any:
        if token != "service":
            raise _ApiError(27)
        query = params.get("q", "").casefold()
        start_time = int(params.get("start_time", "0") or 0)
        hits = sorted(
            (
                post
                for post in self.search_posts
                if query in str(post.get("text", "")).casefold() and post["date"] >= start_time
            ),
            key=lambda post: post["date"],
            reverse=True,
        )
        offset = int(params.get("start_from", "0") or 0)
        size = min(int(params.get("count", "30")), self.search_page_size)
        page = hits[offset : offset + size]
        answer: dict[str, Any] = {
            "items": page,
            "count": len(page),
            "total_count": len(hits),
        }
        if offset + size < len(hits):
            answer["next_from"] = str(offset + size)
        authors = {post.get("from_id", post["owner_id"]) for post in page}
        if params.get("extended") == "1":
            answer["profiles"] = [self.users[a] for a in authors if a in self.users]
            answer["groups"] = [self.groups[-a] for a in authors if -a in self.groups]
        return answer


def _error(code: int, method: str, params: dict[str, str]) -> dict[str, Any]:
    # Like VK: the request's parameters echoed back, never the access token.
    request_params = [{"key": "method", "value": method}] + [
        {"key": key, "value": value} for key, value in params.items() if key != "access_token"
    ]
    error: dict[str, Any] = {
        "error_code": code,
        "error_msg": _ERROR_MESSAGES.get(code, "Unknown error occurred"),
        "request_params": request_params,
    }
    if code == 14:
        error["captcha_sid"] = "548915327151"
        error["captcha_img"] = "https://api.vk.ru/captcha.php?sid=548915327151&s=1"
    return {"error": error}


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    fake: FakeVk

    def do_GET(self) -> None:
        self._dispatch(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._dispatch(self.rfile.read(length) if length else b"")

    def _dispatch(self, body: bytes) -> None:
        url = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        if body:
            params.update(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        if url.path.startswith("/method/"):
            status, payload = self.fake.handle_api(url.path.removeprefix("/method/"), params)
        elif url.path == "/lp":
            status, payload = self.fake.handle_long_poll(params)
        else:
            status, payload = 404, b"not found"
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up (a stall past its timeout)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet


def message_new(n: int, text: str, from_id: int) -> dict[str, Any]:
    """The `n`th message_new update of a test, in the documented shape: event n, message id
    5000 + n, conversation message id 400 + n (native id message_new:<from_id>_<400 + n>)."""
    return {
        "group_id": GROUP_ID,
        "type": "message_new",
        "event_id": f"{n:040x}",
        "v": "5.199",
        "object": {
            "message": {
                "date": 1_795_423_200 + n,
                "from_id": from_id,
                "id": 5000 + n,
                "out": 0,
                "attachments": [],
                "conversation_message_id": 400 + n,
                "fwd_messages": [],
                "important": False,
                "is_hidden": False,
                "peer_id": from_id,
                "random_id": 0,
                "text": text,
            },
            "client_info": {"button_actions": ["text"], "keyboard": True, "lang_id": 0},
        },
    }


@contextmanager
def running_fake(**kwargs: Any) -> Iterator[FakeVk]:
    fake = FakeVk(**kwargs)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
