"""Shared fixtures: a controllable clock, a real SQLite store, and a keyword classifier.

The keyword classifier stands in for the fastText model where a test is about the board or the
store, not about sentiment, so those tests do not depend on the model's figures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from triage.board import Board, BoardSettings
from triage.model import Author, IncomingItem, Kind, Label, Sentiment, Team, Template
from triage.sqlite_store import SqliteStore

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class KeywordClassifier:
    """Negative on complaint words, positive on thanks, question on '?'."""

    def classify(self, texts: Sequence[str]) -> list[Sentiment]:
        out = []
        for text in texts:
            low = text.lower()
            if any(w in low for w in ("ужас", "холодн", "верните", "опять", "плохо")):
                label = Label.NEGATIVE
            elif any(w in low for w in ("спасибо", "вкусно", "супер")):
                label = Label.POSITIVE
            else:
                label = Label.NEUTRAL
            scores = {lab.value: (0.8 if lab is label else 0.1) for lab in Label}
            out.append(Sentiment(label, scores, is_question="?" in text))
        return out


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(str(db_path))
    yield s
    s.close()


@pytest.fixture
def classifier() -> KeywordClassifier:
    return KeywordClassifier()


SETTINGS = BoardSettings(
    shop="Кофейня Зерно",
    operator="Оля",
    templates=(
        Template("a", "Принято", "Здравствуйте, {name}! Спасибо, что написали. Разбираемся."),
        Template("b", "Извинения", "{name}, простите нас. {shop} всё исправит."),
    ),
    teams=(
        Team("delivery", "Доставка", "+7 900 000-00-00", "{name}, передали в {team}."),
        Team("kitchen", "Кухня", "кухня@zerno", ""),
    ),
    tags=("брак", "доставка"),
)


@pytest.fixture
def board(store: SqliteStore, clock: FakeClock) -> Board:
    b = Board(store, SETTINGS, clock)
    b.load()
    return b


def make_item(
    native_id: str,
    text: str,
    *,
    created_at: datetime = T0,
    author: Author | None = None,
    network: str = "demo",
    kind: Kind = Kind.COMMENT,
    feed: str = "demo",
) -> IncomingItem:
    return IncomingItem(
        network=network,
        native_id=native_id,
        kind=kind,
        author=author or Author(id="u1", name="Иван Петров", handle="ivan", followers=120),
        text=text,
        created_at=created_at,
        feed=feed,
    )


Ingest = Callable[..., list]


@pytest.fixture
def ingest(store: SqliteStore, classifier: KeywordClassifier, clock: FakeClock) -> Ingest:
    def _ingest(*items: IncomingItem, cursor: str | None = None, feed: str = "demo") -> list:
        sentiments = classifier.classify([i.text for i in items])
        return store.ingest(feed, list(zip(items, sentiments, strict=True)), cursor, clock())

    return _ingest
