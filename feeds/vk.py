"""A VK community feed: DMs and comments through Bots Long Poll, mentions through newsfeed.search.

Reading: `start` asks groups.getLongPollServer for a key (which also checks the token, so
`socialtui check` gets a verdict), then a daemon thread runs a_check in its own loop, the way
vk_api's VkBotLongPoll.check does but with timeouts, backoff and failed 1/2/3 handled without
losing `ts`. The thread looks authors up (users.get / groups.getById, cached), fetches the post a
wall comment hangs on (wall.getById, service token only) and queues batches; `fetch` hands them
over. With `search` and a service token the same thread runs newsfeed.search every
`search_interval` seconds.

The cursor is a small JSON object, {"ts": "123", "search_from": 1700000000}: the long-poll ts
after the returned items and the time the last complete search started. VK keeps events for a
while, so a restart from the stored ts loses nothing; if VK has dropped them it answers failed 1
or 3 and the feed takes VK's ts.

All API calls go through the real vk_api client on a requests Session whose adapter sends
https://api.vk.ru to `api_base` and adds timeouts (vk_api sends none). vk_api retries error 6
forever inside `method`; that handler is replaced so a worker never freezes.

Tokens never reach a log line, a status detail or an exception message: vk_api posts them in the
form body, and every text built from a library exception goes through `_scrub`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import random
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

import jconfig
import requests
import vk_api
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from vk_api.exceptions import TOO_MANY_RPS_CODE, ApiError, ApiHttpError, Captcha

from feeds.base import (
    Feed,
    FeedError,
    FeedState,
    FeedStatus,
    FetchResult,
    OptionSpec,
    ReplyResult,
    register,
)
from feeds.vk_parse import (
    NEWSFEED,
    Parsed,
    PayloadError,
    PollAnswer,
    fallback_author,
    group_author,
    groups_of,
    parse_poll_answer,
    parse_post,
    parse_update,
    post_context,
    posts_of,
    to_item,
    user_author,
)
from triage.model import Author, IncomingItem, Mention

__all__ = ["API_VERSION", "DEFAULT_API_BASE", "Pacing", "VkFeed", "reply_random_id"]

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.vk.ru"
API_VERSION = "5.199"
USER_FIELDS = "screen_name,city,followers_count"
DEFAULT_WAIT = 25
DEFAULT_SEARCH_INTERVAL = 300
# Each search looks back this far before the last one: VK indexes some posts late.
SEARCH_OVERLAP = 600
SEARCH_PAGE = 200
SEARCH_MAX_PAGES = 5
AUTHOR_CACHE_SIZE = 5000
POST_CACHE_SIZE = 1000
SEEN_CACHE_SIZE = 5000
# Batches waiting for `fetch`; the poll thread waits when this many are queued.
QUEUE_SIZE = 32
BATCHES_PER_FETCH = 16

# VK error codes (https://dev.vk.com/reference/errors).
AUTH_CODES = frozenset({5, 27, 28})
RATE_CODES = frozenset({6, 9, 29})
CAPTCHA_CODE = 14
# Worth trying again later: "unknown error" and "internal server error".
TRANSIENT_CODES = frozenset({1, 10})
# What the card says when VK refuses a reply, by error code.
_REPLY_ERRORS: Mapping[int, str] = {
    7: "VK: у токена сообщества нет прав на это действие",
    15: "VK: доступ запрещён",
    213: "VK: комментарии к записи закрыты",
    222: "VK: ссылки в комментариях запрещены",
    900: "VK: пользователь добавил сообщество в чёрный список",
    901: "VK: пользователь не разрешил сообщения от сообщества",
    902: "VK: пользователь ограничил, кто может ему писать",
}
# A community token can comment only through wall.createComment and write only DMs.
_REFUSALS: Mapping[str, str] = {
    "photo_comment_new": "VK: токен сообщества не может отвечать на комментарии к фото — "
    "ответьте в VK",
    "video_comment_new": "VK: токен сообщества не может отвечать на комментарии к видео — "
    "ответьте в VK",
    "market_comment_new": "VK: токен сообщества не может отвечать на комментарии к товарам — "
    "ответьте в VK",
    "board_post_new": "VK: токен сообщества не может отвечать в обсуждениях — ответьте в VK",
    NEWSFEED: "VK: сообщество может комментировать только свою стену — ответьте в VK",
}
_SECRET_PARAMS = re.compile(r"((?:access_token|key|service_token)=)[^&\s'\"]+")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Pacing:
    """Timeouts and retry delays, in seconds. Tests pass small ones."""

    connect_timeout: float = 5.0
    # A long poll's read timeout is wait + this, so a silent server is noticed.
    read_slack: float = 10.0
    api_timeout: float = 20.0
    retry_first: float = 1.0
    retry_limit: float = 60.0
    too_many_rps: float = 1.0  # error 6
    flood: float = 60.0  # error 9
    rate_limit: float = 600.0  # error 29: a method's daily quota
    captcha: float = 300.0  # error 14: it will not go away by retrying at once
    # Gap between API calls per token, as vk_api's lock enforces: community tokens may make 20
    # calls a second, service tokens 3.
    api_interval: float = 0.05
    service_interval: float = 0.34


def reply_random_id(reply_key: str) -> int:
    """messages.send's random_id for a reply: the same for every retry of it, never 0."""
    digest = hashlib.sha256(reply_key.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


def _scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove tokens and long-poll keys from text built from a library's exception."""
    text = _SECRET_PARAMS.sub(r"\1***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


# -- calls ---------------------------------------------------------------------------------


class Problem(Enum):
    AUTH = "auth"
    RATE = "rate"
    CAPTCHA = "captcha"
    OFFLINE = "offline"
    MALFORMED = "malformed"
    API = "api"


class VkCallError(Exception):
    """An API or long-poll call failed; `problem` says how the feed should react."""

    def __init__(self, problem: Problem, detail: str, code: int | None = None) -> None:
        super().__init__(detail)
        self.problem = problem
        self.detail = detail
        self.code = code


class _VkAdapter(HTTPAdapter):
    """Sends vk_api's hard-coded https://api.vk.ru to `base`, with timeouts vk_api never sets."""

    def __init__(self, base: str, timeout: tuple[float, float]) -> None:
        super().__init__()
        self._base = base.rstrip("/")
        self._timeout = timeout

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        url = request.url or ""
        if self._base != DEFAULT_API_BASE and url.startswith(DEFAULT_API_BASE + "/"):
            request.url = self._base + url[len(DEFAULT_API_BASE) :]
            if proxies:
                # The session chose proxies for api.vk.ru; the real host may need others.
                proxies = get_environ_proxies(request.url)
        return super().send(request, stream, timeout or self._timeout, verify, cert, proxies)


def _session(api_base: str, pacing: Pacing) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = "socialtui"
    session.mount(
        DEFAULT_API_BASE + "/", _VkAdapter(api_base, (pacing.connect_timeout, pacing.api_timeout))
    )
    return session


def _no_retry(error: object) -> None:
    """vk_api's error-6 handler sleeps and retries forever; returning None makes it raise."""
    return None


def _build_api(token: str, session: requests.Session, interval: float) -> Any:
    # MemoryConfig: vk_api would otherwise read vk_config.v2.json from the working directory.
    api = vk_api.VkApi(
        token=token, api_version=API_VERSION, session=session, config=jconfig.MemoryConfig
    )
    api.error_handlers[TOO_MANY_RPS_CODE] = _no_retry
    api.RPS_DELAY = interval
    return api


def _call(api: Any, method: str, values: Mapping[str, object], secrets: Iterable[str]) -> Any:
    """`api.method`, with every way it can fail turned into a VkCallError."""
    try:
        return api.method(method, dict(values))
    except Captcha:
        raise VkCallError(
            Problem.CAPTCHA,
            f"VK asks for a captcha on {method} (error 14); pausing requests",
            CAPTCHA_CODE,
        ) from None
    except ApiError as exc:
        code = exc.code if isinstance(exc.code, int) else None
        message = exc.error.get("error_msg") if isinstance(exc.error, dict) else None
        detail = _scrub(f"VK error {code} on {method}: {message or 'no message'}", secrets)
        if code in AUTH_CODES:
            raise VkCallError(Problem.AUTH, detail, code) from None
        if code in RATE_CODES:
            raise VkCallError(Problem.RATE, detail, code) from None
        raise VkCallError(Problem.API, detail, code) from None
    except ApiHttpError as exc:
        status = getattr(exc.response, "status_code", "?")
        raise VkCallError(Problem.OFFLINE, f"VK answered HTTP {status} on {method}") from None
    except requests.JSONDecodeError:
        # Before RequestException: requests' JSONDecodeError is one of those too.
        raise VkCallError(Problem.MALFORMED, f"VK sent malformed JSON for {method}") from None
    except requests.RequestException as exc:
        raise VkCallError(Problem.OFFLINE, _network_detail(exc, method, secrets)) from None
    except (KeyError, TypeError, ValueError, AttributeError):
        # vk_api indexes the answer without checking its shape.
        raise VkCallError(Problem.MALFORMED, f"VK sent a malformed answer for {method}") from None


def _network_detail(exc: BaseException, what: str, secrets: Iterable[str]) -> str:
    kind = "timed out" if isinstance(exc, requests.Timeout) else "network error"
    return _scrub(f"{what}: {kind} ({type(exc).__name__})", secrets)


# -- state ---------------------------------------------------------------------------------

K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A dict with a size cap that forgets the least recently used entry."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._data: OrderedDict[K, V] = OrderedDict()

    def __contains__(self, key: K) -> bool:
        return key in self._data

    def get(self, key: K) -> V | None:
        if key not in self._data:
            return None
        self._data.move_to_end(key)
        return self._data[key]

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self._capacity:
            self._data.popitem(last=False)


@dataclass(frozen=True, slots=True)
class _Batch:
    items: list[IncomingItem] = field(default_factory=list)
    ts: str | None = None  # the long-poll ts after `items`, if it moved
    search_from: int | None = None  # set by a completed search
    skipped: int = 0


class _Stopped(Exception):
    """The feed was closed while the poll thread waited; it just ends."""


class _Backoff:
    def __init__(self, pacing: Pacing, rng: random.Random) -> None:
        self._pacing = pacing
        self._rng = rng
        self._failures = 0

    def reset(self) -> None:
        self._failures = 0

    def delay(self, error: VkCallError) -> float:
        pacing = self._pacing
        base = pacing.retry_first
        if error.problem is Problem.CAPTCHA:
            base = pacing.captcha
        elif error.problem is Problem.RATE:
            base = {6: pacing.too_many_rps, 9: pacing.flood}.get(error.code or 0, pacing.rate_limit)
        delay = min(max(base, pacing.retry_limit), base * 2.0 ** min(self._failures, 16))
        self._failures += 1
        # ±20 %, so that boards that lost VK together do not all come back in the same second.
        return delay * self._rng.uniform(0.8, 1.2)


def _parse_cursor(cursor: str | None) -> tuple[str | None, int | None]:
    """(ts, search_from) from a stored cursor; a bare number is a ts. Unreadable: (None, None)."""
    if not cursor:
        return None, None
    try:
        data = json.loads(cursor)
    except ValueError:
        data = cursor
    if isinstance(data, int) and not isinstance(data, bool) and data >= 0:
        return str(data), None
    if isinstance(data, str) and data.strip().isdigit():
        return data.strip(), None
    if isinstance(data, dict):
        ts = data.get("ts")
        search_from = data.get("search_from")
        return (
            str(ts) if isinstance(ts, (str, int)) and str(ts).isdigit() else None,
            search_from if isinstance(search_from, int) and search_from >= 0 else None,
        )
    # Unreadable costs a start from now; a mangled cursor should never stop the feed.
    log.warning("vk: ignoring an unreadable stored cursor")
    return None, None


# -- the feed ------------------------------------------------------------------------------


class VkFeed:
    """One VK community. `fetch` runs on the feed worker, `reply` on the outbox worker, and the
    long poll on a daemon thread of its own; `close` may come from any thread."""

    type_name: ClassVar[str] = "vk"

    def __init__(
        self,
        name: str,
        *,
        token: str,
        group_id: int,
        api_base: str = DEFAULT_API_BASE,
        wait: int = DEFAULT_WAIT,
        search: Iterable[str] = (),
        service_token: str | None = None,
        search_interval: float = DEFAULT_SEARCH_INTERVAL,
        pacing: Pacing | None = None,
        now: Callable[[], datetime] = _utc_now,
        rng: random.Random | None = None,
    ) -> None:
        if not token:
            raise FeedError(f"feed {name!r}: vk needs a community token", retryable=False)
        if group_id <= 0:
            raise FeedError(f"feed {name!r}: group_id must be positive", retryable=False)
        self.name = name
        self.group_id = group_id
        self.api_base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.wait = max(1, min(int(wait), 90))  # VK accepts up to 90
        self.search = tuple(q.strip() for q in search if q.strip())
        self.search_interval = max(float(search_interval), 1.0)
        self._pacing = pacing or Pacing()
        self._now = now
        self._rng = rng or random.Random()
        self._secrets = tuple(s for s in (token, service_token) if s)
        # One session and client per thread that calls VK, so a slow call on one never holds
        # the others behind vk_api's lock.
        self._sessions = [_session(self.api_base, self._pacing) for _ in range(4)]
        self._poll_api = _build_api(token, self._sessions[0], self._pacing.api_interval)
        self._reply_api = _build_api(token, self._sessions[1], self._pacing.api_interval)
        self._service_api = (
            _build_api(service_token, self._sessions[2], self._pacing.service_interval)
            if service_token
            else None
        )
        self._lp_session = self._sessions[3]
        self._search_enabled = bool(self.search) and self._service_api is not None
        self._context_enabled = self._service_api is not None

        self._lock = threading.Lock()
        self._status = FeedStatus(FeedState.CONNECTING, "not started")
        self._skipped = 0  # malformed records and answers so far, for describe()
        self._unreported = 0  # of those, not yet in an emitted batch
        self._fatal: FeedError | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue[_Batch] = queue.Queue(QUEUE_SIZE)
        self._closed = False
        self._started = False
        # Long-poll state, owned by the poll thread once it runs.
        self._server = ""
        self._key: str | None = None
        self._ts: str | None = None
        self._search_from: int | None = None
        self._next_search = 0.0
        # Shown after "club<id>" in the status detail while searching is off or paused.
        self._search_note = (
            "search off: it needs service_token_env" if self.search and not service_token else ""
        )
        self._search_backoff = _Backoff(self._pacing, self._rng)
        self._authors: _Lru[int, Author] = _Lru(AUTHOR_CACHE_SIZE)
        self._posts: _Lru[tuple[int, int], str | None] = _Lru(POST_CACHE_SIZE)
        self._seen: _Lru[str, None] = _Lru(SEEN_CACHE_SIZE)
        # What fetch has handed over: the position the returned cursor stands for.
        self._delivered_ts: str | None = None
        self._delivered_search: int | None = None
        self._reported: str | None = None

    # -- Feed protocol ---------------------------------------------------------------------

    def start(self, cursor: str | None) -> None:
        self._stop_thread()
        self._closed = False
        stored_ts, stored_search = _parse_cursor(cursor)
        self._set_status(FeedStatus(FeedState.CONNECTING, f"connecting to VK club{self.group_id}"))
        try:
            ts = self._connect()
        except VkCallError as exc:
            raise self._start_error(exc) from None
        self._ts = stored_ts or ts
        self._search_from = stored_search
        if self._search_enabled and self._search_from is None:
            self._search_from = int(self._now().timestamp())
        self._next_search = 0.0
        self._delivered_ts, self._delivered_search = self._ts, self._search_from
        self._reported = cursor
        self._queue = queue.Queue(QUEUE_SIZE)
        self._fatal = None
        self._stop = threading.Event()
        self._started = True
        self._set_status(
            FeedStatus(FeedState.CONNECTING, f"long poll ready for club{self.group_id}")
        )

    def fetch(self, timeout: float) -> FetchResult:
        if self._closed or not self._started:
            return FetchResult()
        self._ensure_thread()
        batches: list[_Batch] = []
        try:
            batches.append(self._queue.get(timeout=max(timeout, 0.0)))
            while len(batches) < BATCHES_PER_FETCH:
                batches.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        if not batches and self._fatal is not None:
            raise self._fatal
        items: list[IncomingItem] = []
        skipped = 0
        for batch in batches:
            items.extend(batch.items)
            skipped += batch.skipped
            if batch.ts is not None:
                self._delivered_ts = batch.ts
            if batch.search_from is not None:
                self._delivered_search = batch.search_from
        cursor = self._cursor()
        changed = cursor is not None and cursor != self._reported
        if changed:
            self._reported = cursor
        return FetchResult(items, cursor if changed else None, skipped)

    def reply(self, mention: Mention, text: str, reply_key: str) -> ReplyResult:
        route = mention.route
        event = route.get("event")
        if event == "message_new":
            return self._send_message(route, text, reply_key)
        if event == "wall_reply_new":
            return self._comment(
                _route_int(route, "owner_id"),
                _route_int(route, "post_id"),
                text,
                reply_key,
                reply_to=_route_int(route, "comment_id"),
            )
        if event == NEWSFEED and route.get("owner_id") == -self.group_id:
            # A post on our own wall found by search: the community may comment there.
            return self._comment(-self.group_id, _route_int(route, "post_id"), text, reply_key)
        if isinstance(event, str) and event in _REFUSALS:
            return ReplyResult(refused=_REFUSALS[event])
        raise FeedError("VK: у сообщения нет адреса для ответа — ответьте в VK", retryable=False)

    def describe(self) -> FeedStatus:
        status = self._status
        return FeedStatus(status.state, status.detail, status.retry_at, self._skipped)

    def close(self) -> None:
        # Never joins: the poll thread is a daemon and ends after its current request.
        self._closed = True
        self._stop.set()
        self._set_status(FeedStatus(FeedState.STOPPED, "closed"))
        for session in self._sessions:
            session.close()

    # -- position --------------------------------------------------------------------------

    def _cursor(self) -> str | None:
        position: dict[str, object] = {}
        if self._delivered_ts is not None:
            position["ts"] = self._delivered_ts
        if self._delivered_search is not None:
            position["search_from"] = self._delivered_search
        return json.dumps(position) if position else None

    # -- status ----------------------------------------------------------------------------

    def _set_status(self, status: FeedStatus) -> None:
        with self._lock:
            if self._closed and status.state is not FeedState.STOPPED:
                return
            self._status = status

    def _live(self) -> None:
        detail = f"club{self.group_id}"
        if self._search_note:
            detail += f"; {self._search_note}"
        self._set_status(FeedStatus(FeedState.LIVE, detail))

    def _count_skipped(self, count: int = 1) -> None:
        with self._lock:
            self._skipped += count
            self._unreported += count

    def _failure_status(self, error: VkCallError, delay: float) -> FeedStatus:
        retry_at = self._now() + timedelta(seconds=delay)
        seconds = max(1, round(delay))
        if error.problem is Problem.AUTH:
            return FeedStatus(FeedState.AUTH_FAILED, f"VK rejected the token: {error.detail}")
        if error.problem is Problem.RATE:
            return FeedStatus(FeedState.RATE_LIMITED, error.detail, retry_at)
        if error.problem is Problem.CAPTCHA:
            # A captcha cannot be solved from here; waiting usually clears it.
            detail = f"{error.detail}; retrying in {seconds} s (if it persists, reply in VK)"
            return FeedStatus(FeedState.RATE_LIMITED, detail, retry_at)
        if error.problem is Problem.OFFLINE:
            return FeedStatus(
                FeedState.OFFLINE, f"{error.detail}; offline, retrying in {seconds} s", retry_at
            )
        return FeedStatus(FeedState.ERROR, f"{error.detail}; retrying in {seconds} s", retry_at)

    def _start_error(self, error: VkCallError) -> FeedError:
        delay = _Backoff(self._pacing, self._rng).delay(error)
        status = self._failure_status(error, delay)
        if error.problem is Problem.MALFORMED:
            self._count_skipped()
        self._set_status(status)
        retryable = error.problem is not Problem.AUTH and (
            error.problem is not Problem.API or error.code in TRANSIENT_CODES
        )
        return FeedError(f"vk {self.name}: {status.detail}", retryable=retryable, status=status)

    # -- the poll thread -------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name=f"vk-{self.name}", daemon=True
            )
            self._thread.start()

    def _stop_thread(self) -> None:
        self._stop.set()
        self._thread = None
        self._started = False

    def _run(self, stop: threading.Event) -> None:
        backoff = _Backoff(self._pacing, self._rng)
        while not stop.is_set():
            try:
                if self._search_enabled and time.monotonic() >= self._next_search:
                    self._run_search(stop)
                if self._key is None:
                    self._connect(keep_ts=True)
                self._poll(stop)
                backoff.reset()
            except _Stopped:
                return
            except VkCallError as error:
                if stop.is_set() or not self._recover(stop, error, backoff):
                    return
            except Exception:  # a bug here must not end reading for good
                log.exception("vk %s: poll thread error", self.name)
                stop.wait(self._pacing.retry_limit)

    def _recover(self, stop: threading.Event, error: VkCallError, backoff: _Backoff) -> bool:
        """Report a failed call and wait before the next try. False: stop polling."""
        if error.problem is Problem.AUTH:
            status = self._failure_status(error, 0)
            self._set_status(status)
            self._fatal = FeedError(
                f"vk {self.name}: {status.detail}", retryable=False, status=status
            )
            log.warning("vk %s: %s; stopped polling", self.name, status.detail)
            return False
        delay = backoff.delay(error)
        if error.problem is Problem.MALFORMED:
            # Counted, not shown as a state: the ts did not move, so the retry loses nothing.
            self._count_skipped()
            try:
                self._emit(stop, _Batch())
            except _Stopped:
                return False
        else:
            self._set_status(self._failure_status(error, delay))
        log.info("vk %s: %s; retrying in %.1f s", self.name, error.detail, delay)
        stop.wait(delay)
        return True

    def _connect(self, *, keep_ts: bool = False) -> str:
        """groups.getLongPollServer: a fresh key and server. Returns VK's ts; takes it unless
        `keep_ts`. Until it succeeds `_key` is None, so a failure here is retried."""
        self._key = None
        answer = _call(
            self._poll_api, "groups.getLongPollServer", {"group_id": self.group_id}, self._secrets
        )
        if not isinstance(answer, dict):
            raise VkCallError(Problem.MALFORMED, "getLongPollServer answer is not an object")
        key, server, ts = answer.get("key"), answer.get("server"), answer.get("ts")
        if not (isinstance(key, str) and key and isinstance(server, str) and server):
            raise VkCallError(Problem.MALFORMED, "getLongPollServer answer without key or server")
        if not (isinstance(ts, (str, int)) and str(ts).isdigit()):
            raise VkCallError(Problem.MALFORMED, "getLongPollServer answer without ts")
        self._server = self._long_poll_url(server)
        self._key = key
        if not keep_ts or self._ts is None:
            self._ts = str(ts)
        return str(ts)

    def _long_poll_url(self, server: str) -> str:
        """VK's long-poll server, on `api_base`'s host when one is configured (a proxy, a test)."""
        if "://" not in server:
            server = "https://" + server
        if self.api_base == DEFAULT_API_BASE:
            return server
        target, base = urlsplit(server), urlsplit(self.api_base)
        return urlunsplit(
            (base.scheme, base.netloc, base.path.rstrip("/") + target.path, target.query, "")
        )

    def _long_poll(self) -> PollAnswer:
        params = {"act": "a_check", "key": self._key, "ts": self._ts, "wait": self.wait}
        timeout = (self._pacing.connect_timeout, self.wait + self._pacing.read_slack)
        try:
            response = self._lp_session.get(self._server, params=params, timeout=timeout)
        except requests.RequestException as exc:
            raise VkCallError(
                Problem.OFFLINE, _network_detail(exc, "long poll", self._secrets)
            ) from None
        if response.status_code != 200:
            raise VkCallError(Problem.OFFLINE, f"long poll answered HTTP {response.status_code}")
        try:
            return parse_poll_answer(response.content)
        except PayloadError as exc:
            raise VkCallError(Problem.MALFORMED, f"long poll: {exc}") from None

    def _poll(self, stop: threading.Event) -> None:
        answer = self._long_poll()
        if stop.is_set():
            raise _Stopped
        if answer.failed is not None:
            self._failed(stop, answer)
            return
        assert answer.ts is not None  # parse_poll_answer checks it
        parsed: list[Parsed] = []
        now = self._now()
        for update in answer.updates:
            try:
                item = parse_update(update, group_id=self.group_id, now=now)
            except PayloadError as exc:
                log.info("vk %s: skipped a malformed event: %s", self.name, exc)
                self._count_skipped()
                continue
            if item is not None:
                parsed.append(item)
        items = self._enrich(parsed)
        moved = answer.ts != self._ts
        self._ts = answer.ts
        if items or moved or self._unreported:
            self._emit(stop, _Batch(items, answer.ts))
        self._live()

    def _failed(self, stop: threading.Event, answer: PollAnswer) -> None:
        """VK's failed 1 (take its ts), 2 (new key, keep ts) and 3 (new key and ts)."""
        before = self._ts
        if answer.failed == 1 and answer.ts is not None:
            log.info("vk %s: long poll history moved on (failed 1), ts %s", self.name, answer.ts)
            self._ts = answer.ts
        elif answer.failed == 2:
            self._connect(keep_ts=True)
        elif answer.failed in (1, 3):
            log.info("vk %s: long poll lost its history (failed %s)", self.name, answer.failed)
            self._connect()
        else:
            self._key = None
            raise VkCallError(Problem.MALFORMED, f"long poll answered failed {answer.failed}")
        if self._ts != before:
            self._emit(stop, _Batch(ts=self._ts))

    def _emit(self, stop: threading.Event, batch: _Batch) -> None:
        """Queue a batch for fetch, with the skips counted since the last one."""
        with self._lock:
            batch = replace(batch, skipped=batch.skipped + self._unreported)
            self._unreported = 0
        while not stop.is_set():
            try:
                self._queue.put(batch, timeout=0.2)
                return
            except queue.Full:
                continue  # fetch is behind (the store is slow): wait, never drop
        with self._lock:
            self._unreported += batch.skipped  # never handed over
        raise _Stopped

    # -- enrichment ------------------------------------------------------------------------

    def _enrich(self, parsed: list[Parsed]) -> list[IncomingItem]:
        if not parsed:
            return []
        self._load_authors({p.from_id for p in parsed})
        self._load_posts({p.post for p in parsed if p.post is not None})
        return [
            to_item(
                p,
                self._authors.get(p.from_id) or fallback_author(p.from_id),
                self._posts.get(p.post) if p.post is not None else None,
                self.name,
            )
            for p in parsed
        ]

    def _lookup(self, api: Any, method: str, values: Mapping[str, object]) -> Any:
        """A lookup that only enriches: failures are logged, counted if malformed, and None."""
        try:
            return _call(api, method, values, self._secrets)
        except VkCallError as exc:
            if exc.problem is Problem.MALFORMED:
                self._count_skipped()
            log.info("vk %s: %s", self.name, exc.detail)
            return None

    def _load_authors(self, ids: set[int]) -> None:
        users = sorted(i for i in ids if i > 0 and i not in self._authors)
        groups = sorted(-i for i in ids if i < 0 and i not in self._authors)
        if users:
            answer = self._lookup(
                self._poll_api,
                "users.get",
                {"user_ids": ",".join(map(str, users)), "fields": USER_FIELDS},
            )
            if isinstance(answer, list):
                self._remember_authors(answer, ())
                for user_id in users:
                    if user_id not in self._authors:
                        # Deleted or banned: VK left them out. Do not ask on every message.
                        self._authors.put(user_id, fallback_author(user_id))
        if groups:
            answer = self._lookup(
                self._poll_api,
                "groups.getById",
                {"group_ids": ",".join(map(str, groups)), "fields": "members_count"},
            )
            try:
                found = groups_of(answer) if answer is not None else []
            except PayloadError:
                self._count_skipped()
                found = []
            self._remember_authors((), found)

    def _remember_authors(self, users: Iterable[object], groups: Iterable[object]) -> None:
        for record in users:
            author = user_author(record)
            if author is not None:
                self._authors.put(int(author.id), author)
        for record in groups:
            author = group_author(record)
            if author is not None:
                self._authors.put(int(author.id), author)

    def _load_posts(self, posts: set[tuple[int, int]]) -> None:
        missing = sorted(p for p in posts if p not in self._posts)
        if not missing or not self._context_enabled or self._service_api is None:
            return
        try:
            answer = _call(
                self._service_api,
                "wall.getById",
                {"posts": ",".join(f"{owner}_{post}" for owner, post in missing)},
                self._secrets,
            )
            found = posts_of(answer)
        except (VkCallError, PayloadError) as exc:
            if isinstance(exc, PayloadError) or exc.problem is Problem.MALFORMED:
                self._count_skipped()
            if isinstance(exc, VkCallError) and exc.problem is Problem.AUTH:
                self._context_enabled = False  # do not ask again with a token VK refuses
            log.info("vk %s: no post context: %s", self.name, exc)
            return
        for post in found:
            if isinstance(post, dict):
                owner, post_id = post.get("owner_id"), post.get("id")
                if isinstance(owner, int) and isinstance(post_id, int):
                    self._posts.put((owner, post_id), post_context(post))
        for key in missing:
            if key not in self._posts:
                self._posts.put(key, None)  # deleted or hidden: do not ask again

    # -- search ----------------------------------------------------------------------------

    def _run_search(self, stop: threading.Event) -> None:
        try:
            self._search_once(stop)
        except VkCallError as exc:
            if exc.problem is Problem.AUTH:
                self._search_enabled = False
                self._search_note = "search off: VK rejected the service token"
                log.warning("vk %s: %s; search off", self.name, exc.detail)
                return
            delay = self._search_backoff.delay(exc)
            if exc.problem is Problem.MALFORMED:
                self._count_skipped()
                self._emit(stop, _Batch())
            self._search_note = f"search paused: {exc.detail}"
            log.info("vk %s: search: %s; retrying in %.1f s", self.name, exc.detail, delay)
            self._next_search = time.monotonic() + delay
            return
        self._search_backoff.reset()
        self._search_note = ""
        self._next_search = time.monotonic() + self.search_interval

    def _search_once(self, stop: threading.Event) -> None:
        """One round over every query. search_from moves only when all of them succeeded."""
        assert self._service_api is not None and self._search_from is not None
        started = int(self._now().timestamp())
        start_time = max(0, self._search_from - SEARCH_OVERLAP)
        now = self._now()
        found: dict[str, Parsed] = {}
        for query in self.search:
            next_from: str | None = None
            for _ in range(SEARCH_MAX_PAGES):
                values: dict[str, object] = {
                    "q": query,
                    "extended": 1,
                    "start_time": start_time,
                    "count": SEARCH_PAGE,
                    "fields": USER_FIELDS,
                }
                if next_from:
                    values["start_from"] = next_from
                answer = _call(self._service_api, "newsfeed.search", values, self._secrets)
                if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
                    raise VkCallError(Problem.MALFORMED, "newsfeed.search answer without items")
                self._remember_authors(answer.get("profiles") or [], answer.get("groups") or [])
                for post in answer["items"]:
                    try:
                        parsed = parse_post(post, group_id=self.group_id, now=now)
                    except PayloadError as exc:
                        log.info("vk %s: skipped a malformed search hit: %s", self.name, exc)
                        self._count_skipped()
                        continue
                    if parsed is not None and parsed.native_id not in self._seen:
                        found.setdefault(parsed.native_id, parsed)
                cursor = answer.get("next_from")
                next_from = cursor if isinstance(cursor, str) and cursor else None
                if next_from is None or stop.is_set():
                    break
        if stop.is_set():
            raise _Stopped
        items = self._enrich(list(found.values()))
        self._emit(stop, _Batch(items, search_from=started))
        for native_id in found:
            self._seen.put(native_id, None)
        self._search_from = started

    # -- replies ---------------------------------------------------------------------------

    def _send_message(self, route: Mapping[str, Any], text: str, reply_key: str) -> ReplyResult:
        peer_id = _route_int(route, "peer_id")
        values: dict[str, object] = {
            "peer_id": peer_id,
            # VK drops a second message with the same random_id: a retry cannot double-send.
            "random_id": reply_random_id(reply_key),
            "message": text,
        }
        message_id, cmid = route.get("message_id"), route.get("cmid")
        if isinstance(message_id, int) and message_id > 0:
            values["reply_to"] = message_id
        elif isinstance(cmid, int) and cmid > 0:
            # Group chats give no global id; quote the message by its number in the chat.
            values["forward"] = json.dumps(
                {"peer_id": peer_id, "conversation_message_ids": [cmid], "is_reply": True}
            )
        answer = self._reply_call("messages.send", values)
        sent = answer
        if isinstance(answer, list) and answer and isinstance(answer[0], dict):
            sent = answer[0].get("message_id") or answer[0].get("conversation_message_id")
        if not isinstance(sent, int) or isinstance(sent, bool):
            # Sent or not, a retry with the same random_id is safe.
            raise FeedError("VK: непонятный ответ на messages.send, повторим", retryable=True)
        return ReplyResult(native_reply_id=str(sent))

    def _comment(
        self, owner_id: int, post_id: int, text: str, reply_key: str, *, reply_to: int | None = None
    ) -> ReplyResult:
        values: dict[str, object] = {
            "owner_id": owner_id,
            "post_id": post_id,
            "from_group": self.group_id,
            "message": text,
            # VK ignores a second comment with the same guid: a retry cannot double-post.
            "guid": reply_key,
        }
        if reply_to is not None:
            values["reply_to_comment"] = reply_to
        answer = self._reply_call("wall.createComment", values)
        comment_id = answer.get("comment_id") if isinstance(answer, dict) else None
        if not isinstance(comment_id, int) or isinstance(comment_id, bool):
            raise FeedError("VK: непонятный ответ на wall.createComment, повторим", retryable=True)
        return ReplyResult(native_reply_id=str(comment_id))

    def _reply_call(self, method: str, values: Mapping[str, object]) -> Any:
        try:
            return _call(self._reply_api, method, values, self._secrets)
        except VkCallError as exc:
            delay = _Backoff(self._pacing, self._rng).delay(exc)
            status = self._failure_status(exc, delay)
            if exc.problem is Problem.AUTH:
                self._set_status(status)
                raise FeedError(
                    f"VK: токен отклонён ({exc.detail})", retryable=False, status=status
                ) from None
            if exc.problem is Problem.API:
                message = _REPLY_ERRORS.get(exc.code or 0, f"VK: {exc.detail}")
                raise FeedError(message, retryable=exc.code in TRANSIENT_CODES) from None
            # Rate limits, captcha, network, a mangled answer: VK dedupes the retry.
            raise FeedError(f"VK: {exc.detail}", retryable=True, status=status) from None


def _route_int(route: Mapping[str, Any], key: str) -> int:
    value = route.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise FeedError(f"VK: в данных ответа нет {key} — ответьте в VK", retryable=False)
    return value


@register(
    "vk",
    {
        "token_env": OptionSpec(str, required=True, help="variable holding the community token"),
        "group_id": OptionSpec(int, required=True, help="the community's numeric id"),
        "api_base": OptionSpec(str, help=f"API host; default {DEFAULT_API_BASE}"),
        "wait": OptionSpec(int, help=f"long-poll wait in seconds; default {DEFAULT_WAIT}"),
        "search": OptionSpec(list, help="keywords to find mentions elsewhere (service token)"),
        "service_token_env": OptionSpec(
            str, help="variable holding a service token, for search and post texts"
        ),
        "search_interval": OptionSpec(
            (int, float), help=f"seconds between searches; default {DEFAULT_SEARCH_INTERVAL}"
        ),
    },
)
def create_vk_feed(name: str, options: Mapping[str, Any]) -> Feed:
    token = _secret(options.get("token"))
    if not token:
        raise FeedError(f"feed {name!r}: vk needs token_env (a community token)", retryable=False)
    group_id = options.get("group_id")
    if not isinstance(group_id, int) or isinstance(group_id, bool) or group_id <= 0:
        raise FeedError(f"feed {name!r}: vk needs a positive group_id", retryable=False)
    search = options.get("search") or []
    if not isinstance(search, list) or not all(isinstance(q, str) for q in search):
        raise FeedError(f"feed {name!r}: vk search must be a list of strings", retryable=False)
    service_token = _secret(options.get("service_token"))
    return VkFeed(
        name,
        token=token,
        group_id=group_id,
        api_base=str(options.get("api_base") or DEFAULT_API_BASE),
        wait=int(options.get("wait", DEFAULT_WAIT)),
        search=search,
        service_token=service_token,
        search_interval=float(options.get("search_interval", DEFAULT_SEARCH_INTERVAL)),
    )


def _secret(value: object) -> str | None:
    """The value of a config secret: the loader wraps it in triage.secret.Secret."""
    if value is None:
        return None
    reveal = getattr(value, "reveal", None)
    if callable(reveal):
        revealed = reveal()
        return revealed if isinstance(revealed, str) else None
    return value if isinstance(value, str) else None
