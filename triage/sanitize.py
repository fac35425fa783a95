"""The one place hostile text is made safe for a terminal.

Customer text is attacker-controlled: an escape sequence can retitle the window, plant an OSC 8
hyperlink, clear the screen or move the cursor over other cards; bidi overrides and zero-width
characters can make a message read differently from what it contains; a flood of combining marks
can smear over neighbouring lines. `clean_text` removes all of that and leaves ordinary text,
emoji included, untouched. It runs for every card render, so the common case (nothing to do) is
`str.isprintable` plus one character-class scan, about a microsecond for a short message, and
every pattern is compiled once at import.

Nothing here knows about Textual markup: widgets render the result as plain `Content`.

`printable_json` is the counterpart for JSON the command line prints: the text stays exact, but
every invisible or control character in it is written as a \\u escape.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable

__all__ = ["MAX_COMBINING", "clean_text", "one_line", "printable_json"]

# Combining marks kept on one base. Real scripts stack at most two or three (Vietnamese tone +
# vowel mark, Thai vowel + tone, keycap VS16 + U+20E3); more is "Zalgo" text.
MAX_COMBINING = 3

ELLIPSIS = "…"
_REPLACEMENT = "\ufffd"

# With `max_chars`, a long text is cleaned from a window at its start, not whole: a pasted 1 MB
# log costs ~100 ms to clean, and a card or the detail pane only shows the start of it. The
# window is this many times `max_chars` (escapes, marks and blank runs shrink a text); if what
# it cleans to is not longer than `max_chars`, the whole text is cleaned after all.
_WINDOW_FACTOR = 4
_MIN_WINDOW = 4096
# Long texts cut for display are cleaned once per (text, options), not on every redraw: the
# detail pane rebuilds once a second, and a 1 MB flood of combining marks takes ~150 ms however
# it is windowed. Strings cache their hash, so a hit on the same text object costs a dict lookup;
# only the cut results (at most `max_chars` each) are kept.
_CACHE_FROM = 4096
_CACHE_SIZE = 64

# Characters that render as blank but are letters, used to fake empty messages or names.
_HANGUL_FILLERS = "\u115f\u1160\u3164\uffa0"

# Python's re tests a character class as a bitmap for BMP code points but as a linear list of
# ranges for astral ones, tried on every miss: a class with hundreds of astral ranges costs tens of
# microseconds per message. So the big classes are BMP-only, astral code points are checked by
# `unicodedata.category` in a callback (emoji are their only common case), and astral marks are
# guarded by a one-range lookahead.
_ASTRAL = r"\U00010000-\U0010ffff"


def _ranges(codes: list[int]) -> str:
    """A regex character-class body for sorted code points, as escaped ranges."""
    parts: list[str] = []
    start = prev = -2
    for code in [*codes, -1]:
        if code == prev + 1:
            prev = code
            continue
        if start >= 0:
            parts.append(re.escape(chr(start)))
            if prev > start:
                parts.append("-" + re.escape(chr(prev)))
        start = prev = code
    return "".join(parts)


def _build_classes() -> tuple[str, str, str, str]:
    drop: list[int] = []  # invisible: format characters and controls
    replace: list[int] = []  # unassigned, private use, surrogates: shown as U+FFFD
    marks: list[int] = []  # combining marks, for flood capping
    astral_marks: list[int] = []
    for code in range(0x10000):
        category = unicodedata.category(chr(code))
        if category == "Cf" or (category == "Cc" and code not in (9, 10)):
            drop.append(code)
        elif category in _REPLACED_CATEGORIES:
            replace.append(code)
        elif category in _MARK_CATEGORIES:
            marks.append(code)
    drop.extend(ord(c) for c in _HANGUL_FILLERS)
    # Planes 4-13 are unassigned and 15-16 private use: no marks there.
    for low, high in ((0x10000, 0x40000), (0xE0000, 0xE1000)):
        astral_marks.extend(
            code for code in range(low, high) if unicodedata.category(chr(code)) in _MARK_CATEGORIES
        )
    return _ranges(sorted(drop)), _ranges(replace), _ranges(marks), _ranges(astral_marks)


_REPLACED_CATEGORIES = frozenset({"Cn", "Co", "Cs"})
_MARK_CATEGORIES = frozenset({"Mn", "Me"})
_DROP_CLASS, _REPLACE_CLASS, _MARK_CLASS, _ASTRAL_MARK_CLASS = _build_classes()
_MARK = rf"(?:[{_MARK_CLASS}]|(?=[{_ASTRAL}])[{_ASTRAL_MARK_CLASS}])"

_C1_STRING_INTRO = r"\x90\x98\x9d\x9e\x9f"  # 8-bit DCS, SOS, OSC, PM, APC
_STRING_END = r"(?:\x07|\x9c|\x1b\\)"
# Control strings run to their terminator; an unterminated one swallows the rest of the text,
# as the terminal itself would. An ESC inside one ends it and starts the next sequence.
_ESCAPES = re.compile(
    r"\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"  # CSI
    rf"|\x1b[\]PX^_][^\x07\x1b\x9c]*{_STRING_END}?"  # OSC (incl. OSC 8 links), DCS, SOS, PM, APC
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]"  # two-character and nF sequences: ESC c, ESC 7, ESC ( B
    r"|\x9b[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"  # 8-bit CSI
    rf"|[{_C1_STRING_INTRO}][^\x07\x1b\x9c]*{_STRING_END}?"
)
_HAS_ESCAPE = re.compile(rf"[\x1b\x9b{_C1_STRING_INTRO}]")

# A bare CR returns the cursor to column 0 and lets a line overwrite itself; VT, FF, NEL and the
# Unicode separators break lines in some renderers and not others. All become plain newlines.
_BREAKS_TO_NEWLINE = re.compile(r"\r\n?|[\v\f\x85\u2028\u2029]")
_BREAKS_TO_SPACE = re.compile(r"\r\n?|[\n\v\f\x85\u2028\u2029]")
_DROP = re.compile(f"[{_DROP_CLASS}]+")
_REPLACE = re.compile(f"[{_REPLACE_CLASS}]")
_ASTRAL_CHAR = re.compile(f"[{_ASTRAL}]")
_MARK_FLOOD = re.compile(f"({_MARK}{{{MAX_COMBINING}}}){_MARK}+")
# Hundreds of blank lines would push the rest of a message out of the detail view.
_BLANK_RUN = re.compile(r"\n(?:[^\S\n]*\n){2,}")

# Cheap prefilters for the rare cases `str.isprintable` (C speed) does not catch: one class test
# per character each, where the exact `_MARK` alternation costs several times more.
_MAYBE_SPECIAL = re.compile(f"[{_MARK_CLASS}{_ASTRAL}{_HANGUL_FILLERS}]")
_FILLER = re.compile(f"[{_HANGUL_FILLERS}]")
_MAYBE_MARK_RUN = re.compile(f"[{_MARK_CLASS}{_ASTRAL}]{{{MAX_COMBINING + 1}}}")
_MARK_RUN = re.compile(f"{_MARK}{{{MAX_COMBINING + 1}}}")


def clean_text(text: str, max_chars: int | None = None, *, keep_newlines: bool = True) -> str:
    """Return `text` with everything that could act on a terminal or deceive the reader removed.

    Escape sequences go whole (7- and 8-bit CSI, OSC incl. hyperlinks, DCS/SOS/PM/APC, two-char
    ESC), then remaining controls, bidi and other format characters (U+200D too: terminals draw a
    ZWJ emoji sequence as its parts while Rich measures it as one, which breaks the layout),
    Hangul fillers; unassigned, private-use and surrogate code points become U+FFFD;
    runs of combining marks are capped at MAX_COMBINING. Tabs become a space because their width
    depends on the cursor column, which breaks cell layout. CR, VT, FF, NEL, U+2028/9 become
    newlines; with `keep_newlines=False` every line break becomes a space, otherwise runs of
    blank lines shrink to one. `max_chars` caps the length in code points, ending in "…".

    The result is idempotent: clean_text(clean_text(s)) == clean_text(s).
    """
    if max_chars is not None and len(text) > _CACHE_FROM:
        return _clean_long(text, max_chars, keep_newlines)
    return _truncate(_clean_all(text, keep_newlines), max_chars)


def one_line(text: str, max_chars: int | None = None) -> str:
    """`clean_text` for card previews: all whitespace runs, newlines included, become one space."""
    if max_chars is not None and len(text) > _CACHE_FROM:
        return _one_line_long(text, max_chars)
    return _truncate(_one_line_all(text), max_chars)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _clean_long(text: str, max_chars: int, keep_newlines: bool) -> str:
    return _bounded(text, max_chars, lambda part: _clean_all(part, keep_newlines))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _one_line_long(text: str, max_chars: int) -> str:
    return _bounded(text, max_chars, _one_line_all)


def _clean_all(text: str, keep_newlines: bool) -> str:
    return _clean(text, keep_newlines) if _needs_work(text, keep_newlines) else text


def _one_line_all(text: str) -> str:
    # str.split() splits on the same Unicode whitespace as \s and drops the ends, at C speed.
    return " ".join(_clean_all(text, False).split())


def _bounded(text: str, max_chars: int | None, transform: Callable[[str], str]) -> str:
    """`_truncate(transform(text), max_chars)`, transforming only as much of a long text as
    the cut keeps. Cleaning a prefix is as safe as cleaning the whole (the result is the
    transform's output either way); only where a prefix ends inside an escape or a mark run
    can the last characters before the cut differ from a whole-text clean."""
    if max_chars is not None:
        window = max(_MIN_WINDOW, max_chars * _WINDOW_FACTOR)
        if window < len(text):
            part = transform(text[:window])
            if len(part) > max_chars:
                return _truncate(part, max_chars)
    return _truncate(transform(text), max_chars)


def _needs_work(text: str, keep_newlines: bool) -> bool:
    # isprintable() is False for every Cc, Cf, Cn, Co, Cs, Zl, Zp and non-ASCII space: a superset
    # of what is removed (no-break spaces send a text down the slow path needlessly, harmlessly).
    if keep_newlines and "\n" in text:
        if not text.replace("\n", " ").isprintable():
            return True
        if text.count("\n") > 2 and _BLANK_RUN.search(text) is not None:
            return True
    elif not text.isprintable():
        return True
    first = _MAYBE_SPECIAL.search(text)
    if first is None:
        return False
    return _FILLER.search(text, first.start()) is not None or _has_mark_run(text, first.start())


def _has_mark_run(text: str, start: int = 0) -> bool:
    maybe = _MAYBE_MARK_RUN.search(text, start)
    return maybe is not None and _MARK_RUN.search(text, maybe.start()) is not None


def _clean(text: str, keep_newlines: bool) -> str:
    if _HAS_ESCAPE.search(text) is not None:
        text = _ESCAPES.sub("", text)
    breaks, line_break = (_BREAKS_TO_NEWLINE, "\n") if keep_newlines else (_BREAKS_TO_SPACE, " ")
    text = breaks.sub(line_break, text).replace("\t", " ")
    text = _DROP.sub("", text)
    text = _REPLACE.sub(_REPLACEMENT, text)
    if not text.isascii():
        text = _ASTRAL_CHAR.sub(_fix_astral, text)
    if _has_mark_run(text):
        text = _MARK_FLOOD.sub(r"\1", text)
    if keep_newlines and text.count("\n") > 2:
        text = _BLANK_RUN.sub("\n\n", text)
    return text


def _fix_astral(match: re.Match[str]) -> str:
    char = match.group()
    category = unicodedata.category(char)
    if category == "Cf":  # tag characters (ASCII smuggling), musical/Egyptian format controls
        return ""
    if category in _REPLACED_CATEGORIES:
        return _REPLACEMENT
    return char


def _truncate(text: str, max_chars: int | None) -> str:
    if max_chars is None or len(text) <= max_chars:
        return text
    if max_chars <= 0:
        return ""
    # A ZWJ left dangling before "…" would be stripped by the next clean, breaking idempotence.
    return text[: max_chars - 1].rstrip() + ELLIPSIS


def printable_json(text: str) -> str:
    """JSON text with each non-printable character outside the layout's own newlines written
    as a JSON escape: the same value once parsed, nothing a terminal would act on."""
    lines = text.split("\n")
    if all(line.isprintable() for line in lines):
        return text
    return "\n".join(
        "".join(char if char.isprintable() else _json_escape(char) for char in line)
        for line in lines
    )


def _json_escape(character: str) -> str:
    code = ord(character)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON spells astral code points as a surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
