"""Every operator action through its keys: what the screen shows and what the store holds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from textual import events

from config.loader import demo_config
from config.schema import Config, TeamConfig
from triage.board import Board
from triage.errors import StoreError
from triage.model import Column, Mention, OutboxState, Status
from triage.runtime import board_settings, open_config_store
from triage.sqlite_store import SqliteStore
from tui.app import SocialtuiApp
from tui.screens.composer import ComposerScreen
from tui.screens.picker import PickerScreen
from tui.widgets.column_view import ColumnView
from tui.widgets.detail_pane import DetailPane

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

BROKEN_CUP = "Стакан протёк, плохо"


@pytest.fixture
def config(tmp_path: Path, clock: FakeClock) -> Config:
    config = make_config(tmp_path / "board.db")
    seed(
        config,
        [
            *complaints(),
            item("n3", BROKEN_CUP, minutes_ago=10, name="Олег", author_id="u3"),
            item("q1", QUESTION, minutes_ago=5, name="Пётр", author_id="u4"),
        ],
        clock,
    )
    return config


@pytest.fixture
def store(config: Config) -> Iterator[SqliteStore]:
    # A second connection, as another process would have: what really reached the database.
    s = open_config_store(config)
    yield s
    s.close()


def mention_by_text(store: SqliteStore, text: str) -> Mention:
    return next(m for m in store.get_mentions(range(1, 50)) if m.text == text)


def outbox_texts(store: SqliteStore, text: str) -> list[str]:
    return [entry.text for entry in store.outbox(mention_by_text(store, text).id)]


async def test_reply_through_the_composer_queues_it(
    config: Config, clock: FakeClock, store: SqliteStore
) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("r")
        assert isinstance(app.screen, ComposerScreen)
        assert COMPLAINT in screen_text(app)
        await pilot.press(*"Sorry, new one on the way")
        await pilot.press("ctrl+s")
        assert not isinstance(app.screen, ComposerScreen)
        # Answered items sink below the unanswered: the next complaint is now under the cursor.
        assert app.selected is not None and app.selected.text == LATE_PACKING
        assert column_texts(app, "negative")[-1] == COMPLAINT
        last_card = column_lines(app, "negative")[13]
        # Queued, not yet sending: the undo window is still open.
        assert "✓ ответ" in last_card and "⏳ в очереди" in last_card
    assert outbox_texts(store, COMPLAINT) == ["Sorry, new one on the way"]
    assert mention_by_text(store, COMPLAINT).status is Status.REPLIED


async def test_composer_inserts_templates_and_never_sends_on_its_own(
    config: Config, clock: FakeClock, store: SqliteStore
) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        await pilot.press("r")
        composer = app.screen
        assert isinstance(composer, ComposerScreen)
        assert "[a] Принято" in screen_text(app) and "ctrl+t" in screen_text(app)
        await pilot.press("ctrl+t", "b")
        assert composer.text == "Иван, простите нас. Кофейня Зерно всё исправит."
        await pilot.press("ctrl+t", "z")  # no such template: nothing inserted, still waiting
        assert composer.text == "Иван, простите нас. Кофейня Зерно всё исправит."
        await pilot.press("escape", "escape")  # leave template mode, then cancel
        assert not isinstance(app.screen, ComposerScreen)
        assert outbox_texts(store, COMPLAINT) == []
        # The draft is kept for when the operator comes back.
        await pilot.press("r")
        assert app.screen.text == "Иван, простите нас. Кофейня Зерно всё исправит."  # type: ignore[attr-defined]


async def test_empty_reply_is_not_sent(
    config: Config, clock: FakeClock, store: SqliteStore
) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("r", "ctrl+s")
        assert isinstance(app.screen, ComposerScreen)
        assert ("Ответ пустой — нечего отправлять", "warning") in app.notes
    assert outbox_texts(store, COMPLAINT) == []


async def test_acknowledge_sends_the_first_template_with_the_name(
    config: Config, clock: FakeClock, store: SqliteStore
) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("a")
        assert app.selected is not None and app.selected.text == LATE_PACKING
        assert "✓ подтверждено" in column_lines(app, "negative")[13]
    assert outbox_texts(store, COMPLAINT) == [
        "Здравствуйте, Иван! Спасибо, что написали. Разбираемся."
    ]


async def test_tag_toggles_and_accepts_a_new_tag(
    config: Config, clock: FakeClock, store: SqliteStore
) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("t")
        picker = app.screen
        assert isinstance(picker, PickerScreen)
        assert [label.strip() for label in picker.visible_labels] == ["#брак", "#доставка"]
        await pilot.press("enter")
        assert "#брак" in column_lines(app, "negative")[3]
        assert app.selected is not None and app.selected.text == COMPLAINT  # stays put
        await pilot.press("t", *"срочно", "enter")
        assert "#брак #срочно" in column_lines(app, "negative")[3]
        await pilot.press("t")
        assert "✓ #брак" in app.screen.visible_labels[0]  # type: ignore[attr-defined]
        await pilot.press("enter")  # choosing a tag it has takes it off
        assert "#брак" not in column_lines(app, "negative")[3]
    assert mention_by_text(store, COMPLAINT).tags == ("срочно",)


async def test_redirect_shows_the_team_and_queues_its_reply(
    config: Config, clock: FakeClock, store: SqliteStore
) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("f")
        picker = app.screen
        assert isinstance(picker, PickerScreen)
        assert "Доставка  +7 900 000-00-00" in picker.visible_labels[0]
        await pilot.press("enter")
        assert "→ Доставка" in column_lines(app, "negative")[13]
    mention = mention_by_text(store, COMPLAINT)
    assert (mention.team, mention.status) == ("delivery", Status.REDIRECTED)
    assert outbox_texts(store, COMPLAINT) == ["Иван, передали в Доставка."]


async def test_done_removes_and_keeps_the_index(
    config: Config, clock: FakeClock, store: SqliteStore
) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("j", "e")
        assert column_texts(app, "negative") == [COMPLAINT, BROKEN_CUP]
        assert app.selected is not None and app.selected.text == BROKEN_CUP
        await pilot.press("e")  # the last one: the selection clamps upwards
        assert app.selected is not None and app.selected.text == COMPLAINT
        assert "[Негатив 1]" in screen_text(app)
    assert mention_by_text(store, LATE_PACKING).status is Status.DONE


async def test_snooze_hides_until_the_time_comes(
    config: Config, clock: FakeClock, store: SqliteStore
) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("s")
        labels = app.screen.visible_labels  # type: ignore[attr-defined]
        assert [label.split()[1:3] for label in labels[:3]] == [
            ["30", "мин"],
            ["1", "ч"],
            ["3", "ч"],
        ]
        assert "завтра утром (24.11 09:00)" in labels[3]
        await pilot.press("1")
        assert COMPLAINT not in column_texts(app, "negative")
        assert app.selected is not None and app.selected.text == LATE_PACKING
        clock.advance(minutes=31)
        app.tick()
        await pilot.pause()
        assert column_texts(app, "negative")[0] == COMPLAINT
        assert app.selected.text == LATE_PACKING  # the returning item does not steal it
    assert mention_by_text(store, COMPLAINT).snoozed_until is not None


async def test_undo_restores_and_selects_the_item(
    config: Config, clock: FakeClock, store: SqliteStore
) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("e")
        assert COMPLAINT not in column_texts(app, "negative")
        await pilot.press("l", "u")
        assert app.current_view.column is Column.NEGATIVE
        assert app.selected is not None and app.selected.text == COMPLAINT
        assert ("Отменено: готово", "information") in app.notes
        await pilot.press("u", "u", "u")
        assert app.notes[-1][0] == "Нечего отменять"
    assert mention_by_text(store, COMPLAINT).status is Status.NEW


async def test_undo_takes_back_an_unsent_acknowledgement(
    config: Config, clock: FakeClock, store: SqliteStore
) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("a", "u")
        assert app.selected is not None and app.selected.text == COMPLAINT
        assert "✓" not in column_lines(app, "negative")[3]
    entries = store.outbox(mention_by_text(store, COMPLAINT).id)
    assert [e.state for e in entries] == [OutboxState.CANCELLED]


async def test_move_changes_column_and_records_a_correction(
    config: Config, clock: FakeClock, store: SqliteStore
) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        await pilot.press("m")
        labels = [label.strip() for label in app.screen.visible_labels]  # type: ignore[attr-defined]
        assert labels == ["1   Вопросы", "2   Нейтрально", "3   Позитив"]
        await pilot.press("3")
        assert COMPLAINT in column_texts(app, "positive")
        assert COMPLAINT not in column_texts(app, "negative")
        assert app.selected is not None and app.selected.text == LATE_PACKING
        assert "Позитив 1" in screen_text(app)
    corrections = store.corrections()
    assert [(c.text, c.column) for c in corrections] == [(COMPLAINT, Column.POSITIVE)]


async def test_filter_narrows_and_esc_clears(config: Config, clock: FakeClock) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"мария")
        assert column_texts(app, "negative") == [LATE_PACKING]
        assert column_texts(app, "questions") == []
        assert "Ничего не найдено по фильтру" in column_lines(app, "questions")[1]
        await pilot.press("enter")
        assert "фильтр «мария»" in screen_text(app)
        assert app.selected is not None and app.selected.text == LATE_PACKING
        await pilot.press("slash", "escape")
        assert len(column_texts(app, "negative")) == 3
        assert "фильтр" not in screen_text(app)


async def test_action_errors_become_notifications(config: Config, clock: FakeClock) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()

        def locked(mention_id: int) -> Mention:
            raise StoreError("database is locked")

        app.board.done = locked  # type: ignore[method-assign]
        await pilot.press("e")
        assert app.errors == ["База данных: database is locked"]
        assert app.is_running
        assert COMPLAINT in column_texts(app, "negative")


async def test_actions_on_an_empty_board_only_say_so(tmp_path: Path, clock: FakeClock) -> None:
    app = make_app(make_config(tmp_path / "empty.db"), clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("e", "r", "a", "j", "l", "k")
        assert app.is_running
        assert [note for note, _ in app.notes] == ["Ничего не выбрано"] * 3
        assert "Пусто" in column_lines(app, "questions")[1]


async def test_outbox_worker_sends_after_the_undo_window(
    config: Config, clock: FakeClock, store: SqliteStore
) -> None:
    feed = ScriptedFeed()
    app = make_app(config, clock, feeds=[feed])
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("a")
        clock.advance(seconds=10)
        app.wake_outbox()
        assert await wait_for(pilot, lambda: bool(feed.replies))
        view = app.query_one("#negative", ColumnView)
        assert await wait_for(pilot, lambda: view.items[-1].delivery == "sent")
        assert "⏳" not in column_lines(app, "negative")[13]
    assert feed.replies[0][1].startswith("Здравствуйте, Иван!")


async def test_notifications_show_tags_literally(config: Config, clock: FakeClock) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("t", *"[@click=app.quit]x[/]", "enter")
        await pilot.pause()
        assert app.is_running
        assert "#[@click=app.quit]x[/]" in column_lines(app, "negative")[3]
        assert app.notes[-1] == ("Тег #[@click=app.quit]x[/] поставлен", "information")
        await pilot.pause()
        assert "Тег #[@click=app.quit]x[/]" in screen_text(app)


async def test_template_does_not_run_into_typed_text(config: Config, clock: FakeClock) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("r", *"Курьер уже едет.", "ctrl+t", "b")
        composer = app.screen
        assert isinstance(composer, ComposerScreen)
        # Not «едет.Иван, простите…».
        assert composer.text == "Курьер уже едет. Иван, простите нас. Кофейня Зерно всё исправит."
        # The hint fits the 80-column composer on one line.
        assert "ctrl+t и клавиша — шаблон · ctrl+s — отправить · esc — отмена" in screen_text(app)


async def test_reply_notification_says_how_long_undo_has(config: Config, clock: FakeClock) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("r", *"Уже везём", "ctrl+s")
        assert app.notes[-1] == ("Ответ уйдёт через 5 с · u — отменить", "information")
        await pilot.press("f", "enter")
        assert app.notes[-1][0] == "Передано: Доставка. Ответ клиенту уйдёт через 5 с"
        await pilot.press("f", "2")  # the kitchen has no reply to send
        assert app.notes[-1][0] == "Передано: Кухня"


async def test_picker_choices_stay_on_one_line(config: Config, clock: FakeClock) -> None:
    contact = "billing@zerno.example, +7 495 000-00-02, с 9 до 18 по будням, кроме праздников"
    teams = {"billing": TeamConfig("billing", "Оплата и возвраты", contact, "")}
    app = make_app(replace(config, teams=teams), clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("f")
        assert isinstance(app.screen, PickerScreen)
        lines = [line for line in screen_text(app).splitlines() if "Оплата и возвраты" in line]
        assert len(lines) == 1 and "billing@zerno.example, +7 495 000-00-02" in lines[0]
        assert "…" in lines[0]
        assert "цифра или ↑↓ и enter — выбрать" in screen_text(app)


async def test_demo_team_template_reads_well_before_a_redirect(
    tmp_path: Path, clock: FakeClock
) -> None:
    config = demo_config(f"sqlite:///{tmp_path / 'demo.db'}")
    seed(config, [item("n1", COMPLAINT, minutes_ago=5)], clock)
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("r", "ctrl+t", "r")
        composer = app.screen
        assert isinstance(composer, ComposerScreen)
        assert composer.text.startswith("Иван, передали ваш вопрос")
        assert ": ." not in composer.text and "  " not in composer.text


async def test_acknowledge_is_not_sent_twice_to_the_same_customer(
    config: Config, clock: FakeClock, store: SqliteStore
) -> None:
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("G")  # the last one: after «a» the cursor stays on it
        assert app.selected is not None and app.selected.text == BROKEN_CUP
        await pilot.press("a", "a")
        assert app.selected.text == BROKEN_CUP
        assert app.notes[-1] == (
            "Клиенту уже ответили — подтверждение не отправлено",
            "warning",
        )
    assert len(outbox_texts(store, BROKEN_CUP)) == 1


UNKNOWN_NOTE = "⚠ результат неизвестен, проверьте"


def card_footer(app: SocialtuiApp, text: str) -> str:
    """The footer line (age and states) of the visible card whose text starts with `text`."""
    lines = column_lines(app, "negative")
    start = next(i for i, line in enumerate(lines) if text in line)
    return lines[start + 2]  # header, text, text, footer


async def test_an_unknown_reply_stays_on_the_card_whatever_later_replies_do(
    config: Config, clock: FakeClock, store: SqliteStore
) -> None:
    """A reply whose outcome is unknown keeps its warning through later replies (sent,
    queued, undone) until the operator closes the item; reopening it brings it back."""
    board = Board(store, board_settings(config), clock)
    board.load()
    complaint = mention_by_text(store, COMPLAINT)
    # The first reply: claimed, then the app died before it knew the outcome.
    board.reply(complaint.id, "Первый ответ: разбираемся")
    assert store.claim_reply(clock() + timedelta(minutes=1)) is not None
    assert [e.mention_id for e in store.recover_sending()] == [complaint.id]
    # A second reply (the next session) went out fine: the latest state is `sent`.
    board.reply(complaint.id, "Второй ответ: курьер выехал")
    claimed = store.claim_reply(clock() + timedelta(minutes=2))
    assert claimed is not None
    store.finish_reply(
        claimed[0].id, sent_at=clock(), native_reply_id="r2", error=None, retry_at=None
    )
    assert mention_by_text(store, COMPLAINT).delivery == "sent"

    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        footer = card_footer(app, COMPLAINT)
        assert "✓ ответ" in footer and UNKNOWN_NOTE in footer, footer
        # The detail pane says so too.
        await pilot.press("G", "enter")
        assert app.selected is not None and app.selected.text == COMPLAINT
        assert UNKNOWN_NOTE in app.query_one(DetailPane).text
        await pilot.press("enter")

        # A third reply, queued: both its state and the warning show.
        await pilot.press("r", *"Третий ответ", "ctrl+s")
        assert not isinstance(app.screen, ComposerScreen)
        footer = card_footer(app, COMPLAINT)
        assert UNKNOWN_NOTE in footer and "⏳ в очереди" in footer, footer

        # Taken back with `u`: the queued state goes, the warning stays.
        await pilot.press("u")
        assert await wait_for(pilot, lambda: "⏳" not in card_footer(app, COMPLAINT))
        footer = card_footer(app, COMPLAINT)
        assert UNKNOWN_NOTE in footer, footer

        # The operator checked and closes the item: the card, and its warning, leave.
        await pilot.press("G")
        assert app.selected is not None and app.selected.text == COMPLAINT
        await pilot.press("e")
        assert COMPLAINT not in column_texts(app, "negative")
        assert UNKNOWN_NOTE not in "\n".join(column_lines(app, "negative"))
        # Reopened (undo): still not known, still said.
        await pilot.press("u")
        assert await wait_for(pilot, lambda: COMPLAINT in column_texts(app, "negative"))
        assert UNKNOWN_NOTE in card_footer(app, COMPLAINT)
    states = [entry.state for entry in store.outbox(complaint.id)]
    assert states == [OutboxState.UNKNOWN, OutboxState.SENT, OutboxState.CANCELLED]


async def test_ctrl_s_right_behind_typing_sends_everything_typed(
    config: Config, clock: FakeClock, store: SqliteStore
) -> None:
    # Over a slow SSH link the keys of a fast typist arrive in one read: the text area may not
    # have taken the last letters when ctrl+s (a priority binding) is handled.
    app = make_app(config, clock)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        await pilot.press("r")
        assert isinstance(app.screen, ComposerScreen)
        driver = app._driver
        assert driver is not None
        for key, char in [*((c, c) for c in "Sorry"), ("ctrl+s", None)]:
            event = events.Key(key, char)
            event.set_sender(app)
            driver.send_message(event)
        await pilot.pause()
        await pilot.pause()
        assert not isinstance(app.screen, ComposerScreen)
    assert outbox_texts(store, COMPLAINT) == ["Sorry"]
