"""The pieces the board is drawn from, without a running app: cards, status line, tabs, help."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from feeds.base import FeedState, FeedStatus
from triage.board import AgeLevel
from triage.model import Author, Column, Kind, Label, Mention, Sentiment, Status
from tui.keymap import BOARD_KEYS
from tui.screens.help import help_content
from tui.strings import STRINGS, Strings
from tui.widgets.card import (
    CARD_HEIGHT,
    CardFrame,
    format_followers,
    plain_lines,
    render_card,
    wrap_cells,
)
from tui.widgets.column_tabs import tabs_line
from tui.widgets.status_bar import BoardSummary, summary_line

from .conftest import T0
from .tui_fakes import PLAIN_STYLES

RU = Strings("ru")
EN = Strings("en")
TEAMS = {"delivery": "Доставка"}


def mention(text: str = "Кофе холодный", **changes: object) -> Mention:
    base = Mention(
        id=1,
        network="vk",
        native_id="1",
        kind=Kind.COMMENT,
        author=Author("u1", "Мария Иванова", "masha", 12400, "Казань"),
        text=text,
        created_at=T0,
        received_at=T0,
        sentiment=Sentiment(Label.NEGATIVE, {"negative": 0.8}),
        column=Column.NEGATIVE,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def card(m: Mention, level: AgeLevel = AgeLevel.OK, width: int = 60) -> list[str]:
    frame = CardFrame(width, "12 мин", level, selected=False, active=False)
    return plain_lines(render_card(m, frame, PLAIN_STYLES, RU, TEAMS))


def test_card_has_fixed_height_and_width() -> None:
    lines = card(mention("очень " * 50), width=40)
    assert len(lines) == CARD_HEIGHT
    assert all(len(line) == 40 for line in lines)


def test_card_header_shows_network_kind_author_followers_city() -> None:
    header = card(mention())[0]
    for part in ("VK", "коммент", "Мария Иванова", "@masha", "12,4 тыс.", "Казань"):
        assert part in header


def test_card_text_is_literal_and_escape_sequences_are_gone() -> None:
    hostile = "[@click=app.quit]жми[/] \x1b]0;pwned\x07 \x1b[2J[b]жирный[/b]"
    lines = card(mention(hostile))
    body = " ".join(lines[1:3])
    assert "[@click=app.quit]жми[/]" in body
    assert "[b]жирный[/b]" in body
    assert "\x1b" not in "".join(lines)
    assert "pwned" not in body


def test_breach_is_marked_without_colour() -> None:
    assert card(mention(), AgeLevel.BREACH)[3].lstrip().startswith("! 12 мин")
    assert "!" not in card(mention(), AgeLevel.WARN)[3]


def test_card_state_line_shows_redirect_tags_and_delivery() -> None:
    m = mention(status=Status.REDIRECTED, team="delivery", tags=("брак",), delivery="queued")
    state = card(m, AgeLevel.ANSWERED, width=80)[3]
    assert "→ Доставка" in state
    assert "⏳ в очереди" in state
    sending = card(replace(m, delivery="sending"), AgeLevel.ANSWERED, width=80)[3]
    assert "⏳ отправка" in sending
    assert "#брак" in state
    unknown = card(mention(status=Status.REPLIED, delivery="unknown"), width=90)[3]
    assert "✓ ответ" in unknown
    assert "⚠ результат неизвестен, проверьте" in unknown


def test_selected_card_has_a_marker_in_the_gutter() -> None:
    frame = CardFrame(40, "1 мин", AgeLevel.OK, selected=True, active=True)
    lines = plain_lines(render_card(mention(), frame, PLAIN_STYLES, RU, TEAMS))
    assert all(line.startswith("▌") for line in lines[:4])
    assert not lines[4].strip()


def test_wrap_cells_wraps_words_and_marks_the_cut() -> None:
    assert wrap_cells("one two three", 7, 2) == ["one two", "three"]
    assert wrap_cells("one two three four", 7, 2) == ["one two", "three…"]
    assert wrap_cells("абвгдежзийклмн", 5, 2) == ["абвгд", "ежзи…"]
    assert wrap_cells("", 10, 2) == ["", ""]
    # Wide characters count two cells.
    assert wrap_cells("寿司寿司寿司", 4, 2) == ["寿司", "寿…"]


def test_followers_are_short_and_localised() -> None:
    assert format_followers(850, RU) == "850"
    assert format_followers(12400, RU) == "12,4 тыс."
    assert format_followers(12000, RU) == "12 тыс."
    assert format_followers(1_250_000, RU) == "1,2 млн"
    assert format_followers(12400, EN) == "12.4K"


def summary(**changes: object) -> BoardSummary:
    base = BoardSummary(
        shop="Кофейня Зерно",
        timezone=ZoneInfo("Europe/Moscow"),
        now=T0,
        feeds={"vk": FeedStatus(FeedState.LIVE)},
        counts={Column.NEGATIVE: 12, Column.QUESTIONS: 4, Column.NEUTRAL: 30, Column.POSITIVE: 9},
        overdue=3,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_status_line_has_everything_when_wide() -> None:
    text = summary_line(summary(), RU, 200).plain
    for part in ("Кофейня Зерно", "vk ● в сети", "Негатив 12", "Позитив 9", "! просрочено 3"):
        assert part in text
    assert text.rstrip().endswith("12:00")  # 09:00 UTC in Moscow


def test_status_line_describes_feed_trouble() -> None:
    feeds = {
        "vk": FeedStatus(FeedState.RATE_LIMITED, retry_at=T0 + timedelta(minutes=5)),
        "tg": FeedStatus(FeedState.OFFLINE, retry_at=T0 + timedelta(seconds=12), skipped=2),
        "x": FeedStatus(FeedState.AUTH_FAILED),
    }
    text = summary_line(summary(feeds=feeds), RU, 240).plain
    assert "лимит до 12:05" in text
    assert "нет связи, повтор через 12 с, пропущено 2" in text
    assert "ошибка авторизации" in text


def test_status_line_sheds_detail_but_keeps_overdue_and_clock() -> None:
    text = summary_line(summary(), RU, 60).plain
    assert len(text) <= 60
    assert "! просрочено 3" in text
    assert "12:00" in text
    assert "vk ●" in text


def test_status_line_in_english() -> None:
    feeds = {"vk": FeedStatus(FeedState.RATE_LIMITED, retry_at=T0 + timedelta(minutes=5))}
    text = summary_line(summary(feeds=feeds), EN, 200).plain
    assert "rate-limited until 12:05" in text
    assert "Negative 12" in text
    assert "3 overdue" in text


def test_tabs_bracket_the_current_column() -> None:
    counts = {Column.NEGATIVE: 12, Column.QUESTIONS: 4}
    text = tabs_line(Column.QUESTIONS, counts, RU).plain
    assert "[Вопросы 4]" in text
    assert " Негатив 12 " in text
    assert "[Негатив" not in text


def test_help_lists_every_board_key() -> None:
    text = help_content(RU).plain
    for key in BOARD_KEYS:
        assert RU.get(key.string) in text
    assert "ctrl+s" in text and "ctrl+t" in text


def test_every_string_exists_in_both_languages() -> None:
    assert set(STRINGS["ru"]) == set(STRINGS["en"])
