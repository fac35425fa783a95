"""Wiring: build the board, the classifier and the feeds a config describes.

The CLI and the TUI both start from here, so `poll --once` and the board ingest the same way.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from config.schema import Config
from feeds.base import Feed, create_feed
from triage.board import Board, BoardSettings
from triage.errors import SocialtuiError
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


# Seconds a reply waits in the outbox so that undo can take it back. Not a config key: the
# crash tests (and a demo) shorten it; an operator has no reason to.
SEND_DELAY_ENV = "SOCIALTUI_SEND_DELAY"
DEFAULT_SEND_DELAY = timedelta(seconds=5)


def send_delay(environ: Mapping[str, str] | None = None) -> timedelta:
    raw = (os.environ if environ is None else environ).get(SEND_DELAY_ENV, "").strip()
    if not raw:
        return DEFAULT_SEND_DELAY
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= 3600:  # also false for nan
        raise SocialtuiError(f"{SEND_DELAY_ENV} must be 0..3600 seconds, got {raw[:40]!r}")
    return timedelta(seconds=seconds)


def build_board(config: Config, clock: Clock | None = None) -> Board:
    delay = send_delay()  # before the store opens, so a bad value leaves nothing open
    board = Board(
        open_config_store(config), board_settings(config), clock or utc_now, send_delay=delay
    )
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
