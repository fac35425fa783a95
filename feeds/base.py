"""The one interface every network speaks, and the registry that maps a config `type` to it.

Contract, as the app drives it (tui/workers.py):
- One feed thread calls `start(stored_cursor)`, then loops `fetch(timeout)` and stores each
  batch's items together with its cursor in one transaction. `fetch` returns within
  `timeout` (0.5 s), so quitting never waits on a network: a long poll runs on the feed's own
  daemon thread and `fetch` waits for it at most `timeout`.
- A batch counts as stored only when `fetch` is called again. A feed must not acknowledge a
  batch to its server (Telegram's next `offset`) before that; after a crash the app restarts
  from the stored cursor and the store drops duplicates.
- The outbox thread calls `reply` concurrently with `fetch`: feeds must be thread-safe there.
  `reply_key` is stable across retries of the same reply.
- `describe` is cheap and never blocks; the status bar polls it.
Adding a network means one new module that calls `register` and one import line in
`feeds/__init__.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol, runtime_checkable

from triage.model import IncomingItem, Mention


class FeedState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    RATE_LIMITED = "rate_limited"
    AUTH_FAILED = "auth_failed"
    OFFLINE = "offline"
    ERROR = "error"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class FeedStatus:
    state: FeedState
    detail: str = ""
    # When the feed will try again (rate limits, backoff); shown as "until HH:MM" / "in N s".
    retry_at: datetime | None = None
    # Malformed records skipped so far: counted and shown, never raised.
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class FetchResult:
    items: list[IncomingItem] = field(default_factory=list)
    # Opaque position to persist in the same transaction as `items` (VK ts, Telegram offset,
    # X since_id, JSONL byte offset). None keeps the stored cursor as it is.
    cursor: str | None = None
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class ReplyResult:
    native_reply_id: str | None = None
    # Set when the network cannot take a reply for this item (e.g. VK photo comments with a
    # community token). The outbox marks the reply failed and the card says why.
    refused: str | None = None


class FeedError(Exception):
    """A feed could not do what was asked. `retryable` tells the outbox whether to try later."""

    def __init__(self, message: str, *, retryable: bool = True, status: FeedStatus | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.status = status


@runtime_checkable
class Feed(Protocol):
    type_name: ClassVar[str]
    name: str

    def start(self, cursor: str | None) -> None:
        """Prepare to read from `cursor` (None: from now). May raise FeedError."""

    def fetch(self, timeout: float) -> FetchResult:
        """Return new items, blocking at most `timeout` seconds."""

    def reply(self, mention: Mention, text: str, reply_key: str) -> ReplyResult:
        """Send `text` as the shop's answer. `reply_key` is stable across retries."""

    def describe(self) -> FeedStatus:
        """The feed's current state for the status bar."""

    def close(self) -> None:
        """Release connections; must return promptly."""


FeedFactory = Callable[[str, Mapping[str, Any]], Feed]


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One key a feed accepts in its `[[feeds]]` table; the config loader validates against it.

    Keys ending in `_env` name an environment variable holding a secret: the loader checks the
    variable exists and passes its value under the key without `_env`, wrapped in `Secret`.
    """

    type: type | tuple[type, ...]
    required: bool = False
    help: str = ""


@dataclass(frozen=True, slots=True)
class _Registration:
    factory: FeedFactory
    options: Mapping[str, OptionSpec]


_REGISTRY: dict[str, _Registration] = {}

# Every feed accepts these besides its own options.
COMMON_OPTIONS: Mapping[str, OptionSpec] = {
    "name": OptionSpec(str, help="a label for the status bar; defaults to the type"),
}


def register(
    type_name: str, options: Mapping[str, OptionSpec]
) -> Callable[[FeedFactory], FeedFactory]:
    def decorator(factory: FeedFactory) -> FeedFactory:
        _REGISTRY[type_name] = _Registration(factory, {**COMMON_OPTIONS, **options})
        return factory

    return decorator


def feed_types() -> list[str]:
    return sorted(_REGISTRY)


def feed_options(type_name: str) -> Mapping[str, OptionSpec]:
    """The keys a feed type accepts; raises KeyError for an unknown type."""
    return _REGISTRY[type_name].options


def create_feed(type_name: str, name: str, options: Mapping[str, Any]) -> Feed:
    """Build a feed from its config table. `options` holds the table's keys besides `type`."""
    try:
        factory = _REGISTRY[type_name].factory
    except KeyError:
        raise FeedError(
            f"unknown feed type {type_name!r}; known: {', '.join(feed_types())}", retryable=False
        ) from None
    return factory(name, options)
