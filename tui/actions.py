"""What the operator's keys do. Each action is one Board call on the selected mention, wrapped
so that an error (a locked database, a missing template) becomes a notification.

After an action that takes the item out of its place (done, snooze, move, an answer that sinks
it below the unanswered ones) the selection stays at the same index, so the next item is
under the cursor; after one that leaves it in place, the selection follows the item.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import TypeVar

from textual.app import App

from config.schema import Config
from triage.board import Board
from triage.errors import StoreError
from triage.model import COLUMN_ORDER, Column, Mention
from triage.runtime import open_config_store
from triage.sanitize import one_line
from tui.screens.composer import ComposerScreen
from tui.screens.filter_input import FilterScreen
from tui.screens.help import HelpScreen
from tui.screens.picker import Choice, PickerScreen
from tui.strings import Strings
from tui.widgets.column_view import ColumnView
from tui.widgets.detail_pane import DetailPane

T = TypeVar("T")

# When "tomorrow morning" has no working hours to go by.
DEFAULT_MORNING = time(9, 0)

SNOOZE_DELAYS: dict[str, timedelta] = {
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "3h": timedelta(hours=3),
}


class BoardActions(App[None]):
    """The action_* methods of SocialtuiApp; the app provides the state and the layout."""

    board: Board
    config: Config
    strings: Strings
    clock: Callable[[], datetime]
    current: int
    detail_open: bool
    filter_query: str
    drafts: dict[int, str]
    team_titles: dict[str, str]
    _navigated: bool

    # -- provided by SocialtuiApp ----------------------------------------------------------

    @property
    def views(self) -> list[ColumnView]:
        raise NotImplementedError

    @property
    def current_view(self) -> ColumnView:
        raise NotImplementedError

    @property
    def selected(self) -> Mention | None:
        raise NotImplementedError

    def reload(self, *, follow_selected: bool = True) -> None:
        raise NotImplementedError

    def _relayout(self) -> None:
        raise NotImplementedError

    def _show_selection(self) -> None:
        raise NotImplementedError

    def _refresh_chrome(self) -> None:
        raise NotImplementedError

    def wake_outbox(self) -> None:
        raise NotImplementedError

    def refresh_today(self) -> None:
        raise NotImplementedError

    # -- helpers ------------------------------------------------------------------------------

    def report_error(self, exc: BaseException) -> None:
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, KeyError):
            detail = f"{type(exc).__name__}: {exc}"
        key = "note.store_error" if isinstance(exc, StoreError) else "note.error"
        self.notify(self.strings.get(key, error=detail), severity="error", timeout=8)

    def _run(self, call: Callable[[], T]) -> T | None:
        try:
            return call()
        except Exception as exc:
            self.report_error(exc)
            return None

    def _target(self) -> Mention | None:
        mention = self.selected
        if mention is None:
            self.notify(self.strings.get("note.nothing_selected"), severity="warning", timeout=2)
        return mention

    def _say(self, key: str, **values: object) -> None:
        self.notify(self.strings.get(key, **values), timeout=3)

    def _undo_seconds(self) -> int:
        """How long a queued reply waits in the outbox, so `u` can still take it back."""
        return max(0, round(self.board.send_delay.total_seconds()))

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.board.settings.timezone)

    # -- navigation ---------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        self._navigated = True
        self.current_view.move(delta)
        self._show_selection()

    def action_cursor_edge(self, edge: str) -> None:
        self._navigated = True
        view = self.current_view
        view.select(0 if edge == "top" else len(view.items) - 1)
        self._show_selection()

    def action_cursor_page(self, direction: int) -> None:
        self._navigated = True
        view = self.current_view
        view.move(direction * view.cards_per_page)
        self._show_selection()

    def action_column(self, delta: int) -> None:
        self._navigated = True
        index = max(0, min(len(COLUMN_ORDER) - 1, self.current + delta))
        if index != self.current:
            self.current = index
            self._relayout()
            self._refresh_chrome()

    def action_scroll_detail(self, direction: int) -> None:
        pane = self.query_one(DetailPane)
        if self.detail_open:
            pane.scroll_relative(y=direction * max(1, pane.size.height // 2), animate=False)

    def action_toggle_detail(self) -> None:
        self.detail_open = not self.detail_open
        self._relayout()

    # -- actions on the selected mention --------------------------------------------------

    def action_reply(self) -> None:
        mention = self._target()
        if mention is None:
            return

        def send(text: str) -> bool:
            if self._run(lambda: self.board.reply(mention.id, text)) is None:
                return False
            self._say("note.replied", seconds=self._undo_seconds())
            self.wake_outbox()
            self.reload(follow_selected=False)
            self.refresh_today()
            return True

        def keep_draft(text: str) -> None:
            if text.strip():
                self.drafts[mention.id] = text
            else:
                self.drafts.pop(mention.id, None)

        self.push_screen(
            ComposerScreen(
                mention,
                self.board.settings.templates,
                lambda key: self.board.render_template(key, mention),
                send,
                self.strings,
                draft=self.drafts.get(mention.id, ""),
                keep_draft=keep_draft,
            )
        )

    def action_acknowledge(self) -> None:
        mention = self._target()
        if mention is None:
            return
        if mention.answered:
            # The canned "we're on it" a second time, after a real answer, reads like a bot.
            self.notify(self.strings.get("note.already_answered"), severity="warning", timeout=3)
            return
        entry = self._run(lambda: self.board.acknowledge(mention.id))
        if entry is None:
            return
        self._say("note.acknowledged", seconds=self._undo_seconds(), text=one_line(entry.text, 80))
        self.wake_outbox()
        self.reload(follow_selected=False)
        self.refresh_today()

    def action_tag(self) -> None:
        mention = self._target()
        if mention is None:
            return
        names = list(self.board.settings.tags)
        names += [tag for tag in mention.tags if tag not in names]
        choices = [Choice(name, "#" + name, marked=name in mention.tags) for name in names]

        def chosen(tag: str | None) -> None:
            if not tag:
                return
            updated = self._run(lambda: self.board.tag(mention.id, tag))
            if updated is None:
                return
            key = "note.tagged" if tag in updated.tags else "note.untagged"
            self._say(key, tag=one_line(tag, 30))
            self.reload()

        self.push_screen(
            PickerScreen(
                self.strings.get("picker.tag.title"),
                choices,
                self.strings.get("picker.tag.hint"),
                allow_new=True,
                placeholder=self.strings.get("picker.tag.placeholder"),
            ),
            chosen,
        )

    def action_redirect(self) -> None:
        mention = self._target()
        if mention is None:
            return
        teams = self.board.settings.teams
        choices = [Choice(team.key, team.title, team.contact) for team in teams]

        def chosen(team_key: str | None) -> None:
            if not team_key:
                return
            if self._run(lambda: self.board.redirect(mention.id, team_key)) is None:
                return
            team = one_line(self.team_titles.get(team_key, ""), 40)
            if any(t.key == team_key and t.reply for t in self.board.settings.teams):
                self._say("note.redirected_reply", team=team, seconds=self._undo_seconds())
            else:
                self._say("note.redirected", team=team)
            self.wake_outbox()
            self.reload(follow_selected=False)
            self.refresh_today()

        self.push_screen(
            PickerScreen(
                self.strings.get("picker.team.title"),
                choices,
                self.strings.get("picker.hint"),
                empty=self.strings.get("picker.team.none"),
            ),
            chosen,
        )

    def action_done(self) -> None:
        mention = self._target()
        if mention is None:
            return
        if self._run(lambda: self.board.done(mention.id)) is not None:
            self._say("note.done")
            self.reload(follow_selected=False)
            self.refresh_today()

    def snooze_until(self, choice: str) -> datetime:
        now = self.clock()
        if choice in SNOOZE_DELAYS:
            return now + SNOOZE_DELAYS[choice]
        tz = self.board.settings.timezone
        tomorrow = self._local(now).date() + timedelta(days=1)
        hours = self.config.sla.hours
        if hours.is_always:
            return datetime.combine(tomorrow, DEFAULT_MORNING, tz)
        return hours.next_open(datetime.combine(tomorrow, time(0, 0), tz), tz)

    def action_snooze(self) -> None:
        mention = self._target()
        if mention is None:
            return
        choices = [
            Choice(
                key,
                self.strings.get(f"picker.snooze.{key}"),
                self._local(self.snooze_until(key)).strftime("%H:%M"),
            )
            for key in SNOOZE_DELAYS
        ]
        morning = self._local(self.snooze_until("morning")).strftime("%d.%m %H:%M")
        choices.append(Choice("morning", self.strings.get("picker.snooze.morning", when=morning)))

        def chosen(choice: str | None) -> None:
            if not choice:
                return
            until = self.snooze_until(choice)
            if self._run(lambda: self.board.snooze(mention.id, until)) is None:
                return
            self._say("note.snoozed", time=self._local(until).strftime("%d.%m %H:%M"))
            self.reload(follow_selected=False)

        self.push_screen(
            PickerScreen(
                self.strings.get("picker.snooze.title"), choices, self.strings.get("picker.hint")
            ),
            chosen,
        )

    def action_move(self) -> None:
        mention = self._target()
        if mention is None:
            return
        language = self.strings.language
        choices = [
            Choice(column.value, column.title(language))
            for column in COLUMN_ORDER
            if column is not mention.column
        ]

        def chosen(value: str | None) -> None:
            if not value:
                return
            column = Column(value)
            if self._run(lambda: self.board.move(mention.id, column)) is None:
                return
            self._say("note.moved", column=column.title(language))
            self.reload(follow_selected=False)

        self.push_screen(
            PickerScreen(
                self.strings.get("picker.move.title"), choices, self.strings.get("picker.hint")
            ),
            chosen,
        )

    def action_undo(self) -> None:
        result = self._run(self.board.undo)
        if result is None:
            return
        self.notify(result.message, timeout=4)
        restored = result.mention
        if restored is not None and restored.column in COLUMN_ORDER:
            self.current = COLUMN_ORDER.index(restored.column)
            self._relayout()
            self.reload()
            self.current_view.select_id(restored.id)
            self._show_selection()
        else:
            self.reload()
        self.refresh_today()

    # -- board-wide -----------------------------------------------------------------------------

    def apply_filter(self, query: str) -> None:
        self.filter_query = query.strip()
        try:
            self.board.set_filter(self.filter_query)
        except Exception as exc:
            self.report_error(exc)
        self.reload()

    def action_filter(self) -> None:
        self.push_screen(
            FilterScreen(self.filter_query, self.apply_filter, self.strings),
            lambda query: self.apply_filter(query or ""),
        )

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.strings))

    def action_stats(self) -> None:
        # Imported here: the figures need numpy, which the board does not load at start-up.
        from triage.stats import StatsSettings
        from tui.screens.stats import StatsScreen

        if isinstance(self.screen, StatsScreen):
            return
        self.push_screen(
            StatsScreen(
                self.strings,
                StatsSettings.from_board(self.board.settings),
                lambda: open_config_store(self.config),
                self.clock,
                teams=self.team_titles,
            )
        )
