from __future__ import annotations

import time
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from triage.sanitize import MAX_COMBINING, clean_text, one_line

C0 = {chr(c) for c in range(0x20)} - {"\n", "\t"}
C1 = {chr(c) for c in range(0x80, 0xA0)}
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
ZERO_WIDTH = set("\u200b\u200c\u2060\ufeff\u180e")
FORBIDDEN = C0 | C1 | BIDI | ZERO_WIDTH | {"\x7f", "\x1b"}

HOSTILE = [
    pytest.param("\x1b]0;title\x07", "", id="osc-title-bel"),
    pytest.param("\x1b]0;title\x1b\\после", "после", id="osc-title-st"),
    pytest.param("\x1b[2J", "", id="csi-clear"),
    pytest.param("до\x1b[2Jпосле", "допосле", id="csi-clear-inline"),
    pytest.param("\x1b[38;2;255;0;0mкрасный\x1b[0m", "красный", id="csi-truecolor"),
    pytest.param("\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "click", id="osc8-link"),
    pytest.param("\x1b]8;;http://evil\x07click\x1b]8;;\x07", "click", id="osc8-link-bel"),
    pytest.param("\x9b31mred", "red", id="c1-csi"),
    pytest.param("\x9d0;title\x9cтекст", "текст", id="c1-osc-st"),
    pytest.param("\x1bP1$r\x1b\\ok", "ok", id="dcs"),
    pytest.param("\x1b_apc payload\x1b\\ok", "ok", id="apc"),
    pytest.param("\x1b^pm\x1b\\ok", "ok", id="pm"),
    pytest.param("\x1bXsos\x1b\\ok", "ok", id="sos"),
    pytest.param("\x1bcreset", "reset", id="esc-c"),
    pytest.param("\x1b(Bascii", "ascii", id="esc-charset"),
    pytest.param("\x1b]0;never terminated", "", id="osc-unterminated"),
    pytest.param("a\x1b", "a", id="lone-esc"),
    pytest.param("оплата\u202eанеро\u202c", "оплатаанеро", id="bidi-override"),
    pytest.param("\u2066a\u2069\u2067b\u2069\u200e\u200f\u061c", "ab", id="bidi-isolates"),
    pytest.param("nul\x00byte", "nulbyte", id="nul"),
    pytest.param("del\x7f", "del", id="del"),
    pytest.param("bell\x07", "bell", id="bel"),
    pytest.param("over\rwrite", "over\nwrite", id="bare-cr"),
    pytest.param("win\r\nline", "win\nline", id="crlf"),
    pytest.param("tab\there", "tab here", id="tab"),
    pytest.param("l\u2028p\u2029\x85e", "l\np\n\ne", id="unicode-breaks"),
    pytest.param("a\n\n\n\n\n\nb", "a\n\nb", id="blank-flood"),
    pytest.param("a\n \n\t\n  \nb", "a\n\nb", id="blank-flood-spaces"),
    pytest.param("па\u200bро\u2060ль\ufeff", "пароль", id="zero-width"),
    pytest.param("с\u200dкрыто", "скрыто", id="zwj-in-word"),
    pytest.param("\u200d😀", "😀", id="zwj-leading"),
    pytest.param("👩\u200d💻 ❤️\u200d🔥 🏳️\u200d🌈", "👩💻 ❤️🔥 🏳️🌈", id="zwj-emoji"),
    # Terminals draw a ZWJ sequence as its parts while Rich measures it as one glyph.
    pytest.param("👨\u200d👩\u200d👧\u200d👦", "👨👩👧👦", id="zwj-family"),
    pytest.param("😀\u200d\u200d😀", "😀😀", id="zwj-double"),
    pytest.param("\u3164\u3164", "", id="hangul-filler"),
    pytest.param("tag\U000e0041\U000e0042", "tag", id="tag-smuggling"),
    pytest.param("\ue000\U000f0000x", "\ufffd\ufffdx", id="private-use"),
    pytest.param("\ud800x", "\ufffdx", id="lone-surrogate"),
    pytest.param("\U0003ffff", "\ufffd", id="unassigned"),
    pytest.param("e" + "\u0301" * 10_000, "e" + "\u0301" * MAX_COMBINING, id="zalgo"),
    pytest.param("т\u0306\u0301\u0300\u0302\u0303", "т\u0306\u0301\u0300", id="marks-cap"),
    pytest.param("a\u0301\u200b\u0301\u0301\u0301", "a\u0301\u0301\u0301", id="marks-hidden-run"),
    pytest.param("1\ufe0f\u20e3 ok", "1\ufe0f\u20e3 ok", id="keycap"),
]

PRESERVED = [
    "Здравствуйте! Заказ №4471, оформляла в 18:10 😡",
    "спс 🙏🙏🙏🙏🙏",
    "Цена 10\u00a0000\u00a0₽ — дорого",
    "Строка 1\nСтрока 2\n\nАбзац",
    "й ё Ё и\u0306",
    "👍🏽 🇷🇺 🫶",
    "",
]


@pytest.mark.parametrize(("text", "expected"), HOSTILE)
def test_hostile_inputs(text: str, expected: str) -> None:
    assert clean_text(text) == expected


@pytest.mark.parametrize("text", PRESERVED)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert clean_text(text) == text


def test_keep_newlines_false_turns_breaks_into_spaces() -> None:
    assert clean_text("a\nb\r\nc\rd", keep_newlines=False) == "a b c d"


@pytest.mark.parametrize(
    ("text", "max_chars", "expected"),
    [
        ("короткий", 20, "короткий"),
        ("ровно", 5, "ровно"),
        ("длинное сообщение", 8, "длинное…"),
        ("слово  пробелы", 8, "слово…"),
        ("abc", 1, "…"),
        ("abc", 0, ""),
        ("ок 👩\u200d💻", 5, "ок 👩💻"),
    ],
)
def test_truncation(text: str, max_chars: int, expected: str) -> None:
    assert clean_text(text, max_chars) == expected
    assert len(clean_text(text, max_chars)) <= max_chars


def test_one_line() -> None:
    assert one_line("  Привет,\n\n  как\tдела?\r\n ") == "Привет, как дела?"
    assert one_line("a\u00a0\u00a0b\u2028c") == "a b c"
    assert one_line("\x1b[2Jочень длинный текст", 10) == "очень дли…"


def test_fast_enough_for_every_card() -> None:
    text = "Здравствуйте! Заказ №4471, обещали за 45 минут. Сейчас 19:20, курьера нет 😡"
    runs = 20_000
    started = time.perf_counter()
    for _ in range(runs):
        clean_text(text)
    per_call = (time.perf_counter() - started) / runs
    # ~1 µs on a laptop; the bound only catches a regression to a slow per-character path.
    assert per_call < 25e-6


def _forbidden_in(text: str) -> set[str]:
    bad = {c for c in text if c in FORBIDDEN}
    bad |= {
        c for c in text if unicodedata.category(c) in ("Cf", "Co", "Cs", "Cn") and c != "\u200d"
    }
    return bad


hostile_chars = st.sampled_from(
    sorted(FORBIDDEN)
    + list("[]\\;0123456789mPX^_\u200d\u0301\ufe0f\u3164\n\r\t é😀👩💻")
    + ["\U000e0041", "\ue000", "\ud800", "\U0003ffff"]
)
texts = st.one_of(
    st.text(),
    st.text(alphabet=hostile_chars),
    st.lists(st.one_of(st.text(max_size=5), st.text(alphabet=hostile_chars, max_size=5))).map(
        "".join
    ),
)


@settings(max_examples=1000, deadline=None)
@given(text=texts, keep=st.booleans(), max_chars=st.none() | st.integers(0, 40))
@example(text="a\u0301\u0301\u0301\u0301\ufe0f\u200d😀", keep=True, max_chars=None)
@example(text="a\u0301\u0301\u0301\u200d\u0301\u0301\u0301", keep=True, max_chars=None)
@example(text="\x1b\x1b]0;x\x07[2J", keep=True, max_chars=None)
def test_property_safe_and_idempotent(text: str, keep: bool, max_chars: int | None) -> None:
    out = clean_text(text, max_chars, keep_newlines=keep)
    assert not _forbidden_in(out)
    assert "\t" not in out
    if not keep:
        assert "\n" not in out
    if max_chars is not None:
        assert len(out) <= max_chars
    assert clean_text(out, max_chars, keep_newlines=keep) == out


@settings(max_examples=500, deadline=None)
@given(text=texts, max_chars=st.none() | st.integers(1, 40))
def test_property_one_line(text: str, max_chars: int | None) -> None:
    out = one_line(text, max_chars)
    assert not _forbidden_in(out)
    assert "\n" not in out
    assert "  " not in out
    assert out == out.strip()
    assert one_line(out, max_chars) == out
