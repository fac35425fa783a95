"""The board app end to end: layout at 80x24 and 160x48, navigation, workers, restart."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from textual.command import CommandPalette

from config.schema import Config, UiConfig
from feeds.base import FeedState, FeedStatus
from triage.model import Column, Kind
from triage.runtime import open_config_store
from tui import cli
from tui.keymap import BOARD_KEYS, describe_key
from tui.messages import DeliveryChanged, FeedStatusChanged, ItemsArrived
from tui.screens.help import help_content
from tui.strings import Strings
from tui.widgets.column_tabs import ColumnTabs
from tui.widgets.column_view import ColumnView
from tui.widgets.detail_pane import DetailPane
from tui.widgets.status_bar import StatusBar

from .conftest import FakeClock
from .tui_fakes import (
    COMPLAINT,
    LATE_PACKING,
    NARROW,
    QUESTION,
    WIDE,
    ScriptedFeed,
    column_lines,
    column_texts,
    complaints,
    item,
    make_app,
    make_config,
    screen_text,
    seed,
    wait_for,
)

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
            *complaints(),
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
        assert "В ответ на:\nПост: новое осеннее меню" in text
        assert "https://vk.com/wall-1_new" in text
        assert "Иван Петров, @ivan, подписчиков: 12,4 тыс., Казань" in text
        assert "Тональность: негатив  (негатив 0,80 нейтрально 0,10" in text  # decimal comma
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
        # How to close it is in the frame, visible at 24 rows without scrolling.
        assert "esc или ? — закрыть" in screen_text(app).splitlines()[-1]
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


async def test_late_ticks_and_messages_after_quit_are_ignored(
    seeded: Config, clock: FakeClock
) -> None:
    # The once-a-second tick or a worker's message can land while the app is shutting down,
    # after its widgets are gone: that printed a NoMatches traceback on quit.
    app = make_app(seeded, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        late = list(app.board.column(Column.NEGATIVE))
        await pilot.press("q")
    assert not app.is_running
    app.tick()
    app._items_arrived(ItemsArrived("demo", late))
    app._feed_status(FeedStatusChanged("demo", FeedStatus(FeedState.LIVE)))
    app._delivery_changed(DeliveryChanged([late[0].id]))
    assert app.return_code in (0, None)


def footer_text(app: object) -> str:
    return screen_text(app).splitlines()[-1]  # type: ignore[arg-type]


async def test_footer_and_command_palette_speak_russian(seeded: Config, clock: FakeClock) -> None:
    app = make_app(seeded, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert "^p Команды" in footer_text(app) and "palette" not in footer_text(app)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Тема оформления" in titles
        assert not {"Keys", "Quit", "Screenshot", "Theme"} & set(titles)
        helps = {command.title: command.help for command in app.get_system_commands(app.screen)}
        assert helps["Ответить"] == "клавиша r"
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.pause()
        assert "Поиск команды…" in screen_text(app)
        assert "Search for commands" not in screen_text(app)
        await pilot.press("escape")


@pytest.mark.parametrize("width", [80, 90, 100, 106, 130])
async def test_footer_shows_only_whole_keys(seeded: Config, clock: FakeClock, width: int) -> None:
    app = make_app(seeded, clock)
    async with app.run_test(size=(width, 30)) as pilot:
        await pilot.pause()
        await pilot.pause()
        footer = footer_text(app)
        assert footer.startswith(" ? Клавиши  r Ответить")
        assert footer.rstrip().endswith("▏^p Команды")
        whole = {f"{describe_key(key)} {app.strings.get(key.string)}" for key in BOARD_KEYS}
        shown = [chunk.strip() for chunk in footer.split("▏")[0].split("  ") if chunk.strip()]
        assert set(shown) <= whole  # never «m В коло»


async def test_detail_quotes_the_post_on_every_line_and_splits_later_messages(
    config: Config, clock: FakeClock
) -> None:
    post = (
        "Новинка недели: раф с лавандой. Нежный, не приторный, можно на любом молоке, "
        "а по будням до полудня второй раф в подарок"
    )
    seed(
        config,
        [
            item("old", "Вчера был холодный кофе", minutes_ago=60 * 24, author_id="u9"),
            item("now", "Опять холодный!", minutes_ago=30, author_id="u9", context=post),
            item("later", "Ну и где ответ? Ужас", minutes_ago=5, author_id="u9"),
        ],
        clock,
    )
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("j", "enter")
        assert app.selected is not None and app.selected.text == "Опять холодный!"
        lines = screen_text(app).splitlines()
        start = next(n for n, line in enumerate(lines) if "В ответ на:" in line)
        quoted = lines[start : start + 3]
        assert "подарок" in "".join(quoted)  # the post wraps over three lines at 80 columns
        assert all(line.startswith("│ ▌ ") for line in quoted)
        text = app.query_one(DetailPane).text
        earlier, later = text.split("Раньше писал(а):")[1].split("Потом написал(а):")
        assert "Вчера был холодный кофе" in earlier and "Ну и где ответ" not in earlier
        assert "Ну и где ответ? Ужас" in later


async def test_narrow_cards_leave_out_what_does_not_fit_whole(
    config: Config, clock: FakeClock
) -> None:
    seed(
        config,
        [
            item(
                "b1",
                "Нашли кофейню, где раф не превращают в коктейль, ужас как хорошо",
                name="Еда в большом городе",
                handle="bigcityfood",
                followers=85_000,
                city="Москва",
                kind=Kind.MENTION,
                network="telegram",
            ),
            item("o1", "Курьера нет, ужас", name="Ольга", handle="olga.kuz", followers=312),
        ],
        clock,
    )
    details = ("@bigcityfood", "· 85 тыс.", "· Москва", "@olga.kuz", "· 312", "· Казань")
    for width, expected in ((100, 0), (130, 1), (200, 4)):
        app = make_app(config, clock)
        async with app.run_test(size=(width, 30)) as pilot:
            await pilot.pause()
            headers = "\n".join(column_lines(app, "negative")[0::5][:2])
            assert "@" not in headers.replace("@bigcityfood", "").replace("@olga.kuz", "")
            assert "·" not in headers.replace("· 85 тыс.", "").replace("· Москва", "").replace(
                "· 312", ""
            ).replace("· Казань", "")
            assert sum(detail in headers for detail in details) == expected, headers


def test_help_names_the_other_keys_as_they_look(seeded: Config) -> None:
    text = help_content(Strings("ru")).plain
    assert "(up)" not in text and "(home)" not in text
    assert "В начало колонки  (Home)" in text
    assert "ctrl+p   Команды: найти действие по названию" in text


def test_config_is_taken_before_or_after_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SOCIALTUI_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = str(tmp_path / "shop.toml")
    assert cli.main(["init", path]) == 0
    assert cli.main(["--config", path, "check"]) == 0  # used to say "no config found"
    assert cli.main(["check", "--config", path]) == 0
    out = capsys.readouterr()
    assert out.out.count(f"config {path}: ok") == 2
    assert "no config found" not in out.err


async def test_phone_width_switcher_keeps_all_four_columns(
    seeded: Config, clock: FakeClock
) -> None:
    app = make_app(seeded, clock)
    async with app.run_test(size=(46, 20)) as pilot:
        await pilot.pause()
        tabs = screen_text(app).splitlines()[1]
        assert tabs.strip() == "[Нег. 2] Вопр. 1 Нейтр. 1 Поз. 1"
        await pilot.press("l", "l", "l")
        assert "[Поз. 1]" in screen_text(app).splitlines()[1]


def test_poll_json_escapes_invisible_characters_and_prints_only_new_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = str(tmp_path / "shop.toml")
    assert cli.main(["init", path]) == 0
    record = {"id": "m1", "text": "\u202eплохо\u202c 👍", "author": {"name": "Оля\u200b"}}
    (tmp_path / "inbox.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["poll", "--once", "--json", "--config", path]) == 0
    out = capsys.readouterr().out
    # A bidi override would reorder the rest of the line in the operator's terminal.
    assert "\u202e" not in out and "\u200b" not in out
    assert "\\u202eплохо\\u202c 👍" in out
    parsed = json.loads(out)
    assert parsed["text"] == record["text"] and parsed["author"]["name"] == "Оля\u200b"
    assert cli.main(["poll", "--once", "--json", "--config", path]) == 0
    assert capsys.readouterr().out == ""


async def test_detail_with_only_a_later_message_does_not_claim_there_are_none(
    config: Config, clock: FakeClock
) -> None:
    seed(
        config,
        [
            item("first", "Курьера нет уже час, ужас", minutes_ago=60, author_id="u9"),
            item("again", "Ну и где ответ? Ужас", minutes_ago=5, author_id="u9"),
        ],
        clock,
    )
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        text = app.query_one(DetailPane).text
        assert "Других сообщений нет" not in text and "Раньше писал(а)" not in text
        assert "Ну и где ответ? Ужас" in text.split("Потом написал(а):")[1]
