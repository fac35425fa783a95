"""Helpers for the TUI tests: a config on a temp SQLite file, a scripted feed, and readers
for what the board shows. The app under test runs the real Board and store."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from rich.style import Style
from textual.pilot import Pilot

from config.schema import (
    Config,
    FeedConfig,
    ShopConfig,
    SlaConfig,
    StorageConfig,
    TeamConfig,
    TemplateConfig,
    UiConfig,
)
from feeds.base import FeedState, FeedStatus, FetchResult, ReplyResult
from triage.board import AgeLevel
from triage.model import Author, IncomingItem, Kind, Mention
from triage.runtime import open_config_store
from tui.app import SocialtuiApp
from tui.widgets.card import CardStyles
from tui.widgets.column_view import ColumnView

from .conftest import T0, FakeClock, KeywordClassifier

# Terminal sizes: one column with tabs, and all four columns side by side.
NARROW = (80, 24)
WIDE = (160, 48)

COMPLAINT = "Кофе опять холодный, ужас"
LATE_PACKING = "Плохо упаковали заказ"
QUESTION = "Во сколько открываетесь завтра?"

# Cards drawn without colours or emphasis, for tests that read only their text.
_PLAIN = Style()
PLAIN_STYLES = CardStyles(
    base=_PLAIN,
    selected=_PLAIN,
    badge=_PLAIN,
    author=_PLAIN,
    meta=_PLAIN,
    text=_PLAIN,
    tag=_PLAIN,
    state=_PLAIN,
    warning=_PLAIN,
    marker=_PLAIN,
    ages={level: _PLAIN for level in AgeLevel},
)


def make_config(db_path: Path, *, language: str = "ru", bell: bool = False) -> Config:
    return Config(
        path=None,
        shop=ShopConfig(name="Кофейня Зерно", operator="Оля", language=language),
        storage=StorageConfig(url=f"sqlite:///{db_path}"),
        sla=SlaConfig(warn_after=timedelta(minutes=15), breach_after=timedelta(hours=1)),
        feeds=(FeedConfig("fake", "demo", {}),),
        teams={
            "delivery": TeamConfig(
                "delivery", "Доставка", "+7 900 000-00-00", "{name}, передали в {team}."
            ),
            "kitchen": TeamConfig("kitchen", "Кухня", "кухня@zerno", ""),
        },
        templates=(
            TemplateConfig(
                "a", "Принято", "Здравствуйте, {name}! Спасибо, что написали. Разбираемся."
            ),
            TemplateConfig("b", "Извинения", "{name}, простите нас. {shop} всё исправит."),
        ),
        tags=("брак", "доставка"),
        ui=UiConfig(bell=bell),
    )


def item(
    native_id: str,
    text: str,
    *,
    minutes_ago: float = 0,
    name: str = "Иван Петров",
    handle: str | None = "ivan",
    author_id: str = "u1",
    followers: int | None = 12400,
    city: str | None = "Казань",
    network: str = "vk",
    kind: Kind = Kind.COMMENT,
    context: str | None = None,
) -> IncomingItem:
    return IncomingItem(
        network=network,
        native_id=native_id,
        kind=kind,
        author=Author(id=author_id, name=name, handle=handle, followers=followers, city=city),
        text=text,
        created_at=T0 - timedelta(minutes=minutes_ago),
        url=f"https://vk.com/wall-1_{native_id}",
        context=context,
        feed="demo",
    )


def complaints() -> list[IncomingItem]:
    """The two complaints the board tests start from: COMPLAINT from Иван (90 min ago) and
    LATE_PACKING from Мария (30 min ago)."""
    return [
        item("n1", COMPLAINT, minutes_ago=90),
        item(
            "n2",
            LATE_PACKING,
            minutes_ago=30,
            name="Мария Смирнова",
            handle="masha",
            author_id="u2",
        ),
    ]


def seed(config: Config, items: Iterable[IncomingItem], clock: FakeClock) -> list[Mention]:
    """Store items as a feed worker would, before the app starts."""
    items = list(items)
    store = open_config_store(config)
    try:
        sentiments = KeywordClassifier().classify([i.text for i in items])
        return store.ingest("demo", list(zip(items, sentiments, strict=True)), None, clock())
    finally:
        store.close()


class ScriptedFeed:
    """A feed that returns what the test queues, and records replies."""

    type_name: ClassVar[str] = "fake"

    def __init__(self, name: str = "demo", status: FeedStatus | None = None) -> None:
        self.name = name
        self.status = status or FeedStatus(FeedState.LIVE)
        self.pending: list[FetchResult] = []
        self.replies: list[tuple[int, str]] = []
        self.started_with: str | None = None
        self.closed = threading.Event()
        self._lock = threading.Lock()
        self._ready = threading.Event()

    def push(self, *items: IncomingItem, cursor: str | None = None) -> None:
        with self._lock:
            self.pending.append(FetchResult(list(items), cursor=cursor))
        self._ready.set()

    def start(self, cursor: str | None) -> None:
        self.started_with = cursor

    def fetch(self, timeout: float) -> FetchResult:
        self._ready.wait(timeout)
        with self._lock:
            if not self.pending:
                self._ready.clear()
                return FetchResult()
            return self.pending.pop(0)

    def reply(self, mention: Mention, text: str, reply_key: str) -> ReplyResult:
        self.replies.append((mention.id, text))
        return ReplyResult(native_reply_id=f"r{len(self.replies)}")

    def describe(self) -> FeedStatus:
        return self.status

    def close(self) -> None:
        self.closed.set()


class RecordingApp(SocialtuiApp):
    """Keeps every notification and bell, so tests can assert on what the operator was told."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notes: list[tuple[str, str]] = []
        self.bells = 0

    def notify(self, message: str, *args: Any, **kwargs: Any) -> None:
        self.notes.append((message, kwargs.get("severity", "information")))
        super().notify(message, *args, **kwargs)

    def bell(self) -> None:
        self.bells += 1

    @property
    def errors(self) -> list[str]:
        return [message for message, severity in self.notes if severity == "error"]


def make_app(
    config: Config,
    clock: FakeClock,
    feeds: Sequence[Any] = (),
    **kwargs: Any,
) -> RecordingApp:
    return RecordingApp(
        config, clock=clock, classifier=KeywordClassifier(), feeds=list(feeds), **kwargs
    )


def column_lines(app: SocialtuiApp, column_id: str) -> list[str]:
    return app.query_one(f"#{column_id}", ColumnView).visible_text()


def column_texts(app: SocialtuiApp, column_id: str) -> list[str]:
    """The mention texts in a column, in board order."""
    return [m.text for m in app.query_one(f"#{column_id}", ColumnView).items]


def screen_text(app: SocialtuiApp) -> str:
    """Everything on screen as plain text (what the operator reads)."""
    return "\n".join(line.text for line in app.screen._compositor.render_strips())


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool], tries: int = 200) -> bool:
    """Let worker threads and the app run until `condition` holds (bounded, not timed)."""
    for _ in range(tries):
        if condition():
            return True
        await pilot.pause(0.02)
    return condition()
