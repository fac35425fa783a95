"""The stats screen (`S`) at 80x24, its charts, and the status bar's «today» figures."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from config.schema import Config
from triage.board import Board
from triage.model import Column
from triage.runtime import board_settings, open_config_store
from triage.sqlite_store import SqliteStore
from triage.stats import StatsSettings, TodaySummary, build_report
from tui.screens.stats import (
    StatsScreen,
    StatsView,
    column_chart,
    hbar,
    number,
    round_duration,
    shade,
)
from tui.strings import Strings
from tui.widgets.status_bar import StatusBar

from .conftest import FakeClock
from .tui_fakes import RecordingApp, item, make_app, make_config, screen_text, seed, wait_for

NARROW = (80, 24)
WIDE = (160, 48)


@pytest.fixture
def config(tmp_path: Path, clock: FakeClock) -> Config:
    """Two complaints today (one answered by Оля in 10 min), one three days ago."""
    config = make_config(tmp_path / "stats.db")
    seed(
        config,
        [
            item("n1", "Кофе холодный, ужас", minutes_ago=30),
            item("n2", "Опять холодный кофе", minutes_ago=20, author_id="u2"),
            item("old", "Плохо упаковали", minutes_ago=3 * 24 * 60, author_id="u3"),
        ],
        clock,
    )
    return config


def answer(app: RecordingApp, text: str) -> None:
    (mention,) = [m for m in app.board.column(Column.NEGATIVE) if m.text == text]
    app.board.reply(mention.id, "Простите, переделаем")


def stats_screen(app: object) -> StatsScreen:
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, StatsScreen)
    return screen


async def test_s_opens_the_stats_and_ranges_switch(config: Config, clock: FakeClock) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        answer(app, "Кофе холодный, ужас")
        clock.advance(minutes=10)
        await pilot.press("S")
        screen = stats_screen(app)
        assert await wait_for(pilot, lambda: screen.report is not None)
        text = screen_text(app)
        lines = text.splitlines()
        assert lines[0].startswith(" Статистика")
        assert "Поступило 2" in text and "отвечено 1" in text
        assert "медиана 30 мин" in text  # n1 arrived 30 min before the answer
        assert "быстрее 15 мин" in text and "быстрее 1 ч" in text
        assert lines[-1].startswith(" 1–4 период")
        assert all(len(line) <= 80 for line in lines)

        await pilot.press("2")
        assert screen.preset == "7d"
        assert await wait_for(pilot, lambda: "Поступило 3" in screen_text(app))
        assert "SLA по дням" in screen_text(app) or screen.report is not None

        await pilot.press("3")
        assert await wait_for(pilot, lambda: screen.report is not None and screen.preset == "30d")
        assert "Поступило 3" in screen_text(app)

        await pilot.press("escape")
        assert type(app.screen).__name__ == "Screen"


async def test_a_custom_range(config: Config, clock: FakeClock) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("S")
        screen = stats_screen(app)
        assert await wait_for(pilot, lambda: screen.report is not None)
        await pilot.press("4")
        assert type(app.screen).__name__ == "RangeInput"
        await pilot.press("2", "0", "full_stop", "1", "1", "enter")  # 3 days before T0
        assert app.screen is screen
        assert await wait_for(pilot, lambda: screen.report is not None and screen.custom)
        assert screen.preset == "custom"
        assert "4 20.11" in screen_text(app).splitlines()[0]
        assert "Поступило 1" in screen_text(app)
        # Dates it cannot read: a warning, and the range stays.
        await pilot.press("4", *"вчера", "enter")
        assert screen.custom_text == "20.11"
        assert any("Не понял даты" in note for note, _ in app.notes)
        # esc in the input only closes the input.
        await pilot.press("4", "escape")
        assert app.screen is screen


async def test_computing_shows_and_stale_results_are_dropped(
    config: Config, clock: FakeClock
) -> None:
    """«считаю…» while the worker runs; switching ranges meanwhile shows only the last one."""
    gate = threading.Event()

    def gated() -> SqliteStore:
        gate.wait(5)
        return open_config_store(config)

    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        settings = StatsSettings.from_board(app.board.settings)
        screen = StatsScreen(Strings("ru"), settings, gated, clock)
        app.push_screen(screen)
        await pilot.pause()
        assert "считаю…" in screen_text(app)
        await pilot.press("2")
        assert screen.busy and screen.report is None
        gate.set()
        assert await wait_for(pilot, lambda: screen.report is not None)
        assert screen.report is not None
        assert screen.report.incoming == 3  # the 7-day figures, not today's
        assert "считаю…" not in screen_text(app)


async def test_palette_and_help_list_the_stats(config: Config, clock: FakeClock) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert titles.count("Статистика") == 1
        await pilot.press("question_mark")
        assert "Статистика" in screen_text(app)


async def test_status_bar_carries_today(config: Config, clock: FakeClock) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        answer(app, "Кофе холодный, ужас")
        app.refresh_today()
        assert await wait_for(pilot, lambda: app.today is not None and app.today.answered == 1)
        bar = app.query_one(StatusBar)
        assert await wait_for(pilot, lambda: "сегодня: отвечено 1" in bar.render().plain)
        assert "медиана 30 мин" in bar.render().plain
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert "✓1 ⌀30 мин ✗" in app.query_one(StatusBar).render().plain


async def test_status_bar_follows_the_operators_answers(
    config: Config, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An acknowledgement recounts «today» at once, not at the next periodic refresh; one that
    comes while a count is running is counted again when that count ends."""
    monkeypatch.setattr("tui.app.TODAY_FIRST_SECONDS", 3600.0)
    monkeypatch.setattr("tui.app.TODAY_REFRESH_SECONDS", 3600.0)
    app = make_app(config, clock)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        count = app._count_today
        gate = threading.Event()
        calls: list[int] = []

        def gated() -> TodaySummary:
            calls.append(len(calls))
            if len(calls) == 1:
                gate.wait(5)  # the first count reads the store before the action
                return TodaySummary(answered=0, median_first_response=None, breaches=0)
            return count()

        app._count_today = gated  # type: ignore[method-assign]
        app.refresh_today()
        assert await wait_for(pilot, lambda: calls == [0])
        # The oldest complaint (three days old) comes first: acknowledge today's next one.
        await pilot.press("j", "a")
        assert app.today is None  # the first count is still running
        gate.set()
        assert await wait_for(pilot, lambda: app.today is not None and app.today.answered == 1)
        assert calls == [0, 1]
        bar = app.query_one(StatusBar)
        assert await wait_for(pilot, lambda: "сегодня: отвечено 1" in bar.render().plain)

        await pilot.press("u")  # undo takes the answer back, and the figure with it
        assert await wait_for(pilot, lambda: app.today is not None and app.today.answered == 0)


async def test_english_stats(tmp_path: Path, clock: FakeClock) -> None:
    config = make_config(tmp_path / "en.db", language="en")
    seed(config, [item("n1", "Кофе холодный", minutes_ago=5)], clock)
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("S")
        screen = stats_screen(app)
        assert await wait_for(pilot, lambda: screen.report is not None)
        text = screen_text(app)
        assert text.splitlines()[0].startswith(" Stats") and "Incoming 1" in text


def test_operator_columns_line_up(config: Config, clock: FakeClock) -> None:
    """The header is laid out by the rows' widths, in both languages, mean included."""
    store = open_config_store(config)
    try:
        board = Board(store, board_settings(config), clock)
        board.load()
        (mention,) = [m for m in board.column(Column.NEGATIVE) if m.text == "Кофе холодный, ужас"]
        board.reply(mention.id, "Простите")
        settings = StatsSettings.from_board(board.settings)
        report = build_report(store, settings, clock() - timedelta(days=1), clock(), clock())
    finally:
        store.close()
    for language, mean in (("ru", "среднее"), ("en", "mean")):
        lines = StatsView(report, Strings(language), 78).content().plain.splitlines()
        header = next(i for i, line in enumerate(lines) if mean in line and "SLA" in line)
        head, row = lines[header], lines[header + 1]
        assert row.startswith("Оля") and row.endswith("100%")  # 30 min: within the hour
        assert len(head) == len(row)
        age = "30 мин" if language == "ru" else "30m"
        assert head.index(mean) + len(mean) == row.rindex(age) + len(age)  # the mean column
        for label in head.split()[1:]:
            end = head.index(label) + len(label)
            assert row[end - 1] != " " and (end == len(row) or row[end] == " "), label


# -- the charts --------------------------------------------------------------------------------


def test_bars_and_shades() -> None:
    assert hbar(10, 10, 4) == "████"
    assert hbar(5, 10, 3) == "█▌"
    assert hbar(1, 1000, 10) == "▏"  # anything above zero shows
    assert hbar(0, 10, 5) == ""
    rows = column_chart([0, 1, 8], height=2, cell=2)
    assert rows == ["    █ ", "  ▂ █ "]  # 1 of 8 is a quarter of the lower cell
    assert column_chart([0, 0], height=1, cell=2) == ["    "]
    assert [shade(v, 8) for v in (0, 1, 2, 4, 8)] == ["  ", "░░", "░░", "▒▒", "██"]
    assert number(1234567, "ru") == "1\u00a0234\u00a0567"
    assert number(1234, "en") == "1,234"
    assert round_duration(3600, "ru") == "1 ч"
    assert round_duration(5400, "ru") == "1 ч 30 мин"
    assert round_duration(900, "en") == "15 min"
