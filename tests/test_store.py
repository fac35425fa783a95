from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import T0, FakeClock, make_item
from triage.board import Board
from triage.errors import StoreError
from triage.model import Author, Column, Status
from triage.sqlite_store import SqliteStore, open_store, sqlite_path


def test_ingest_dedupes_on_network_and_native_id(store: SqliteStore, ingest) -> None:
    first = ingest(make_item("1", "Кофе холодный"), make_item("2", "Когда открываетесь?"))
    assert [m.native_id for m in first] == ["1", "2"]
    again = ingest(make_item("1", "Кофе холодный"), make_item("3", "ок"))
    assert [m.native_id for m in again] == ["3"]
    same_id_other_network = ingest(make_item("1", "ок", network="vk"))
    assert len(same_id_other_network) == 1
    assert len(store.open_mentions()) == 4


def test_ingest_stores_classification_and_fields(store: SqliteStore, ingest) -> None:
    author = Author(id="42", name="Мария", handle="masha", followers=85000, city="Казань")
    [m] = ingest(make_item("9", "Ужас, опять холодный кофе", author=author))
    assert m.column is Column.NEGATIVE
    assert m.author == author
    assert m.created_at == T0
    assert m.status is Status.NEW
    [loaded] = store.get_mentions([m.id])
    assert loaded == m


def test_cursor_moves_with_items_in_one_transaction(store: SqliteStore, ingest) -> None:
    assert store.get_cursor("demo") is None
    ingest(make_item("1", "а"), cursor="10")
    assert store.get_cursor("demo") == "10"
    ingest(cursor="11")
    assert store.get_cursor("demo") == "11"


def test_failed_ingest_keeps_old_cursor_and_items(
    db_path: Path, store: SqliteStore, ingest
) -> None:
    ingest(make_item("1", "а"), cursor="1")
    blocker = sqlite3.connect(str(db_path), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    slow = SqliteStore(str(db_path), busy_timeout_ms=50)
    with pytest.raises(StoreError):
        slow.ingest("demo", [], "2", T0)
    blocker.execute("ROLLBACK")
    blocker.close()
    assert slow.get_cursor("demo") == "1"
    assert len(slow.open_mentions()) == 1
    slow.close()


def test_state_survives_reopen(db_path: Path, ingest, store: SqliteStore) -> None:
    ingest(make_item("1", "а"), cursor="5")
    store.close()
    reopened = SqliteStore(str(db_path))
    assert reopened.get_cursor("demo") == "5"
    assert [m.native_id for m in reopened.open_mentions()] == ["1"]
    reopened.close()


def test_author_history_lists_earlier_messages_newest_first(store: SqliteStore, ingest) -> None:
    items = [
        make_item(str(i), f"сообщение {i}", created_at=T0 + timedelta(minutes=i)) for i in range(3)
    ]
    other = make_item("x", "чужое", author=Author(id="u2", name="Пётр"))
    mentions = ingest(*items, other)
    history = store.author_history(mentions[2], 10)
    assert [m.native_id for m in history] == ["1", "0"]


def test_urls_and_bad_urls() -> None:
    assert sqlite_path("sqlite:///tmp/x.db") == "tmp/x.db"
    assert sqlite_path("sqlite:////tmp/x.db") == "/tmp/x.db"
    with pytest.raises(StoreError, match="unsupported storage url"):
        open_store("postgres://x")


def test_newer_schema_is_refused(db_path: Path) -> None:
    db = sqlite3.connect(str(db_path))
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(StoreError, match="newer socialtui"):
        SqliteStore(str(db_path))


def test_mentions_count_their_replies_whose_outcome_is_unknown(
    store: SqliteStore, board: Board, ingest, clock: FakeClock
) -> None:
    """Counted from the outbox, so a later reply's state (`mentions.delivery`) cannot hide
    an earlier reply whose outcome is unknown."""
    first, second, quiet = ingest(
        make_item("1", "Кофе холодный"), make_item("2", "Где заказ?"), make_item("3", "ок")
    )
    board.load()
    for mention in (first, first, second):
        board.reply(mention.id, "Разбираемся")
        assert store.claim_reply(clock() + timedelta(minutes=1)) is not None
    assert len(store.recover_sending()) == 3  # the app died with all three in flight
    board.reply(first.id, "Курьер выехал")  # a later reply, queued
    assert store.get_mentions([first.id])[0].delivery == "queued"
    for mentions in (store.open_mentions(), store.get_mentions([quiet.id, second.id, first.id])):
        counts = {m.id: m.unknown_replies for m in mentions}
        assert counts == {first.id: 2, second.id: 1, quiet.id: 0}
