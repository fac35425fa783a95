"""Hostile text on every surface of the board, rendered for real (App.run_test).

Every text from outside (customer text, author names, handles, cities, post previews, tags,
team names and contacts, template text, feed names, error notifications, pastes) must reach
the screen sanitised by triage.sanitize and never parsed as markup:

- no C0/C1 control, no ESC sequence (CSI, OSC titles, OSC 8 links, OSC 52, DCS), no bidi
  override or isolate, no zero-width or invisible filler in anything painted;
- Textual markup shows literally (`[@click=app.quit]` is text, not an action);
- a 1 MB text is cut for display (card, detail, composer quote) but stored whole;
- combining floods, zero-width joiners and emoji sequences keep every line its exact width.

"Painted" below is what the compositor hands the terminal driver: the segments of every line
of the current screen, toasts included. The real-terminal version of this is
test_hostile_pty.py.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from config.schema import Config, FeedConfig, ShopConfig, TeamConfig, TemplateConfig
from feeds.base import FeedState, FeedStatus
from triage.board import AgeLevel, Board
from triage.model import Author, Column, Kind, Label, Mention, Sentiment, Status
from triage.runtime import open_config_store
from triage.sanitize import MAX_COMBINING, clean_text, one_line
from tui.app import SocialtuiApp
from tui.messages import FeedStatusChanged, WorkerFailed
from tui.screens.composer import ComposerScreen
from tui.screens.filter_input import FilterScreen
from tui.screens.picker import PickerScreen
from tui.strings import Strings
from tui.widgets.card import CardFrame, plain_lines, render_card
from tui.widgets.column_view import ColumnView
from tui.widgets.detail_pane import MAX_DETAIL_CHARS, DetailPane, detail_content
from tui.widgets.status_bar import BoardSummary, summary_line

from .conftest import T0, FakeClock
from .tui_fakes import PLAIN_STYLES, WIDE, RecordingApp, item, make_app, make_config, seed, wait_for

# (id, payload). The markup ones are printable text that must show exactly as written.
HOSTILE: list[tuple[str, str]] = [
    ("osc-title-bel", "\x1b]0;pwned\x07"),
    ("osc-title-st", "\x1b]2;pwned\x1b\\"),
    ("osc8-link", "\x1b]8;;https://evil.example/x\x1b\\клик\x1b]8;;\x1b\\"),
    ("osc52-clipboard", "\x1b]52;c;cHduZWQ=\x07"),
    ("osc-unterminated", "\x1b]0;pwned"),
    ("csi-clear", "ZQX\x1b[2J\x1b[3JXQZ"),
    ("csi-cursor", "\x1b[10;10H\x1b[?25l\x1b[?1049l\x1b[6n"),
    ("sgr-blink", "\x1b[5;31mмигает\x1b[0m"),
    ("c1-8bit", "\x9b2J\x9d0;pwned\x9c\x85"),
    ("dcs-query", "\x1bP+q544e\x1b\\"),
    ("esc-reset", "\x1bc\x1b7\x1b8"),
    ("c0-controls", "nul\x00bel\x07bs\x08cr\rvt\x0bff\x0cdel\x7f"),
    ("bidi-override", "оплата \u202eанеро\u202c ок"),
    ("bidi-embed-isolate", "\u202ax\u202by\u202dz\u2066a\u2069\u2067b\u2069\u2068c\u2069"),
    ("bidi-marks", "\u200ea\u200fb\u061c"),
    ("zero-width", "па\u200bро\u200cль\u2060\ufeff"),
    ("zwj-family", "👨\u200d👩\u200d👧\u200d👦 и 🏳️\u200d🌈"),
    ("combining-flood", "Z" + "\u0336\u0301\u0300" * 300),
    ("hangul-filler", "\u3164\u115f\u1160\uffa0"),
    ("tag-smuggling", "ok\U000e0041\U000e0042\U000e007f"),
    ("private-use", "\ue000\U000f0000"),
    ("line-breaks", "a\n\n\n\n\nb\u2028c\u2029d"),
    ("markup-click", "[@click=app.quit]выход[/]"),
    ("markup-close", "[/b] [/] [/link]"),
    ("markup-link", "[link=https://markup.example]ссылка[/link]"),
    ("markup-style", "[bold red on white]жирный[/]"),
    ("markup-variable", "[$accent]x[/$accent] [reverse]"),
    ("rich-emoji-code", ":pile_of_poo: :warning:"),
    ("format-string", "{name} {0} {shop!r} %s %(x)s"),
]
PAYLOADS = [payload for _, payload in HOSTILE]
MARKUP = [payload for key, payload in HOSTILE if key.startswith(("markup", "rich", "format"))]
HOSTILE_PARAMS = [pytest.param(payload, id=key) for key, payload in HOSTILE]

# Nothing painted may contain these: controls, bidi, zero-width and invisible characters.
FORBIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f"
    "\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0"
    "\ue000-\uf8ff\U000e0000-\U000e007f\U000f0000-\U0010ffff]"
)
DISTINCTIVE = ("pwned", "evil.example", "cHduZWQ", "544e")

RU = Strings("ru")


def assert_safe(text: str, *, newlines: bool = False) -> None:
    """Nothing that acts on a terminal or hides from the reader; no combining flood."""
    checked = text.replace("\n", "") if newlines else text
    bad = FORBIDDEN.findall(checked)
    assert not bad, f"forbidden {[f'U+{ord(c):04X}' for c in bad]} in {text[:200]!r}"
    for word in DISTINCTIVE:
        assert word not in text, f"{word!r} from an escape sequence leaked into {text[:200]!r}"
    run = 0
    for character in text:
        run = run + 1 if unicodedata.category(character) in ("Mn", "Me") else 0
        assert run <= MAX_COMBINING, f"combining flood in {text[:80]!r}"


def painted_lines(app: SocialtuiApp) -> list[str]:
    """Every line of the current screen as the driver gets it: raw segment text."""
    return ["".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips()]


def assert_screen_safe(app: SocialtuiApp) -> str:
    lines = painted_lines(app)
    width = app.size.width
    for line in lines:
        assert_safe(line)
        # Each line is exactly the terminal's width: nothing a terminal would draw wider.
        assert cell_len(line) == width, (cell_len(line), line)
    return "\n".join(lines)


def hostile_mention(text: str, **changes: object) -> Mention:
    base = Mention(
        id=1,
        network="vk",
        native_id="1",
        kind=Kind.COMMENT,
        author=Author("u1", text, text, 12400, text),
        text=text + " хвост",
        created_at=T0,
        received_at=T0,
        sentiment=Sentiment(Label.NEGATIVE, {"negative": 0.8, text: 0.1}),
        column=Column.NEGATIVE,
        status=Status.REDIRECTED,
        team=text,
        tags=(text, "обычный"),
        delivery="failed: " + text,
        url="https://vk.com/wall-1_1" + text,
        context=text + " пост",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# -- pure renderers ----------------------------------------------------------------------------


@pytest.mark.parametrize("payload", HOSTILE_PARAMS)
@pytest.mark.parametrize("width", [24, 80])
def test_card_shows_every_field_safely(payload: str, width: int) -> None:
    mention = hostile_mention(payload)
    frame = CardFrame(width, "12 мин", AgeLevel.WARN, selected=True, active=True)
    strips = render_card(mention, frame, PLAIN_STYLES, RU, {})
    for strip in strips:
        assert strip.cell_length == width
        assert_safe("".join(segment.text for segment in strip))
    if payload in MARKUP and width == 80:
        assert any(payload in line for line in plain_lines(strips)), plain_lines(strips)


@pytest.mark.parametrize("payload", HOSTILE_PARAMS)
def test_detail_pane_shows_every_field_safely(payload: str, board: Board) -> None:
    mention = hostile_mention(payload)
    older = hostile_mention(payload, id=2, created_at=T0 - timedelta(hours=1))
    content = detail_content(mention, board, RU, {payload: payload}, [older, mention])
    assert_safe(content.plain, newlines=True)
    if payload in MARKUP:
        # Name, handle, city, text, context, tags, team, history: all literal.
        assert content.plain.count(payload) >= 6, content.plain


@pytest.mark.parametrize("payload", HOSTILE_PARAMS)
def test_status_line_shows_shop_feeds_and_filter_safely(payload: str) -> None:
    summary = BoardSummary(
        shop=payload,
        timezone=ZoneInfo("Europe/Moscow"),
        now=T0,
        feeds={
            payload: FeedStatus(FeedState.AUTH_FAILED, detail=payload),
            "tg" + payload: FeedStatus(FeedState.OFFLINE, detail=payload, skipped=3),
        },
        counts={Column.NEGATIVE: 3},
        overdue=1,
        filter=payload,
    )
    for width in (60, 200):
        line = summary_line(summary, RU, width)
        assert_safe(line.plain)
        assert line.cell_length <= width


# -- the running board -------------------------------------------------------------------------


def hostile_config(tmp_path: Path) -> Config:
    """Shop, teams, templates and tags from a config that carries escapes and markup too
    (TOML's \\u001b makes that one typo away)."""
    base = make_config(tmp_path / "board.db")
    teams = {
        "delivery": TeamConfig(
            "delivery",
            "Доставка\x1b]0;pwned\x07 [@click=app.quit]",
            "+7\u202e 900 \x1b[2J",
            "{name}, передали в {team}: {contact}",
        ),
        "kitchen": TeamConfig("kitchen", "[/b]Кухня", "\x9b2Jкухня@zerno", ""),
    }
    templates = (
        TemplateConfig("a", "Принято\x1b]8;;https://evil.example\x07", "Здравствуйте, {name}!"),
        TemplateConfig(
            "b", "[@click=app.quit]", "{name}\x1b]0;pwned\x07, {shop} [/b]\u202e.\n\n\n\nЖдём"
        ),
    )
    return replace(
        base,
        shop=ShopConfig(name="Кофейня\x1b]0;pwned\x07 [@click=app.quit]", operator="Оля"),
        teams=teams,
        templates=templates,
        tags=("брак\x1b[2J", "[@click=app.quit]", "\u202eпеределка"),
        feeds=(FeedConfig("fake", "demo\x1b]0;pwned\x07", {}),),
    )


def seed_hostile(config: Config, clock: FakeClock) -> None:
    items = []
    for index, (_key, payload) in enumerate(HOSTILE):
        items.append(
            item(
                f"h{index}",
                f"{payload} №{index} плохо",
                minutes_ago=len(HOSTILE) - index,
                name=payload or "x",
                handle=payload,
                author_id=f"u{index}",
                city=payload,
                network="vk" if index % 3 else "telegram\x1b]0;pwned\x07",
                context=f"пост {payload}",
            )
        )
    seed(config, items, clock)


def hostile_app(tmp_path: Path, clock: FakeClock) -> RecordingApp:
    """The board over `hostile_config`, seeded with one mention per hostile payload."""
    config = hostile_config(tmp_path)
    seed_hostile(config, clock)
    return make_app(config, clock)


async def visit_every_card(pilot: Pilot[None], app: SocialtuiApp) -> list[str]:
    """Open the detail pane and step through every card of every column, checking the whole
    screen at each step. Returns everything painted, for the literal checks."""
    seen: list[str] = []
    await pilot.press("enter")
    for _column in range(4):
        view = app.current_view
        for _ in range(len(view.items)):
            await pilot.pause()
            seen.append(assert_screen_safe(app))
            await pilot.press("j")
        await pilot.press("l")
    return seen


async def test_board_paints_hostile_mentions_safely_and_literally(
    tmp_path: Path, clock: FakeClock
) -> None:
    app = hostile_app(tmp_path, clock)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await pilot.pause()
        first = assert_screen_safe(app)
        assert "Кофейня [@click=app.quit]" in first  # the shop, in the status bar
        seen = "\n".join(await visit_every_card(pilot, app))
        for payload in MARKUP:
            assert payload in seen, payload
        assert app.is_running
        total = sum(len(view.items) for view in app.views)
        assert total == len(HOSTILE)


async def test_pickers_composer_and_pastes_are_safe(tmp_path: Path, clock: FakeClock) -> None:
    app = hostile_app(tmp_path, clock)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await pilot.pause()
        # Tags: config tags and the mention's own.
        await pilot.press("t")
        assert isinstance(app.screen, PickerScreen)
        labels = app.screen.visible_labels
        assert "  #[@click=app.quit]" in labels
        shown = assert_screen_safe(app)
        assert "#[@click=app.quit]" in shown
        # A pasted tag is one clean line.
        app.post_message(events.Paste("new\x1b]0;pwned\x07\u202e tag"))
        await pilot.pause()
        assert app.screen.query_one(Input).value == "new tag"
        assert_screen_safe(app)
        await pilot.press("escape")

        # Teams: titles and contacts from the config.
        await pilot.press("f")
        assert isinstance(app.screen, PickerScreen)
        shown = assert_screen_safe(app)
        assert "Доставка [@click=app.quit]" in shown and "[/b]Кухня" in shown
        await pilot.press("escape")

        # The composer: the customer's text quoted, config templates listed and inserted.
        await pilot.press("r")
        composer = app.screen
        assert isinstance(composer, ComposerScreen)
        assert "[@click=app.quit]" in assert_screen_safe(app)  # template b's title
        await pilot.press("ctrl+t", "b")
        inserted = composer.text
        assert_safe(inserted, newlines=True)
        assert inserted.endswith("[/b].\n\nЖдём")
        # As the driver delivers a bracketed paste: to the app, which hands it to the focus.
        app.post_message(
            events.Paste(" вставка\x1b]8;;https://evil.example\x07ссылка\x1b]8;;\x07\u202e")
        )
        await pilot.pause()
        assert composer.text.endswith("Ждём вставкассылка")
        assert_screen_safe(app)
        await pilot.press("escape")

        # The filter: a pasted query is one clean line.
        await pilot.press("slash")
        assert isinstance(app.screen, FilterScreen)
        app.post_message(events.Paste("\x1b[2J[@click=app.quit]\nx"))
        await pilot.pause()
        assert app.screen.query_one(Input).value == "[@click=app.quit] x"
        assert_screen_safe(app)
        await pilot.press("escape")
        assert app.is_running


async def test_notifications_are_sanitised_whoever_sends_them(
    tmp_path: Path, clock: FakeClock
) -> None:
    app = hostile_app(tmp_path, clock)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await pilot.pause()
        # A feed error quoting the server's own words, as the worker posts it.
        app.post_message(
            WorkerFailed(
                "tg\x1b]0;pwned\x07",
                "401 \x1b]8;;https://evil.example\x07[@click=app.quit]Unauthorized\x1b]8;;\x07\u202e",
            )
        )
        app.post_message(
            FeedStatusChanged("tg\x1b]0;pwned\x07", FeedStatus(FeedState.ERROR, "\x1b[2Jx"))
        )
        # An exception text from anywhere (a store error quoting a tag, say).
        app.report_error(RuntimeError("[/b]\x9b2J\x1b]0;pwned\x07 сломалось"))
        # A widget's own notify (markup=True by default there) goes through the app's.
        app.screen.notify("[@click=app.quit]тост\x1b[5m", title="\x1b]0;pwned\x07[b]")
        await pilot.pause()
        assert await wait_for(pilot, lambda: "сломалось" in "\n".join(painted_lines(app)))
        shown = assert_screen_safe(app)
        assert "tg: 401 [@click=app.quit]Unauthorized" in shown
        assert "[/b] сломалось" in shown
        assert "[@click=app.quit]тост" in shown
        assert app.is_running


# -- long texts --------------------------------------------------------------------------------

MEGABYTE = 1_000_000


def megabyte_text() -> str:
    chunk = "Начало жалобы [@click=app.quit] \x1b]0;pwned\x07\u202e e\u0301\u0301\u0301\u0301 "
    body = (chunk * (MEGABYTE // len(chunk) + 1))[: MEGABYTE - 8]
    return body + "TAILMARK"


async def test_a_megabyte_text_is_cut_for_display_and_stored_whole(
    tmp_path: Path, clock: FakeClock
) -> None:
    config = make_config(tmp_path / "board.db")
    text = megabyte_text()
    assert len(text) == MEGABYTE
    seed(config, [item("big", text, name="Огромный\x1b]0;pwned\x07")], clock)
    app = make_app(config, clock)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        assert app.selected is not None and len(app.selected.text) == MEGABYTE
        shown = assert_screen_safe(app)
        assert "Начало жалобы [@click=app.quit]" in shown
        assert "TAILMARK" not in shown
        # Two lines of text on the card, the second cut with an ellipsis.
        card = app.query_one(f"#{app.selected.column.value}", ColumnView).visible_text()
        assert "Начало жалобы" in card[1] and card[2].rstrip().endswith("…"), card[:5]
        await pilot.press("enter")
        await pilot.pause()
        pane = app.query_one(DetailPane)
        assert len(pane.text) < MAX_DETAIL_CHARS + 2000
        assert "TAILMARK" not in pane.text
        assert_safe(pane.text, newlines=True)
        assert_screen_safe(app)
        await pilot.press("r")
        assert isinstance(app.screen, ComposerScreen)
        assert "TAILMARK" not in assert_screen_safe(app)
        await pilot.press("escape")
        assert app.is_running
    store = open_config_store(config)
    try:
        (stored,) = store.get_mentions([1])
    finally:
        store.close()
    assert stored.text == text  # whole, hostile bytes and all: sanitising is display-only


# -- the sanitiser's long-text path ---------------------------------------------------------

fragments = st.sampled_from(
    [
        *PAYLOADS,
        "слово ",
        "\n",
        "\r\n",
        "  ",
        "\u0301",
        "\x1b",
        "\x1b]0;",
        "\x07",
        "\x1b\\",
        "😀",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(fragments, min_size=1, max_size=40),
    repeat=st.integers(1, 400),
    max_chars=st.integers(1, 300),
    keep=st.booleans(),
)
def test_long_texts_cut_from_a_window_match_a_whole_clean(
    parts: list[str], repeat: int, max_chars: int, keep: bool
) -> None:
    """clean_text/one_line clean only a window of a long text; what they return must be what
    cleaning the whole text and cutting it would give."""
    text = "".join(parts) * repeat
    whole = clean_text(text, keep_newlines=keep)
    expected = (
        whole if len(whole) <= max_chars else clean_text(whole, max_chars, keep_newlines=keep)
    )
    assert clean_text(text, max_chars, keep_newlines=keep) == expected
    flat = " ".join(clean_text(text, keep_newlines=False).split())
    assert one_line(text, max_chars) == one_line(flat, max_chars)
    assert_safe(clean_text(text, max_chars, keep_newlines=keep), newlines=True)
