from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from tests.conftest import SETTINGS, T0, FakeClock, make_item
from triage.board import AgeLevel, Board
from triage.model import ActionKind, Author, Column, Label, OutboxState, Status
from triage.sqlite_store import SqliteStore

_ids = itertools.count()


def fill(board: Board, ingest, *texts: str) -> list:
    mentions = ingest(
        *(
            make_item(f"n{next(_ids)}", t, created_at=T0 - timedelta(minutes=len(texts) - i))
            for i, t in enumerate(texts)
        )
    )
    board.absorb(mentions)
    return mentions


def test_columns_are_negative_first_and_oldest_unanswered_first(board: Board, ingest) -> None:
    fill(board, ingest, "ужас", "Когда открываетесь?", "были тут", "спасибо!", "опять плохо")
    assert [m.text for m in board.column(Column.NEGATIVE)] == ["ужас", "опять плохо"]
    assert [m.text for m in board.column(Column.QUESTIONS)] == ["Когда открываетесь?"]
    assert board.counts() == {
        Column.NEGATIVE: 2,
        Column.QUESTIONS: 1,
        Column.NEUTRAL: 1,
        Column.POSITIVE: 1,
    }
    first = board.column(Column.NEGATIVE)[0]
    board.reply(first.id, "Простите!")
    assert [m.text for m in board.column(Column.NEGATIVE)] == ["опять плохо", "ужас"]


def test_ages_and_levels(board: Board, ingest, clock: FakeClock) -> None:
    [m] = fill(board, ingest, "ужас")
    assert board.age_level(m) is AgeLevel.OK
    clock.advance(minutes=20)
    assert board.age_level(m) is AgeLevel.WARN
    assert board.format_age(m) == "21 мин"
    clock.advance(hours=1)
    assert board.age_level(m) is AgeLevel.BREACH
    assert board.overdue() == 1
    board.acknowledge(m.id)
    assert board.age_level(board.get(m.id)) is AgeLevel.ANSWERED
    assert board.overdue() == 0


def test_overdue_counts_only_the_old_unanswered(board: Board, ingest, clock: FakeClock) -> None:
    items = [make_item(str(i), "ок", created_at=T0 - timedelta(minutes=10 * i)) for i in range(12)]
    board.absorb(ingest(*items))
    # ages are 0, 10, ..., 110 minutes; breach is 60 minutes
    assert board.overdue() == 6


def test_reply_queues_outbox_and_records_action(board: Board, ingest, store: SqliteStore) -> None:
    [m] = fill(board, ingest, "ужас")
    entry = board.reply(m.id, "  Простите, уже везём новый  ")
    assert entry.state is OutboxState.QUEUED
    assert entry.text == "Простите, уже везём новый"
    assert entry.operator == "Оля"
    updated = board.get(m.id)
    assert updated.status is Status.REPLIED
    assert updated.first_response_at == T0
    [action] = store.actions(T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert action.kind is ActionKind.REPLY and action.operator == "Оля"
    with pytest.raises(ValueError):
        board.reply(m.id, "   ")


def test_acknowledge_sends_first_template_with_name(
    board: Board, ingest, store: SqliteStore
) -> None:
    [m] = fill(board, ingest, "ужас")
    entry = board.acknowledge(m.id)
    assert entry.text == "Здравствуйте, Иван! Спасибо, что написали. Разбираемся."
    assert board.get(m.id).status is Status.ACKNOWLEDGED


def test_template_uses_handle_when_no_name(board: Board) -> None:
    from triage.board import customer_name

    assert customer_name(Author(id="1", name="", handle="@katya")) == "katya"


def test_tag_toggles(board: Board, ingest) -> None:
    [m] = fill(board, ingest, "ужас")
    assert board.tag(m.id, "брак").tags == ("брак",)
    assert board.tag(m.id, "доставка").tags == ("брак", "доставка")
    assert board.tag(m.id, "брак").tags == ("доставка",)


def test_redirect_records_team_and_queues_team_reply(
    board: Board, ingest, store: SqliteStore
) -> None:
    [m] = fill(board, ingest, "ужас")
    updated = board.redirect(m.id, "delivery")
    assert updated.team == "delivery"
    assert updated.status is Status.REDIRECTED
    [entry] = store.outbox(m.id)
    assert entry.text == "Иван, передали в Доставка."
    # a team with no reply text records the redirect but sends nothing
    [m2] = fill(board, ingest, "плохо")
    board.redirect(m2.id, "kitchen")
    assert store.outbox(m2.id) == []
    with pytest.raises(KeyError):
        board.redirect(m2.id, "nope")


def test_done_snooze_and_move(board: Board, ingest, store: SqliteStore, clock: FakeClock) -> None:
    a, b, c = fill(board, ingest, "ужас", "опять", "плохо")
    board.done(a.id)
    assert a.id not in [m.id for m in board.column(Column.NEGATIVE)]
    board.snooze(b.id, T0 + timedelta(minutes=30))
    assert [m.id for m in board.column(Column.NEGATIVE)] == [c.id]
    clock.advance(minutes=31)
    assert b.id in [m.id for m in board.column(Column.NEGATIVE)]
    board.move(c.id, Column.POSITIVE)
    assert [m.id for m in board.column(Column.POSITIVE)] == [c.id]
    [correction] = store.corrections()
    assert correction.text == "плохо" and correction.label is Label.POSITIVE


def test_undo_restores_and_cancels_queued_reply(board: Board, ingest, store: SqliteStore) -> None:
    [m] = fill(board, ingest, "ужас")
    board.tag(m.id, "брак")
    board.reply(m.id, "Простите")
    result = board.undo()
    assert result.mention is not None and result.mention.status is Status.NEW
    assert result.mention.tags == ("брак",)
    assert [e.state for e in store.outbox(m.id)] == [OutboxState.CANCELLED]
    board.undo()
    assert board.get(m.id).tags == ()
    board.done(m.id)
    board.undo()
    assert m.id in [x.id for x in board.column(Column.NEGATIVE)]
    board.move(m.id, Column.NEUTRAL)
    board.undo()
    assert store.corrections() == []
    assert board.get(m.id).column is Column.NEGATIVE


def test_undo_refuses_once_reply_has_gone(
    board: Board, ingest, store: SqliteStore, clock: FakeClock
) -> None:
    [m] = fill(board, ingest, "ужас")
    entry = board.reply(m.id, "Простите")
    clock.advance(seconds=10)
    claimed = store.claim_reply(clock())
    assert claimed is not None and claimed[0].id == entry.id
    result = board.undo()
    assert result.mention is None
    assert "уже ушёл" in result.message
    assert board.get(m.id).status is Status.REPLIED


def test_undo_with_nothing(board: Board) -> None:
    assert board.undo().message == "Нечего отменять"


def test_filter_matches_text_author_and_tags(board: Board, ingest) -> None:
    a, b = fill(board, ingest, "ужас холодный", "опять опоздали")
    board.tag(b.id, "доставка")
    board.set_filter("холодный")
    assert [m.id for m in board.column(Column.NEGATIVE)] == [a.id]
    board.set_filter("доставка")
    assert [m.id for m in board.column(Column.NEGATIVE)] == [b.id]
    board.set_filter("")
    assert len(board.column(Column.NEGATIVE)) == 2


def test_restart_keeps_everything(db_path, ingest, store: SqliteStore, clock: FakeClock) -> None:
    board = Board(store, SETTINGS, clock)
    board.load()
    a, b = fill(board, ingest, "ужас", "спасибо")
    board.tag(a.id, "брак")
    board.done(b.id)
    store.close()
    reopened = Board(SqliteStore(str(db_path)), SETTINGS, clock)
    reopened.load()
    assert [m.tags for m in reopened.column(Column.NEGATIVE)] == [("брак",)]
    assert reopened.column(Column.POSITIVE) == []
    reopened.undo()
    assert [m.id for m in reopened.column(Column.POSITIVE)] == [b.id]


def test_failed_store_write_leaves_board_unchanged(board: Board, ingest, db_path) -> None:
    import sqlite3

    from triage.errors import StoreError

    [m] = fill(board, ingest, "ужас")
    blocker = sqlite3.connect(str(db_path), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    board.store._db.execute("PRAGMA busy_timeout=50")  # type: ignore[attr-defined]
    with pytest.raises(StoreError):
        board.done(m.id)
    blocker.execute("ROLLBACK")
    assert m.id in [x.id for x in board.column(Column.NEGATIVE)]


def test_patched_columns_match_a_fresh_load(board: Board, ingest, store, clock) -> None:
    """The board patches its cached columns on each change; a reload must agree with it."""
    import random

    rng = random.Random(7)
    texts = ["ужас", "Когда?", "были тут", "спасибо", "опять"]
    board.column(Column.NEGATIVE)  # build the cache so later changes patch it
    board.overdue()
    for step in range(200):
        op = rng.randrange(8)
        open_ids = [m.id for c in Column for m in board.column(c)]
        if op < 3 or not open_ids:
            count = rng.choice([1, 1, 2, 40])
            board.absorb(
                ingest(
                    *(
                        make_item(
                            f"p{step}-{i}",
                            rng.choice(texts),
                            created_at=T0 - timedelta(minutes=rng.randrange(300)),
                        )
                        for i in range(count)
                    )
                )
            )
        elif op == 3:
            board.reply(rng.choice(open_ids), "ok")
        elif op == 4:
            board.done(rng.choice(open_ids))
        elif op == 5:
            board.move(rng.choice(open_ids), rng.choice(list(Column)))
        elif op == 6:
            board.snooze(rng.choice(open_ids), clock() + timedelta(minutes=rng.randrange(1, 20)))
        else:
            board.undo()
        clock.advance(minutes=1)
        fresh = Board(store, SETTINGS, clock)
        fresh.load()
        for column in Column:
            assert [m.id for m in board.column(column)] == [m.id for m in fresh.column(column)]
        assert board.overdue() == fresh.overdue()
