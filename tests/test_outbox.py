from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from feeds.base import FeedError, FeedState, FeedStatus, FetchResult, ReplyResult
from tests.conftest import FakeClock, make_item
from triage.board import Board
from triage.model import Mention, OutboxState
from triage.outbox import OutboxSender
from triage.sqlite_store import SqliteStore


class RecordingFeed:
    type_name: ClassVar[str] = "recording"

    def __init__(self, name: str = "demo") -> None:
        self.name = name
        self.sent: list[tuple[str, str, str]] = []
        self.fail_with: Exception | None = None
        self.refuse: str | None = None

    def start(self, cursor: str | None) -> None:
        pass

    def fetch(self, timeout: float) -> FetchResult:
        return FetchResult()

    def reply(self, mention: Mention, text: str, reply_key: str) -> ReplyResult:
        if self.fail_with is not None:
            raise self.fail_with
        if self.refuse:
            return ReplyResult(refused=self.refuse)
        self.sent.append((mention.native_id, text, reply_key))
        return ReplyResult(native_reply_id=f"r-{len(self.sent)}")

    def describe(self) -> FeedStatus:
        return FeedStatus(FeedState.LIVE)

    def close(self) -> None:
        pass


def setup(board: Board, ingest) -> Mention:
    [m] = ingest(make_item("1", "ужас"))
    board.absorb([m])
    return m


def sender(store: SqliteStore, feed: RecordingFeed, clock: FakeClock) -> OutboxSender:
    feeds: Mapping[str, Any] = {feed.name: feed}
    return OutboxSender(store, feeds, clock)


def test_reply_waits_for_undo_window_then_sends_once(board, ingest, store, clock) -> None:
    m = setup(board, ingest)
    board.reply(m.id, "Простите")
    feed = RecordingFeed()
    out = sender(store, feed, clock)
    assert out.send_pending() == []
    clock.advance(seconds=6)
    assert out.send_pending() == [m.id]
    assert out.send_pending() == []
    [(native, text, _key)] = feed.sent
    assert (native, text) == ("1", "Простите")
    [entry] = store.outbox(m.id)
    assert entry.state is OutboxState.SENT and entry.native_reply_id == "r-1"
    assert store.get_mentions([m.id])[0].delivery == "sent"


def test_retryable_failure_backs_off_and_keeps_key(board, ingest, store, clock) -> None:
    m = setup(board, ingest)
    board.reply(m.id, "Простите")
    feed = RecordingFeed()
    feed.fail_with = FeedError("offline")
    out = sender(store, feed, clock)
    clock.advance(seconds=6)
    out.send_pending()
    [entry] = store.outbox(m.id)
    assert entry.state is OutboxState.QUEUED and entry.error == "offline"
    feed.fail_with = None
    assert out.send_pending() == []  # still backing off
    clock.advance(seconds=10)
    out.send_pending()
    [entry] = store.outbox(m.id)
    assert entry.state is OutboxState.SENT
    assert feed.sent[0][2] == f"socialtui-{entry.id}"


def test_refusal_and_permanent_failure_are_shown(board, ingest, store, clock) -> None:
    m = setup(board, ingest)
    board.reply(m.id, "Простите")
    feed = RecordingFeed()
    feed.refuse = "community token cannot reply to photo comments"
    clock.advance(seconds=6)
    sender(store, feed, clock).send_pending()
    [entry] = store.outbox(m.id)
    assert entry.state is OutboxState.FAILED
    assert (
        store.get_mentions([m.id])[0].delivery
        == "failed: community token cannot reply to photo comments"
    )


def test_crash_between_claim_and_record_becomes_unknown_not_resent(
    board, ingest, store, clock
) -> None:
    m = setup(board, ingest)
    board.reply(m.id, "Простите")
    clock.advance(seconds=6)
    assert store.claim_reply(clock()) is not None  # then the process dies
    feed = RecordingFeed()
    out = sender(store, feed, clock)
    assert out.recover() == [m.id]
    clock.advance(hours=1)
    assert out.send_pending() == []
    assert feed.sent == []
    [entry] = store.outbox(m.id)
    assert entry.state is OutboxState.UNKNOWN
    assert store.get_mentions([m.id])[0].delivery == "unknown"


def test_missing_feed_fails_clearly(board, ingest, store, clock) -> None:
    m = setup(board, ingest)
    board.reply(m.id, "Простите")
    clock.advance(seconds=6)
    OutboxSender(store, {}, clock).send_pending()
    [entry] = store.outbox(m.id)
    assert entry.state is OutboxState.FAILED and "not configured" in (entry.error or "")


def test_outbox_survives_restart(db_path, board, ingest, store, clock) -> None:
    m = setup(board, ingest)
    board.reply(m.id, "Простите")
    store.close()
    reopened = SqliteStore(str(db_path))
    feed = RecordingFeed()
    clock.advance(seconds=6)
    sender(reopened, feed, clock).send_pending()
    assert [t for _, t, _ in feed.sent] == ["Простите"]
    reopened.close()


def test_retry_delay_grows_and_caps() -> None:
    from triage.outbox import retry_delay

    assert retry_delay(1) == timedelta(seconds=5)
    assert retry_delay(2) == timedelta(seconds=10)
    assert retry_delay(30) == timedelta(minutes=10)
