"""X (Twitter) mentions of the shop's account, and replies to them, over API v2 with tweepy.

Reading: a daemon thread polls GET /2/users/:id/mentions every `poll_interval` seconds (reads
are paid per use, so the default is a minute), all pages of one poll in a row, and hands the
batch to `fetch`, which waits for it at most its timeout. The cursor is the newest tweet id of
the batch (`since_id`). A fresh start reads "from now": until the first mention arrives the
cursor is `time:<ISO start time>` (the poll's `start_time`), so quiet days lose nothing either.

A mention that answers one of the shop's own tweets is a COMMENT, any other a MENTION; the first
tweet of its conversation is the context, looked up once and cached. Retweets and the shop's
own tweets are left out: they are nothing to answer.

Replying: POST /2/tweets with `in_reply_to_tweet_id`, which needs user-context credentials
(OAuth 1.0a). X has no idempotency key, so `reply` never retries by itself: a failure before
the request left is retryable, anything after it is "check on X" (see `_reply_error`).

tweepy hard-codes https://api.twitter.com and sends without timeouts; an adapter mounted on its
session redirects it to `api_base` and sets them. Note that OAuth 1.0a signs the original URL,
so a relay behind another `api_base` must forward to api.twitter.com as is.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
import tweepy
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

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
from feeds.x_parse import (
    Page,
    PayloadError,
    Root,
    build_item,
    conversation_of,
    is_retweet,
    parse_page,
    parse_root,
    parse_tweet_id,
    replied_to,
    root_from_tweet,
)
from triage.model import IncomingItem, Kind, Mention
from triage.secret import Secret

__all__ = ["NO_ANSWER", "XFeed", "create_x_feed"]

log = logging.getLogger(__name__)

TWITTER_HOST = "https://api.twitter.com"
DEFAULT_POLL_INTERVAL = 60.0
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 20.0
MAX_RESULTS = 100
# The timeline holds the 800 most recent mentions, 8 pages of 100; this only bounds a bug.
MAX_PAGES = 10
CONTEXT_CACHE_SIZE = 1024
TIME_CURSOR = "time:"
NO_ANSWER = "X: no answer — check on X whether the reply was posted"
EXPANSIONS = ["author_id", "referenced_tweets.id"]
USER_FIELDS = ["public_metrics", "location", "username", "name"]
TWEET_FIELDS = ["conversation_id", "referenced_tweets", "created_at", "author_id"]
# tweepy logs the Authorization header at DEBUG, requests_oauthlib/oauthlib the OAuth
# signature and tokens. Nothing they say below WARNING is worth a leaked token.
_CHATTY_LOGGERS = ("tweepy", "requests_oauthlib", "oauthlib")
_USER_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# Waits are cut in slices so a changed wall clock (a laptop waking up) is noticed.
_SLICE = 1.0

Credential = Secret | str | None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _RedirectAdapter(HTTPAdapter):
    """Sends tweepy's https://api.twitter.com requests to `base`, always with timeouts."""

    def __init__(self, base: str, timeout: tuple[float, float]) -> None:
        super().__init__()
        self._base = base
        self._timeout = timeout
        # A relay or test double on this machine is never reached through the user's proxy.
        self._local = (urlsplit(base).hostname or "") in _LOOPBACK

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        url = request.url or ""
        if url == TWITTER_HOST or url.startswith(TWITTER_HOST + "/"):
            request.url = self._base + url[len(TWITTER_HOST) :]
        return super().send(
            request,
            stream=stream,
            timeout=self._timeout,  # tweepy passes none: a stalled server would hang forever
            verify=verify,
            cert=cert,
            proxies={} if self._local else proxies,
        )


def _reveal(value: Credential) -> str | None:
    if value is None:
        return None
    text = value.reveal() if isinstance(value, Secret) else value
    return text or None


def _secret(value: Credential) -> Secret | None:
    text = _reveal(value)
    return Secret(text) if text else None


def _quiet_chatty_loggers() -> None:
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # NOTSET included; a stricter level is kept
            logger.setLevel(logging.WARNING)


def _api_message(exc: tweepy.HTTPException) -> str:
    """X's own words for an error, made safe to print: one line, no control characters."""
    messages = [m for m in exc.api_messages if isinstance(m, str)]
    text = " ".join(messages[0].split()) if messages else ""
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return text[:160]


def _said(detail: str) -> str:
    """A status detail as an error message that names the network once."""
    return detail if detail.startswith("X ") else f"X: {detail}"


def _status_code(exc: tweepy.HTTPException) -> int:
    code = getattr(exc.response, "status_code", 0)
    return code if isinstance(code, int) else 0


def _describe_http(exc: tweepy.HTTPException) -> str:
    message = _api_message(exc)
    return f"{_status_code(exc)}" + (f": {message}" if message else "")


def _never_sent(exc: BaseException) -> bool:
    """Whether a requests error certainly happened before the request left this machine.

    Connecting (refused, DNS, connect timeout, TLS handshake, proxy) fails before any byte of
    the request is written. A reset or a read timeout may come after X acted on it.
    """
    if isinstance(
        exc, requests.ConnectTimeout | requests.exceptions.SSLError | requests.exceptions.ProxyError
    ):
        return True
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen or not isinstance(current, BaseException):
            continue
        seen.add(id(current))
        if isinstance(current, NewConnectionError | ConnectTimeoutError):
            return True
        pending.extend([*current.args, current.__cause__, current.__context__])
        pending.append(getattr(current, "reason", None))
    return False


class XFeed:
    """Mentions of one X account. `fetch` runs on the feed thread, `reply` on the outbox's."""

    type_name: ClassVar[str] = "x"

    def __init__(
        self,
        name: str,
        *,
        bearer_token: Credential = None,
        consumer_key: Credential = None,
        consumer_secret: Credential = None,
        access_token: Credential = None,
        access_token_secret: Credential = None,
        user_id: str | int | None = None,
        api_base: str = TWITTER_HOST,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        backoff_first: float = 5.0,
        backoff_limit: float = 300.0,
        now: Callable[[], datetime] = _utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self._bearer = _secret(bearer_token)
        given = (consumer_key, consumer_secret, access_token, access_token_secret)
        user = {key: s for key, s in zip(_USER_KEYS, map(_secret, given), strict=True) if s}
        missing = [f"{key}_env" for key in _USER_KEYS if key not in user]
        if 0 < len(missing) < len(_USER_KEYS):
            raise FeedError(
                f"feed {name!r}: replying on X needs all four user-context keys; "
                f"missing {', '.join(missing)}",
                retryable=False,
            )
        self._user: dict[str, Secret] | None = user or None
        if self._bearer is None and self._user is None:
            raise FeedError(
                f"feed {name!r}: X needs bearer_token_env (reading) and/or consumer_key_env, "
                "consumer_secret_env, access_token_env, access_token_secret_env (replying)",
                retryable=False,
            )
        configured = str(user_id).strip() if user_id is not None else ""
        if configured and parse_tweet_id(configured) is None:
            raise FeedError(
                f"feed {name!r}: user_id must be the account's numeric id", retryable=False
            )
        if not api_base.startswith(("https://", "http://")):
            raise FeedError(
                f"feed {name!r}: api_base must start with https:// or http://", retryable=False
            )
        if not poll_interval > 0:
            raise FeedError(f"feed {name!r}: poll_interval must be positive", retryable=False)
        self._configured_user_id = configured or None
        self._api_base = api_base.rstrip("/")
        self._poll_interval = float(poll_interval)
        self._timeouts = (float(connect_timeout), float(read_timeout))
        self._backoff_first = backoff_first
        self._backoff_limit = backoff_limit
        self._now = now
        self._rng = rng or random.Random()
        # Read with the app's bearer token when there is one: its limits are the app's own.
        self._read_user_auth = self._bearer is None
        _quiet_chatty_loggers()

        self._cond = threading.Condition()
        self._status = FeedStatus(FeedState.CONNECTING, "not started")
        self._skipped = 0
        self._closed = False
        self._started = False
        self._user_id: str | None = None
        self._username: str | None = None
        self._since_id: int | None = None
        self._start_time: datetime | None = None
        self._cursor_due: str | None = None  # a cursor to report with the next batch
        self._batch: FetchResult | None = None  # polled, waiting for fetch
        self._error: FeedError | None = None  # raised once by fetch
        self._not_before: datetime | None = None  # a rate limit also gates start()
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._read_client: Any = None
        self._failures = 0
        # Touched by the poll thread only.
        self._roots: OrderedDict[str, Root | None] = OrderedDict()
        self._reply_lock = threading.Lock()
        self._write_client: Any = None

    # -- Feed protocol ---------------------------------------------------------------------

    def start(self, cursor: str | None) -> None:
        """Check the credentials (so `socialtui check` gives a verdict) and set the cursor.

        Polling begins with the first `fetch`: a check alone costs no paid read of mentions.
        """
        self._halt_poller()
        with self._cond:
            self._closed = False
            gate = self._not_before
        if gate is not None and gate > self._now():
            error = self._rate_limited_error(gate)
            self._set_status(error.status or self._status)
            raise error
        self._set_status(FeedStatus(FeedState.CONNECTING, "checking the credentials"))
        try:
            user_id, username = self._check_credentials()
        except FeedError as exc:
            if exc.status is not None:
                self._set_status(exc.status)
            raise
        since_id, start_time, due = self._parse_cursor(cursor)
        with self._cond:
            self._user_id, self._username = user_id, username
            self._since_id, self._start_time, self._cursor_due = since_id, start_time, due
            self._batch = None
            self._error = None
            self._failures = 0
            self._started = True
            self._status = FeedStatus(FeedState.LIVE, self._account())

    def fetch(self, timeout: float) -> FetchResult:
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._cond:
            if self._closed or not self._started:
                return FetchResult()
            self._ensure_poller()
            while True:
                if self._error is not None:
                    error, self._error = self._error, None
                    raise error
                if self._batch is not None:
                    batch, self._batch = self._batch, None
                    self._cond.notify_all()  # the poller may go on
                    return batch
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    return FetchResult()
                self._cond.wait(remaining)

    def reply(self, mention: Mention, text: str, reply_key: str) -> ReplyResult:
        """Post `text` as an answer to the mentioned tweet; returns the new tweet's id.

        `reply_key` cannot be used: X has no idempotency key. The outbox records the attempt
        before calling, so a crash mid-call becomes "unknown" rather than a second tweet.
        """
        if self._user is None:
            raise FeedError(
                "X: replying needs consumer_key_env, consumer_secret_env, access_token_env "
                "and access_token_secret_env in the feed's config",
                retryable=False,
            )
        tweet_id = str(mention.route.get("tweet_id") or mention.native_id)
        if parse_tweet_id(tweet_id) is None:
            raise FeedError(f"X: {tweet_id[:40]!r} is not a tweet id", retryable=False)
        with self._reply_lock:
            if self._closed:
                raise FeedError("X: the feed is closing; the reply will go later")
            if self._write_client is None:
                self._write_client = self._make_client()
            client = self._write_client
            # A fresh connection for every reply: a pooled one the server dropped would fail
            # mid-send, indistinguishable from a lost answer, and turn a clean retry into
            # "check on X".
            client.session.close()
            try:
                payload = client.create_tweet(text=text, in_reply_to_tweet_id=tweet_id)
            except requests.JSONDecodeError:
                # Only a 2xx answer is parsed: the tweet exists, its id is unreadable.
                log.warning("X feed %s: reply posted, but its id was unreadable", self.name)
                return ReplyResult(native_reply_id=None)
            except Exception as exc:
                raise self._reply_error(exc) from exc
        data = payload.get("data") if isinstance(payload, dict) else None
        new_id = data.get("id") if isinstance(data, dict) else None
        return ReplyResult(native_reply_id=new_id if parse_tweet_id(new_id) else None)

    def describe(self) -> FeedStatus:
        with self._cond:
            status = self._status
            return FeedStatus(status.state, status.detail, status.retry_at, self._skipped)

    def close(self) -> None:
        self._halt_poller()
        with self._cond:
            self._closed = True
            self._started = False
            self._status = FeedStatus(FeedState.STOPPED, "closed")
            self._cond.notify_all()
            clients = [self._read_client, self._write_client]
            self._read_client = None
        # Only idle connections close here; a request in flight ends at its timeout on the
        # poller's daemon thread, which nobody waits for.
        for client in clients:
            if client is not None:
                client.session.close()

    # -- credentials and cursor ------------------------------------------------------------

    def _make_client(self) -> Any:
        user = self._user or {}
        client = tweepy.Client(
            bearer_token=_reveal(self._bearer),
            consumer_key=_reveal(user.get("consumer_key")),
            consumer_secret=_reveal(user.get("consumer_secret")),
            access_token=_reveal(user.get("access_token")),
            access_token_secret=_reveal(user.get("access_token_secret")),
            # Plain dicts: tweepy's Tweet/User constructors raise on one malformed record.
            return_type=dict,
            # Never True: it sleeps the calling thread for up to 15 minutes.
            wait_on_rate_limit=False,
        )
        client.session.mount(TWITTER_HOST, _RedirectAdapter(self._api_base, self._timeouts))
        return client

    def _check_credentials(self) -> tuple[str, str | None]:
        client = self._make_client()
        user_id, username = self._configured_user_id, None
        # Named in errors, so `socialtui check` says which of the two credentials X refused.
        which = "the access token and API keys"
        try:
            if self._user is not None:
                me = _user_data(client.get_me(user_auth=True))
                if user_id is not None and me[0] != user_id:
                    raise FeedError(
                        f"X: user_id {user_id} is not the account of the access token "
                        f"(@{me[1]}, id {me[0]}); replies would come from another account",
                        retryable=False,
                        status=FeedStatus(FeedState.ERROR, "user_id does not match the token"),
                    )
                user_id, username = me
            if self._bearer is not None:
                which = "the bearer token"
                if user_id is not None:
                    answer = client.get_user(id=user_id, user_auth=False)
                    if isinstance(answer, dict) and "data" not in answer and answer.get("errors"):
                        raise FeedError(
                            f"X: there is no account with user_id {user_id}",
                            retryable=False,
                            status=FeedStatus(FeedState.ERROR, "no such account"),
                        )
                    found = _user_data(answer)
                else:  # an OAuth 2.0 user token can say whose it is; an app token cannot
                    found = _user_data(client.get_me(user_auth=False))
                user_id, username = found
        except FeedError:
            raise
        except Exception as exc:
            raise self._start_error(exc, which=which, bearer_only=self._user is None) from exc
        finally:
            client.session.close()
        assert user_id is not None
        return user_id, username

    def _start_error(self, exc: Exception, *, which: str, bearer_only: bool) -> FeedError:
        now = self._now()
        if isinstance(exc, tweepy.TooManyRequests):
            retry_at = self._reset_time(exc, now)
            with self._cond:
                self._not_before = retry_at
            return self._rate_limited_error(retry_at)
        if isinstance(exc, tweepy.Unauthorized | tweepy.Forbidden):
            hint = " Check the feed's *_env variables."
            if isinstance(exc, tweepy.Forbidden) and bearer_only and not self._configured_user_id:
                hint = " An app-only bearer token cannot look up its own account: set user_id."
            detail = f"X refused {which} ({_describe_http(exc)})"
            return FeedError(
                f"{_said(detail)}.{hint}",
                retryable=False,
                status=FeedStatus(FeedState.AUTH_FAILED, detail),
            )
        if isinstance(exc, requests.JSONDecodeError | PayloadError):
            detail = "X sent an unreadable answer"
            return FeedError(_said(detail), status=FeedStatus(FeedState.ERROR, detail))
        if isinstance(exc, tweepy.TwitterServerError):
            detail = f"X is unavailable ({_status_code(exc)})"
            return FeedError(_said(detail), status=FeedStatus(FeedState.OFFLINE, detail))
        if isinstance(exc, tweepy.HTTPException):  # 400 bad user_id, 404 no such account
            detail = f"X refused the account lookup ({_describe_http(exc)})"
            return FeedError(
                _said(detail), retryable=False, status=FeedStatus(FeedState.ERROR, detail)
            )
        if isinstance(exc, requests.RequestException):
            detail = "X is unreachable"
            return FeedError(_said(detail), status=FeedStatus(FeedState.OFFLINE, detail))
        raise exc

    def _rate_limited_error(self, retry_at: datetime) -> FeedError:
        status = self._rate_limited(retry_at)
        return FeedError(_said(status.detail), status=status)

    def _rate_limited(self, retry_at: datetime) -> FeedStatus:
        until = retry_at.astimezone().strftime("%H:%M")
        return FeedStatus(FeedState.RATE_LIMITED, f"rate-limited until {until}", retry_at)

    def _reset_time(self, exc: tweepy.TooManyRequests, now: datetime) -> datetime:
        reset = exc.reset_time
        if isinstance(reset, int) and not isinstance(reset, bool):
            try:
                retry_at = datetime.fromtimestamp(reset, UTC)
            except (OverflowError, OSError, ValueError):
                retry_at = now
            if retry_at > now:
                return retry_at
        # No usable header: X's windows are 15 minutes; a minute is a modest guess.
        return now + timedelta(seconds=max(60.0, self._poll_interval))

    def _parse_cursor(self, cursor: str | None) -> tuple[int | None, datetime | None, str | None]:
        """(since_id, start_time, cursor to report). A mangled cursor restarts from now."""
        if cursor is not None:
            since_id = parse_tweet_id(cursor)
            if since_id is not None:
                return since_id, None, None
            if cursor.startswith(TIME_CURSOR):
                try:
                    start = datetime.fromisoformat(cursor.removeprefix(TIME_CURSOR))
                except ValueError:
                    start = None
                if start is not None and start.tzinfo is not None:
                    return None, start.astimezone(UTC), None
            log.warning("X feed %s: unreadable cursor; reading from now", self.name)
        start = self._now().astimezone(UTC).replace(microsecond=0)
        return None, start, TIME_CURSOR + start.isoformat().replace("+00:00", "Z")

    def _account(self) -> str:
        return f"@{self._username}" if self._username else f"account {self._user_id}"

    def _set_status(self, status: FeedStatus) -> None:
        with self._cond:
            if not self._closed:
                self._status = status

    # -- polling ---------------------------------------------------------------------------

    def _ensure_poller(self) -> None:
        """Start the poll thread on the first fetch. Called with the condition held."""
        if self._poller is not None and self._poller.is_alive() and not self._stop.is_set():
            return
        self._stop = threading.Event()
        if self._read_client is None:
            self._read_client = self._make_client()
        self._poller = threading.Thread(
            target=self._poll_loop,
            args=(self._stop, self._read_client),
            name=f"x-feed-{self.name}",
            daemon=True,
        )
        self._poller.start()

    def _halt_poller(self) -> None:
        with self._cond:
            self._stop.set()
            self._poller = None
            self._cond.notify_all()

    def _poll_loop(self, stop: threading.Event, client: Any) -> None:
        while not stop.is_set():
            with self._cond:
                # One batch at a time: the next poll waits until fetch took the last one.
                while self._batch is not None and not stop.is_set():
                    self._cond.wait(_SLICE)
            if stop.is_set():
                return
            try:
                result, next_at = self._poll(client, stop)
            except Exception:  # a bug must not end reading for the rest of the session
                log.exception("X feed %s: poll failed", self.name)
                retry_at = self._now() + timedelta(seconds=self._backoff())
                self._set_status(FeedStatus(FeedState.ERROR, "internal error; see the log"))
                result, next_at = None, retry_at
            if result is not None and (result.items or result.cursor or result.skipped):
                with self._cond:
                    if not stop.is_set():
                        self._batch = result
                        self._cond.notify_all()
            self._sleep_until(next_at, stop)

    def _sleep_until(self, when: datetime, stop: threading.Event) -> None:
        while not stop.is_set():
            remaining = (when - self._now()).total_seconds()
            if remaining <= 0:
                return
            stop.wait(min(remaining, _SLICE))

    def _poll(self, client: Any, stop: threading.Event) -> tuple[FetchResult | None, datetime]:
        """One poll: every page since the cursor. Returns the batch and when to poll next."""
        with self._cond:
            user_id, since_id, start_time = self._user_id, self._since_id, self._start_time
        params: dict[str, Any] = {
            "max_results": MAX_RESULTS,
            "expansions": EXPANSIONS,
            "user_fields": USER_FIELDS,
            "tweet_fields": TWEET_FIELDS,
            "user_auth": self._read_user_auth,
        }
        if since_id is not None:
            params["since_id"] = str(since_id)
        else:
            params["start_time"] = start_time
        pages: list[Page] = []
        token: str | None = None
        failure: Exception | None = None
        for _ in range(MAX_PAGES):
            try:
                payload = client.get_users_mentions(user_id, pagination_token=token, **params)
                page = parse_page(payload)
            except Exception as exc:
                failure = exc
                break
            pages.append(page)
            token = page.next_token
            if token is None or stop.is_set():
                break
        complete = failure is None and (token is None or not stop.is_set())
        items, skipped = self._build_items(pages, client, stop)
        newest = max((p.newest_id for p in pages if p.newest_id is not None), default=None)
        skipped += sum(page.skipped for page in pages)

        with self._cond:
            if stop.is_set():  # closed or restarted meanwhile: the new cursor is not ours
                return None, self._now()
            cursor: str | None = None
            # Only a complete poll moves the cursor: after a failure on page 3 the next poll
            # asks again from the old since_id and the store drops what was already saved.
            if complete and newest is not None and (since_id is None or newest > since_id):
                self._since_id = newest
                self._cursor_due = None
                cursor = str(newest)
            elif self._cursor_due is not None:
                cursor, self._cursor_due = self._cursor_due, None
        now = self._now()
        if failure is None:
            self._failures = 0
            next_at = now + timedelta(seconds=self._poll_interval)
            self._set_status(FeedStatus(FeedState.LIVE, self._account()))
        else:
            status, next_at, skip = self._poll_failure(failure, now)
            skipped += skip
            self._set_status(status)
        if skipped:
            with self._cond:
                self._skipped += skipped
        if not (items or cursor or skipped):
            return None, next_at
        return FetchResult(items, cursor, skipped), next_at

    def _poll_failure(self, exc: Exception, now: datetime) -> tuple[FeedStatus, datetime, int]:
        """(status, when to poll next, records skipped) for a failed page request."""
        if isinstance(exc, requests.JSONDecodeError | PayloadError):
            # Counted and shown, never raised: the next poll asks again.
            log.warning("X feed %s: unreadable answer skipped: %s", self.name, exc)
            interval = now + timedelta(seconds=self._poll_interval)
            return FeedStatus(FeedState.LIVE, self._account()), interval, 1
        if isinstance(exc, tweepy.TooManyRequests):
            retry_at = self._reset_time(exc, now)
            status = self._rate_limited(retry_at)
            # A second past the reset: a poll on the dot may still find the old window.
            return status, retry_at + timedelta(seconds=1), 0
        if isinstance(exc, tweepy.Unauthorized | tweepy.Forbidden):
            detail = f"X refused the credentials ({_describe_http(exc)})"
            status = FeedStatus(FeedState.AUTH_FAILED, detail)
            with self._cond:
                if self._status.state is not FeedState.AUTH_FAILED:
                    self._error = FeedError(_said(detail), retryable=False, status=status)
            log.warning("X feed %s: %s", self.name, detail)
            # Keys do not mend themselves, but a revoked app can be restored: look rarely.
            return status, now + timedelta(seconds=10 * self._poll_interval), 0
        retry_at = now + timedelta(seconds=self._backoff())
        if isinstance(exc, tweepy.TwitterServerError):
            status = FeedStatus(
                FeedState.OFFLINE, f"X is unavailable ({_status_code(exc)})", retry_at
            )
        elif isinstance(exc, tweepy.HTTPException):
            status = FeedStatus(FeedState.ERROR, f"X refused the poll ({_describe_http(exc)})")
        elif isinstance(exc, requests.RequestException):
            status = FeedStatus(FeedState.OFFLINE, "X is unreachable", retry_at)
        else:
            raise exc
        if status.state is not self.describe().state:
            log.warning("X feed %s: %s", self.name, status.detail)
        return status, retry_at, 0

    def _backoff(self) -> float:
        """Exponential, capped, with ±20 % jitter so that restarts do not poll in step."""
        self._failures += 1
        delay = min(self._backoff_limit, self._backoff_first * 2.0 ** (self._failures - 1))
        return delay * self._rng.uniform(0.8, 1.2)

    # -- items -----------------------------------------------------------------------------

    def _build_items(
        self, pages: list[Page], client: Any, stop: threading.Event
    ) -> tuple[list[IncomingItem], int]:
        users: dict[str, Mapping[str, Any]] = {}
        included: dict[str, Mapping[str, Any]] = {}
        tweets: dict[int, Mapping[str, Any]] = {}
        for page in pages:
            users.update(page.users)
            included.update(page.included)
            for tweet in page.tweets:
                tweets[int(tweet["id"])] = tweet
        shop = self._user_id
        now = self._now()
        items: list[IncomingItem] = []
        skipped = 0
        lookups = _Lookups(client, self._read_user_auth, stop)
        for tweet_id in sorted(tweets):  # oldest first, as they happened
            tweet = tweets[tweet_id]
            if is_retweet(tweet) or tweet.get("author_id") == shop:
                continue
            root_id = conversation_of(tweet)
            root = self._root(root_id, included, lookups) if root_id else None
            parent = replied_to(tweet)
            parent_author: object = None
            if parent is not None and parent in included:
                parent_author = included[parent].get("author_id")
            elif parent is not None and parent == root_id and root is not None:
                parent_author = root.author_id
            kind = Kind.COMMENT if shop is not None and parent_author == shop else Kind.MENTION
            try:
                items.append(
                    build_item(
                        tweet,
                        users=users,
                        kind=kind,
                        context=root.text if root else None,
                        now=now,
                        feed=self.name,
                    )
                )
            except PayloadError as exc:
                log.warning("X feed %s: skipped tweet %s: %s", self.name, tweet_id, exc)
                skipped += 1
        return items, skipped

    def _root(self, root_id: str, included: Mapping[str, Any], lookups: _Lookups) -> Root | None:
        """The conversation's first tweet: from the page, the cache, or one paid lookup."""
        if root_id in included:
            try:
                root: Root | None = root_from_tweet(included[root_id])
            except PayloadError:
                root = None
            self._remember(root_id, root)
            return root
        if root_id in self._roots:
            self._roots.move_to_end(root_id)
            return self._roots[root_id]
        found, root = lookups.root(root_id)
        if found:  # only definite answers are cached; a timeout is asked again next poll
            self._remember(root_id, root)
        return root

    def _remember(self, root_id: str, root: Root | None) -> None:
        self._roots[root_id] = root
        self._roots.move_to_end(root_id)
        while len(self._roots) > CONTEXT_CACHE_SIZE:
            self._roots.popitem(last=False)

    # -- replies ---------------------------------------------------------------------------

    def _reply_error(self, exc: Exception) -> FeedError:
        """Retryable only when X certainly did not post: the outbox must never post twice."""
        if isinstance(exc, tweepy.TooManyRequests):
            status = self._rate_limited(self._reset_time(exc, self._now()))
            return FeedError(f"{_said(status.detail)}; the reply will be retried", status=status)
        if isinstance(exc, tweepy.TwitterServerError):
            return FeedError(f"X is unavailable ({_status_code(exc)}); the reply will be retried")
        if isinstance(exc, tweepy.Forbidden) and "duplicate" in _api_message(exc).lower():
            # X refuses a tweet identical to a recent one: an earlier attempt got through.
            return FeedError(
                "X: refused as a duplicate — an identical reply seems to be posted already",
                retryable=False,
            )
        if isinstance(exc, tweepy.Unauthorized):
            detail = f"X refused the credentials ({_describe_http(exc)})"
            return FeedError(
                _said(detail),
                retryable=False,
                status=FeedStatus(FeedState.AUTH_FAILED, detail),
            )
        if isinstance(exc, tweepy.HTTPException):  # 400 too long, 403 replies restricted, 404
            return FeedError(f"X refused the reply ({_describe_http(exc)})", retryable=False)
        if isinstance(exc, requests.RequestException) and _never_sent(exc):
            return FeedError("X: cannot connect; the reply will be retried")
        if isinstance(exc, requests.RequestException):
            log.warning("X feed %s: reply outcome unknown: %s", self.name, type(exc).__name__)
            return FeedError(NO_ANSWER, retryable=False)
        raise exc


class _Lookups:
    """Root-tweet lookups for one poll; the first rate limit or outage stops the rest."""

    def __init__(self, client: Any, user_auth: bool, stop: threading.Event) -> None:
        self._client = client
        self._user_auth = user_auth
        self._stop = stop
        self._blocked = False

    def root(self, root_id: str) -> tuple[bool, Root | None]:
        """(whether the answer is definite, the root tweet or None)."""
        if self._blocked or self._stop.is_set():
            return False, None
        try:
            payload = self._client.get_tweet(
                root_id, tweet_fields=["author_id", "created_at"], user_auth=self._user_auth
            )
            return True, parse_root(payload)
        except (requests.JSONDecodeError, PayloadError, tweepy.NotFound, tweepy.Forbidden):
            return True, None  # gone, hidden or garbled: the mention still arrives, bare
        except (tweepy.HTTPException, requests.RequestException):
            self._blocked = True  # the mentions poll reports outages; context can wait
            return False, None


def _user_data(payload: object) -> tuple[str, str | None]:
    """(id, username) from a users/me or users/:id answer."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict) or parse_tweet_id(data.get("id")) is None:
        raise PayloadError("no user in the answer")
    username = data.get("username")
    return str(data["id"]), username if isinstance(username, str) and username else None


@register(
    "x",
    {
        "bearer_token_env": OptionSpec(
            str, help="variable with the app's bearer token, for reading mentions"
        ),
        "consumer_key_env": OptionSpec(str, help="variable with the API key, for replying"),
        "consumer_secret_env": OptionSpec(str, help="variable with the API key secret"),
        "access_token_env": OptionSpec(str, help="variable with the shop account's access token"),
        "access_token_secret_env": OptionSpec(
            str, help="variable with the shop account's access token secret"
        ),
        "user_id": OptionSpec(
            (str, int), help="the shop account's numeric id; default: the access token's account"
        ),
        "api_base": OptionSpec(str, help="default https://api.twitter.com (a relay, a test)"),
        "poll_interval": OptionSpec(
            (int, float), help="seconds between polls; default 60 (X bills every read)"
        ),
    },
)
def create_x_feed(name: str, options: Mapping[str, Any]) -> Feed:
    return XFeed(
        name,
        bearer_token=options.get("bearer_token"),
        consumer_key=options.get("consumer_key"),
        consumer_secret=options.get("consumer_secret"),
        access_token=options.get("access_token"),
        access_token_secret=options.get("access_token_secret"),
        user_id=options.get("user_id"),
        api_base=options.get("api_base") or TWITTER_HOST,
        poll_interval=options.get("poll_interval", DEFAULT_POLL_INTERVAL),
    )
