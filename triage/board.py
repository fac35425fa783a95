"""The Board service: the open items per column and every operator action on them.

The TUI holds one Board and calls it from the UI thread. It never touches SQLite or a feed.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from triage.clock import WorkingHours, format_age
from triage.model import (
    COLUMN_ORDER,
    RESPONSE_ACTIONS,
    Action,
    ActionKind,
    Author,
    Column,
    Label,
    Mention,
    OutboxEntry,
    OutboxState,
    Status,
    Team,
    Template,
)
from triage.sanitize import one_line
from triage.store import Correction, Store, apply_state, mention_state


class AgeLevel(StrEnum):
    OK = "ok"
    WARN = "warn"
    BREACH = "breach"
    ANSWERED = "answered"  # the clock stopped: the customer has an answer


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


class Board:
    """Open mentions by column, plus the operator's actions; one per UI."""

    def __init__(
        self,
        store: Store,
        settings: BoardSettings,
        clock: Clock | None = None,
        *,
        send_delay: timedelta = timedelta(seconds=5),
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        # Replies wait this long in the outbox so that undo can still take them back.
        self.send_delay = send_delay
        self._open: dict[int, Mention] = {}
        self._columns: dict[Column, list[Mention]] | None = None
        self._unanswered: list[Mention] | None = None
        self._filter = ""
        self._next_unsnooze: datetime | None = None
        self._teams = {team.key: team for team in settings.teams}

    # -- reading --------------------------------------------------------------------------

    def load(self) -> None:
        self._open = {m.id: m for m in self.store.open_mentions()}
        self._invalidate()

    def _invalidate(self) -> None:
        self._columns = None
        self._unanswered = None

    def _matches(self, mention: Mention) -> bool:
        if not self._filter:
            return True
        haystack = " ".join(
            (
                mention.text,
                mention.author.name,
                mention.author.handle or "",
                mention.author.city or "",
                mention.network,
                " ".join(mention.tags),
                mention.team or "",
            )
        ).casefold()
        return all(word in haystack for word in self._filter.split())

    def _build_columns(self) -> dict[Column, list[Mention]]:
        now = self.clock()
        if self._columns is not None and (self._next_unsnooze is None or now < self._next_unsnooze):
            return self._columns
        columns: dict[Column, list[Mention]] = {column: [] for column in COLUMN_ORDER}
        next_unsnooze: datetime | None = None
        for mention in self._open.values():
            if mention.snoozed_until is not None and mention.snoozed_until > now:
                if next_unsnooze is None or mention.snoozed_until < next_unsnooze:
                    next_unsnooze = mention.snoozed_until
                continue
            if self._matches(mention):
                columns[mention.column].append(mention)
        for items in columns.values():
            items.sort(key=_column_order)
        self._columns = columns
        self._next_unsnooze = next_unsnooze
        return columns

    def column(self, column: Column) -> Sequence[Mention]:
        return self._build_columns()[column]

    def counts(self) -> dict[Column, int]:
        return {column: len(items) for column, items in self._build_columns().items()}

    def overdue(self) -> int:
        """Unanswered open items past breach_after, by bisecting on arrival time."""
        if self._unanswered is None:
            self._unanswered = sorted(
                (m for m in self._open.values() if not m.answered), key=_arrival_order
            )
        items = self._unanswered
        now = self.clock()
        low, high = 0, len(items)
        # Working age falls as arrival gets later, so the overdue ones form a prefix.
        while low < high:
            middle = (low + high) // 2
            if self._elapsed(items[middle].created_at, now) >= self.settings.breach_after:
                low = middle + 1
            else:
                high = middle
        return low

    def get(self, mention_id: int) -> Mention:
        mention = self._open.get(mention_id)
        if mention is None:
            found = self.store.get_mentions([mention_id])
            if not found:
                raise KeyError(mention_id)
            mention = found[0]
        return mention

    def history(self, mention: Mention, limit: int = 20) -> list[Mention]:
        return self.store.author_history(mention, limit)

    def set_filter(self, query: str) -> None:
        self._filter = query.strip().casefold()
        self._columns = None

    @property
    def filter(self) -> str:
        return self._filter

    def absorb(self, mentions: Sequence[Mention]) -> list[Mention]:
        added = [m for m in mentions if m.id not in self._open and m.is_open]
        self._apply((), added)
        return added

    def refresh(self, ids: Sequence[int]) -> None:
        """Reload mentions whose delivery state another thread changed."""
        fresh = self.store.get_mentions(ids)
        stale = [self._open[m.id] for m in fresh if m.id in self._open]
        self._apply(stale, fresh)

    def _apply(self, old: Sequence[Mention], new: Sequence[Mention]) -> None:
        """Swap changed mentions into the open set and patch the cached columns in place.

        Rebuilding and re-sorting 40,000 items on every arrival would stall the UI, so the
        cached lists are patched. Each touched column gets a NEW list: the TUI compares lists
        by identity to skip repaints.
        """
        for mention in old:
            self._open.pop(mention.id, None)
        current = [m for m in new if m.is_open]
        for mention in current:
            self._open[mention.id] = mention
        if self._columns is not None:
            self._patch_columns(self._columns, old, current)
        if self._unanswered is not None:
            self._unanswered = _patched(
                self._unanswered,
                {m.id for m in old},
                [m for m in current if not m.answered],
                _arrival_order,
            )

    def _patch_columns(
        self, columns: dict[Column, list[Mention]], old: Sequence[Mention], new: Sequence[Mention]
    ) -> None:
        now = self.clock()
        removed: dict[Column, set[int]] = {}
        added: dict[Column, list[Mention]] = {}
        for mention in old:
            removed.setdefault(mention.column, set()).add(mention.id)
        for mention in new:
            if mention.snoozed_until is not None and mention.snoozed_until > now:
                if self._next_unsnooze is None or mention.snoozed_until < self._next_unsnooze:
                    self._next_unsnooze = mention.snoozed_until
                continue
            if self._matches(mention):
                added.setdefault(mention.column, []).append(mention)
        for column in removed.keys() | added.keys():
            columns[column] = _patched(
                columns[column], removed.get(column, set()), added.get(column, []), _column_order
            )

    # -- ages -----------------------------------------------------------------------------

    def _elapsed(self, start: datetime, end: datetime) -> timedelta:
        return self.settings.hours.elapsed(start, end, self.settings.timezone)

    def age(self, mention: Mention) -> timedelta:
        return self._elapsed(mention.created_at, self.clock())

    def age_level(self, mention: Mention) -> AgeLevel:
        if mention.answered:
            return AgeLevel.ANSWERED
        age = self.age(mention)
        if age >= self.settings.breach_after:
            return AgeLevel.BREACH
        if age >= self.settings.warn_after:
            return AgeLevel.WARN
        return AgeLevel.OK

    def format_age(self, mention: Mention) -> str:
        return format_age(self.age(mention), self.settings.language)

    # -- templates ------------------------------------------------------------------------

    def template(self, key: str) -> Template:
        for template in self.settings.templates:
            if template.key == key:
                return template
        raise KeyError(key)

    def render_template(self, key: str, mention: Mention, team: str | None = None) -> str:
        return self._fill(self.template(key).text, mention, team)

    def _fill(self, text: str, mention: Mention, team_key: str | None) -> str:
        team = self._teams.get(team_key or mention.team or "")
        values = {
            "name": customer_name(mention.author),
            "shop": self.settings.shop,
            "team": team.title if team else "",
            "contact": team.contact if team else "",
        }
        return text.format_map(_Blank(values)).strip()

    # -- actions --------------------------------------------------------------------------

    def _act(
        self,
        mention_id: int,
        kind: ActionKind,
        change: Callable[[Mention], None],
        payload: dict[str, Any] | None = None,
        reply_text: str | None = None,
        correction: Correction | None = None,
    ) -> tuple[Mention, OutboxEntry | None]:
        current = self.get(mention_id)
        updated = replace(current)
        change(updated)
        now = self.clock()
        if reply_text is not None:
            updated.delivery = "queued"
        action = Action(
            mention_id=mention_id,
            kind=kind,
            operator=self.settings.operator,
            at=now,
            payload=payload or {},
        )
        # The store commits first: if it fails, the board still shows the old state.
        _, entry = self.store.record_action(
            updated,
            action,
            mention_state(current),
            reply_text=reply_text,
            send_after=now + self.send_delay if reply_text is not None else None,
            correction=correction,
        )
        self._replace(updated)
        return updated, entry

    def _replace(self, mention: Mention) -> None:
        previous = self._open.get(mention.id)
        self._apply((previous,) if previous is not None else (), (mention,))

    def _responded(self, mention: Mention, status: Status) -> None:
        now = self.clock()
        if mention.first_response_at is None:
            mention.first_response_at = now
        if mention.status is not Status.DONE:
            mention.status = status

    def reply(self, mention_id: int, text: str) -> OutboxEntry:
        text = text.strip()
        if not text:
            raise ValueError("the reply is empty")
        _, entry = self._act(
            mention_id,
            ActionKind.REPLY,
            lambda m: self._responded(m, Status.REPLIED),
            {"text": text},
            reply_text=text,
        )
        assert entry is not None
        return entry

    def acknowledge(self, mention_id: int) -> OutboxEntry:
        if not self.settings.templates:
            raise ValueError("no templates configured: add [[templates]] to the config")
        mention = self.get(mention_id)
        text = self._fill(self.settings.templates[0].text, mention, None)

        def change(m: Mention) -> None:
            self._responded(m, Status.ACKNOWLEDGED if m.status is Status.NEW else m.status)

        _, entry = self._act(
            mention_id, ActionKind.ACKNOWLEDGE, change, {"text": text}, reply_text=text
        )
        assert entry is not None
        return entry

    def tag(self, mention_id: int, tag: str) -> Mention:
        tag = tag.strip()
        if not tag:
            raise ValueError("the tag is empty")
        added = tag not in self.get(mention_id).tags

        def change(m: Mention) -> None:
            m.tags = (*m.tags, tag) if added else tuple(t for t in m.tags if t != tag)

        mention, _ = self._act(mention_id, ActionKind.TAG, change, {"tag": tag, "added": added})
        return mention

    def redirect(self, mention_id: int, team_key: str) -> Mention:
        team = self._teams.get(team_key)
        if team is None:
            raise KeyError(f"unknown team {team_key!r}")
        reply = self._fill(team.reply, self.get(mention_id), team_key) if team.reply else None

        def change(m: Mention) -> None:
            m.team = team_key
            self._responded(m, Status.REDIRECTED)

        mention, _ = self._act(
            mention_id,
            ActionKind.REDIRECT,
            change,
            {"team": team_key, "contact": team.contact, "text": reply},
            reply_text=reply,
        )
        return mention

    def done(self, mention_id: int) -> Mention:
        now = self.clock()

        def change(m: Mention) -> None:
            m.status = Status.DONE
            m.done_at = now

        mention, _ = self._act(mention_id, ActionKind.DONE, change)
        return mention

    def snooze(self, mention_id: int, until: datetime) -> Mention:
        def change(m: Mention) -> None:
            m.snoozed_until = until

        mention, _ = self._act(mention_id, ActionKind.SNOOZE, change, {"until": until.isoformat()})
        return mention

    def move(self, mention_id: int, column: Column) -> Mention:
        current = self.get(mention_id)
        correction = Correction(
            mention_id=mention_id,
            text=current.text,
            label=COLUMN_LABEL[column],
            column=column,
            operator=self.settings.operator,
            at=self.clock(),
        )

        def change(m: Mention) -> None:
            m.column = column

        mention, _ = self._act(
            mention_id,
            ActionKind.MOVE,
            change,
            {"from": current.column.value, "to": column.value},
            correction=correction,
        )
        return mention

    def undo(self) -> UndoResult:
        stored = self.store.last_undoable(self.settings.operator)
        if stored is None:
            return UndoResult(None, self._say("nothing_to_undo"))
        action = stored.action
        assert action.id is not None
        gone = [
            e
            for e in self.store.outbox_for_action(action.id)
            if e.state is not OutboxState.QUEUED and e.state is not OutboxState.CANCELLED
        ]
        if gone:
            return UndoResult(None, self._say("already_sent"))
        restored = replace(self.get(action.mention_id))
        apply_state(restored, stored.before)
        if action.kind in RESPONSE_ACTIONS:
            restored.delivery = None
        undo_action = Action(
            mention_id=action.mention_id,
            kind=ActionKind.UNDO,
            operator=self.settings.operator,
            at=self.clock(),
            payload={"undid": action.id, "kind": action.kind.value},
        )
        if not self.store.undo(stored, restored, undo_action):
            return UndoResult(None, self._say("already_sent"))
        self._replace(restored)
        return UndoResult(
            restored,
            self._say(
                "undone",
                action=_ACTION_NAMES[
                    self.settings.language if self.settings.language in _ACTION_NAMES else "ru"
                ][action.kind],
            ),
        )

    def _say(self, key: str, **values: str) -> str:
        language = self.settings.language if self.settings.language in _MESSAGES else "ru"
        return _MESSAGES[language][key].format(**values)


def _column_order(mention: Mention) -> tuple[bool, datetime, int]:
    # The oldest unanswered first: that customer has waited longest.
    return (mention.first_response_at is not None, mention.created_at, mention.id)


def _arrival_order(mention: Mention) -> tuple[datetime, int]:
    return (mention.created_at, mention.id)


def _patched(
    items: list[Mention],
    removed: set[int],
    added: list[Mention],
    key: Callable[[Mention], Any],
) -> list[Mention]:
    """A new sorted list: `items` without `removed` ids, plus `added`."""
    result = [m for m in items if m.id not in removed] if removed else list(items)
    if len(added) > 32:
        # Timsort merges the two sorted runs in near-linear time.
        result.extend(sorted(added, key=key))
        result.sort(key=key)
    else:
        for mention in added:
            bisect.insort(result, mention, key=key)
    return result


class _Blank(dict[str, str]):
    """Unknown placeholders render empty rather than crash a reply mid-shift."""

    def __missing__(self, key: str) -> str:
        return ""


def customer_name(author: Author) -> str:
    """The name to greet a customer by: their first name, else their handle."""
    name = one_line(author.name, 60).strip()
    if name and name.casefold() not in {"unknown", "anonymous"}:
        return name.split()[0]
    return one_line(author.handle or "", 60).lstrip("@")


COLUMN_LABEL: dict[Column, Label] = {
    Column.NEGATIVE: Label.NEGATIVE,
    Column.QUESTIONS: Label.NEUTRAL,
    Column.NEUTRAL: Label.NEUTRAL,
    Column.POSITIVE: Label.POSITIVE,
}

_MESSAGES: dict[str, dict[str, str]] = {
    "ru": {
        "nothing_to_undo": "Нечего отменять",
        "already_sent": "Ответ уже ушёл клиенту: его не вернуть",
        "undone": "Отменено: {action}",
    },
    "en": {
        "nothing_to_undo": "Nothing to undo",
        "already_sent": "The reply has already gone to the customer; it cannot be taken back",
        "undone": "Undone: {action}",
    },
}

_ACTION_NAMES: dict[str, dict[ActionKind, str]] = {
    "ru": {
        ActionKind.REPLY: "ответ",
        ActionKind.ACKNOWLEDGE: "подтверждение",
        ActionKind.TAG: "тег",
        ActionKind.REDIRECT: "передача команде",
        ActionKind.DONE: "готово",
        ActionKind.SNOOZE: "отложено",
        ActionKind.MOVE: "перенос в колонку",
        ActionKind.UNDO: "отмена",
    },
    "en": {
        ActionKind.REPLY: "reply",
        ActionKind.ACKNOWLEDGE: "acknowledgement",
        ActionKind.TAG: "tag",
        ActionKind.REDIRECT: "redirect",
        ActionKind.DONE: "done",
        ActionKind.SNOOZE: "snooze",
        ActionKind.MOVE: "move",
        ActionKind.UNDO: "undo",
    },
}
