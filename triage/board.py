"""The Board service: the open items per column and every operator action on them.

The TUI holds one Board and calls it from the UI thread. It never touches SQLite or a feed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from triage.clock import WorkingHours
from triage.model import Column, Mention, OutboxEntry


class AgeLevel(StrEnum):
    OK = "ok"
    WARN = "warn"
    BREACH = "breach"
    ANSWERED = "answered"  # the clock stopped: the customer has an answer


@dataclass(frozen=True, slots=True)
class Team:
    key: str
    title: str
    contact: str = ""
    reply: str = ""


@dataclass(frozen=True, slots=True)
class Template:
    key: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class BoardSettings:
    shop: str
    operator: str
    language: str = "ru"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Moscow"))
    warn_after: timedelta = timedelta(minutes=15)
    breach_after: timedelta = timedelta(hours=1)
    hours: WorkingHours = field(default_factory=WorkingHours.always)
    templates: tuple[Template, ...] = ()
    teams: tuple[Team, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UndoResult:
    mention: Mention | None
    message: str


Clock = Callable[[], datetime]


class BoardSpec:
    """Signatures of Board (implemented in the same module below)."""

    settings: BoardSettings

    def load(self) -> None: ...
    def column(self, column: Column) -> Sequence[Mention]: ...
    def counts(self) -> dict[Column, int]: ...
    def overdue(self) -> int: ...
    def absorb(self, mentions: Sequence[Mention]) -> list[Mention]: ...
    def get(self, mention_id: int) -> Mention: ...
    def history(self, mention: Mention, limit: int = 20) -> list[Mention]: ...
    def set_filter(self, query: str) -> None: ...
    def age(self, mention: Mention) -> timedelta: ...
    def age_level(self, mention: Mention) -> AgeLevel: ...
    def format_age(self, mention: Mention) -> str: ...
    def render_template(self, key: str, mention: Mention, team: str | None = None) -> str: ...
    def reply(self, mention_id: int, text: str) -> OutboxEntry: ...
    def acknowledge(self, mention_id: int) -> OutboxEntry: ...
    def tag(self, mention_id: int, tag: str) -> Mention: ...
    def redirect(self, mention_id: int, team_key: str) -> Mention: ...
    def done(self, mention_id: int) -> Mention: ...
    def snooze(self, mention_id: int, until: datetime) -> Mention: ...
    def move(self, mention_id: int, column: Column) -> Mention: ...
    def undo(self) -> UndoResult: ...
