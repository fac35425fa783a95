"""The triage domain: what arrives, how it is classified and what the operator does with it.

Plain dataclasses and enums, so that tests, the CLI and the board share one vocabulary and
nothing here needs a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    DM = "dm"
    COMMENT = "comment"
    MENTION = "mention"


class Label(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class Column(StrEnum):
    """Board columns, in display order: complaints first."""

    NEGATIVE = "negative"
    QUESTIONS = "questions"
    NEUTRAL = "neutral"
    POSITIVE = "positive"

    def title(self, language: str = "ru") -> str:
        return COLUMN_TITLES[language if language in COLUMN_TITLES else "ru"][self]


COLUMN_TITLES: dict[str, dict[Column, str]] = {
    "ru": {
        Column.NEGATIVE: "Негатив",
        Column.QUESTIONS: "Вопросы",
        Column.NEUTRAL: "Нейтрально",
        Column.POSITIVE: "Позитив",
    },
    "en": {
        Column.NEGATIVE: "Negative",
        Column.QUESTIONS: "Questions",
        Column.NEUTRAL: "Neutral",
        Column.POSITIVE: "Positive",
    },
}

COLUMN_ORDER: tuple[Column, ...] = tuple(Column)


class Status(StrEnum):
    """Where an item stands. Everything but DONE is still on the board."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    REPLIED = "replied"
    REDIRECTED = "redirected"
    DONE = "done"


class ActionKind(StrEnum):
    REPLY = "reply"
    ACKNOWLEDGE = "acknowledge"
    TAG = "tag"
    REDIRECT = "redirect"
    DONE = "done"
    SNOOZE = "snooze"
    MOVE = "move"
    UNDO = "undo"


# Actions that count as the shop answering the customer, for first-response time.
RESPONSE_ACTIONS = frozenset({ActionKind.REPLY, ActionKind.ACKNOWLEDGE, ActionKind.REDIRECT})


class OutboxState(StrEnum):
    QUEUED = "queued"
    # Claimed by a sender; if the process dies here the outcome is unknown.
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # The process died between sending and recording: a human must check, never resend.
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Author:
    id: str
    name: str
    handle: str | None = None
    followers: int | None = None
    city: str | None = None


@dataclass(frozen=True, slots=True)
class Team:
    """Where the operator redirects an item: its contact, and the note sent to the customer."""

    key: str
    title: str
    contact: str = ""
    reply: str = ""


@dataclass(frozen=True, slots=True)
class Template:
    key: str  # a single character the operator presses in the composer
    title: str
    text: str  # placeholders {name} {shop} {team} {contact}


@dataclass(frozen=True, slots=True)
class Sentiment:
    label: Label
    scores: dict[str, float]
    is_question: bool = False

    @property
    def column(self) -> Column:
        if self.label is Label.NEGATIVE:
            return Column.NEGATIVE
        if self.is_question:
            return Column.QUESTIONS
        return Column.NEUTRAL if self.label is Label.NEUTRAL else Column.POSITIVE


@dataclass(frozen=True, slots=True)
class IncomingItem:
    """One message as a feed parsed it, before classification and storage.

    `route` is feed-private, JSON-serialisable data the feed needs to reply later
    (a VK peer_id, a Telegram chat and message id, ...). The board never reads it.
    """

    network: str
    native_id: str
    kind: Kind
    author: Author
    text: str
    created_at: datetime
    url: str | None = None
    context: str | None = None
    route: dict[str, Any] = field(default_factory=dict)
    feed: str = ""


@dataclass(slots=True)
class Mention:
    """A stored item with its triage state. Mutable: actions change it."""

    id: int
    network: str
    native_id: str
    kind: Kind
    author: Author
    text: str
    created_at: datetime
    received_at: datetime
    sentiment: Sentiment
    column: Column
    status: Status = Status.NEW
    tags: tuple[str, ...] = ()
    team: str | None = None
    snoozed_until: datetime | None = None
    first_response_at: datetime | None = None
    done_at: datetime | None = None
    url: str | None = None
    context: str | None = None
    route: dict[str, Any] = field(default_factory=dict)
    feed: str = ""
    # Last outbox outcome worth showing on the card ("sending", "unknown", "failed: ...").
    delivery: str | None = None
    # Replies to this item whose outcome is unknown (the app stopped while sending them). Read
    # from the outbox, not from `delivery`: a later reply's state must not hide one. The card
    # warns for as long as the item is on the board; marking it done is the operator's word
    # that it was checked.
    unknown_replies: int = 0

    @property
    def is_open(self) -> bool:
        return self.status is not Status.DONE

    def is_snoozed(self, now: datetime) -> bool:
        return self.snoozed_until is not None and self.snoozed_until > now

    @property
    def answered(self) -> bool:
        return self.first_response_at is not None


@dataclass(frozen=True, slots=True)
class Action:
    mention_id: int
    kind: ActionKind
    operator: str
    at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    mention_id: int
    text: str
    state: OutboxState
    created_at: datetime
    operator: str
    attempts: int = 0
    error: str | None = None
    sent_at: datetime | None = None
    native_reply_id: str | None = None
    action_id: int | None = None
