"""`S`: shift analytics for today, 7 days, 30 days or a custom range.

The figures come from triage.stats, computed in a thread worker (a month of a busy shop takes
a second or two) while the screen says «считаю…». Charts are block characters rendered as
plain Content, so they read at 80x24, in any theme and without colour:

    volume per hour   ▁▃▅█▇▅   one column per hour, eighth-blocks for height
    response times    ████▌    a horizontal bar per bucket
    SLA per day       ██████░░ 92%   kept share of each day
    hour of the week  ░▒▓█     a 7x24 shade map, to plan shifts

Customer text (the breach list) and operator-typed names go through `one_line`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar, Protocol

from rich.cells import cell_len
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.events import Resize
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from triage.model import COLUMN_ORDER
from triage.sanitize import one_line
from triage.stats import (
    Report,
    StatsSettings,
    StatsSource,
    build_report,
    day_range,
    format_seconds,
    parse_day_range,
    preset_range,
    round_duration,
)
from tui.strings import Strings

PRESETS = ("today", "7d", "30d")
RANGE_KEYS = {"today": "1", "7d": "2", "30d": "3", "custom": "4"}
EIGHTHS = " ▏▎▍▌▋▊▉"
LEVELS = " ▁▂▃▄▅▆▇█"
SHADES = "░▒▓█"
MAX_WIDTH = 100  # wider terminals get the same layout, not longer bars
CHART_HEIGHT = 5
BREACHES_SHOWN = 10

Parts = list[str | Content | tuple[str, str]]


class ClosableSource(StatsSource, Protocol):
    def close(self) -> None: ...


# -- numbers and charts ------------------------------------------------------------------------


def number(value: int, language: str) -> str:
    """1 234 in Russian (a no-break space), 1,234 in English."""
    text = f"{value:,}"
    return text.replace(",", "\u00a0") if language == "ru" else text


_DAY_NAMES = {
    "ru": {
        "mon": "пн",
        "tue": "вт",
        "wed": "ср",
        "thu": "чт",
        "fri": "пт",
        "sat": "сб",
        "sun": "вс",
    },
}


def hours_label(hours: str, strings: Strings) -> str:
    """Working hours as the config spells them, day names in the UI language."""
    if hours == "24/7":
        return strings.get("stats.clock.always")
    names = _DAY_NAMES.get(strings.language, {})
    for english, local in names.items():
        hours = hours.replace(english, local)
    return one_line(hours, 70)


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f}%"


def hbar(value: float, maximum: float, width: int) -> str:
    """A horizontal bar `width` cells long at `maximum`, in eighths of a cell."""
    if maximum <= 0 or width <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / maximum * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[part] if part else "")


def column_chart(values: Sequence[int], height: int, cell: int) -> list[str]:
    """Rows, top first, of one vertical bar per value; any value above 0 shows."""
    top = max(values, default=0)
    if top <= 0:
        return [" " * (cell * len(values))] * height
    eighths = [max(1, round(v / top * height * 8)) if v > 0 else 0 for v in values]
    rows: list[str] = []
    for row in range(height):
        floor = (height - 1 - row) * 8
        rows.append("".join(LEVELS[max(0, min(8, e - floor))] * (cell - 1) + " " for e in eighths))
    return rows


def shade(value: int, top: int) -> str:
    if value <= 0 or top <= 0:
        return "  "
    level = min(len(SHADES), math.ceil(value / top * len(SHADES)))
    return SHADES[level - 1] * 2


# -- the screen's content ----------------------------------------------------------------------


class StatsView:
    """Renders a Report for the screen: a pure function of the report, strings and width."""

    def __init__(
        self, report: Report, strings: Strings, width: int, teams: dict[str, str] | None = None
    ) -> None:
        self.report = report
        self.strings = strings
        self.language = strings.language
        self.width = max(40, min(width, MAX_WIDTH))
        self.teams = teams or {}
        self.tz = report.since.tzinfo

    def age(self, seconds: float | None) -> str:
        return format_seconds(seconds, self.language)

    def bound(self, seconds: float) -> str:
        return round_duration(seconds, self.language)

    def n(self, value: int) -> str:
        return number(value, self.language)

    def local(self, moment: datetime, fmt: str) -> str:
        return moment.astimezone(self.tz).strftime(fmt)

    def weekday(self, moment: datetime) -> str:
        return self.strings.get("stats.weekdays").split()[moment.astimezone(self.tz).weekday()]

    def content(self) -> Content:
        report = self.report
        parts: Parts = []
        parts += self.summary()
        if report.incoming == 0:
            parts += ["\n", (self.strings.get("stats.empty"), "$text-muted")]
            return Content.assemble(*parts)
        for section in (
            self.hours_chart,
            self.histogram,
            self.sla_series,
            self.complaints,
            self.week_map,
            self.counts,
            self.operators,
            self.spikes,
            self.breaches,
        ):
            parts += ["\n"]
            parts += section()
        return Content.assemble(*parts)

    def title(self, key: str, **values: object) -> Parts:
        return [(self.strings.get(key, **values) + "\n", "bold $accent")]

    def summary(self) -> Parts:
        r, s = self.report, self.strings
        sla = r.sla
        line1: Parts = [(s.get("stats.incoming", count=self.n(r.incoming)), "bold")]
        line1 += [" · ", s.get("stats.answered", count=self.n(sla.answered))]
        waiting = sla.pending + sla.waiting_past_breach
        if waiting:
            line1 += [" · ", s.get("stats.waiting", count=self.n(waiting))]
        if sla.closed_unanswered:
            line1 += [" · ", s.get("stats.closed_unanswered", count=self.n(sla.closed_unanswered))]
        first = r.first_response
        parts: Parts = [*line1, "\n"]
        parts.append(
            s.get(
                "stats.first_response",
                median=self.age(first.median),
                p90=self.age(first.p90),
                mean=self.age(first.mean),
            )
            + "\n"
        )
        parts.append(
            s.get(
                "stats.to_done",
                median=self.age(r.time_to_done.median),
                p90=self.age(r.time_to_done.p90),
            )
            + "\n"
        )
        parts.append(
            s.get(
                "stats.sla",
                warn=self.bound(r.warn_after),
                kept_warn=percent(sla.kept_warn),
                breach=self.bound(r.breach_after),
                kept_breach=percent(sla.kept_breach),
            )
        )
        parts += [
            " · ",
            (s.get("stats.breaches", count=self.n(sla.breaches)), _alarm(sla.breaches)),
        ]
        parts.append("\n")
        if r.spikes:
            shown = ", ".join(self.local(x.start, "%d.%m %H:%M") for x in r.spikes[:3])
            if len(r.spikes) > 3:
                shown += ", " + s.get("stats.more", count=len(r.spikes) - 3)
            parts.append(("! " + s.get("stats.spikes_line", spikes=shown) + "\n", "$error bold"))
        parts.append((s.get("stats.clock", hours=hours_label(r.hours, s)) + "\n", "$text-muted"))
        return parts

    def hours_chart(self) -> Parts:
        values = list(self.report.hour_of_day)
        today = self.report.until - self.report.since <= timedelta(days=1)
        top = max(values, default=0)
        label = len(self.n(top)) + 1
        cell = 3 if self.width >= 24 * 3 + label else 2
        parts = self.title("stats.section.hours_today" if today else "stats.section.hours_range")
        for index, row in enumerate(column_chart(values, CHART_HEIGHT, cell)):
            axis = self.n(top) if index == 0 else ("0" if index == CHART_HEIGHT - 1 else "")
            parts += [(axis.rjust(label - 1) + "┤", "$text-muted"), (row.rstrip(), "$accent"), "\n"]
        ticks = "".join(f"{hour:02d}".ljust(cell * 3) for hour in range(0, 24, 3))
        parts += [(" " * label + ticks.rstrip() + "\n", "$text-muted")]
        return parts

    def histogram(self) -> Parts:
        bins = self.report.response_histogram
        total = sum(b.count for b in bins)
        labels = [
            self.strings.get("stats.histogram.upto", upto=self.bound(b.upto))
            if b.upto is not None
            else self.strings.get("stats.histogram.longer")
            for b in bins
        ]
        label_width = max(len(text) for text in labels) + 1
        top = max((b.count for b in bins), default=0)
        bar_width = self.width - label_width - 16
        parts = self.title("stats.section.histogram")
        for text, b in zip(labels, bins, strict=True):
            style = "$error" if b.upto is None or b.upto > self.report.breach_after else "$accent"
            if b.upto is not None and b.upto <= self.report.warn_after:
                style = "$success"
            share = percent(b.count / total) if total else "—"
            parts += [
                text.ljust(label_width),
                (hbar(b.count, top, bar_width).ljust(bar_width), style),
                f" {self.n(b.count):>8} {share:>4}\n",
            ]
        return parts

    def sla_series(self) -> Parts:
        r = self.report
        hourly = r.granularity == "hour"
        key = "stats.section.sla_hours" if hourly else "stats.section.sla_days"
        parts = self.title(key, breach=self.bound(r.breach_after))
        label_width = 6 if hourly else 9
        bar_width = self.width - label_width - 22
        for point in r.series:
            if not point.incoming:
                continue
            if hourly:
                label = self.local(point.start, "%H:%M")
            else:
                label = f"{self.weekday(point.start)} {self.local(point.start, '%d.%m')}"
            kept = point.sla.kept_breach
            filled = round((kept or 0) * bar_width)
            parts += [
                label.ljust(label_width),
                ("█" * filled, "$success"),
                ("░" * (bar_width - filled), "$error" if kept is not None else "$text-muted"),
                f" {percent(kept):>4}",
            ]
            if point.sla.breaches:
                parts.append((f"  ✗{self.n(point.sla.breaches)}", "$error"))
            parts.append("\n")
        return parts

    def complaints(self) -> Parts:
        terms = self.report.complaints
        title = self.strings.get("stats.section.complaints")
        if terms.sampled < terms.total:
            sample = self.strings.get(
                "stats.sampled", sampled=self.n(terms.sampled), total=self.n(terms.total)
            )
            title += f" ({sample})"
        parts: Parts = [(title + "\n", "bold $accent")]
        if not terms.words:
            return [*parts, (self.strings.get("stats.none") + "\n", "$text-muted")]
        half = min(36, (self.width - 2) // 2)

        def cells(found: Sequence[tuple[str, int]], width: int) -> list[str]:
            out: list[str] = []
            for term, count in found[:10]:
                text, value = one_line(term, width - 9), self.n(count)
                out.append(text + " " * max(1, width - 2 - cell_len(text) - len(value)) + value)
            return out

        words = cells(terms.words, half)
        phrases = cells(terms.phrases, half)
        parts += [
            (self.strings.get("stats.words").ljust(half), "bold"),
            (self.strings.get("stats.phrases"), "bold"),
            "\n",
        ]
        for index in range(max(len(words), len(phrases))):
            left = words[index] if index < len(words) else ""
            right = phrases[index] if index < len(phrases) else ""
            parts += [left + " " * (half - cell_len(left)), right, "\n"]
        return parts

    def week_map(self) -> Parts:
        rows = self.report.hour_of_week
        top = max((max(row) for row in rows), default=0)
        days = self.strings.get("stats.weekdays").split()
        parts = self.title("stats.section.week")
        ticks = "".join(f"{hour:02d}".ljust(6) for hour in range(0, 24, 3))
        parts += [("   " + ticks.rstrip() + "\n", "$text-muted")]
        for day, row in zip(days, rows, strict=True):
            cells = "".join(shade(value, top) for value in row)
            parts += [(day + " ", "$text-muted"), (cells, "$accent"), "\n"]
        legend = "  ".join(
            f"{SHADES[i]} ≤{self.n(math.ceil(top * (i + 1) / len(SHADES)))}"
            for i in range(len(SHADES))
        )
        parts += [("   " + legend + "\n", "$text-muted")]
        return parts

    def counts(self) -> Parts:
        r, s = self.report, self.strings
        parts = self.title("stats.section.counts")
        columns = " · ".join(
            f"{column.title(self.language)} {self.n(r.by_column.get(column.value, 0))}"
            for column in COLUMN_ORDER
        )
        parts.append(columns + "\n")
        for key, counts, names in (
            ("stats.counts.networks", r.by_network, {}),
            ("stats.counts.kinds", r.by_kind, {k: s.get(f"kind.{k}") for k in r.by_kind}),
            ("stats.counts.tags", r.by_tag, {}),
            ("stats.counts.teams", r.by_team, self.teams),
        ):
            shown = [
                f"{one_line(names.get(name, name), 24)} {self.n(count)}"
                for name, count in counts.items()
                if count
            ]
            if shown:
                parts += [(s.get(key) + ": ", "$text-muted"), " · ".join(shown[:8]), "\n"]
        return parts

    def operators(self) -> Parts:
        parts = self.title("stats.section.operators")
        if not self.report.operators:
            return [*parts, (self.strings.get("stats.none") + "\n", "$text-muted")]
        # One word per column: the header is laid out by the same widths as the rows.
        header = self.strings.get("stats.operators.header").split()
        parts.append((_operator_row(*header) + "\n", "$text-muted"))
        for o in self.report.operators:
            kept = o.sla.within_breach / o.sla.answered if o.sla.answered else None
            first = o.first_response
            row = _operator_row(
                one_line(o.operator, 18),
                self.n(first.count),
                self.age(first.median),
                self.age(first.p90),
                self.age(first.mean),
                percent(kept),
            )
            parts.append(row + "\n")
        return parts

    def spikes(self) -> Parts:
        parts = self.title("stats.section.spikes")
        if not self.report.spikes:
            return [*parts, (self.strings.get("stats.none") + "\n", "$text-muted")]
        for spike in self.report.spikes:
            text = self.strings.get(
                "stats.spike",
                when=self.local(spike.start, "%d.%m %H:%M"),
                count=self.n(spike.count),
                baseline=f"{spike.baseline:g}",
            )
            parts.append(("! " + text + "\n", "$error"))
        return parts

    def breaches(self) -> Parts:
        r = self.report
        parts = self.title("stats.section.breaches")
        if not r.breaches:
            return [*parts, (self.strings.get("stats.none") + "\n", "$text-muted")]
        for b in r.breaches[:BREACHES_SHOWN]:
            if b.first_response_at is None:
                state = self.strings.get("stats.breach.waiting", age=self.age(b.waited))
            else:
                who = one_line(b.operator or "—", 20)
                state = self.strings.get(
                    "stats.breach.answered", age=self.age(b.waited), operator=who
                )
            head = f"{self.local(b.created_at, '%d.%m %H:%M')} {one_line(b.network, 10)}"
            text = one_line(b.text, max(10, self.width - len(head) - len(state) - 6))
            parts += [(head + " ", "$text-muted"), (state, "$error"), f"  «{text}»\n"]
        if r.sla.breaches > BREACHES_SHOWN:
            more = self.strings.get("stats.more", count=self.n(r.sla.breaches - BREACHES_SHOWN))
            parts.append((more + "\n", "$text-muted"))
        return parts


def _operator_row(name: str, answered: str, median: str, p90: str, mean: str, kept: str) -> str:
    name += " " * max(0, 18 - cell_len(name))  # an emoji in a name takes two cells
    return f"{name} {answered:>9} {median:>9} {p90:>8} {mean:>9} {kept:>5}"


def _alarm(count: int) -> str:
    return "$error bold" if count else "$success"


def tabs_content(strings: Strings, current: str, custom_label: str | None, busy: bool) -> Content:
    parts: Parts = [(strings.get("stats.title"), "bold"), "  "]
    for name in (*PRESETS, "custom"):
        label = strings.get(f"stats.range.{name}")
        if name == "custom" and custom_label:
            label = custom_label
        text = f" {RANGE_KEYS[name]} {label} "
        parts += [(text, "reverse bold" if name == current else ""), " "]
    if busy:
        parts += [" ", (strings.get("stats.computing"), "$warning bold")]
    return Content.assemble(*parts)


# -- screens -----------------------------------------------------------------------------------


class RangeInput(ModalScreen[str | None]):
    """A one-line input for the custom range; dismisses with the text, or None on esc."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, strings: Strings, text: str = "") -> None:
        super().__init__()
        self.strings = strings
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="range-box"):
            yield Input(
                self.text,
                placeholder=self.strings.get("stats.custom.placeholder"),
                id="range-input",
            )
            yield Static(Content(self.strings.get("stats.custom.hint")), id="range-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class StatsScreen(Screen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,S", "close", "Close", show=False),
        Binding("1", "range('today')", show=False),
        Binding("2", "range('7d')", show=False),
        Binding("3", "range('30d')", show=False),
        Binding("4,c", "custom", show=False),
        Binding("r", "recompute", show=False),
        Binding("j", "scroll(1)", show=False),
        Binding("k", "scroll(-1)", show=False),
    ]

    def __init__(
        self,
        strings: Strings,
        settings: StatsSettings,
        open_source: Callable[[], ClosableSource],
        clock: Callable[[], datetime],
        *,
        teams: dict[str, str] | None = None,
        preset: str = "today",
    ) -> None:
        super().__init__()
        self.strings = strings
        self.settings = settings
        self.open_source = open_source
        self.clock = clock
        self.teams = teams or {}
        self.preset = preset
        self.custom: tuple[datetime, datetime] | None = None
        self.custom_text = ""
        self.report: Report | None = None
        self.busy = False
        self.error: str | None = None
        self._generation = 0

    def compose(self) -> ComposeResult:
        yield Static(id="stats-tabs")
        with VerticalScroll(id="stats-body"):
            yield Static(id="stats-content")
        yield Static(Content(self.strings.get("stats.hint")), id="stats-hint")

    def on_mount(self) -> None:
        self.query_one("#stats-body").focus()
        self.compute()

    # -- computing -------------------------------------------------------------------------

    def bounds(self) -> tuple[datetime, datetime]:
        if self.preset == "custom" and self.custom is not None:
            return self.custom
        return preset_range(self.preset, self.clock(), self.settings.timezone)

    def compute(self) -> None:
        self._generation += 1
        generation = self._generation
        since, until = self.bounds()
        now = self.clock()
        self.busy = True
        self.error = None
        self.report = None
        self._paint()

        def work() -> tuple[int, Report]:
            source = self.open_source()
            try:
                return generation, build_report(source, self.settings, since, until, now)
            finally:
                source.close()

        self.run_worker(work, name="stats", group="stats", thread=True, exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "stats" or not self.is_attached:
            return
        if event.state is WorkerState.SUCCESS and worker.result is not None:
            generation, report = worker.result
            if generation == self._generation:
                self.report, self.busy = report, False
                self._paint()
        elif event.state is WorkerState.ERROR:
            self.busy = False
            error = worker.error
            self.error = str(error) or type(error).__name__
            self._paint()

    # -- painting --------------------------------------------------------------------------

    def _paint(self) -> None:
        custom_label = self.custom_text if self.custom is not None else None
        tabs = tabs_content(self.strings, self.preset, custom_label, self.busy)
        self.query_one("#stats-tabs", Static).update(tabs)
        body = self.query_one("#stats-content", Static)
        if self.error is not None:
            body.update(
                Content.styled(self.strings.get("stats.failed", error=self.error), "$error")
            )
        elif self.report is None:
            body.update(Content.styled(self.strings.get("stats.computing"), "$text-muted"))
        else:
            width = self.query_one("#stats-body").size.width or self.size.width
            body.update(StatsView(self.report, self.strings, width - 2, self.teams).content())

    def on_resize(self, event: Resize) -> None:
        if self.report is not None:
            self.call_after_refresh(self._paint)

    # -- actions ---------------------------------------------------------------------------

    def action_range(self, name: str) -> None:
        self.preset = name
        self.compute()

    def action_custom(self) -> None:
        def chosen(text: str | None) -> None:
            if not text:
                return
            today = self.clock().astimezone(self.settings.timezone).date()
            try:
                first, last = parse_day_range(text, today)
            except ValueError:
                self.notify(self.strings.get("stats.custom.bad"), severity="warning", timeout=4)
                return
            self.custom = day_range(first, last, self.settings.timezone)
            self.custom_text = f"{first:%d.%m}–{last:%d.%m}" if first != last else f"{first:%d.%m}"
            self.preset = "custom"
            self.compute()

        self.app.push_screen(RangeInput(self.strings, self.custom_text), chosen)

    def action_recompute(self) -> None:
        self.compute()

    def action_scroll(self, direction: int) -> None:
        self.query_one("#stats-body").scroll_relative(y=direction, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
