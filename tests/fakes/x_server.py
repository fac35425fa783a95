"""A fake X API v2 on 127.0.0.1, so the X feed's tests run real tweepy over real HTTP.

It serves GET /2/users/me, /2/users/:id, /2/users/:id/mentions, /2/tweets/:id and
POST /2/tweets with the shapes X documents (data / includes / meta / errors), checks the
credentials it was given, and records every request. Faults are scripted per route:

    fake.fail("429", route="mentions", reset=epoch)   # 429 with x-rate-limit-* headers
    fake.fail("stall", route="post")                  # take the tweet, then answer too late
    fake.fail("garbage", route="mentions", times=2)   # 200 with an HTML body
    fake.fail("500", route="mentions", after=1)       # let one through, fail the next

Kinds: "401", "403", "429", "500", "503", "stall", "truncated" (JSON cut short, with a
matching Content-Length), "garbage" (not JSON), "reset" (close without answering), and "body"
(any raw body, given as `body=`). A POST that stalls or resets has still created its tweet:
that is what makes the outcome unknown.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

ROUTES = ("me", "user", "mentions", "tweet", "post")
_DEFAULT_TWEET_FIELDS = ("id", "text", "edit_history_tweet_ids")
_DEFAULT_USER_FIELDS = ("id", "name", "username")
_OAUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    route: str
    query: dict[str, str]
    body: Any
    authorized: bool  # an Authorization header was present
    scheme: str | None  # "Bearer" or "OAuth"


@dataclass
class Fault:
    kind: str
    route: str
    times: int
    reset: int | None = None
    body: bytes = b""
    after: int = 0  # matching requests to let through first


@dataclass
class Credentials:
    bearer: str
    consumer_key: str
    access_token: str
    # An app-only bearer token cannot call /2/users/me or post, as on the real X.
    app_only_bearer: bool = True


@dataclass
class FakeX:
    credentials: Credentials
    me: dict[str, Any]
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    tweets: dict[str, dict[str, Any]] = field(default_factory=dict)
    mentions: list[str] = field(default_factory=list)
    stall_seconds: float = 5.0

    def __post_init__(self) -> None:
        self.users.setdefault(self.me["id"], self.me)
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._requests: list[Recorded] = []
        self._release = threading.Event()
        self._next_id = 1_900_000_000_000_000_000
        self._server: ThreadingHTTPServer | None = None

    # -- set-up ----------------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: Path, credentials: Credentials) -> FakeX:
        world = json.loads(path.read_text(encoding="utf-8"))
        fake = cls(credentials, world["me"])
        for user in world["users"]:
            fake.users[user["id"]] = user
        for tweet in world["tweets"]:
            fake.tweets[tweet["id"]] = tweet
        fake.mentions.extend(world["mentions"])
        return fake

    def add_mention(self, tweet: dict[str, Any]) -> None:
        with self._lock:
            self.tweets[tweet["id"]] = tweet
            self.mentions.append(tweet["id"])

    def fail(
        self,
        kind: str,
        *,
        route: str = "*",
        times: int = 1,
        reset: int | None = None,
        body: bytes = b"",
        after: int = 0,
    ) -> None:
        assert route == "*" or route in ROUTES, route
        with self._lock:
            self._faults.append(Fault(kind, route, times, reset, body, after))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- inspection ------------------------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, route: str) -> list[Recorded]:
        return [r for r in self.requests if r.route == route]

    @property
    def posts(self) -> list[Any]:
        """Bodies of every POST /2/tweets that reached the server, answered or not."""
        return [r.body for r in self.requests_to("post")]

    # -- serving ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeX:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for it, once per test.
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def close(self) -> None:
        self._release.set()  # end any stall
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeX:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- request handling (server threads) -------------------------------------------------

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self._requests.append(request)

    def _take_fault(self, route: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.route in ("*", route):
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _auth(self, header: str | None) -> tuple[str | None, bool]:
        """(scheme, valid) of an Authorization header."""
        if not header:
            return None, False
        scheme, _, rest = header.partition(" ")
        if scheme == "Bearer":
            return scheme, rest == self.credentials.bearer
        if scheme == "OAuth":
            params = {k: unquote(v) for k, v in _OAUTH_PARAM.findall(rest)}
            valid = (
                params.get("oauth_consumer_key") == self.credentials.consumer_key
                and params.get("oauth_token") == self.credentials.access_token
                and bool(params.get("oauth_signature"))
            )
            return scheme, valid
        return scheme, False

    def _answer(
        self,
        route: str,
        method: str,
        parts: list[str],
        query: Mapping[str, str],
        body: Any,
        auth: str,
    ) -> tuple[int, Any]:
        if route == "me":
            if auth == "Bearer" and self.credentials.app_only_bearer:
                return 403, _unsupported_auth()
            return 200, {"data": _user_view(self.me, query)}
        if route == "user":
            user = self.users.get(parts[2])
            if user is None:
                return 200, {"errors": [_not_found("user", parts[2])]}
            return 200, {"data": _user_view(user, query)}
        if route == "tweet":
            tweet = self.tweets.get(parts[2])
            if tweet is None:
                return 200, {"errors": [_not_found("tweet", parts[2])]}
            return 200, {"data": _tweet_view(tweet, query)}
        if route == "mentions":
            return self._mentions(parts[2], query)
        return self._post(body, auth)

    def _mentions(self, user_id: str, query: Mapping[str, str]) -> tuple[int, Any]:
        max_results = int(query.get("max_results", "10"))
        if not 5 <= max_results <= 100:
            return 400, _invalid("max_results", str(max_results))
        if user_id != self.me["id"]:
            return 200, {"meta": {"result_count": 0}}
        with self._lock:
            found = [self.tweets[i] for i in self.mentions]
        since = query.get("since_id")
        if since is not None:
            found = [t for t in found if int(t["id"]) > int(since)]
        start = query.get("start_time")
        if start is not None:
            after = datetime.fromisoformat(start)
            found = [t for t in found if datetime.fromisoformat(t["created_at"]) >= after]
        found.sort(key=lambda t: int(t["id"]), reverse=True)
        offset = 0
        token = query.get("pagination_token")
        if token is not None:
            if not token.startswith("next-"):
                return 400, _invalid("pagination_token", token)
            offset = int(token.removeprefix("next-"))
        page = found[offset : offset + max_results]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"], meta["oldest_id"] = page[0]["id"], page[-1]["id"]
        if offset + max_results < len(found):
            meta["next_token"] = f"next-{offset + max_results}"
        if not page:
            return 200, {"meta": meta}
        payload: dict[str, Any] = {"data": [_tweet_view(t, query) for t in page], "meta": meta}
        payload["includes"] = self._includes(page, query)
        return 200, payload

    def _includes(self, page: list[dict[str, Any]], query: Mapping[str, str]) -> dict[str, Any]:
        expansions = set(query.get("expansions", "").split(","))
        includes: dict[str, Any] = {}
        referenced: list[dict[str, Any]] = []
        if "referenced_tweets.id" in expansions:
            seen: set[str] = set()
            for tweet in page:
                for ref in tweet.get("referenced_tweets", []):
                    target = self.tweets.get(ref["id"])
                    if target is not None and ref["id"] not in seen:
                        seen.add(ref["id"])
                        referenced.append(target)
            if referenced:
                includes["tweets"] = [_tweet_view(t, query) for t in referenced]
        if "author_id" in expansions:
            ids = dict.fromkeys(t.get("author_id") for t in page + referenced)
            users = [self.users[i] for i in ids if i in self.users]
            if users:
                includes["users"] = [_user_view(u, query) for u in users]
        return includes

    def _post(self, body: Any, auth: str) -> tuple[int, Any]:
        if auth != "OAuth":
            return 403, _unsupported_auth()
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            return 400, _invalid("text", "")
        reply = body.get("reply", {}).get("in_reply_to_tweet_id")
        with self._lock:
            for tweet in self.tweets.values():
                if tweet.get("text") == body["text"] and tweet.get("_in_reply_to") == reply:
                    return 403, {
                        "detail": "You are not allowed to create a Tweet with duplicate content.",
                        "type": "about:blank",
                        "title": "Forbidden",
                        "status": 403,
                    }
            self._next_id += 1
            tweet_id = str(self._next_id)
            self.tweets[tweet_id] = {
                "id": tweet_id,
                "text": body["text"],
                "author_id": self.me["id"],
                "_in_reply_to": reply,
            }
        return 201, {"data": {"id": tweet_id, "text": body["text"]}}


def _route(method: str, parts: list[str]) -> str | None:
    """parts of "/2/users/1/mentions" are ["2", "users", "1", "mentions"]."""
    if len(parts) < 2 or parts[0] != "2":
        return None
    if method == "POST":
        return "post" if parts[1:] == ["tweets"] else None
    if parts[1:] == ["users", "me"]:
        return "me"
    if parts[1] == "users" and len(parts) == 3:
        return "user"
    if parts[1] == "users" and len(parts) == 4 and parts[3] == "mentions":
        return "mentions"
    if parts[1] == "tweets" and len(parts) == 3:
        return "tweet"
    return None


def _tweet_view(tweet: Mapping[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
    wanted = set(_DEFAULT_TWEET_FIELDS) | set(query.get("tweet.fields", "").split(","))
    view = {k: v for k, v in tweet.items() if k in wanted and not k.startswith("_")}
    if "edit_history_tweet_ids" in wanted and "id" in tweet:
        view.setdefault("edit_history_tweet_ids", [tweet["id"]])
    return view


def _user_view(user: Mapping[str, Any], query: Mapping[str, str]) -> dict[str, Any]:
    wanted = set(_DEFAULT_USER_FIELDS) | set(query.get("user.fields", "").split(","))
    return {k: v for k, v in user.items() if k in wanted}


def _not_found(kind: str, value: str) -> dict[str, Any]:
    return {
        "value": value,
        "detail": f"Could not find {kind} with id: [{value}].",
        "title": "Not Found Error",
        "resource_type": kind,
        "parameter": "id",
        "resource_id": value,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }


def _invalid(parameter: str, value: str) -> dict[str, Any]:
    return {
        "errors": [
            {
                "parameters": {parameter: [value]},
                "message": f"The `{parameter}` query parameter value [{value}] is not valid",
            }
        ],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


def _unsupported_auth() -> dict[str, Any]:
    return {
        "title": "Unsupported Authentication",
        "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this "
        "endpoint.  Supported authentication types are [OAuth 1.0a User Context, "
        "OAuth 2.0 User Context].",
        "type": "https://api.twitter.com/2/problems/unsupported-authentication",
        "status": 403,
    }


_PROBLEMS = {
    401: ("Unauthorized", "Unauthorized"),
    403: ("Forbidden", "Forbidden"),
    429: ("Too Many Requests", "Too Many Requests"),
    500: ("Internal Server Error", "Internal Server Error"),
    503: ("Service Unavailable", "Service Unavailable"),
}


def _handler_for(fake: FakeX) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so a fault never leaks into the next request.
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def _handle(self, method: str) -> None:
            split = urlsplit(self.path)
            parts = [p for p in split.path.split("/") if p]
            query = dict(parse_qsl(split.query))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
            route = _route(method, parts)
            scheme, valid = fake._auth(self.headers.get("Authorization"))
            fake._record(
                Recorded(method, split.path, route or "?", query, body, scheme is not None, scheme)
            )
            if route is None:
                self._send_json(404, {"title": "Not Found Error", "detail": self.path})
                return
            if not valid:
                self._send_json(401, _problem(401))
                return
            fault = fake._take_fault(route)
            if fault is not None and fault.kind.isdigit():
                self._send_fault_status(int(fault.kind), fault.reset)
                return
            if fault is not None and fault.kind == "body":
                self._send_raw(200, fault.body, "application/json")
                return
            if fault is not None and fault.kind == "garbage":
                self._send_raw(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
                return
            status, payload = fake._answer(route, method, parts, query, body, scheme or "")
            if fault is not None and fault.kind == "reset":
                self.close_connection = True
                return  # the request was taken and acted on; no answer ever comes
            if fault is not None and fault.kind == "stall":
                fake._release.wait(fake.stall_seconds)
            data = json.dumps(payload, ensure_ascii=False).encode()
            if fault is not None and fault.kind == "truncated":
                data = data[: len(data) // 2]
            self._send_raw(status, data, "application/json; charset=utf-8")

        def _send_fault_status(self, status: int, reset: int | None) -> None:
            headers = {}
            if status == 429:
                headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0"}
                if reset is not None:
                    headers["x-rate-limit-reset"] = str(reset)
            self._send_json(status, _problem(status), headers)

        def _send_json(
            self, status: int, payload: Any, headers: Mapping[str, str] | None = None
        ) -> None:
            data = json.dumps(payload).encode()
            self._send_raw(status, data, "application/json; charset=utf-8", headers)

        def _send_raw(
            self,
            status: int,
            data: bytes,
            content_type: str,
            headers: Mapping[str, str] | None = None,
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (a stall past its read timeout)

    return Handler


def _problem(status: int) -> dict[str, Any]:
    title, detail = _PROBLEMS.get(status, ("Error", "Error"))
    return {"title": title, "detail": detail, "type": "about:blank", "status": status}
