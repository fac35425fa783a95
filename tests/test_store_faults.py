"""The store fails: locked by another connection, or the disk is full (simulated with
`PRAGMA max_page_count` on the app's own connection). The operator is told, the app keeps
running, nothing already stored is damaged, and work carries on once the store takes writes.

Also, per feed type (JSONL, Telegram, VK, X): a failed store write leaves the cursor where it
was, and the feed delivers the same items again, after a restart (from the stored cursor) and
in the running app (the feed worker retries; Telegram is not told to forget the updates).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message

from config.schema import Config
from feeds.backoff import Backoff
from feeds.base import FetchResult
from triage.board import Board
from triage.errors import StoreError
from triage.ingest import Ingestor
from triage.outbox import OutboxSender
from triage.sqlite_store import SqliteStore
from tui import app as app_module
from tui.messages import FeedStatusChanged, ItemsArrived, WorkerFailed
from tui.screens.composer import ComposerScreen
from tui.workers import FeedLoop, OutboxLoop

from .conftest import SETTINGS, FakeClock, KeywordClassifier, make_item
from .crash_helpers import NETWORKS, Network, check_actions_agree, snapshot
from .tui_fakes import ScriptedFeed, column_texts, item, make_app, make_config, seed, wait_for

WIDE = (160, 48)
FULL_TEXT = "database or disk is full"
UNLIMITED = 1_073_741_823


@pytest.fixture
def config(tmp_path: Path, clock: FakeClock) -> Config:
    config = make_config(tmp_path / "board.db")
    seed(
        config,
        [
            item("n1", "Кофе опять холодный, ужас", minutes_ago=50),
            item("n2", "Плохо упаковали заказ", minutes_ago=40, author_id="u2", name="Мария"),
            item("n3", "Верните деньги, ужас", minutes_ago=30, author_id="u3", name="Пётр"),
            item("p1", "Спасибо, очень вкусно!", minutes_ago=20, author_id="u4", name="Олег"),
        ],
        clock,
    )
    return config


def db_of(config: Config) -> Path:
    return Path(config.storage.url.removeprefix("sqlite:///"))


def rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove a failure changed nothing."""
    connection = sqlite3.connect(str(db))
    try:
        return {
            table: connection.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
            for table in ("mentions", "actions", "outbox", "cursors", "corrections")
        }
    finally:
        connection.close()


def integrity(db: Path) -> str:
    connection = sqlite3.connect(str(db))
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


def board_view(app: Any) -> tuple[Any, ...]:
    return (
        tuple(tuple(column_texts(app, view.id)) for view in app.views),
        app.selected.id if app.selected else None,
        tuple(sorted(app.board.counts().items())),
    )


# -- the operator's actions against a failing store ------------------------------------------


async def test_locked_store_during_actions_notifies_and_changes_nothing(
    config: Config, clock: FakeClock
) -> None:
    db = db_of(config)
    app = make_app(config, clock)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        # The real busy timeout is 3 s; the path is the same with 0.1 s.
        app.board.store._db.execute("PRAGMA busy_timeout=100")  # type: ignore[attr-defined]
        shown, stored = board_view(app), rows(db)
        blocker = sqlite3.connect(str(db), isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            await pilot.press("e")  # done
            await pilot.press("a")  # acknowledge
            await pilot.press("r")
            await pilot.press(*"Разбираемся")
            await pilot.press("ctrl+s")
            # A failed send keeps the composer open, with the text, to send again.
            assert isinstance(app.screen, ComposerScreen)
            assert app.screen.text == "Разбираемся"
            await pilot.press("escape")
            errors = list(app.errors)
            assert len(errors) == 3, app.notes
            assert all(e.startswith("База данных:") and "locked" in e for e in errors), errors
            assert board_view(app) == shown
            # The board still answers keys while the store is locked.
            await pilot.press("j")
            assert app.selected is not None and app.selected.id != shown[1]
            await pilot.press("k")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert rows(db) == stored
        # Unlocked: the same actions work, the draft comes back.
        await pilot.press("r")
        assert isinstance(app.screen, ComposerScreen)
        assert app.screen.text == "Разбираемся"
        await pilot.press("ctrl+s")
        assert not isinstance(app.screen, ComposerScreen)
        await pilot.press("e")
        assert len(app.errors) == 3
        assert board_view(app) != shown
    snap = snapshot(db)
    check_actions_agree(snap)
    assert [a["kind"] for a in snap.actions] == ["reply", "done"]
    assert integrity(db) == "ok"


async def test_full_disk_during_an_action_notifies_and_keeps_the_reply(
    config: Config, clock: FakeClock
) -> None:
    db = db_of(config)
    app = make_app(config, clock)
    long_reply = "Простите нас! " * 500  # 7 KB: needs pages the full disk does not have
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        connection = app.board.store._db  # type: ignore[attr-defined]
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count={pages}")
        shown, stored = board_view(app), rows(db)
        await pilot.press("r")
        assert isinstance(app.screen, ComposerScreen)
        app.screen.query_one("#composer-text").text = long_reply  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ComposerScreen), "the failed reply's text was lost"
        [error] = app.errors
        # SQLite's own words, not a follow-up error from rolling back.
        assert error.startswith("База данных:") and FULL_TEXT in error, error
        await pilot.press("escape")
        assert board_view(app) == shown
        assert rows(db) == stored
        assert integrity(db) == "ok"
        await pilot.press("j", "k")  # alive
        # Room again: the same reply goes through.
        connection.execute(f"PRAGMA max_page_count={UNLIMITED}")
        await pilot.press("r")
        await pilot.press("ctrl+s")
        assert not isinstance(app.screen, ComposerScreen)
        assert len(app.errors) == 1
    snap = snapshot(db)
    check_actions_agree(snap)
    assert [r["text"] for r in snap.outbox] == [long_reply.strip()]
    assert integrity(db) == "ok"


class Disk:
    """A shared switch: while `full`, every store the app opens has no room to grow."""

    full = False


class SmallDiskStore(SqliteStore):
    def ingest(self, *args: Any, **kwargs: Any) -> Any:
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        self._db.execute(f"PRAGMA max_page_count={pages if Disk.full else UNLIMITED}")
        return super().ingest(*args, **kwargs)


async def test_full_disk_during_ingest_keeps_cursor_and_items_until_there_is_room(
    config: Config, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = db_of(config)
    monkeypatch.setattr(
        app_module,
        "open_config_store",
        lambda config: SmallDiskStore(str(db_of(config))),
    )
    monkeypatch.setattr(Disk, "full", False)
    feed = ScriptedFeed()
    app = make_app(config, clock, feeds=[feed])
    async with app.run_test(size=WIDE) as pilot:
        feed.push(item("q1", "Во сколько открываетесь?", author_id="u9"), cursor="c1")
        assert await wait_for(
            pilot, lambda: "Во сколько открываетесь?" in column_texts(app, "questions")
        )
        stored, shown = rows(db), board_view(app)

        Disk.full = True
        big = [
            item(f"b{n}", f"Где заказ {n}? " + "подробности " * 400, author_id=f"b{n}")
            for n in range(3)
        ]
        feed.push(*big, cursor="c2")
        assert await wait_for(pilot, lambda: bool(app.errors), tries=500), app.notes
        assert FULL_TEXT in app.errors[0], app.errors
        assert rows(db) == stored  # no item, no cursor: the batch is all or nothing
        assert integrity(db) == "ok"
        await pilot.press("j", "k")
        assert board_view(app) == shown

        Disk.full = False  # the worker retries the same batch with its backoff
        assert await wait_for(
            pilot,
            lambda: len(app.board.counts()) and sum(app.board.counts().values()) == 8,
            tries=1000,
        ), app.notes
    snap = snapshot(db)
    assert snap.cursors == {"demo": "c2"}
    assert sorted(m["native_id"] for m in snap.mentions) == sorted(
        ["n1", "n2", "n3", "p1", "q1", "b0", "b1", "b2"]
    )
    assert {k: v for k, v in rows(db).items() if k != "mentions" and k != "cursors"} == {
        k: v for k, v in stored.items() if k != "mentions" and k != "cursors"
    }
    assert rows(db)["mentions"][: len(stored["mentions"])] == stored["mentions"]
    assert integrity(db) == "ok"


# -- the store itself ----------------------------------------------------------------------------


def test_full_disk_is_a_store_error_naming_it_and_the_store_carries_on(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "s.db"))
    sentiment = KeywordClassifier().classify(["x"])[0]
    store.ingest("demo", [(make_item("1", "первое"), sentiment)], "1", FakeClock()())
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count={pages}")
    with pytest.raises(StoreError, match=FULL_TEXT):
        store.ingest("demo", [(make_item("2", "x" * 20_000), sentiment)], "2", FakeClock()())
    assert store.get_cursor("demo") == "1"
    store._db.execute(f"PRAGMA max_page_count={UNLIMITED}")
    # No transaction left half-open: the next write starts cleanly.
    store.ingest("demo", [(make_item("2", "x" * 20_000), sentiment)], "2", FakeClock()())
    assert store.get_cursor("demo") == "2"
    assert [m.native_id for m in store.open_mentions()] == ["1", "2"]
    store.close()


def test_undo_that_loses_the_race_with_the_outbox_changes_nothing(
    board: Board, store: SqliteStore, ingest: Any, clock: FakeClock, db_path: Path
) -> None:
    """The board checks that a reply is still queued, then undoes it; the outbox thread may
    claim it in between. The undo must then refuse, not restore the card of a reply that is
    on its way (the state, the action row and the outbox row would disagree)."""
    [mention] = board.absorb(ingest(make_item("1", "ужас")))
    board.reply(mention.id, "Разбираемся")
    clock.advance(seconds=10)
    outbox_thread = SqliteStore(str(db_path))
    looked = store.outbox_for_action

    def look_then_lose_the_race(action_id: int) -> Any:
        entries = looked(action_id)
        outbox_thread.claim_reply(clock())
        return entries

    store.outbox_for_action = look_then_lose_the_race  # type: ignore[method-assign]
    result = board.undo()
    assert result.mention is None
    assert result.message == "Ответ уже ушёл клиенту: его не вернуть"
    snap = snapshot(db_path)
    check_actions_agree(snap)
    assert [(a["kind"], a["undone"]) for a in snap.actions] == [("reply", 0)]
    assert [r["state"] for r in snap.outbox] == ["sending"]
    assert board.get(mention.id).status.value == "replied"
    outbox_thread.close()


class FailingFinish:
    """The store, except that recording a reply's outcome fails `failures` times."""

    def __init__(self, store: SqliteStore, failures: int) -> None:
        self._store = store
        self.failures = failures

    def finish_reply(self, *args: Any, **kwargs: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise StoreError("could not save to the store: database or disk is full")
        return self._store.finish_reply(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_reply_sent_while_the_store_is_full_is_recorded_sent_not_resent(
    board: Board, store: SqliteStore, ingest: Any, clock: FakeClock
) -> None:
    [mention] = board.absorb(ingest(make_item("1", "ужас")))
    board.reply(mention.id, "Разбираемся")
    clock.advance(seconds=10)
    feed = ScriptedFeed()
    sender = OutboxSender(FailingFinish(store, failures=2), {"demo": feed}, clock)  # type: ignore[arg-type]
    for _ in range(2):
        with pytest.raises(StoreError):
            sender.send_pending()
        assert [r.state.value for r in store.outbox(mention.id)] == ["sending"]
    assert sender.send_pending() == [mention.id]  # room again: the outcome is saved
    assert [r.state.value for r in store.outbox(mention.id)] == ["sent"]
    assert store.get_mentions([mention.id])[0].delivery == "sent"
    assert feed.replies == [(mention.id, "Разбираемся")]  # sent once, never again
    assert sender.send_pending() == []


# -- per feed: the cursor stays, the items come again ---------------------------------------------


@pytest.fixture(params=sorted(NETWORKS))
def network(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Network]:
    with NETWORKS[request.param](tmp_path) as net:
        yield net


def fetch_ids(
    feed: Any, want: set[str], results: list[FetchResult] | None = None
) -> list[FetchResult]:
    """fetch() as the feed worker does until every id in `want` came (bounded)."""
    results = [] if results is None else results
    seen: set[str] = set()
    for _ in range(200):
        result = feed.fetch(0.1)
        if result.items or result.cursor is not None:
            results.append(result)
            seen.update(i.native_id for i in result.items)
        if want <= seen:
            return results
    raise AssertionError(f"{feed.name}: never got {sorted(want - seen)}")


def test_failed_store_write_keeps_the_cursor_and_the_feed_delivers_again(
    network: Network, tmp_path: Path, clock: FakeClock
) -> None:
    db = tmp_path / "store.db"
    store = SqliteStore(str(db))
    ingestor = Ingestor(store, KeywordClassifier(), clock)
    name = network.feed_name

    feed = network.feed()
    feed.start(store.get_cursor(name))
    first = {network.deliver(n) for n in range(3)}
    for result in fetch_ids(feed, first):
        ingestor.ingest(name, result)
    stored_cursor = store.get_cursor(name)
    assert stored_cursor is not None

    second = {network.deliver(n) for n in range(3, 6)}
    batch = fetch_ids(feed, second)
    blocker = sqlite3.connect(str(db), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    failing = Ingestor(SqliteStore(str(db), busy_timeout_ms=50), KeywordClassifier(), clock)
    with pytest.raises(StoreError):
        failing.ingest(name, batch[0])
    blocker.execute("ROLLBACK")
    blocker.close()
    assert store.get_cursor(name) == stored_cursor
    assert {m.native_id for m in store.open_mentions()} == first
    if network.kind == "telegram":  # never confirmed: Telegram still holds them
        assert len(network.fake.pending()) >= len(second)  # type: ignore[attr-defined]

    # The app dies here. The next start reads from the stored cursor: the same items again.
    feed.close()
    restarted = network.feed()
    restarted.start(store.get_cursor(name))
    for result in fetch_ids(restarted, second):
        ingestor.ingest(name, result)
    assert sorted(m.native_id for m in store.open_mentions()) == sorted(first | second)
    assert store.get_cursor(name) != stored_cursor
    store.close()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    def __call__(self, message: Message) -> None:
        with self.lock:
            self.messages.append(message)

    def of(self, kind: type[Message]) -> list[Any]:
        with self.lock:
            return [m for m in self.messages if isinstance(m, kind)]


def until(condition: Any, what: str, timeout: float = 15.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_feed_worker_retries_a_failed_write_and_only_then_moves_on(
    network: Network, tmp_path: Path
) -> None:
    """In the running app: the feed worker keeps the batch and retries until it is stored;
    meanwhile the cursor stays, and Telegram is not told to forget the updates."""
    db = tmp_path / "store.db"
    SqliteStore(str(db)).close()
    blocker = sqlite3.connect(str(db), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    stop = threading.Event()
    inbox = Inbox()
    feed = network.feed()
    loop = FeedLoop(
        feed,
        lambda: SqliteStore(str(db), busy_timeout_ms=50),
        KeywordClassifier(),
        FakeClock(),
        inbox,
        stop,
        fetch_timeout=0.1,
    )
    loop.backoff = Backoff(first=0.05, limit=0.2, jitter=0.2)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        # Started (a feed with no cursor reads from now on), then the customers write.
        until(lambda: len(inbox.of(FeedStatusChanged)) > 0, "the feed to start")
        wanted = {network.deliver(n) for n in range(4)}
        until(lambda: len(inbox.of(WorkerFailed)) > 0, "the write to fail")
        until(lambda: loop.backoff.delay >= 0.2, "a few retries")
        reader = SqliteStore(str(db))
        assert reader.get_cursor(network.feed_name) is None
        assert reader.open_mentions() == []
        if network.kind == "telegram":
            assert len(network.fake.pending()) == len(wanted)  # type: ignore[attr-defined]
        blocker.execute("ROLLBACK")
        until(
            lambda: {m.native_id for a in inbox.of(ItemsArrived) for m in a.mentions} >= wanted,
            "the batch to be stored",
        )
        assert {m.native_id for m in reader.open_mentions()} == wanted
        assert reader.get_cursor(network.feed_name) is not None
        if network.kind == "telegram":  # stored, so the next poll confirms it
            until(lambda: network.fake.pending() == [], "Telegram to forget the updates")  # type: ignore[attr-defined]
        reader.close()
    finally:
        stop.set()
        thread.join(10)
        blocker.close()
    assert not thread.is_alive()
    assert "locked" in inbox.of(WorkerFailed)[0].error


def test_outbox_worker_outlives_a_locked_store_at_start_up(tmp_path: Path) -> None:
    """The outbox first turns replies a crash left `sending` into `unknown`; if the store is
    locked (or full) just then, it retries, instead of ending for the whole session with the
    queued replies never sent. It sends nothing before that recovery has succeeded."""
    db = tmp_path / "store.db"
    clock = FakeClock()
    store = SqliteStore(str(db))
    board = Board(store, SETTINGS, clock)
    board.load()
    classify = KeywordClassifier().classify
    a, b = board.absorb(
        store.ingest(
            "demo",
            [(make_item(n, "ужас"), classify(["ужас"])[0]) for n in ("1", "2")],
            None,
            clock(),
        )
    )
    board.reply(a.id, "первый")
    clock.advance(seconds=10)
    store.claim_reply(clock())  # the last run died while sending this one
    board.reply(b.id, "второй")
    clock.advance(seconds=10)
    blocker = sqlite3.connect(str(db), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    feed = ScriptedFeed()
    inbox = Inbox()
    stop, wake = threading.Event(), threading.Event()
    loop = OutboxLoop(
        lambda: SqliteStore(str(db), busy_timeout_ms=50), {"demo": feed}, clock, inbox, stop, wake
    )
    loop.backoff = Backoff(first=0.05, limit=0.1)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        until(lambda: len(inbox.of(WorkerFailed)) > 0, "the locked store to be reported")
        until(lambda: loop.backoff.delay >= 0.1, "a few retries")
        assert feed.replies == []
        blocker.execute("ROLLBACK")
        until(lambda: feed.replies == [(b.id, "второй")], "the queued reply to go")
        until(
            lambda: (
                [e.state.value for e in store.outbox(a.id) + store.outbox(b.id)]
                == ["unknown", "sent"]
            ),
            "both replies to settle",
        )
    finally:
        stop.set()
        wake.set()
        thread.join(10)
        blocker.close()
    assert feed.replies == [(b.id, "второй")]  # the interrupted one is never resent
    store.close()
