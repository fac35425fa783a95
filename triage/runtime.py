"""Wiring: build the board, the classifier and the feeds a config describes.

The CLI and the TUI both start from here, so `poll --once` and the board ingest the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from config.schema import Config
from feeds.base import Feed, create_feed
from triage.board import Board, BoardSettings
from triage.ingest import Classifier
from triage.model import Sentiment
from triage.sqlite_store import SqliteStore, open_store

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def board_settings(config: Config) -> BoardSettings:
    return BoardSettings(
        shop=config.shop.name,
        operator=config.shop.operator,
        language=config.shop.language,
        timezone=ZoneInfo(config.shop.timezone),
        warn_after=config.sla.warn_after,
        breach_after=config.sla.breach_after,
        hours=config.sla.hours,
        templates=config.templates,
        teams=tuple(config.teams.values()),
        tags=config.tags,
    )


def open_config_store(config: Config) -> SqliteStore:
    """A new connection; each thread that touches the store opens its own."""
    return open_store(config.storage.url)


def build_board(config: Config, clock: Clock | None = None) -> Board:
    board = Board(open_config_store(config), board_settings(config), clock or utc_now)
    board.load()
    return board


def build_feeds(config: Config) -> list[Feed]:
    return [create_feed(fc.type, fc.name, fc.options) for fc in config.feeds]


class LazyClassifier:
    """Loads the model on first use, in whichever worker thread gets there first."""

    def __init__(self, model: str, negative_threshold: float) -> None:
        self.model = model
        self.negative_threshold = negative_threshold
        self._engine: Classifier | None = None
        self._lock = threading.Lock()

    def _load(self) -> Classifier:
        with self._lock:
            if self._engine is None:
                from triage.sentiment import SentimentEngine

                engine = SentimentEngine(self.model, negative_threshold=self.negative_threshold)
                self._engine = engine
            return self._engine

    def classify(self, texts: Sequence[str]) -> list[Sentiment]:
        return self._load().classify(texts)


def build_classifier(config: Config) -> LazyClassifier:
    return LazyClassifier(config.sentiment.model, config.sentiment.negative_threshold)
