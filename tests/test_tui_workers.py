"""The worker loops without a terminal: they report, back off, retry and stop on request."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from textual.message import Message

from feeds.backoff import Backoff
from feeds.base import FeedError, FeedState, FeedStatus, FetchResult
from triage.errors import StoreError
from triage.ingest import Classifier
from triage.model import Sentiment
from triage.sqlite_store import SqliteStore
from triage.store import Store
from tui.messages import DeliveryChanged, FeedStatusChanged, ItemsArrived, WorkerFailed
from tui.workers import FeedLoop, OutboxLoop

from .conftest import FakeClock, KeywordClassifier
from .tui_fakes import ScriptedFeed, item


class Inbox:
    """Collects posted messages and stops the loop once `until` holds."""

    def __init__(self, stop: threading.Event, until: int) -> None:
        self.messages: list[Message] = []
        self.stop = stop
        self.until = until

    def __call__(self, message: Message) -> None:
        self.messages.append(message)
        if len(self.messages) >= self.until:
            self.stop.set()

    def of(self, kind: type[Message]) -> list[Message]:
        return [m for m in self.messages if isinstance(m, kind)]


class FlakyFeed(ScriptedFeed):
    def __init__(self, failures: int, *, retryable: bool = True) -> None:
        super().__init__()
        self.failures = failures
        self.retryable = retryable

    def start(self, cursor: str | None) -> None:
        if self.failures:
            self.failures -= 1
            raise FeedError(
                "connection refused",
                retryable=self.retryable,
                status=FeedStatus(FeedState.OFFLINE),
            )
        super().start(cursor)


def no_wait_stop() -> threading.Event:
    """An Event whose waits return at once, so backoff costs no time in tests."""

    class Instant(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            return self.is_set()

    return Instant()


def run_loop(
    feed: ScriptedFeed,
    open_store: Callable[[], Store],
    stop: threading.Event,
    until: int,
    classifier: Classifier | None = None,
) -> tuple[Inbox, FeedLoop]:
    """Run a FeedLoop on a thread until it stops: the inbox sets `stop` at `until` messages."""
    inbox = Inbox(stop, until)
    loop = FeedLoop(
        feed,
        open_store,
        classifier or KeywordClassifier(),
        FakeClock(),
        inbox,
        stop,
        fetch_timeout=0,
    )
    thread = threading.Thread(target=loop.run)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    return inbox, loop


def run_feed(
    feed: ScriptedFeed, db: Path, until: int, classifier: Classifier | None = None
) -> Inbox:
    inbox, _ = run_loop(feed, lambda: SqliteStore(str(db)), no_wait_stop(), until, classifier)
    return inbox


def test_feed_loop_stores_items_and_reports_once(tmp_path: Path) -> None:
    feed = ScriptedFeed()
    feed.push(item("1", "Кофе холодный"), item("2", "Спасибо!"), cursor="c1")
    inbox = run_feed(feed, tmp_path / "s.db", until=2)
    assert [type(m) for m in inbox.messages] == [FeedStatusChanged, ItemsArrived]
    arrived = inbox.of(ItemsArrived)[0]
    assert isinstance(arrived, ItemsArrived)
    assert [m.text for m in arrived.mentions] == ["Кофе холодный", "Спасибо!"]
    assert feed.closed.is_set()
    store = SqliteStore(str(tmp_path / "s.db"))
    assert store.get_cursor("demo") == "c1"
    store.close()


def test_feed_loop_retries_a_failing_start_and_says_so_once(tmp_path: Path) -> None:
    feed = FlakyFeed(failures=3)
    inbox = run_feed(feed, tmp_path / "s.db", until=3)
    statuses = [m.status.state for m in inbox.of(FeedStatusChanged)]  # type: ignore[attr-defined]
    assert statuses == [FeedState.OFFLINE, FeedState.LIVE]
    assert [m.error for m in inbox.of(WorkerFailed)] == ["connection refused"]  # type: ignore[attr-defined]
    assert feed.failures == 0


def test_feed_loop_gives_up_on_a_permanent_error(tmp_path: Path) -> None:
    feed = FlakyFeed(failures=1, retryable=False)
    inbox = run_feed(feed, tmp_path / "s.db", until=99)
    assert [type(m) for m in inbox.messages] == [FeedStatusChanged, WorkerFailed]
    assert feed.closed.is_set()


def test_feed_loop_keeps_items_when_classifying_fails(tmp_path: Path) -> None:
    class BrokenOnce(KeywordClassifier):
        calls = 0

        def classify(self, texts: Sequence[str]) -> list[Sentiment]:
            self.calls += 1
            if self.calls == 1:
                raise OSError("model file missing")
            return super().classify(texts)

    feed = ScriptedFeed()
    feed.push(item("1", "Кофе холодный"))
    inbox = run_feed(feed, tmp_path / "s.db", until=3, classifier=BrokenOnce())
    assert [type(m) for m in inbox.messages] == [FeedStatusChanged, WorkerFailed, ItemsArrived]
    assert "model file missing" in inbox.messages[1].error  # type: ignore[attr-defined]


def test_outbox_loop_reports_recovered_replies(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = SqliteStore(str(db))
    classifier = KeywordClassifier()
    clock = FakeClock()
    mention = store.ingest(
        "demo", [(item("1", "Кофе холодный"), classifier.classify(["x"])[0])], None, clock()
    )[0]
    from triage.board import Board

    from .conftest import SETTINGS

    board = Board(store, SETTINGS, clock)
    board.load()
    board.acknowledge(mention.id)
    clock.advance(seconds=10)
    store.claim_reply(clock())  # a crash right after claiming: outcome unknown
    store.close()

    stop = no_wait_stop()
    inbox = Inbox(stop, until=1)
    loop = OutboxLoop(lambda: SqliteStore(str(db)), {}, clock, inbox, stop, threading.Event())
    loop.run()
    assert isinstance(inbox.messages[0], DeliveryChanged)
    assert inbox.messages[0].mention_ids == [mention.id]


def test_backoff_doubles_to_a_cap_and_resets() -> None:
    backoff = Backoff(first=1, limit=5)
    assert [backoff.next() for _ in range(5)] == [1, 2, 4, 5, 5]
    backoff.reset()
    assert backoff.next() == 1


def test_empty_fetches_post_nothing(tmp_path: Path) -> None:
    class CountingFeed(ScriptedFeed):
        def __init__(self) -> None:
            super().__init__()
            self.calls = 0
            self.fetched = threading.Event()

        def fetch(self, timeout: float) -> FetchResult:
            self.calls += 1
            if self.calls >= 5:
                self.fetched.set()
            return super().fetch(timeout)

    feed = CountingFeed()
    stop = threading.Event()
    inbox = Inbox(stop, until=99)
    loop = FeedLoop(
        feed,
        lambda: SqliteStore(str(tmp_path / "s.db")),
        KeywordClassifier(),
        FakeClock(),
        inbox,
        stop,
        fetch_timeout=0.01,
    )
    thread = threading.Thread(target=loop.run)
    thread.start()
    assert feed.fetched.wait(5)  # let the loop go round an empty feed a few times
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert [type(m) for m in inbox.messages] == [FeedStatusChanged]


class LockedCursorStore(SqliteStore):
    """A store whose cursor read fails `failures` times first, as a locked store's does."""

    def __init__(self, path: str, failures: int) -> None:
        super().__init__(path)
        self.failures = failures
        self.reads = 0

    def get_cursor(self, feed: str) -> str | None:
        self.reads += 1
        if self.reads <= self.failures:
            raise StoreError("store error: database is locked")
        return super().get_cursor(feed)


class CountingStop(threading.Event):
    """Waits return at once but are recorded; set after `limit` waits."""

    def __init__(self, limit: int = 1000) -> None:
        super().__init__()
        self.waits: list[float | None] = []
        self.limit = limit

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        if len(self.waits) >= self.limit:
            self.set()
        return self.is_set()


class StartCounting(ScriptedFeed):
    def __init__(self) -> None:
        super().__init__()
        self.starts = 0

    def start(self, cursor: str | None) -> None:
        self.starts += 1
        super().start(cursor)


def run_locked(db: Path, failures: int, stop: CountingStop, until: int) -> tuple[Inbox, FeedLoop]:
    feed = StartCounting()
    feed.push(item("1", "Кофе холодный"), cursor="c2")
    return run_loop(feed, lambda: LockedCursorStore(str(db), failures), stop, until)


def test_feed_loop_retries_a_failing_cursor_read_with_backoff_and_shows_the_error(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    store = SqliteStore(str(db))
    store.ingest("demo", [], "c1", FakeClock()())  # where the last session stopped
    store.close()
    stop = CountingStop()
    inbox, loop = run_locked(db, failures=4, stop=stop, until=4)
    feed = loop.feed
    assert isinstance(feed, StartCounting)
    # The feed started once, from the stored cursor, after the store answered: never from
    # the beginning while the store could not say where that is.
    assert feed.starts == 1 and feed.started_with == "c1"
    assert [type(m) for m in inbox.messages] == [
        FeedStatusChanged,
        WorkerFailed,
        FeedStatusChanged,
        ItemsArrived,
    ]
    error, live = inbox.of(FeedStatusChanged)
    assert isinstance(error, FeedStatusChanged) and isinstance(live, FeedStatusChanged)
    assert error.status.state is FeedState.ERROR
    assert "database is locked" in error.status.detail
    assert live.status.state is FeedState.LIVE
    (failed,) = inbox.of(WorkerFailed)  # a repeating error is said once
    assert isinstance(failed, WorkerFailed) and "database is locked" in failed.error
    # Paced by the loop's backoff, as failing fetches are: 1, 2, 4, 8 s (± jitter).
    assert len(stop.waits) == 4
    for wait, expected in zip(stop.waits, (1, 2, 4, 8), strict=True):
        assert wait is not None and expected * 0.8 <= wait <= expected * 1.2
    arrived = inbox.of(ItemsArrived)[0]
    assert isinstance(arrived, ItemsArrived) and arrived.mentions[0].text == "Кофе холодный"
    assert feed.closed.is_set()


def test_feed_loop_keeps_waiting_for_a_store_that_stays_locked(tmp_path: Path) -> None:
    stop = CountingStop(limit=12)  # the operator quits after twelve tries
    inbox, loop = run_locked(tmp_path / "s.db", failures=10**6, stop=stop, until=99)
    feed = loop.feed
    assert isinstance(feed, StartCounting)
    assert feed.starts == 0
    assert len(stop.waits) == 12  # still retrying when told to stop, not dead after the first
    assert [type(m) for m in inbox.messages] == [FeedStatusChanged, WorkerFailed]
    assert max(w or 0 for w in stop.waits) <= 60 * 1.2  # the backoff's cap
    assert feed.closed.is_set()
