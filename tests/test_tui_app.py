"""The board app end to end: layout at 80x24 and 160x48, navigation, workers, restart."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from config.schema import Config, UiConfig
from feeds.base import FeedState, FeedStatus
from triage.model import Column
from triage.runtime import open_config_store
from tui.widgets.column_tabs import ColumnTabs
from tui.widgets.column_view import ColumnView
from tui.widgets.detail_pane import DetailPane
from tui.widgets.status_bar import StatusBar

from .conftest import FakeClock
from .tui_fakes import (
    ScriptedFeed,
    column_lines,
    column_texts,
    item,
    make_app,
    make_config,
    screen_text,
    seed,
    wait_for,
)

NARROW = (80, 24)
WIDE = (160, 48)

COMPLAINT = "Кофе опять холодный, ужас"
LATE_PACKING = "Плохо упаковали заказ"
QUESTION = "Во сколько открываетесь завтра?"
NEUTRAL = "Зашёл за капучино"
THANKS = "Спасибо, очень вкусно!"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "board.db")


@pytest.fixture
def seeded(config: Config, clock: FakeClock) -> Config:
    seed(
        config,
        [
            item("n1", COMPLAINT, minutes_ago=90),
            item(
                "n2",
                LATE_PACKING,
                minutes_ago=30,
                name="Мария Смирнова",
                handle="masha",
                author_id="u2",
            ),
            item("q1", QUESTION, minutes_ago=5, name="Пётр", author_id="u3"),
            item("z1", NEUTRAL, minutes_ago=3, name="Анна", author_id="u4", network="telegram"),
            item("p1", THANKS, minutes_ago=1, name="Олег", author_id="u5", network="x"),
        ],
        clock,
    )
    return config


def displayed_columns(app: object) -> list[str]:
    views = app.query(ColumnView)  # type: ignore[attr-defined]
    return [view.id for view in views if view.display]


async def test_wide_terminal_shows_all_four_columns(seeded: Config, clock: FakeClock) -> None:
    app = make_app(seeded, clock)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        assert displayed_columns(app) == ["negative", "questions", "neutral", "positive"]
        assert not app.query_one(ColumnTabs).display
        text = screen_text(app)
        for title in ("Негатив 2", "Вопросы 1", "Нейтрально 1", "Позитив 1"):
            assert title in text
        for message in (COMPLAINT, QUESTION, NEUTRAL, THANKS):
            assert message in text


async def test_narrow_terminal_shows_one_column_and_switches(
    seeded: Config, clock: FakeClock
) -> None:
    app = make_app(seeded, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert displayed_columns(app) == ["negative"]
        assert "[Негатив 2]" in screen_text(app)
        await pilot.press("l")
        assert displayed_columns(app) == ["questions"]
        assert "[Вопросы 1]" in screen_text(app)
        assert QUESTION in screen_text(app)
        await pilot.press("right", "right")
        assert displayed_columns(app) == ["positive"]
        await pilot.press("right")  # the last column stays
        assert displayed_columns(app) == ["positive"]
        await pilot.press("h", "left", "left")
        assert displayed_columns(app) == ["negative"]


async def test_resizing_switches_layouts(seeded: Config, clock: FakeClock) -> None:
    app = make_app(seeded, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert len(displayed_columns(app)) == 4
        await pilot.resize_terminal(99, 40)
        await pilot.pause()
        assert displayed_columns(app) == ["negative"]


async def test_startup_selects_top_of_first_non_empty_column(
    config: Config, clock: FakeClock
) -> None:
    seed(
        config,
        [
            item("q2", "А доставка есть?", minutes_ago=2),
            item("q1", QUESTION, minutes_ago=9),
            item("p1", THANKS, minutes_ago=1),
        ],
        clock,
    )
    app = make_app(config, clock)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        assert app.current_view.column is Column.QUESTIONS
        assert app.selected is not None and app.selected.text == QUESTION  # oldest first
        assert "▶ Вопросы 2 ◀" in screen_text(app)
        assert column_lines(app, "questions")[0].startswith("▌")


async def test_j_k_move_within_a_column_and_clamp(seeded: Config, clock: FakeClock) -> None:
    app = make_app(seeded, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert app.selected is not None and app.selected.text == COMPLAINT
        await pilot.press("j")
        assert app.selected.text == LATE_PACKING
        await pilot.press("j", "down")
        assert app.selected.text == LATE_PACKING
        await pilot.press("k")
        assert app.selected.text == COMPLAINT
        lines = column_lines(app, "negative")
        assert lines[0].startswith("▌") and not lines[5].startswith("▌")


async def test_cards_show_age_levels_and_breach_marker(seeded: Config, clock: FakeClock) -> None:
    app = make_app(seeded, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        lines = column_lines(app, "negative")
        assert "! 1 ч 30 мин" in lines[3]
        assert "30 мин" in lines[8] and "!" not in lines[8]
        assert "! просрочено 1" in screen_text(app)


async def test_ages_tick_with_the_clock(seeded: Config, clock: FakeClock) -> None:
    app = make_app(seeded, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert "30 мин" in column_lines(app, "negative")[8]
        clock.advance(minutes=31)
        app.tick()
        await pilot.pause()
        assert "! 1 ч 01 мин" in column_lines(app, "negative")[8]
        assert "12:31" in app.query_one(StatusBar).render().plain


async def test_markup_in_customer_text_is_shown_literally(config: Config, clock: FakeClock) -> None:
    hostile = "Ужас [@click=app.quit]жми[/] [b]и[/b] [link=https://evil]тут[/link]"
    seed(config, [item("h1", hostile, name="[red]Хакер[/red]", handle="[i]x[/i]")], clock)
    app = make_app(config, clock)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        text = screen_text(app)
        assert "[@click=app.quit]жми[/]" in text
        assert "[red]Хакер[/red]" in text
        assert "[link=https://evil]тут[/link]" in app.query_one(DetailPane).text
        assert app.is_running


async def test_detail_pane_shows_context_author_and_history(
    config: Config, clock: FakeClock
) -> None:
    seed(
        config,
        [
            item("old", "Вчера был холодный кофе", minutes_ago=60 * 24, author_id="u9"),
            item(
                "new",
                "Опять холодный!",
                minutes_ago=10,
                author_id="u9",
                context="Пост: новое осеннее меню",
            ),
        ],
        clock,
    )
    app = make_app(config, clock)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        await pilot.press("j", "enter")
        pane = app.query_one(DetailPane)
        assert pane.display
        text = pane.text
        assert "Опять холодный!" in text
        assert "│ Пост: новое осеннее меню" in text
        assert "https://vk.com/wall-1_new" in text
        assert "Иван Петров, @ivan, подписчиков: 12,4 тыс., Казань" in text
        assert "Тональность: негатив" in text
        assert "Вчера был холодный кофе" in text.split("Раньше писал(а):")[1]
        await pilot.press("enter")
        assert not pane.display


async def test_detail_replaces_the_column_at_80x24(seeded: Config, clock: FakeClock) -> None:
    app = make_app(seeded, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        assert app.query_one(DetailPane).display
        assert not app.query_one("#columns").display
        await pilot.press("j")  # moving still works and the pane follows
        assert LATE_PACKING in app.query_one(DetailPane).text
        await pilot.press("enter")
        assert displayed_columns(app) == ["negative"]


async def test_english_interface(tmp_path: Path, clock: FakeClock) -> None:
    config = make_config(tmp_path / "en.db", language="en")
    seed(config, [item("n1", COMPLAINT, minutes_ago=5)], clock)
    app = make_app(config, clock)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        for word in ("Negative 1", "Questions 0", "Neutral 0", "Positive 0", "Reply", "5m"):
            assert word in text


async def test_help_screen_and_command_palette_list_the_bindings(
    seeded: Config, clock: FakeClock
) -> None:
    app = make_app(seeded, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        assert "Отложить" in screen_text(app)
        await pilot.press("escape")
        assert type(app.screen).__name__ == "Screen"
        commands = [command.title for command in app.get_system_commands(app.screen)]
        for title in ("Ответить", "Подтвердить", "Тег", "Передать", "Готово", "Фильтр"):
            assert commands.count(title) == 1


async def test_feed_items_arrive_without_moving_the_selection(
    seeded: Config, clock: FakeClock
) -> None:
    feed = ScriptedFeed()
    app = make_app(replace(seeded, ui=UiConfig(bell=True)), clock, feeds=[feed])
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("j")
        assert app.selected is not None and app.selected.text == LATE_PACKING
        # Older than the selected one: it sorts above it.
        feed.push(item("n0", "Ужасное обслуживание", minutes_ago=200, author_id="u7"))
        assert await wait_for(pilot, lambda: len(app.current_view.items) == 3)
        assert column_texts(app, "negative")[0] == "Ужасное обслуживание"
        assert app.selected.text == LATE_PACKING
        assert app.bells == 1
        feed.push(item("p2", "Спасибо!", minutes_ago=0, author_id="u8"))
        assert await wait_for(pilot, lambda: "Спасибо!" in column_texts(app, "positive"))
        assert app.bells == 1  # only negative items ring


async def test_feed_status_reaches_the_status_bar(config: Config, clock: FakeClock) -> None:
    feed = ScriptedFeed(status=FeedStatus(FeedState.AUTH_FAILED))
    app = make_app(config, clock, feeds=[feed])
    async with app.run_test(size=WIDE) as pilot:
        assert await wait_for(pilot, lambda: "ошибка авторизации" in screen_text(app))
        assert "demo ✗" in screen_text(app)


async def test_quit_stops_the_workers(config: Config, clock: FakeClock) -> None:
    feed = ScriptedFeed()
    app = make_app(config, clock, feeds=[feed])
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("q")
    assert feed.closed.wait(2)


async def test_state_survives_a_restart(seeded: Config, clock: FakeClock) -> None:
    app = make_app(seeded, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("e")  # done: the complaint
        await pilot.press("t", "enter")  # tag the next one #брак
        await pilot.press("l", "a")  # acknowledge the question
        await pilot.press("q")

    again = make_app(seeded, clock)
    async with again.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert column_texts(again, "negative") == [LATE_PACKING]
        assert "#брак" in column_lines(again, "negative")[3]
        await pilot.press("l")
        assert "✓ подтверждено" in column_lines(again, "questions")[3]
    store = open_config_store(seeded)
    try:
        assert [e.text for m in store.open_mentions() for e in store.outbox(m.id)] == [
            "Здравствуйте, Пётр! Спасибо, что написали. Разбираемся."
        ]
    finally:
        store.close()


async def test_ages_off_screen_are_fresh_when_scrolled_back(
    config: Config, clock: FakeClock
) -> None:
    seed(
        config,
        [item(f"q{n}", f"Вопрос {n}?", minutes_ago=59 - n, author_id=f"u{n}") for n in range(12)],
        clock,
    )
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert "59 мин" in column_lines(app, "questions")[3]
        await pilot.press("G")
        assert app.selected is not None and app.selected.text == "Вопрос 11?"
        clock.advance(minutes=2)
        app.tick()
        await pilot.press("g")
        assert "! 1 ч 01 мин" in column_lines(app, "questions")[3]


async def test_long_detail_scrolls_with_ctrl_d_and_ctrl_u(config: Config, clock: FakeClock) -> None:
    long_text = "\n".join(f"Строка {n}: кофе был холодный" for n in range(60))
    seed(config, [item("long", long_text, minutes_ago=3)], clock)
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        pane = app.query_one(DetailPane)
        assert pane.scroll_y == 0
        await pilot.press("ctrl+d")
        assert pane.scroll_y > 0
        await pilot.press("ctrl+u")
        assert pane.scroll_y == 0
