"""The storage seam: what the domain needs from a database, whatever the database is.

SQLite implements it today (triage.sqlite_store); PostgreSQL can implement it for team mode
without the Board, the outbox or the feeds changing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from triage.model import (
    Action,
    Column,
    IncomingItem,
    Label,
    Mention,
    OutboxEntry,
    Sentiment,
    Status,
)


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def mention_state(mention: Mention) -> dict[str, Any]:
    """The part of a mention that actions change; undo restores exactly this."""
    return {
        "status": mention.status.value,
        "col": mention.column.value,
        "tags": list(mention.tags),
        "team": mention.team,
        "snoozed_until": _ts(mention.snoozed_until),
        "first_response_at": _ts(mention.first_response_at),
        "done_at": _ts(mention.done_at),
    }


def apply_state(mention: Mention, state: dict[str, Any]) -> None:
    mention.status = Status(state["status"])
    mention.column = Column(state["col"])
    mention.tags = tuple(state["tags"])
    mention.team = state["team"]
    mention.snoozed_until = _dt(state["snoozed_until"])
    mention.first_response_at = _dt(state["first_response_at"])
    mention.done_at = _dt(state["done_at"])


@dataclass(frozen=True, slots=True)
class StoredAction:
    action: Action
    # The mention's triage state before the action, restored by undo.
    before: dict[str, Any]
    undone: bool = False


@dataclass(frozen=True, slots=True)
class Correction:
    mention_id: int
    text: str
    label: Label
    column: Column
    operator: str
    at: datetime


class Store(Protocol):
    def ingest(
        self,
        feed: str,
        items: Sequence[tuple[IncomingItem, Sentiment]],
        cursor: str | None,
        received_at: datetime,
    ) -> list[Mention]:
        """Store new items and the feed's cursor in ONE transaction; return only new ones."""

    def get_cursor(self, feed: str) -> str | None: ...

    def open_mentions(self) -> list[Mention]: ...

    def get_mentions(self, ids: Sequence[int]) -> list[Mention]: ...

    def author_history(self, mention: Mention, limit: int) -> list[Mention]: ...

    def record_action(
        self,
        mention: Mention,
        action: Action,
        before: dict[str, Any],
        reply_text: str | None = None,
        send_after: datetime | None = None,
        correction: Correction | None = None,
    ) -> tuple[Action, OutboxEntry | None]:
        """Store the action, the mention's new state and an optional reply, atomically."""

    def last_undoable(self, operator: str) -> StoredAction | None: ...

    def undo(self, stored: StoredAction, restored: Mention, undo_action: Action) -> bool:
        """Restore the mention, mark the action undone and cancel its unsent replies, atomically.

        False (and nothing changed) when one of the action's replies has left the queue since
        the caller looked: it is being sent, or was, and cannot be taken back."""

    def outbox_for_action(self, action_id: int) -> list[OutboxEntry]: ...

    def claim_reply(self, now: datetime) -> tuple[OutboxEntry, Mention] | None:
        """Move the oldest due queued reply to `sending`, committed, and return it."""

    def finish_reply(
        self,
        entry_id: int,
        *,
        sent_at: datetime | None,
        native_reply_id: str | None,
        error: str | None,
        retry_at: datetime | None,
    ) -> OutboxEntry: ...

    def recover_sending(self) -> list[OutboxEntry]:
        """After a crash: replies left in `sending` become `unknown`, never resent."""

    def outbox(self, mention_id: int) -> list[OutboxEntry]: ...

    def corrections(self) -> list[Correction]: ...

    def actions(self, since: datetime, until: datetime) -> list[Action]: ...

    def close(self) -> None: ...
