"""The one-line status bar: shop, each feed's state, counts, today's figures, overdue, and the
shop's clock.

When the line does not fit, it sheds detail in a fixed order (feed wording, counts, today's
figures in words, then the shop name, then today's figures) so the feed symbols, the overdue
count and the clock always stay visible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from textual.content import Content
from textual.widget import Widget

from feeds.base import FeedState, FeedStatus
from triage.clock import format_age
from triage.model import COLUMN_ORDER, Column
from triage.sanitize import one_line
from tui.strings import Strings

if TYPE_CHECKING:  # triage.stats brings numpy: the board imports it only when it counts
    from triage.stats import TodaySummary

FEED_SYMBOLS: Mapping[FeedState, str] = {
    FeedState.LIVE: "●",
    FeedState.CONNECTING: "◌",
    FeedState.RATE_LIMITED: "⏸",
    FeedState.AUTH_FAILED: "✗",
    FeedState.OFFLINE: "○",
    FeedState.ERROR: "✗",
    FeedState.STOPPED: "■",
}

FEED_STYLES: Mapping[FeedState, str] = {
    FeedState.LIVE: "$success",
    FeedState.CONNECTING: "$text-muted",
    FeedState.RATE_LIMITED: "$warning",
    FeedState.AUTH_FAILED: "$error bold",
    FeedState.OFFLINE: "$warning",
    FeedState.ERROR: "$error bold",
    FeedState.STOPPED: "$text-muted",
}

SEPARATOR = ("  │  ", "$text-muted")


@dataclass(slots=True)
class BoardSummary:
    shop: str
    timezone: ZoneInfo
    now: datetime
    feeds: dict[str, FeedStatus] = field(default_factory=dict)
    counts: dict[Column, int] = field(default_factory=dict)
    overdue: int = 0
    filter: str = ""
    # Today's arrivals: answered, median first response, breaches (refreshed by a worker).
    today: TodaySummary | None = None


def describe_feed(status: FeedStatus, summary: BoardSummary, strings: Strings) -> str:
    """The words for a feed's state, e.g. «лимит до 14:05» or «нет связи, повтор через 12 с»."""
    state = status.state
    if state is FeedState.RATE_LIMITED:
        if status.retry_at is None:
            text = strings.get("feed.rate_limited_plain")
        else:
            until = status.retry_at.astimezone(summary.timezone).strftime("%H:%M")
            text = strings.get("feed.rate_limited", time=until)
    elif state is FeedState.OFFLINE:
        if status.retry_at is None:
            text = strings.get("feed.offline_plain")
        else:
            seconds = max(0, math.ceil((status.retry_at - summary.now).total_seconds()))
            text = strings.get("feed.offline", seconds=seconds)
    else:
        text = strings.get(f"feed.{state.value}")
    if status.skipped > 0:
        text += ", " + strings.get("feed.skipped", count=status.skipped)
    return text


def summary_line(summary: BoardSummary, strings: Strings, width: int) -> Content:
    """The most detailed version of the line that fits `width`, the clock flush right."""
    for feed_words, counts, today, shop in (
        (True, True, "full", True),
        (True, False, "full", True),
        (False, False, "full", True),
        (False, False, "short", True),
        (False, False, "short", False),
        (False, False, "", False),
    ):
        left = _left(summary, strings, feed_words, shop)
        right = _right(summary, strings, counts, today)
        gap = width - left.cell_length - right.cell_length
        if gap >= 3:
            return Content.assemble(left, " " * gap, right)
    return Content.assemble(left, "   ", right).truncate(width, ellipsis=True)


def today_text(today: TodaySummary, strings: Strings, form: str) -> str:
    key = "status.today" if form == "full" else "status.today_short"
    median = today.median_first_response
    return strings.get(
        key,
        answered=today.answered,
        median="—" if median is None else format_age(timedelta(seconds=median), strings.language),
        breaches=today.breaches,
    )


Parts = list[str | Content | tuple[str, str]]


def _left(summary: BoardSummary, strings: Strings, feed_words: bool, shop: bool) -> Content:
    parts: Parts = [" "]
    if shop:
        parts += [(one_line(summary.shop, 40), "bold"), SEPARATOR]
    if not summary.feeds:
        parts.append((strings.get("status.no_feeds"), "$warning"))
    for position, (name, status) in enumerate(summary.feeds.items()):
        if position:
            parts.append("   ")
        style = FEED_STYLES.get(status.state, "")
        parts += [(one_line(name, 20) + " ", "bold"), (FEED_SYMBOLS.get(status.state, "?"), style)]
        # Words stay for anything not live: that is what the operator must notice.
        if feed_words or status.state is not FeedState.LIVE or status.skipped:
            parts.append((" " + describe_feed(status, summary, strings), style))
    return Content.assemble(*parts)


def _right(summary: BoardSummary, strings: Strings, counts: bool, today: str = "") -> Content:
    parts: Parts = []
    if counts:
        for column in COLUMN_ORDER:
            count = str(summary.counts.get(column, 0))
            parts += [column.title(strings.language) + " ", (count, "bold"), "  "]
        parts[-1] = SEPARATOR
    if today and summary.today is not None:
        style = "$warning" if summary.today.breaches else "$text-muted"
        parts += [(today_text(summary.today, strings, today), style), SEPARATOR]
    if summary.overdue:
        # «!» as well as red: NO_COLOR terminals must still see it.
        overdue = "! " + strings.get("status.overdue", count=summary.overdue)
        parts += [(overdue, "$error bold"), SEPARATOR]
    if summary.filter:
        query = one_line(summary.filter, 30)
        parts += [(strings.get("status.filter", query=query), "$accent"), SEPARATOR]
    clock = summary.now.astimezone(summary.timezone).strftime("%H:%M")
    parts += [(clock, "bold"), " "]
    return Content.assemble(*parts)


def _visible(summary: BoardSummary) -> tuple[object, ...]:
    minute = summary.now.replace(second=0, microsecond=0)
    # Offline feeds count down in seconds, so then every second shows.
    if any(s.state is FeedState.OFFLINE and s.retry_at for s in summary.feeds.values()):
        minute = summary.now
    return (
        minute,
        summary.feeds,
        summary.counts,
        summary.overdue,
        summary.filter,
        summary.shop,
        summary.today,
    )


class StatusBar(Widget):
    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")

    def __init__(self, strings: Strings, summary: BoardSummary, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.strings = strings
        self.summary = summary

    def update_summary(self, summary: BoardSummary) -> None:
        # Compared at minute precision: the line shows HH:MM, and a repaint costs a frame.
        if _visible(summary) != _visible(self.summary):
            self.refresh()
        self.summary = summary

    def render(self) -> Content:
        return summary_line(self.summary, self.strings, self.size.width)
