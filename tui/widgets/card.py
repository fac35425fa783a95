"""One mention as a fixed-height card of Strips, for the column's Line API.

Pure functions of (mention, width, age, styles), so the column can cache the result and tests
can read the lines as text. Customer text is sanitised here and only ever becomes Segments:
nothing on a card is parsed as markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from triage.board import AgeLevel
from triage.model import Kind, Mention, Status
from triage.sanitize import one_line
from tui.strings import Strings

# Four lines of card and a blank separator.
CARD_HEIGHT = 5
TEXT_LINES = 2
ELLIPSIS = "…"

NETWORK_BADGES: Mapping[str, str] = {
    "vk": "VK",
    "telegram": "TG",
    "tg": "TG",
    "x": "X",
    "twitter": "X",
}

Part = tuple[str, Style]


@dataclass(frozen=True, slots=True)
class CardStyles:
    """Rich styles resolved from the column's component classes (theme- and NO_COLOR-aware)."""

    base: Style
    selected: Style
    badge: Style
    author: Style
    meta: Style
    text: Style
    tag: Style
    state: Style
    warning: Style
    marker: Style
    ages: Mapping[AgeLevel, Style]


@dataclass(frozen=True, slots=True)
class CardFrame:
    """What a card depends on besides the mention itself."""

    width: int
    age: str
    level: AgeLevel
    selected: bool
    active: bool


def network_badge(network: str) -> str:
    return NETWORK_BADGES.get(network.lower(), one_line(network, 3).upper() or "?")


def format_followers(count: int, strings: Strings) -> str:
    """12400 -> «12,4 тыс.» in Russian, "12.4K" in English."""
    decimal = "," if strings.language == "ru" else "."
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        value, key = count / 1000, "followers.thousands"
    else:
        value, key = count / 1_000_000, "followers.millions"
    text = f"{value:.0f}" if value >= 100 else f"{value:.1f}".rstrip("0").rstrip(".")
    return strings.get(key, value=text.replace(".", decimal))


def kind_label(kind: Kind, strings: Strings) -> str:
    return strings.get(f"kind.{kind.value}")


def delivery_label(delivery: str | None, strings: Strings) -> tuple[str, bool] | None:
    """The card's delivery note and whether it is a warning; None when nothing to say."""
    if delivery is None or delivery in ("sent", "cancelled"):
        return None
    if delivery == "queued":
        # Waiting out the undo window: `u` can still take it back.
        return strings.get("card.queued"), False
    if delivery == "sending":
        return strings.get("card.sending"), False
    if delivery == "unknown":
        return strings.get("card.unknown"), True
    if delivery.startswith("failed"):
        error = one_line(delivery.removeprefix("failed").lstrip(": "), 60)
        return strings.get("card.failed", error=error), True
    return one_line(delivery, 60), False


def state_labels(
    mention: Mention, team_titles: Mapping[str, str], strings: Strings
) -> list[tuple[str, bool]]:
    labels: list[tuple[str, bool]] = []
    if mention.status is Status.REDIRECTED and mention.team:
        team = team_titles.get(mention.team, mention.team)
        labels.append((strings.get("card.redirected", team=one_line(team, 40)), False))
    elif mention.status is Status.REPLIED:
        labels.append((strings.get("card.replied"), False))
    elif mention.status is Status.ACKNOWLEDGED:
        labels.append((strings.get("card.acknowledged"), False))
    if mention.unknown_replies and mention.delivery != "unknown":
        # An earlier reply's outcome is unknown: a later reply's state must not hide that.
        labels.append((strings.get("card.unknown"), True))
    delivery = delivery_label(mention.delivery, strings)
    if delivery is not None:
        labels.append(delivery)
    return labels


def wrap_cells(text: str, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap by terminal cells; the last line ends in «…» if text was cut."""
    if width <= 0:
        return [""] * max_lines
    lines: list[str] = []
    current = ""
    words = text.split(" ")
    index = 0
    while index < len(words) and len(lines) < max_lines:
        word = words[index]
        candidate = f"{current} {word}" if current else word
        if cell_len(candidate) <= width:
            current = candidate
            index += 1
            continue
        if not current:
            # A word wider than the line: break it by cells.
            head = _cut_cells(word, width)
            lines.append(head)
            words[index] = word[len(head) :]
            continue
        lines.append(current)
        current = ""
    cut = index < len(words)
    if current and len(lines) < max_lines:
        lines.append(current)
    elif current:
        cut = True
    if cut and lines:
        last = lines[-1]
        if cell_len(last) + 1 > width:
            last = _cut_cells(last, width - 1)
        lines[-1] = last + ELLIPSIS
    return lines + [""] * (max_lines - len(lines))


def _cut_cells(text: str, width: int) -> str:
    """The longest prefix of `text` that fits in `width` cells (at least one character)."""
    total = 0
    for position, character in enumerate(text):
        total += cell_len(character)
        if total > width:
            return text[: max(position, 1)]
    return text


def render_card(
    mention: Mention,
    frame: CardFrame,
    styles: CardStyles,
    strings: Strings,
    team_titles: Mapping[str, str],
) -> list[Strip]:
    """The card's CARD_HEIGHT lines, each exactly `frame.width` cells wide."""
    width = frame.width
    if frame.selected:
        line_style = styles.base + styles.selected if frame.active else styles.base
        gutter: Part = ("▌" if frame.active else "▏", line_style + styles.marker)
    else:
        line_style = styles.base
        gutter = (" ", line_style)
    inner = max(1, width - 2)

    header = _header(mention, inner, line_style, styles, strings)

    text_lines = wrap_cells(one_line(mention.text, 2000), inner, TEXT_LINES)

    age_style = line_style + styles.ages.get(frame.level, styles.meta)
    footer: list[Part] = []
    if frame.level is AgeLevel.BREACH:
        # Not colour alone: NO_COLOR terminals still see which ones are late.
        footer.append(("! ", age_style))
    footer.append((frame.age, age_style))
    for label, warning in state_labels(mention, team_titles, strings):
        footer.append(("  " + label, line_style + (styles.warning if warning else styles.state)))
    if mention.tags:
        tags = " ".join("#" + one_line(tag, 30).lstrip("#") for tag in mention.tags)
        footer.append(("  " + tags, line_style + styles.tag))

    body = [
        _line(gutter, header, width, line_style),
        *(
            _line(gutter, [(text, line_style + styles.text)], width, line_style)
            for text in text_lines
        ),
        _line(gutter, footer, width, line_style),
    ]
    return [*body, Strip.blank(width, styles.base)]


def _header(
    mention: Mention, room: int, line_style: Style, styles: CardStyles, strings: Strings
) -> list[Part]:
    """Network, kind and name always; then @handle, followers and city as they fit. A detail
    that does not fit is left out whole: «· 312 · Моск…» or «@bigcityf…» helps nobody."""
    author = mention.author
    meta = line_style + styles.meta
    header: list[Part] = [
        (network_badge(mention.network), line_style + styles.badge),
        (" " + kind_label(mention.kind, strings), meta),
        (" " + one_line(author.name, 60), line_style + styles.author),
    ]
    # (position on the line, part), listed in the order they are given up: city first, then
    # the handle; the follower count goes last, since it says how far an answer carries.
    optional: list[tuple[int, Part]] = []
    if author.city:
        optional.append((2, (" · " + one_line(author.city, 40), meta)))
    if author.handle:
        optional.append((0, (" @" + one_line(author.handle, 40).lstrip("@"), meta)))
    if author.followers is not None:
        optional.append((1, (" · " + format_followers(author.followers, strings), meta)))
    used = sum(cell_len(text) for text, _ in header)
    while optional and used + sum(cell_len(part[0]) for _, part in optional) > room:
        optional.pop(0)
    return header + [part for _, part in sorted(optional, key=lambda entry: entry[0])]


def _line(gutter: Part, parts: Sequence[Part], width: int, fill: Style) -> Strip:
    inner = max(0, width - 2)
    segments = [Segment(*gutter), Segment(" ", fill)]
    used = 0
    for text, style in parts:
        size = cell_len(text)
        if used + size > inner:
            room = inner - used
            if room > 0:
                segments.append(Segment(_cut_cells(text, room - 1) + ELLIPSIS, style))
            used = inner + 1
            break
        segments.append(Segment(text, style))
        used += size
    return Strip(segments).adjust_cell_length(width, fill)


def plain_lines(strips: Sequence[Strip]) -> list[str]:
    """The text of rendered strips, for tests and debugging."""
    return [strip.text for strip in strips]
