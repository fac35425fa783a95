"""Telegram through the Bot API: DMs to the bot, comments under the shop's channel posts and
group messages that mention the shop (the rules are in feeds.telegram_parse).

Reading is `getUpdates` long polling on the feed's own daemon thread. Telegram deletes every
update below the `offset` a poll sends, so the offset that confirms a batch goes out only after
the app has asked for the next batch, i.e. after it stored this one with its cursor
(str(last update_id + 1)). Until then the poller waits. A crash in between costs a re-read that
the store's dedupe absorbs; it never loses a message. With no stored cursor the first poll
sends no offset, so messages that arrived while nothing was polling (Telegram keeps them for
24 hours) are read too.

The token is part of every URL (`/bot<token>/method`), and httpx logs URLs at INFO and puts
them into some exceptions. So requests are built with a placeholder (`/bot***/`) that only the
transport, below httpx's logging, swaps for the token; and every message this module produces
goes through `_redact`.

Replies: `sendMessage` has no idempotency key, so `reply` never retries. The outbox claims a
reply before sending and turns a crash into "unknown"; here, a failure that may have happened
after Telegram received the request (a read timeout, a dropped connection, a 5xx, a garbled
answer) is reported as not retryable, so it becomes "failed" rather than a possible double.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeGuard

import httpx

from feeds.backoff import Backoff
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
from feeds.telegram_parse import (
    BotIdentity,
    Scope,
    ThreadRoots,
    UpdateError,
    normalise_channel,
    parse_update,
    update_id,
)
from triage.model import IncomingItem, Mention
from triage.secret import Secret

__all__ = ["DEFAULT_API_BASE", "MAX_MESSAGE_CHARS", "TelegramFeed"]

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.telegram.org"
DEFAULT_POLL_TIMEOUT = 25
MAX_POLL_TIMEOUT = 50
MAX_MESSAGE_CHARS = 4096
ALLOWED_UPDATES = ("message", "edited_message")
_PLACEHOLDER = "***"
_CONNECT_TIMEOUT = 5.0
# How much longer than the poll's own wait a getUpdates answer may take before we give up.
_READ_SLACK = 10.0
_SEND_TIMEOUT = 20.0
_BACKOFF_FIRST = 1.0
_BACKOFF_MAX = 60.0
# ±20 % so that many installations do not hammer Telegram in step after an outage.
_BACKOFF_JITTER = 0.2
# A 409 needs a human (delete the webhook, stop the other poller): retry, but rarely.
_CONFLICT_DELAY = 30.0
_SURROGATE = re.compile("[\ud800-\udfff]")
# Anything shaped like a bot token, in case one arrives from somewhere we did not expect.
_TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _ApiError(Exception):
    """Telegram answered `ok: false` (or an HTTP error without a readable body)."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        # Capped: it is the server's text and ends up in the status bar.
        description = description[:300]
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.retry_after = retry_after


class _Unreadable(Exception):
    """A 2xx answer that is not the JSON Telegram sends (a proxy page, a cut-off body)."""


@dataclass(slots=True)
class _Batch:
    items: list[IncomingItem]
    next_offset: int
    skipped: int


class _TokenTransport(httpx.BaseTransport):
    """Swaps the `/bot***/` placeholder for the real token just before the request leaves.

    httpx logs and reports the request it was given, which still holds the placeholder.
    """

    def __init__(self, inner: httpx.BaseTransport, token: str) -> None:
        self._inner = inner
        self._marker = f"/bot{_PLACEHOLDER}/".encode()
        self._real = f"/bot{urllib.parse.quote(token, safe=':')}/".encode()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raw_path = request.url.raw_path.replace(self._marker, self._real, 1)
        real = httpx.Request(
            request.method,
            request.url.copy_with(raw_path=raw_path),
            headers=request.headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        return self._inner.handle_request(real)

    def close(self) -> None:
        self._inner.close()


def _env_proxy(url: str) -> str | None:
    """HTTPS_PROXY/ALL_PROXY as httpx would honour them (its own lookup is off once we pass
    a transport); where api.telegram.org is blocked a proxy is how a shop reaches it."""
    parsed = httpx.URL(url)
    if urllib.request.proxy_bypass(parsed.host):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parsed.scheme) or proxies.get("all")


class TelegramFeed:
    """One bot. `fetch` and `start` run on the feed thread, `reply` on the outbox thread,
    the long poll on a daemon thread of its own; `describe` and `close` from anywhere."""

    type_name: ClassVar[str] = "telegram"

    def __init__(
        self,
        name: str,
        token: str | Secret,
        *,
        api_base: str = DEFAULT_API_BASE,
        channel: str | int | None = None,
        discussion_chat_id: int | None = None,
        poll_timeout: int = DEFAULT_POLL_TIMEOUT,
        now: Callable[[], datetime] = _utc_now,
        send_timeout: float = _SEND_TIMEOUT,
        read_slack: float = _READ_SLACK,
        backoff_first: float = _BACKOFF_FIRST,
        backoff_max: float = _BACKOFF_MAX,
        conflict_delay: float = _CONFLICT_DELAY,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        raw_token = token.reveal() if isinstance(token, Secret) else token
        if not isinstance(raw_token, str) or not raw_token.strip():
            raise FeedError(f"feed {name!r}: telegram needs a bot token", retryable=False)
        self._token = raw_token.strip()
        # Every spelling of the token that could end up in a string we produce.
        self._secrets = sorted(
            {
                self._token,
                urllib.parse.quote(self._token, safe=":"),
                urllib.parse.quote(self._token),
            },
            key=len,
            reverse=True,
        )
        if not isinstance(poll_timeout, int) or not 0 < poll_timeout <= MAX_POLL_TIMEOUT:
            raise FeedError(
                f"feed {name!r}: poll_timeout must be 1..{MAX_POLL_TIMEOUT} seconds",
                retryable=False,
            )
        base = api_base.strip().rstrip("/")
        if not re.match(r"https?://[^/\s]+", base):
            raise FeedError(
                f"feed {name!r}: api_base must be an http(s) URL, got {self._redact(base)!r}",
                retryable=False,
            )
        try:
            self._scope = Scope(normalise_channel(channel), discussion_chat_id)
        except ValueError as exc:
            raise FeedError(f"feed {name!r}: {exc}", retryable=False) from None
        self._base = base
        self._host = httpx.URL(base).host
        self.poll_timeout = poll_timeout
        self._now = now
        self._send_timeout = send_timeout
        self._conflict_delay = conflict_delay
        self._backoff = Backoff(
            backoff_first, backoff_max, jitter=_BACKOFF_JITTER, rng=rng or random.Random()
        )
        self._poll_client = self._client(read=poll_timeout + read_slack)
        self._send_client = self._client(read=send_timeout)

        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bot: BotIdentity | None = None
        self._roots = ThreadRoots()
        # The offset the next getUpdates sends: everything below it is stored by the app.
        self._offset: int | None = None
        self._ready: _Batch | None = None  # polled, not yet handed to the app
        self._handed: _Batch | None = None  # handed to the app, not yet known to be stored
        self._skipped = 0
        self._unreported_skips = 0  # unreadable answers, reported with the next fetch
        self._status = FeedStatus(FeedState.CONNECTING, "not started")
        self._last_reason = ""  # of the last poll failure, to log each kind of trouble once
        self._poll_client_closed = False

    def _client(self, *, read: float) -> httpx.Client:
        try:
            inner = httpx.HTTPTransport(proxy=_env_proxy(self._base))
        except ImportError:  # a socks:// proxy without httpx[socks]
            raise FeedError(
                f"feed {self.name!r}: the configured SOCKS proxy needs the httpx[socks] extra",
                retryable=False,
            ) from None
        timeout = httpx.Timeout(connect=_CONNECT_TIMEOUT, read=read, write=10.0, pool=5.0)
        return httpx.Client(transport=_TokenTransport(inner, self._token), timeout=timeout)

    # -- Feed protocol ---------------------------------------------------------------------

    def start(self, cursor: str | None) -> None:
        """Check the token with getMe and remember where to read from. No polling yet, so
        `socialtui check` does not disturb a running board's long poll."""
        if self._stop.is_set():
            raise FeedError(f"feed {self.name!r} is closed", retryable=False)
        offset = self._parse_cursor(cursor)
        try:
            me = self._call(self._send_client, "getMe", {})
        except Exception as exc:
            state, reason, _ = self._classify(exc, "getMe")
            self._backoff.reset()  # the app paces start() retries itself
            status = FeedStatus(state, reason)
            raise FeedError(
                reason, retryable=state is not FeedState.AUTH_FAILED, status=status
            ) from None
        bot_id = me.get("id") if isinstance(me, dict) else None
        if not isinstance(bot_id, int) or isinstance(bot_id, bool):
            status = FeedStatus(FeedState.ERROR, f"unexpected getMe answer from {self._host}")
            raise FeedError(status.detail, retryable=True, status=status)
        assert isinstance(me, dict)
        username = me.get("username") if isinstance(me.get("username"), str) else None
        detail = f"signed in as @{username}" if username else f"signed in as bot {bot_id}"
        if self._scope != Scope() and me.get("can_read_all_group_messages") is False:
            # Privacy mode hides group messages that are not commands or replies to the bot.
            detail += "; privacy mode is on: make the bot an admin of the discussion group"
        with self._cond:
            self._bot = BotIdentity(bot_id, username)
            self._offset = offset
            self._ready = self._handed = None
            self._status = FeedStatus(FeedState.CONNECTING, detail)

    def fetch(self, timeout: float) -> FetchResult:
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._cond:
            if self._bot is None:
                raise FeedError(f"feed {self.name!r}: fetch before start", retryable=False)
            if self._handed is not None:
                # Asking again means the previous batch is stored: let the poller confirm it.
                self._offset = self._handed.next_offset
                self._handed = None
                self._cond.notify_all()
            self._ensure_poller()
            while self._ready is None and not self._stop.is_set():
                if self._status.state is FeedState.AUTH_FAILED:
                    raise FeedError(self._status.detail, retryable=False, status=self._status)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            skipped, self._unreported_skips = self._unreported_skips, 0
            batch, self._ready = self._ready, None
            if batch is None:
                return FetchResult(skipped=skipped)
            self._handed = batch
            return FetchResult(batch.items, str(batch.next_offset), batch.skipped + skipped)

    def reply(self, mention: Mention, text: str, reply_key: str) -> ReplyResult:
        if self._stop.is_set():
            raise FeedError(f"feed {self.name!r} is closed; not sent")
        route = mention.route or {}
        chat_id, message_id = route.get("chat_id"), route.get("message_id")
        if not _is_int(chat_id) or not _is_int(message_id):
            return ReplyResult(refused="no Telegram chat and message to answer")
        text = _SURROGATE.sub("\ufffd", text)
        if not text.strip():
            return ReplyResult(refused="empty reply")
        if len(text) > MAX_MESSAGE_CHARS:
            # Splitting would make a half-sent answer possible; the operator shortens it.
            return ReplyResult(refused=f"Telegram takes at most {MAX_MESSAGE_CHARS} characters")
        params: dict[str, Any] = {
            "chat_id": chat_id,
            "text": text,
            "reply_parameters": {"message_id": message_id, "allow_sending_without_reply": True},
        }
        thread_id = route.get("message_thread_id")
        if route.get("topic") is True and _is_int(thread_id):
            params["message_thread_id"] = thread_id
        try:
            result = self._call(self._send_client, "sendMessage", params)
        except Exception as exc:
            raise self._reply_error(exc) from None
        sent_id = result.get("message_id") if isinstance(result, dict) else None
        return ReplyResult(native_reply_id=str(sent_id) if _is_int(sent_id) else None)

    def describe(self) -> FeedStatus:
        status = self._status
        return FeedStatus(status.state, status.detail, status.retry_at, self._skipped)

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._status = FeedStatus(FeedState.STOPPED, "closed")
            self._cond.notify_all()
            poller_running = self._thread is not None and self._thread.is_alive()
        self._send_client.close()
        if not poller_running:
            self._close_poll_client()
        # Otherwise the poller closes it when its current request ends: closing a client under
        # a request in flight on another thread is not something httpx promises to handle.

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the poll thread to end (after `close`); True if it has. For tests/tools."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # -- polling ---------------------------------------------------------------------------

    def _ensure_poller(self) -> None:
        if self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(
                target=self._poll_loop, name=f"telegram-poll-{self.name}", daemon=True
            )
            self._thread.start()

    def _poll_loop(self) -> None:
        try:
            while not self._stop.is_set():
                with self._cond:
                    # One batch at a time: the next poll's offset confirms the previous batch.
                    while not self._stop.is_set() and (
                        self._ready is not None or self._handed is not None
                    ):
                        self._cond.wait()
                    if self._stop.is_set():
                        return
                    offset = self._offset
                delay = self._poll_once(offset)
                if delay:
                    self._stop.wait(delay)
        finally:
            self._close_poll_client()

    def _poll_once(self, offset: int | None) -> float:
        """One getUpdates; returns how long to wait before the next (0: at once)."""
        params: dict[str, Any] = {
            "timeout": self.poll_timeout,
            "allowed_updates": list(ALLOWED_UPDATES),
        }
        if offset is not None:
            params["offset"] = offset
        try:
            updates = self._call(self._poll_client, "getUpdates", params)
            if not isinstance(updates, list):
                raise _Unreadable("getUpdates result is not a list")
            batch = self._parse_batch(updates, offset)
        except Exception as exc:
            if self._stop.is_set():
                return 0  # closing: whatever went wrong no longer matters
            state, reason, delay = self._classify(exc, "getUpdates")
            if state is FeedState.AUTH_FAILED:
                status = FeedStatus(state, reason)
            else:
                retry_at = self._now() + timedelta(seconds=delay)
                status = FeedStatus(state, f"{reason}; retrying in {_seconds(delay)}", retry_at)
            with self._cond:
                if isinstance(exc, _Unreadable):
                    self._skipped += 1
                    self._unreported_skips += 1
                changed = (status.state, reason) != (self._status.state, self._last_reason)
                if not self._stop.is_set():
                    self._status = status
                    self._last_reason = reason
                self._cond.notify_all()
            if changed:  # once per kind of trouble, not once per retry
                log.warning("feed %s: %s", self.name, reason)
            if status.state is FeedState.AUTH_FAILED:
                self._stop.wait()  # nothing to retry with this token; fetch reports it
            return delay
        self._backoff.reset()
        with self._cond:
            if self._stop.is_set():
                return 0
            if self._status.state is not FeedState.LIVE:
                log.info("feed %s: polling", self.name)
            self._status = FeedStatus(FeedState.LIVE, self._live_detail())
            self._last_reason = ""
            if batch is not None:
                self._skipped += batch.skipped
                self._ready = batch
            self._cond.notify_all()
        return 0

    def _parse_batch(self, updates: list[Any], offset: int | None) -> _Batch | None:
        if not updates:
            return None
        items: list[IncomingItem] = []
        skipped = 0
        last: int | None = None
        for update in updates:
            try:
                last = max(update_id(update), last if last is not None else -(2**63))
                item = parse_update(
                    update, bot=self._bot, scope=self._scope, roots=self._roots, feed=self.name
                )
            except UpdateError as exc:
                log.warning("feed %s: skipped a malformed update: %s", self.name, exc)
                skipped += 1
                continue
            except Exception:
                # A parsing bug must not wedge the feed on one update for ever: skip it too.
                log.exception("feed %s: could not parse an update", self.name)
                skipped += 1
                continue
            if item is not None:
                items.append(item)
        if last is None:
            # Not one readable update_id: nothing to confirm; the same answer would come back
            # for ever, so this is a broken server rather than a batch.
            raise _Unreadable("no update in the answer has an update_id")
        # Never move backwards, whatever the server says.
        next_offset = max(last + 1, offset or 0)
        return _Batch(items, next_offset, skipped)

    def _live_detail(self) -> str:
        bot = self._bot
        who = f"@{bot.username}" if bot and bot.username else "bot"
        channel = self._scope.channel
        if isinstance(channel, str):
            return f"{who} · comments on @{channel}"
        return who if channel is None else f"{who} · comments on {channel}"

    # -- HTTP ------------------------------------------------------------------------------

    def _call(self, client: httpx.Client, method: str, params: Mapping[str, Any]) -> Any:
        """POST one Bot API method; returns `result` or raises _ApiError, _Unreadable or an
        httpx error. The URL holds only the placeholder (see _TokenTransport)."""
        body = json.dumps(params, ensure_ascii=False).encode("utf-8")
        response = client.post(
            f"{self._base}/bot{_PLACEHOLDER}/{method}",
            content=body,
            headers={"content-type": "application/json"},
        )
        try:
            payload = response.json()
        except (ValueError, UnicodeDecodeError):
            payload = None
        if not isinstance(payload, dict):
            if response.is_success:
                raise _Unreadable(f"{method}: answer is not a JSON object")
            raise _ApiError(response.status_code, response.reason_phrase or "HTTP error")
        if payload.get("ok") is True and "result" in payload:
            return payload["result"]
        code = payload.get("error_code")
        if not _is_int(code):
            if response.is_success:
                raise _Unreadable(f"{method}: answer has neither result nor error_code")
            code = response.status_code
        description = payload.get("description")
        parameters = payload.get("parameters")
        retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
        raise _ApiError(
            code,
            description if isinstance(description, str) else "",
            retry_after if _is_int(retry_after) else None,
        )

    def _classify(self, exc: BaseException, method: str) -> tuple[FeedState, str, float]:
        """What a failed call means: the state, a reason for the status bar (token-free), and
        how long to wait before trying again."""
        if isinstance(exc, _ApiError):
            description = self._redact(exc.description)
            if exc.code in (401, 404):
                reason = (
                    f"Telegram rejected the bot token ({exc.code} {description}); "
                    "check the token and api_base"
                )
                return FeedState.AUTH_FAILED, reason, 0.0
            if exc.code == 409:
                if "webhook" in exc.description.lower():
                    reason = "a webhook is set for this bot, so it cannot poll: call deleteWebhook"
                else:
                    reason = (
                        "another program is polling this bot (409): stop it, or give this "
                        "board its own bot"
                    )
                return FeedState.ERROR, reason, self._conflict_delay
            if exc.code == 429:
                wait = float(exc.retry_after) if exc.retry_after else self._backoff.next()
                return FeedState.RATE_LIMITED, "Telegram rate limit", wait
            state = FeedState.OFFLINE if exc.code >= 500 else FeedState.ERROR
            return state, f"{method} failed: {exc.code} {description}", self._backoff.next()
        if isinstance(exc, _Unreadable):
            return FeedState.OFFLINE, f"unreadable answer from {self._host}", self._backoff.next()
        if isinstance(exc, httpx.HTTPError):
            reason = f"cannot reach {self._host}: {self._describe_http_error(exc)}"
            return FeedState.OFFLINE, reason, self._backoff.next()
        # A bug of ours: say so, keep the board running, and try again later.
        log.error("feed %s: %s failed unexpectedly: %s", self.name, method, self._redact(repr(exc)))
        return FeedState.ERROR, f"internal error ({type(exc).__name__})", self._backoff.next()

    def _reply_error(self, exc: BaseException) -> FeedError:
        unsure = "the reply may have been sent: check the chat before sending it again"
        if isinstance(exc, _ApiError):
            description = self._redact(exc.description) or "no description"
            if exc.code in (401, 404):
                status = FeedStatus(
                    FeedState.AUTH_FAILED, f"Telegram rejected the bot token ({exc.code})"
                )
                with self._cond:
                    if not self._stop.is_set():
                        self._status = status
                return FeedError(status.detail, retryable=False, status=status)
            if exc.code == 429:
                wait = f" {exc.retry_after} s" if exc.retry_after else ""
                return FeedError(f"Telegram rate limit: not sent, retry in{wait or ' a while'}")
            if exc.code >= 500:
                return FeedError(
                    f"Telegram error {exc.code} {description}; {unsure}", retryable=False
                )
            # 400 (message gone, chat gone, migrated group) and 403 (bot blocked): final.
            return FeedError(f"Telegram refused the reply: {description}", retryable=False)
        if isinstance(exc, _Unreadable):
            return FeedError(f"unreadable answer from {self._host}; {unsure}", retryable=False)
        reason = self._describe_http_error(exc) if isinstance(exc, httpx.HTTPError) else ""
        if isinstance(
            exc,
            httpx.ConnectError
            | httpx.ConnectTimeout
            | httpx.PoolTimeout
            | httpx.ProxyError
            | httpx.WriteError
            | httpx.WriteTimeout,
        ):
            # The request never (fully) left: Telegram cannot have acted on it.
            return FeedError(f"cannot reach {self._host}: {reason}; not sent")
        if isinstance(exc, httpx.ReadTimeout):
            return FeedError(
                f"no answer from {self._host} within {self._send_timeout:.0f} s; {unsure}",
                retryable=False,
            )
        if isinstance(exc, httpx.HTTPError):
            return FeedError(
                f"connection to {self._host} failed ({reason}); {unsure}", retryable=False
            )
        log.error(
            "feed %s: sendMessage failed unexpectedly: %s", self.name, self._redact(repr(exc))
        )
        return FeedError(f"internal error ({type(exc).__name__}); {unsure}", retryable=False)

    def _describe_http_error(self, exc: httpx.HTTPError) -> str:
        # str(exc) can carry the URL (and so the token) for some httpx errors: redact it.
        message = self._redact(str(exc)).strip()
        name = type(exc).__name__
        return f"{name}: {message[:160]}" if message else name

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _PLACEHOLDER)
        return _TOKEN_SHAPE.sub(_PLACEHOLDER, text)

    def _parse_cursor(self, cursor: str | None) -> int | None:
        if cursor is None:
            return None
        try:
            offset = int(cursor)
        except ValueError:
            # Unreadable: read whatever Telegram still holds; the store drops repeats.
            log.warning("feed %s: ignoring unreadable cursor %.40r", self.name, cursor)
            return None
        return offset if offset > 0 else None

    def _close_poll_client(self) -> None:
        with self._cond:
            if self._poll_client_closed:
                return
            self._poll_client_closed = True
        self._poll_client.close()


def _seconds(delay: float) -> str:
    return f"{max(1, round(delay))} s"


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


@register(
    "telegram",
    {
        "token_env": OptionSpec(
            str, required=True, help="environment variable holding the bot token from @BotFather"
        ),
        "api_base": OptionSpec(str, help=f"Bot API server; default {DEFAULT_API_BASE}"),
        "channel": OptionSpec(
            (str, int), help="the shop's channel (@username or id) whose comments to read"
        ),
        "discussion_chat_id": OptionSpec(int, help="the channel's discussion group chat id"),
        "poll_timeout": OptionSpec(
            int, help=f"long-poll wait in seconds, 1..{MAX_POLL_TIMEOUT}; default 25"
        ),
    },
)
def create_telegram_feed(name: str, options: Mapping[str, Any]) -> Feed:
    token = options.get("token")
    if not isinstance(token, Secret | str) or not token:
        raise FeedError(
            f"feed {name!r}: telegram needs token_env naming a variable with the bot token",
            retryable=False,
        )
    return TelegramFeed(
        name,
        token,
        api_base=options.get("api_base") or DEFAULT_API_BASE,
        channel=options.get("channel"),
        discussion_chat_id=options.get("discussion_chat_id"),
        poll_timeout=options.get("poll_timeout", DEFAULT_POLL_TIMEOUT),
    )
