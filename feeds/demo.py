"""A scripted feed for trying the board without any network: «Кофейня „Зерно“» on a busy day.

On a fresh start a backlog of BACKLOG_SIZE messages arrives at once, dated over the last two
hours so that some are already past the warn and breach thresholds; the rest of the script then
arrives one message every 1-6 s (divided by `speed`), dated now. When the script ends it starts
again with new native ids ("demo-r2-001"), so a long demo keeps flowing.

The cursor is the number of script lines delivered so far, so a persistent store resumes where it
stopped. With a `seed` the timings are reproducible; the order of messages always is.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

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
from feeds.demo_script import AUTHORS, POSTS, SCRIPT, SHOP_HANDLES, SHOP_NAME, VK_GROUP_ID, Line
from triage.model import Author, IncomingItem, Kind, Mention

__all__ = ["BACKLOG_SIZE", "DemoFeed"]

BACKLOG_SIZE = 25
MIN_INTERVAL = 1.0
MAX_INTERVAL = 6.0
# Ages of the backlog, oldest first, in minutes, jittered by up to ±10 %. Three are past the hour
# and most past a quarter of an hour, so the warn and breach colours have something to show.
_BACKLOG_AGES = (
    110, 100, 92, 83, 73, 64, 56, 49, 43, 38, 33, 29, 25,
    22, 19, 17, 14, 12, 10, 8, 6, 5, 3, 2, 1,
)  # fmt: skip
_POST_IDS = {key: index for index, key in enumerate(POSTS)}
# Public chats that mention the shop in the script, per author's city: for message links.
_TELEGRAM_CHATS = {"Москва": "moscow_coffee_chat", "Казань": "kzn_chat", "Новосибирск": "nsk_it"}


def _utc_now() -> datetime:
    return datetime.now(UTC)


def native_id(position: int) -> str:
    """The stable id of the message at absolute script `position` ("demo-001", "demo-r2-001")."""
    round_, index = divmod(position, len(SCRIPT))
    number = f"{index + 1:03d}"
    return f"demo-{number}" if round_ == 0 else f"demo-r{round_ + 1}-{number}"


class DemoFeed:
    """Replays SCRIPT. `now` and `sleep` are injectable so tests run on a fake clock."""

    type_name: ClassVar[str] = "demo"

    def __init__(
        self,
        name: str = "demo",
        *,
        speed: float = 1.0,
        seed: int | None = None,
        now: Callable[[], datetime] = _utc_now,
        sleep: Callable[[float], object] | None = None,
        backlog: int = BACKLOG_SIZE,
    ) -> None:
        if not speed > 0:
            raise FeedError(f"feed {name!r}: speed must be positive, got {speed}", retryable=False)
        self.name = name
        self.speed = float(speed)
        self.seed = seed
        self._now = now
        self._closed = threading.Event()
        # By default waiting is on an event, so that close() cuts a fetch's wait short.
        self._sleep = sleep or self._closed.wait
        self._backlog_size = max(0, min(backlog, len(_BACKLOG_AGES)))
        self._lock = threading.Lock()
        self._position = 0
        self._backlog_due = False
        self._next_due: datetime | None = None
        self._rng = random.Random()
        self._state = FeedState.CONNECTING

    # -- Feed protocol ---------------------------------------------------------------------

    def start(self, cursor: str | None) -> None:
        position: int | None = None
        if cursor is not None:
            try:
                position = max(int(cursor), 0)
            except ValueError:
                position = None  # unreadable: replay from the top; dedupe drops the repeats
        with self._lock:
            self._position = position or 0
            self._backlog_due = position is None and self._backlog_size > 0
            # Seeded per position, so a resumed replay is as reproducible as a fresh one.
            self._rng = random.Random(
                None if self.seed is None else f"{self.seed}/{self._position}"
            )
            self._next_due = None if self._backlog_due else self._now() + self._interval()
            self._state = FeedState.LIVE
            self._closed.clear()

    def fetch(self, timeout: float) -> FetchResult:
        with self._lock:
            if self._state is not FeedState.LIVE:
                return FetchResult()
            now = self._now()
            if self._backlog_due:
                return self._deliver_backlog(now)
            assert self._next_due is not None
            wait = (self._next_due - now).total_seconds()
        if wait > 0:
            if wait > timeout:
                if timeout > 0:
                    self._sleep(timeout)
                return FetchResult()
            self._sleep(wait)
        with self._lock:
            if self._state is not FeedState.LIVE:
                return FetchResult()
            now = self._now()
            assert self._next_due is not None
            if self._next_due > now:
                return FetchResult()
            item = self.item_at(self._position, now)
            self._position += 1
            # From now, not from the due time: after a stall (laptop asleep) the demo resumes its
            # pace instead of dumping everything it "missed".
            self._next_due = now + self._interval()
            return FetchResult([item], cursor=str(self._position))

    def reply(self, mention: Mention, text: str, reply_key: str) -> ReplyResult:
        return ReplyResult(native_reply_id=f"demo-reply-{reply_key}")

    def describe(self) -> FeedStatus:
        if self._state is not FeedState.LIVE:
            return FeedStatus(self._state)
        round_, index = divmod(self._position, len(SCRIPT))
        detail = f"{SHOP_NAME} · {index + 1}/{len(SCRIPT)}"
        return FeedStatus(FeedState.LIVE, detail + (f" · ×{round_ + 1}" if round_ else ""))

    def close(self) -> None:
        with self._lock:
            self._state = FeedState.STOPPED
        self._closed.set()

    # -- script ----------------------------------------------------------------------------

    def _interval(self) -> timedelta:
        return timedelta(seconds=self._rng.uniform(MIN_INTERVAL, MAX_INTERVAL) / self.speed)

    def _deliver_backlog(self, now: datetime) -> FetchResult:
        base = _BACKLOG_AGES[len(_BACKLOG_AGES) - self._backlog_size :]
        # Sorted after jitter so that dates still rise in script order.
        ages = sorted((minutes * self._rng.uniform(0.9, 1.1) for minutes in base), reverse=True)
        items = [
            self.item_at(self._position + offset, now - timedelta(minutes=minutes))
            for offset, minutes in enumerate(ages)
        ]
        self._position += len(items)
        self._backlog_due = False
        self._next_due = now + self._interval()
        return FetchResult(items, cursor=str(self._position))

    def item_at(self, position: int, created_at: datetime) -> IncomingItem:
        """The message at absolute script `position`, dated `created_at`."""
        round_, index = divmod(position, len(SCRIPT))
        line = SCRIPT[index]
        author = AUTHORS[line.author]
        return IncomingItem(
            network=author.network,
            native_id=native_id(position),
            kind=line.kind,
            author=Author(author.id, author.name, author.handle, author.followers, author.city),
            text=line.text,
            created_at=created_at,
            url=_url(line, position),
            context=POSTS[line.post] if line.post else None,
            route={"script_index": index, "round": round_ + 1},
            feed=self.name,
        )


def _url(line: Line, position: int) -> str | None:
    """A plausible link to the message. Private messages have no public address."""
    author = AUTHORS[line.author]
    post = _POST_IDS.get(line.post or "", 0)
    if author.network == "vk":
        if line.kind is Kind.DM:
            return f"https://vk.com/gim{VK_GROUP_ID}?sel={author.id}"
        if line.kind is Kind.COMMENT:
            return f"https://vk.com/wall-{VK_GROUP_ID}_{1840 + post * 7}?reply={52000 + position}"
        return f"https://vk.com/wall{author.id}_{300 + position}"
    if author.network == "telegram":
        if line.kind is Kind.DM:
            return None
        if line.kind is Kind.COMMENT:
            channel = SHOP_HANDLES["telegram"]
            return f"https://t.me/{channel}/{412 + post * 3}?comment={9800 + position}"
        chat = _TELEGRAM_CHATS.get(author.city, "moscow_coffee_chat")
        return f"https://t.me/{chat}/{130000 + position * 17}"
    if line.kind is Kind.DM:
        return None
    return f"https://x.com/{author.handle}/status/{1788000000000000000 + position * 7919}"


@register(
    "demo",
    {
        "speed": OptionSpec((int, float), help="replay speed multiplier"),
        "seed": OptionSpec(int, help="makes the timings reproducible"),
    },
)
def create_demo_feed(name: str, options: Mapping[str, Any]) -> Feed:
    speed = options.get("speed", 1.0)
    seed = options.get("seed")
    return DemoFeed(name, speed=speed, seed=seed)
