"""Shift analytics: response times, SLA kept, volume, spikes and what customers complain about.

Built from what the store records, for the items that ARRIVED in [since, until) (a cohort),
as of `now`:

- First response: from arrival (`created_at`) to the first reply, acknowledgement or redirect
  that was not undone (the actions table is the truth; an undone reply is no response).
  Time to done: from arrival to the mention's `done_at`.
- Durations are working time by the shop's clock (`[sla] hours` in the shop's timezone), or
  plain time for 24/7, exactly as the board's age timers count them (WorkingHours.elapsed).
- A snooze does NOT stop the clock: the customer is still waiting. A snoozed item unanswered
  past breach_after is a breach like any other.
- SLA kept within warn_after: answers faster than warn_after, over the answered items plus the
  unanswered ones already waiting warn_after or longer (their outcome is known: late).
  The same for breach_after. "Within" is strictly less, as the board turns a card red AT
  breach_after. Unanswered items younger than that are pending and counted in neither.
  Items closed (done) without any answer needed none (thanks, spam): they are counted as
  `closed_unanswered` and left out of the SLA and response times.
- Quantiles: the median is the middle value (the mean of the two middle ones for an even
  count); p90 is the nearest-rank value: the smallest answer time that 90% of answers beat or
  match. Means are arithmetic. All in seconds.

Speed: the store hands over integer-millisecond arrays (SqliteStore.stats_rows) and the rest
is numpy. Working time is not computed item by item (WorkingHours.elapsed costs ~4 us, 4 s a
million items): `Timeline` lays the shop's open periods over the range once, with the working
milliseconds before each, so that the working time up to any instant is one binary search, and
an elapsed time the difference of two.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol

import numpy as np
import numpy.typing as npt

from triage.board import BoardSettings
from triage.clock import WorkingHours, format_age, parse_duration
from triage.model import COLUMN_ORDER, Column, Kind, Mention
from triage.spikes import DEFAULT_RULE, Slot, Spike, SpikeRule, find_spikes
from triage.stats_text import ComplaintTerms, complaint_terms

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

MS = 1000
QUARTER_MS = 15 * 60 * MS  # every real UTC offset is a whole number of quarter hours
HOUR_MS = 60 * 60 * MS
DAY = timedelta(days=1)

# Item codes: column index + 4 * kind index (SqliteStore.stats_rows computes them in SQL).
COLUMN_CODES: tuple[Column, ...] = COLUMN_ORDER
KIND_CODES: tuple[Kind, ...] = tuple(Kind)

# Response-time histogram: upper bounds in seconds; the last bin is open-ended.
HISTOGRAM_BOUNDS: tuple[int, ...] = (300, 900, 1800, 3600, 7200, 14400, 28800, 86400)
# Up to this many negative texts are read for the complaint words; beyond it, an even sample.
TEXT_SAMPLE = 5000
# The breaches listed by name (the worst first); all of them are counted.
BREACH_LIST = 50
# Ranges up to this long are shown per hour, longer ones per day.
HOURLY_UP_TO = timedelta(days=2)


# ---------------------------------------------------------------------------------------------
# What the store hands over


@dataclass(frozen=True, slots=True)
class StatsRows:
    """The raw figures for one range, read in one go. Times are UTC epoch milliseconds."""

    item_ids: Ints  # the mentions that arrived in [since, until)
    created_ms: Ints
    done_ms: Ints  # -1 while not done
    codes: Ints  # column index + 4 * kind index (COLUMN_CODES, KIND_CODES)
    # Every reply, acknowledgement and redirect not undone, in (mention, time) order: the
    # first of each mention is its first response.
    response_ids: Ints
    response_ms: Ints
    response_operator: Ints  # index into `operators`
    operators: tuple[str, ...]
    networks: dict[str, int]
    teams: dict[str, int]
    tags: dict[str, int]
    operator_actions: dict[str, dict[str, int]]  # actions taken in the range, not undone
    negative_quarters: dict[int, int]  # quarter-hour index from spike_origin_ms -> count
    spike_origin_ms: int
    earliest_ms: int | None  # the first stored item, or None for an empty store
    negative_total: int
    complaint_texts: list[str]


class StatsSource(Protocol):
    def stats_rows(
        self, since: datetime, until: datetime, *, history_since: datetime, text_limit: int
    ) -> StatsRows: ...

    def get_mentions(self, ids: Sequence[int]) -> list[Mention]: ...


def int_array(text: str | None) -> Ints:
    """Comma-separated integers (SQLite's group_concat) as an int64 array."""
    if not text:
        return np.zeros(0, dtype=np.int64)
    return np.fromstring(text, dtype=np.int64, sep=",")


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} must be timezone-aware")
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(ms))


# ---------------------------------------------------------------------------------------------
# Working time, vectorised


class Timeline:
    """The shop's open periods over a stretch of time, for working time in bulk.

    `at(t)` is the working milliseconds from the timeline's start to each instant t: a binary
    search for the period t falls in, plus the working time of the periods before it. Elapsed
    working time is then `at(end) - at(start)`, the same figure WorkingHours.elapsed gives
    (it is built from the same per-day periods, DST gaps included), at a fraction of the cost.
    """

    def __init__(self, hours: WorkingHours, tz: tzinfo, start_ms: int, end_ms: int) -> None:
        self.always = hours.is_always
        begins: list[int] = []
        ends: list[int] = []
        if not self.always:
            day = from_ms(start_ms).astimezone(tz).date() - DAY
            last = from_ms(end_ms).astimezone(tz).date() + DAY
            while day <= last:
                # The per-day periods WorkingHours.elapsed itself sums (microseconds).
                for begin, end in hours.open_periods(day, tz):
                    begins.append(begin // 1000)
                    ends.append(end // 1000)
                day += DAY
        self.begins: Ints = np.array(begins, dtype=np.int64)
        self.lengths: Ints = np.array(ends, dtype=np.int64) - self.begins
        self.before: Ints = np.concatenate(([0], np.cumsum(self.lengths)[:-1])).astype(np.int64)

    def at(self, moments: Ints) -> Ints:
        if self.always:
            return moments
        if not len(self.begins):
            return np.zeros_like(moments)
        index = np.searchsorted(self.begins, moments, side="right") - 1
        safe = np.maximum(index, 0)
        within = np.clip(moments - self.begins[safe], 0, self.lengths[safe])
        result: Ints = np.where(index >= 0, self.before[safe] + within, 0)
        return result

    def elapsed(self, start: Ints, end: Ints) -> Ints:
        """Working milliseconds from each start to its end (0 if the end is not later)."""
        result: Ints = np.maximum(self.at(end) - self.at(start), 0)
        return result


class LocalGrid:
    """Quarter hours from `start_ms`, each with its local date, hour and weekday in `tz`.

    Local hours and days are looked up per quarter hour rather than per item, so bucketing a
    million arrivals by the shop's wall clock is one integer division and an index."""

    def __init__(self, tz: tzinfo, start_ms: int, end_ms: int) -> None:
        self.origin = start_ms // QUARTER_MS * QUARTER_MS
        count = max(0, (end_ms - self.origin) // QUARTER_MS) + 1
        ordinals = np.empty(count, dtype=np.int64)
        hours = np.empty(count, dtype=np.int64)
        weekdays = np.empty(count, dtype=np.int64)
        for quarter in range(count):
            local = from_ms(self.origin + quarter * QUARTER_MS).astimezone(tz)
            ordinals[quarter] = local.toordinal()
            hours[quarter] = local.hour
            weekdays[quarter] = local.weekday()
        self.ordinals: Ints = ordinals
        self.hours: Ints = hours
        self.weekdays: Ints = weekdays
        self.count = count

    def quarter(self, moments: Ints) -> Ints:
        result: Ints = np.clip((moments - self.origin) // QUARTER_MS, 0, self.count - 1)
        return result

    def slot_keys(self, hourly: bool) -> Ints:
        result: Ints = self.ordinals * 24 + self.hours if hourly else self.ordinals
        return result


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class Durations:
    """A set of durations in seconds; the statistics are None when there are none."""

    count: int = 0
    median: float | None = None
    p90: float | None = None
    mean: float | None = None


@dataclass(frozen=True, slots=True)
class SlaFigures:
    answered: int = 0
    within_warn: int = 0
    within_breach: int = 0
    waiting_past_warn: int = 0  # unanswered, not done, waiting warn_after or longer now
    waiting_past_breach: int = 0
    pending: int = 0  # unanswered, not done, younger than breach_after: not decided yet
    closed_unanswered: int = 0  # done without an answer: needed none, left out

    @property
    def kept_warn(self) -> float | None:
        return _share(self.within_warn, self.answered + self.waiting_past_warn)

    @property
    def kept_breach(self) -> float | None:
        return _share(self.within_breach, self.answered + self.waiting_past_breach)

    @property
    def breaches(self) -> int:
        return self.answered - self.within_breach + self.waiting_past_breach


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True, slots=True)
class Breach:
    mention_id: int
    created_at: datetime
    waited: float  # working seconds: to the first response, or until now if none yet
    first_response_at: datetime | None
    operator: str | None  # who answered (late), None while unanswered
    column: Column
    network: str = ""
    text: str = ""  # raw customer text: sanitise before showing


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    start: datetime  # local start of the hour or day
    incoming: int
    negative: int
    first_response: Durations
    sla: SlaFigures


@dataclass(frozen=True, slots=True)
class OperatorFigures:
    operator: str
    first_response: Durations  # the items this operator answered first
    sla: SlaFigures  # of those answers: how many within warn and breach
    actions: dict[str, int]  # every action taken in the range, by kind


@dataclass(frozen=True, slots=True)
class HistogramBin:
    upto: int | None  # seconds, exclusive; None for the last, open-ended bin
    count: int


@dataclass(frozen=True, slots=True)
class Report:
    since: datetime
    until: datetime
    now: datetime
    timezone: str
    hours: str
    warn_after: float
    breach_after: float
    granularity: str  # "hour" | "day"
    incoming: int
    done: int
    by_column: dict[str, int]
    by_network: dict[str, int]
    by_kind: dict[str, int]
    by_tag: dict[str, int]
    by_team: dict[str, int]
    first_response: Durations
    first_response_by_column: dict[str, Durations]
    time_to_done: Durations
    sla: SlaFigures
    breaches: tuple[Breach, ...]
    operators: tuple[OperatorFigures, ...]
    series: tuple[SeriesPoint, ...]
    hour_of_week: tuple[tuple[int, ...], ...]  # 7 rows (Monday first) of 24 hours, local
    hour_of_day: tuple[int, ...]  # 24 local hours, summed over the range
    response_histogram: tuple[HistogramBin, ...]
    spikes: tuple[Spike, ...] = ()
    complaints: ComplaintTerms = field(default_factory=ComplaintTerms)


@dataclass(frozen=True, slots=True)
class TodaySummary:
    """The status bar's «today»: items that arrived since local midnight."""

    answered: int
    median_first_response: float | None
    breaches: int


@dataclass(frozen=True, slots=True)
class StatsSettings:
    timezone: tzinfo
    hours: WorkingHours
    warn_after: timedelta
    breach_after: timedelta

    @classmethod
    def from_board(cls, settings: BoardSettings) -> StatsSettings:
        return cls(settings.timezone, settings.hours, settings.warn_after, settings.breach_after)


# ---------------------------------------------------------------------------------------------
# Arithmetic on arrays


def summarise(values_ms: Ints) -> Durations:
    """Median, nearest-rank p90 and mean of some durations, by partial sorting (O(n))."""
    size = len(values_ms)
    if not size:
        return Durations()
    low, high, nearest = (size - 1) // 2, size // 2, math.ceil(0.9 * size) - 1
    part = np.partition(values_ms, sorted({low, high, nearest}))
    return Durations(
        count=size,
        median=(int(part[low]) + int(part[high])) / 2 / MS,
        p90=int(part[nearest]) / MS,
        mean=float(values_ms.sum()) / size / MS,
    )


def group_durations(groups: Ints, values_ms: Ints, count: int) -> list[Durations]:
    """Durations per group 0..count-1. The values are put in group order by a stable radix
    sort on the (small) group numbers, then each group is summarised in linear time."""
    if count <= 1:
        return [summarise(values_ms)] * count if count else []
    small = groups.astype(np.int16) if count < 2**15 else groups
    ordered = values_ms[np.argsort(small, kind="stable")]
    ends = np.cumsum(np.bincount(groups, minlength=count)[:count]).tolist()
    starts = [0, *ends[:-1]]
    return [summarise(ordered[a:b]) for a, b in zip(starts, ends, strict=True)]


# Each item's SLA state, so that every SLA figure of every group is one bincount.
ANSWERED_WITHIN_WARN, ANSWERED_WITHIN_BREACH, ANSWERED_LATE = 0, 1, 2
WAITING, WAITING_PAST_WARN, WAITING_PAST_BREACH, CLOSED_UNANSWERED = 3, 4, 5, 6
STATES = 7


def group_sla(states: Ints, groups: Ints, count: int) -> list[SlaFigures]:
    cells = np.bincount(groups * STATES + states, minlength=count * STATES)[: count * STATES]
    table = cells.reshape(count, STATES).tolist()
    return [
        SlaFigures(
            answered=c[0] + c[1] + c[2],
            within_warn=c[0],
            within_breach=c[0] + c[1],
            waiting_past_warn=c[4] + c[5],
            waiting_past_breach=c[5],
            pending=c[3] + c[4],
            closed_unanswered=c[6],
        )
        for c in table
    ]


# ---------------------------------------------------------------------------------------------
# The report


def build_report(
    source: StatsSource,
    settings: StatsSettings,
    since: datetime,
    until: datetime,
    now: datetime,
    *,
    detail: bool = True,
    text_limit: int = TEXT_SAMPLE,
    breach_limit: int = BREACH_LIST,
    rule: SpikeRule = DEFAULT_RULE,
) -> Report:
    """The report for items that arrived in [since, until), as of `now`.

    Without `detail`, the cheap figures only: no spikes, complaint words or breach texts."""
    if until <= since:
        raise ValueError("the range is empty: its end must come after its start")
    tz = settings.timezone
    history_since = since - timedelta(weeks=rule.weeks) if detail else since
    rows = source.stats_rows(
        since, until, history_since=history_since, text_limit=text_limit if detail else 0
    )
    since_ms, until_ms, now_ms = to_ms(since), to_ms(until), to_ms(now)
    created, done_ms = rows.created_ms, rows.done_ms
    total = len(created)

    # The first response of each item: a merge join on mention id.
    first_ms = np.full(total, -1, dtype=np.int64)
    responder = np.full(total, -1, dtype=np.int64)
    if total and len(rows.response_ids):
        ids, at, who = rows.response_ids, rows.response_ms, rows.response_operator
        in_order = (ids[1:] > ids[:-1]) | ((ids[1:] == ids[:-1]) & (at[1:] >= at[:-1]))
        if not in_order.all():
            order = np.lexsort((at, ids))
            ids, at, who = ids[order], at[order], who[order]
        first = np.concatenate(([True], ids[1:] != ids[:-1]))
        ids, at, who = ids[first], at[first], who[first]
        position = np.minimum(np.searchsorted(ids, rows.item_ids), len(ids) - 1)
        found = ids[position] == rows.item_ids
        first_ms = np.where(found, at[position], -1)
        responder = np.where(found, who[position], -1)
    answered = first_ms >= 0
    done = done_ms >= 0

    # Working time; the timeline spans every instant used below.
    low = min(since_ms, int(created.min())) if total else since_ms
    high = max(until_ms, now_ms, int(first_ms.max(initial=0)), int(done_ms.max(initial=0)))
    timeline = Timeline(settings.hours, tz, low, high)
    start = timeline.at(created)
    now_worked = int(timeline.at(np.array([now_ms], dtype=np.int64))[0])
    answer_times = np.maximum(timeline.at(first_ms[answered]) - start[answered], 0)
    first_response = np.zeros(total, dtype=np.int64)
    first_response[answered] = answer_times
    done_times = np.maximum(timeline.at(done_ms[done]) - start[done], 0)
    age = np.maximum(now_worked - start, 0)

    warn_ms = settings.warn_after // timedelta(milliseconds=1)
    breach_ms = settings.breach_after // timedelta(milliseconds=1)
    states = np.where(
        answered,
        np.where(
            first_response < warn_ms,
            ANSWERED_WITHIN_WARN,
            np.where(first_response < breach_ms, ANSWERED_WITHIN_BREACH, ANSWERED_LATE),
        ),
        np.where(
            done,
            CLOSED_UNANSWERED,
            np.where(
                age < warn_ms,
                WAITING,
                np.where(age < breach_ms, WAITING_PAST_WARN, WAITING_PAST_BREACH),
            ),
        ),
    ).astype(np.int64)
    column = rows.codes % 4
    kind = rows.codes // 4
    column_counts = np.bincount(column, minlength=4)
    kind_counts = np.bincount(kind, minlength=len(KIND_CODES))

    # Local wall-clock buckets: series per hour or day, the week's hours, the day's hours.
    hourly = until - since <= HOURLY_UP_TO
    grid = LocalGrid(tz, since_ms, until_ms - 1)
    quarter = grid.quarter(created)
    week_cells = np.bincount(grid.weekdays[quarter] * 24 + grid.hours[quarter], minlength=168)
    keys = grid.slot_keys(hourly)
    slot_keys = np.unique(keys)
    slot = np.searchsorted(slot_keys, keys)[quarter]
    series = _series(slot_keys, slot, hourly, tz, column == 0, states, answered, answer_times)

    histogram = np.bincount(
        np.searchsorted(np.array(HISTOGRAM_BOUNDS) * MS, answer_times, side="right"),
        minlength=len(HISTOGRAM_BOUNDS) + 1,
    )
    late = (states == ANSWERED_LATE) | (states == WAITING_PAST_BREACH)
    waited = np.where(answered, first_response, age)

    spikes: tuple[Spike, ...] = ()
    complaints = ComplaintTerms(total=rows.negative_total)
    if detail:
        spikes = tuple(_spikes(rows, tz, since_ms, until_ms, rule))
        complaints = complaint_terms(rows.complaint_texts, total=rows.negative_total)

    by_column_times = group_durations(column[answered], answer_times, 4)
    return Report(
        since=since,
        until=until,
        now=now,
        timezone=str(tz),
        hours=str(settings.hours),
        warn_after=settings.warn_after.total_seconds(),
        breach_after=settings.breach_after.total_seconds(),
        granularity="hour" if hourly else "day",
        incoming=total,
        done=int(done.sum()),
        by_column={c.value: int(column_counts[i]) for i, c in enumerate(COLUMN_CODES)},
        by_network=_ranked(rows.networks),
        by_kind={k.value: int(kind_counts[i]) for i, k in enumerate(KIND_CODES)},
        by_tag=_ranked(rows.tags),
        by_team=_ranked(rows.teams),
        first_response=summarise(answer_times),
        first_response_by_column={c.value: by_column_times[i] for i, c in enumerate(COLUMN_CODES)},
        time_to_done=summarise(done_times),
        sla=group_sla(states, np.zeros(total, dtype=np.int64), 1)[0],
        breaches=_breaches(
            source, rows, late, waited, first_ms, responder, column, breach_limit if detail else 0
        ),
        operators=_operators(rows, responder, answered, states, answer_times),
        series=series,
        hour_of_week=tuple(
            tuple(int(n) for n in week_cells[day * 24 : day * 24 + 24]) for day in range(7)
        ),
        hour_of_day=tuple(int(n) for n in week_cells.reshape(7, 24).sum(axis=0)),
        response_histogram=tuple(
            HistogramBin(HISTOGRAM_BOUNDS[i] if i < len(HISTOGRAM_BOUNDS) else None, int(n))
            for i, n in enumerate(histogram)
        ),
        spikes=spikes,
        complaints=complaints,
    )


def _ranked(counts: Mapping[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _series(
    slot_keys: Ints,
    slot: Ints,
    hourly: bool,
    tz: tzinfo,
    negative: Bools,
    states: Ints,
    answered: Bools,
    answer_times: Ints,
) -> tuple[SeriesPoint, ...]:
    count = len(slot_keys)
    incoming = np.bincount(slot, minlength=count)
    negatives = np.bincount(slot[negative], minlength=count)
    per_slot = group_durations(slot[answered], answer_times, count)
    sla = group_sla(states, slot, count)
    points: list[SeriesPoint] = []
    for index, key in enumerate(slot_keys.tolist()):
        day, hour = (key // 24, key % 24) if hourly else (key, 0)
        points.append(
            SeriesPoint(
                start=datetime.combine(date.fromordinal(day), time(hour), tz),
                incoming=int(incoming[index]),
                negative=int(negatives[index]),
                first_response=per_slot[index],
                sla=sla[index],
            )
        )
    return tuple(points)


def _operators(
    rows: StatsRows, responder: Ints, answered: Bools, states: Ints, answer_times: Ints
) -> tuple[OperatorFigures, ...]:
    names = list(rows.operators)
    count = len(names)
    groups = np.where(answered & (responder >= 0), responder, count)  # the rest: a spare group
    per_operator = group_durations(groups[answered], answer_times, count + 1)
    sla = group_sla(states, groups, count + 1)
    figures = [
        OperatorFigures(
            operator=name,
            first_response=per_operator[index],
            sla=sla[index],
            actions=dict(rows.operator_actions.get(name, {})),
        )
        for index, name in enumerate(names)
    ]
    figures = [f for f in figures if f.first_response.count or sum(f.actions.values())]
    figures.sort(key=lambda f: (-f.first_response.count, -sum(f.actions.values()), f.operator))
    return tuple(figures)


def _breaches(
    source: StatsSource,
    rows: StatsRows,
    late: Bools,
    waited: Ints,
    first_ms: Ints,
    responder: Ints,
    column: Ints,
    limit: int,
) -> tuple[Breach, ...]:
    candidates = np.flatnonzero(late)
    if not len(candidates) or limit <= 0:
        return ()
    # The longest waits first; among equals, the earliest arrival.
    order = np.lexsort((rows.created_ms[candidates], -waited[candidates]))
    chosen = candidates[order[:limit]]
    ids = [int(i) for i in rows.item_ids[chosen]]
    mentions = {m.id: m for m in source.get_mentions(ids)}
    out: list[Breach] = []
    for index, mention_id in zip(chosen.tolist(), ids, strict=True):
        mention = mentions.get(mention_id)
        who = int(responder[index])
        out.append(
            Breach(
                mention_id=mention_id,
                created_at=from_ms(int(rows.created_ms[index])),
                waited=int(waited[index]) / MS,
                first_response_at=from_ms(int(first_ms[index])) if first_ms[index] >= 0 else None,
                operator=rows.operators[who] if 0 <= who < len(rows.operators) else None,
                column=COLUMN_CODES[int(column[index])],
                network=mention.network if mention else "",
                text=mention.text if mention else "",
            )
        )
    return tuple(out)


def _spikes(
    rows: StatsRows, tz: tzinfo, since_ms: int, until_ms: int, rule: SpikeRule
) -> list[Spike]:
    grid = LocalGrid(tz, rows.spike_origin_ms, until_ms - 1)
    counts: dict[Slot, int] = {}
    for quarter, count in rows.negative_quarters.items():
        q = min(max(quarter, 0), grid.count - 1)
        key = (int(grid.ordinals[q]), int(grid.hours[q]))
        counts[key] = counts.get(key, 0) + count
    window: dict[Slot, datetime] = {}
    first = (since_ms - grid.origin) // QUARTER_MS
    for q in range(max(first, 0), grid.count):
        key = (int(grid.ordinals[q]), int(grid.hours[q]))
        if key not in window:
            start = datetime.combine(date.fromordinal(key[0]), time(key[1]), tz)
            window[key] = start
    earliest: Slot | None = None
    if rows.earliest_ms is not None:
        local = from_ms(rows.earliest_ms).astimezone(tz)
        earliest = (local.toordinal(), local.hour)
    return find_spikes(counts, list(window.items()), earliest, rule)


def today_summary(source: StatsSource, settings: StatsSettings, now: datetime) -> TodaySummary:
    """Answered, median first response and breaches for today's arrivals; cheap enough to
    run every 30 seconds in a worker."""
    since = day_start(now, settings.timezone)
    report = build_report(source, settings, since, now + timedelta(seconds=1), now, detail=False)
    return TodaySummary(
        answered=report.sla.answered,
        median_first_response=report.first_response.median,
        breaches=report.sla.breaches,
    )


# ---------------------------------------------------------------------------------------------
# Ranges


def day_start(moment: datetime, tz: tzinfo) -> datetime:
    """Local midnight of the shop's day containing `moment`."""
    return datetime.combine(moment.astimezone(tz).date(), time(0), tz)


def preset_range(name: str, now: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """ "today", "7d" or "30d": whole local days up to now (today included)."""
    days = {"today": 1, "7d": 7, "30d": 30}[name]
    today = now.astimezone(tz).date()
    since = datetime.combine(today - timedelta(days=days - 1), time(0), tz)
    return since, now


def day_range(first: date, last: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """From the start of `first` to the end of `last`, local days, both included."""
    return (
        datetime.combine(first, time(0), tz),
        datetime.combine(last + timedelta(days=1), time(0), tz),
    )


def parse_moment(text: str, now: datetime, tz: tzinfo, *, end: bool) -> datetime:
    """A report bound: a duration back from now ("30d", "24h", "1h30m"), an ISO date (local
    midnight; as the end, the day is included: the next midnight) or an ISO date and time
    (in the shop's timezone unless it has an offset)."""
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("empty; use a duration like 30d or 24h, or a date like 2026-11-01")
    if cleaned[0].isdigit() and cleaned[-1].isalpha() and not _DATE_MARKS.intersection(cleaned):
        duration = parse_duration(cleaned)
        if duration <= timedelta(0):
            raise ValueError(f'"{text}" is not a positive duration')
        return now - duration
    try:
        if len(cleaned) == 10:
            day = date.fromisoformat(cleaned)
            return datetime.combine(day + timedelta(days=1) if end else day, time(0), tz)
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(
            f'"{text}" is neither a duration (30d, 7d, 24h) nor a date (2026-11-01)'
            " or date and time (2026-11-01T09:00)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def parse_day_range(text: str, today: date) -> tuple[date, date]:
    """The stats screen's "from–to": «1.11–15.11», «01.11.2026 - 15.11.2026»,
    «2026-11-01..2026-11-15», or one day «23.11». A date without a year is the latest such
    date not after today."""
    found = _DATE_RE.findall(text)
    rest = _CONNECTIVES_RE.sub("", _DATE_RE.sub("", text))
    if not found or len(found) > 2 or re.search(r"\w", rest):
        raise ValueError(f"{text!r}: write two dates like 1.11–15.11, or one like 23.11")
    first, last = (_parse_day(token, today) for token in (found[0], found[-1]))
    if last < first:
        raise ValueError(f"{text!r}: the first date comes after the second")
    return first, last


# A bound with any of these is a date or a time ("2026-11-01T09:00Z"), never a duration.
_DATE_MARKS = frozenset("-:.+T")
_DATE_RE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\.\d{1,2}(?:\.\d{2,4})?")
_CONNECTIVES_RE = re.compile(r"\b(?:с|со|по|до|from|to)\b", re.IGNORECASE)


def _parse_day(token: str, today: date) -> date:
    if "-" in token:
        year, month, day = (int(part) for part in token.split("-"))
        return date(year, month, day)
    parts = [int(part) for part in token.split(".")]
    if len(parts) == 3:
        year = parts[2] + 2000 if parts[2] < 100 else parts[2]
        return date(year, parts[1], parts[0])
    candidate = date(today.year, parts[1], parts[0])
    return candidate if candidate <= today else date(today.year - 1, parts[1], parts[0])


_UNITS = {
    "ru": ((86400, "д"), (3600, "ч"), (60, "мин"), (1, "с")),
    "en": ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")),
}


def round_duration(seconds: float, language: str) -> str:
    """A threshold as the operator wrote it: «15 мин», «1 ч», «1 ч 30 мин», «1 д»."""
    rest = max(0, round(seconds))
    parts: list[str] = []
    for size, unit in _UNITS.get(language, _UNITS["ru"]):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count} {unit}")
    return " ".join(parts) or f"0 {_UNITS.get(language, _UNITS['ru'])[-1][1]}"


def format_seconds(seconds: float | None, language: str = "ru") -> str:
    """A duration for a person: «45 с», «12 мин», «3 ч 05 мин», «2 д 03 ч»; «—» for none."""
    if seconds is None:
        return "—"
    return format_age(timedelta(seconds=seconds), language)
