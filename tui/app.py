"""SocialtuiApp: the board on screen, the feeds and the outbox in worker threads.

The app owns one Board and touches it only on the UI thread. Workers post batched messages
(tui.messages); each action is a Board call guarded so that an error becomes a notification,
never a crash. Actions live in tui.actions; this module is layout, workers and the clock tick.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import BindingsMap, BindingType
from textual.command import CommandPalette
from textual.containers import Horizontal
from textual.events import Resize
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from config.schema import Config
from feeds.base import Feed, FeedState, FeedStatus
from triage.board import Board
from triage.ingest import Classifier
from triage.model import COLUMN_ORDER, Column, Mention
from triage.runtime import build_board, build_classifier, build_feeds, open_config_store, utc_now
from triage.sanitize import clean_text, one_line
from tui.actions import BoardActions
from tui.idle_gc import IdleCollector
from tui.keymap import board_bindings
from tui.messages import DeliveryChanged, FeedStatusChanged, ItemsArrived, WorkerFailed
from tui.strings import Strings
from tui.widgets.board_footer import BoardFooter
from tui.widgets.column_tabs import ColumnTabs
from tui.widgets.column_view import ColumnView
from tui.widgets.detail_pane import DetailPane, detail_content
from tui.widgets.status_bar import BoardSummary, StatusBar
from tui.workers import FeedLoop, OutboxLoop

if TYPE_CHECKING:
    from triage.stats import TodaySummary

# Below this width one column at a time; four columns need about 25 cells each.
FOUR_COLUMNS_MIN_WIDTH = 100
# With the detail pane open, four columns need room left for it below them.
DETAIL_BELOW_MIN_HEIGHT = 36
# A toast is a few lines; a feed error can quote a whole server answer.
MAX_NOTE_CHARS = 500
MAX_NOTE_TITLE_CHARS = 80


PALETTE_ACTIONS = frozenset({"command_palette", "app.command_palette"})

# The status bar's «today» figures come from a store query in a worker this often, the first
# time a moment after start-up so that it does not compete with the first paint.
TODAY_REFRESH_SECONDS = 30.0
TODAY_FIRST_SECONDS = 1.0
_FINISHED = frozenset({WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED})


def localised_bindings(bindings: BindingsMap, strings: Strings) -> BindingsMap:
    """Textual's own bindings, the palette's described in the UI language (the footer shows
    it), and the board's in the UI language."""
    kept = [
        replace(binding, description=strings.get("key.palette"))
        if binding.action in PALETTE_ACTIONS
        else binding
        for key_bindings in bindings.key_to_bindings.values()
        for binding in key_bindings
        if not (binding.id and binding.id.startswith("key."))
    ]
    return BindingsMap([*kept, *board_bindings(strings)])


class SocialtuiApp(BoardActions, App[None]):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "socialtui"
    # English here for introspection; __init__ swaps in the UI language's descriptions.
    BINDINGS: ClassVar[list[BindingType]] = [*board_bindings(Strings("en"))]

    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], datetime] | None = None,
        classifier: Classifier | None = None,
        feeds: Sequence[Feed] | None = None,
        board: Board | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.clock = clock or utc_now
        self.strings = Strings(config.shop.language)
        # Textual has no public hook for per-instance binding descriptions; the footer, help
        # and palette must speak the operator's language.
        self._bindings = localised_bindings(self._bindings, self.strings)
        # Built here, not on mount, so a locked or broken database fails before the terminal
        # switches to the board and the CLI can say so in one sentence.
        self.board = board or build_board(config, self.clock)
        self.classifier: Classifier = classifier or build_classifier(config)
        self.feeds: list[Feed] = list(feeds) if feeds is not None else build_feeds(config)
        self.team_titles = {team.key: team.title for team in self.board.settings.teams}
        self.feed_status: dict[str, FeedStatus] = {
            feed.name: FeedStatus(FeedState.CONNECTING) for feed in self.feeds
        }
        self.current = 0  # index into COLUMN_ORDER
        self.detail_open = False
        self.filter_query = ""
        self.drafts: dict[int, str] = {}
        self._navigated = False
        self._history: dict[int, list[Mention]] = {}
        self._stop = threading.Event()
        self.collector = IdleCollector()
        self.today: TodaySummary | None = None
        self._today_stale = False  # an action came while a count ran: count again after it
        self._outbox_wake = threading.Event()
        self._views = [
            ColumnView(column, self.board, self.strings, self.team_titles, id=column.value)
            for column in COLUMN_ORDER
        ]

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(self.strings, self._summary(), id="status")
        yield ColumnTabs(self.strings, id="tabs")
        with Horizontal(id="main"):
            with Horizontal(id="columns"):
                yield from self._views
            yield DetailPane(self.strings, id="detail")
        yield BoardFooter()

    @property
    def views(self) -> list[ColumnView]:
        return self._views

    @property
    def current_view(self) -> ColumnView:
        return self._views[self.current]

    @property
    def selected(self) -> Mention | None:
        return self.current_view.selected

    def on_mount(self) -> None:
        self.reload()
        self.current = self._first_non_empty()
        self._relayout()
        self.set_interval(1.0, self.tick)
        self.set_interval(TODAY_REFRESH_SECONDS, self.refresh_today)
        self.set_timer(TODAY_FIRST_SECONDS, self.refresh_today)
        self._start_workers()
        self.collector.start()

    def _first_non_empty(self) -> int:
        for index, view in enumerate(self.views):
            if view.items:
                return index
        return 0

    def on_resize(self, event: Resize) -> None:
        # Subclass handlers run before App records the new size; relayout once it has.
        self.call_later(self._relayout)

    @property
    def four_columns(self) -> bool:
        width, height = self.size
        if width < FOUR_COLUMNS_MIN_WIDTH:
            return False
        return not self.detail_open or height >= DETAIL_BELOW_MIN_HEIGHT

    def _relayout(self) -> None:
        """Pick the layout for the terminal size and whether the detail pane is open."""
        width, _ = self.size
        four = self.four_columns
        main = self.query_one("#main")
        main.set_class(not four, "-single")
        main.set_class(self.detail_open and four, "-detail-below")
        main.set_class(
            self.detail_open and not four and width >= FOUR_COLUMNS_MIN_WIDTH, "-detail-right"
        )
        main.set_class(self.detail_open and width < FOUR_COLUMNS_MIN_WIDTH, "-detail-full")
        self.query_one(ColumnTabs).set_class(not four, "-shown")
        for index, view in enumerate(self.views):
            # The class only matters with one column shown; changing it restyles the column.
            if not four:
                view.set_class(index == self.current, "-current")
            view.set_active(index == self.current)
        self._show_selection()

    # -- state -> screen ---------------------------------------------------------------------

    def reload(self, *, follow_selected: bool = True) -> None:
        """Re-read every column from the board. follow_selected=False keeps the current
        column's selection at the same index (after its item left) instead of following it."""
        for index, view in enumerate(self.views):
            keep_id = follow_selected or index != self.current
            view.filtered = bool(self.filter_query)
            view.set_items(self.board.column(view.column), keep_id=keep_id)
        if not self._navigated and not self.current_view.items:
            self.current = self._first_non_empty()
            self._relayout()
        self._refresh_chrome()
        self._show_selection()

    def _refresh_chrome(self) -> None:
        counts = self.board.counts()
        for view in self.views:
            view.update_title(counts.get(view.column, 0))
        self.query_one(ColumnTabs).show(COLUMN_ORDER[self.current], counts)
        self.query_one(StatusBar).update_summary(self._summary(counts))

    def _summary(self, counts: dict[Column, int] | None = None) -> BoardSummary:
        return BoardSummary(
            shop=self.board.settings.shop,
            timezone=self.board.settings.timezone,
            now=self.clock(),
            feeds=dict(self.feed_status),
            counts=counts if counts is not None else self.board.counts(),
            overdue=self.board.overdue(),
            filter=self.filter_query,
            today=self.today,
        )

    def _show_selection(self) -> None:
        if not self.detail_open:
            return
        mention = self.selected
        pane = self.query_one(DetailPane)
        if mention is None:
            pane.show(None, None)
            return
        history = self._history.get(mention.id)
        if history is None:
            try:
                history = self.board.history(mention)
            except Exception as exc:
                self.report_error(exc)
                history = []
            self._history = {mention.id: history}
        content = detail_content(mention, self.board, self.strings, self.team_titles, history)
        pane.show(content, mention.id)

    def tick(self) -> None:
        """Once a second: ages, snoozes that ran out, the clock. Only visible lines repaint."""
        if not self.is_running:
            return  # shutting down: the widgets may already be gone
        for view in self.views:
            items = self.board.column(view.column)
            if items is not view.items:
                view.set_items(items, keep_id=True)
            elif view.display:
                view.tick()
        self._refresh_chrome()
        self._show_selection()
        self.collector.maybe_collect()

    def on_key(self) -> None:
        self.collector.touched()

    # -- worker messages --------------------------------------------------------------------

    @on(ItemsArrived)
    def _items_arrived(self, message: ItemsArrived) -> None:
        if not self.is_running:
            return  # stored already; the next start loads it
        added = self.board.absorb(message.mentions)
        if not added:
            return
        self._history.clear()
        self.reload()
        if self.config.ui.bell and any(m.column is Column.NEGATIVE for m in added):
            self.bell()

    @on(FeedStatusChanged)
    def _feed_status(self, message: FeedStatusChanged) -> None:
        if not self.is_running:
            return
        self.feed_status[message.feed] = message.status
        self._refresh_chrome()

    @on(DeliveryChanged)
    def _delivery_changed(self, message: DeliveryChanged) -> None:
        if not self.is_running:
            return
        try:
            self.board.refresh(message.mention_ids)
        except Exception as exc:
            self.report_error(exc)
            return
        self.reload()

    @on(WorkerFailed)
    def _worker_failed(self, message: WorkerFailed) -> None:
        text = self.strings.get("note.worker_error", feed=message.source, error=message.error)
        self.notify(text, severity="error", timeout=8)

    # -- workers -----------------------------------------------------------------------------

    def _start_workers(self) -> None:
        for feed in self.feeds:
            loop = FeedLoop(
                feed,
                lambda: open_config_store(self.config),
                self.classifier,
                self.clock,
                self.post_message,
                self._stop,
            )
            self.run_worker(
                loop.run,
                name=f"feed:{feed.name}",
                group="feeds",
                thread=True,
                exit_on_error=False,
            )
        outbox = OutboxLoop(
            lambda: open_config_store(self.config),
            {feed.name: feed for feed in self.feeds},
            self.clock,
            self.post_message,
            self._stop,
            self._outbox_wake,
        )
        self.run_worker(outbox.run, name="outbox", group="outbox", thread=True, exit_on_error=False)

    def refresh_today(self) -> None:
        """Recount today's answered items, median first response and breaches, off the UI
        thread, on a connection of its own: every TODAY_REFRESH_SECONDS, and after each
        action that changes them, so the status bar follows the operator's answers."""
        if not self.is_running:
            return
        if any(worker.group == "today" and worker.is_running for worker in self.workers):
            # A slow store: let the running count finish rather than pile up threads, then
            # count once more, since it may have read the store before this action.
            self._today_stale = True
            return
        self._today_stale = False
        self.run_worker(
            self._count_today, name="today", group="today", thread=True, exit_on_error=False
        )

    def _count_today(self) -> TodaySummary:
        from triage.stats import StatsSettings, today_summary  # numpy: not at start-up

        store = open_config_store(self.config)
        try:
            settings = StatsSettings.from_board(self.board.settings)
            return today_summary(store, settings, self.clock())
        finally:
            store.close()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "today" or not self.is_running:
            return
        # A failed count (a locked store) keeps the last figures; the next one tries again.
        if event.state is WorkerState.SUCCESS and worker.result is not None:
            self.today = worker.result
            self._refresh_chrome()
        if event.state in _FINISHED and self._today_stale:
            self.refresh_today()

    def wake_outbox(self) -> None:
        self._outbox_wake.set()

    def stop_workers(self) -> None:
        self._stop.set()
        self._outbox_wake.set()

    async def action_quit(self) -> None:
        self.stop_workers()
        self.exit()

    def on_unmount(self) -> None:
        self.stop_workers()
        self.collector.stop()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        # Messages carry tags, team names, feed errors (a server's own words) and exception
        # texts: text, never markup, and sanitised here, the one door every notification goes
        # through (Widget.notify and Screen.notify call this). Widgets pass markup=True by
        # default, so it is ignored rather than trusted.
        super().notify(
            clean_text(str(message), MAX_NOTE_CHARS),
            title=one_line(str(title), MAX_NOTE_TITLE_CHARS),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    # -- command palette ---------------------------------------------------------------------

    def action_command_palette(self) -> None:
        # Textual's own palette says "Search for commands…"; the operator reads Russian.
        if self.use_command_palette and not isinstance(self.screen, CommandPalette):
            placeholder = self.strings.get("palette.placeholder")
            self.push_screen(CommandPalette(placeholder=placeholder, id="--command-palette"))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The board's keys, then the theme switcher, all in the UI language. Textual's other
        commands are left out: its English key panel, a second Quit, SVG screenshots."""
        seen: set[str] = set()
        for bindings in self._bindings.key_to_bindings.values():
            for binding in bindings:
                if not (binding.id and binding.id.startswith("key.")) or binding.id in seen:
                    continue
                seen.add(binding.id)
                yield SystemCommand(
                    binding.description,
                    self.strings.get("palette.key", key=binding.key_display or binding.key),
                    lambda action=binding.action: self.run_action(action),
                )
        yield SystemCommand(
            self.strings.get("palette.theme"),
            self.strings.get("palette.theme_help"),
            self.action_change_theme,
        )
