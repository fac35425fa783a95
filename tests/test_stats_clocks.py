"""The report's clocks: the vectorised working-time timeline agrees with WorkingHours.elapsed
(the board's own timer) everywhere, including across midnight, weekends and DST changes
(Europe/Berlin; Moscow has none), and the first-response clock follows the rules in
triage.stats: a snooze does not stop it, an undone reply is no response."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.board import Board
from triage.clock import WorkingHours
from triage.sqlite_store import SqliteStore
from triage.stats import (
    LocalGrid,
    Report,
    StatsSettings,
    Timeline,
    build_report,
    from_ms,
    to_ms,
)

from .conftest import SETTINGS, FakeClock, Ingest, make_item

BERLIN = ZoneInfo("Europe/Berlin")
MOSCOW = ZoneInfo("Europe/Moscow")
NEW_YORK = ZoneInfo("America/New_York")

SCHEDULES = (
    "24/7",
    "mon-fri 09:00-21:00, sat 10:00-18:00",
    "fri 20:00-02:00",  # past midnight
    "sun 01:00-04:00",  # spans the DST hour on the change Sundays
    "daily 02:30-03:30",  # inside the spring-forward gap in Berlin
    "mon-sun 00:00-24:00",
    "sat-mon 22:00-06:00",  # wraps over the week's end and midnight
)
# Both 2026 DST changes in Europe (29 March, 25 October) and the US (8 March, 1 November).
BASES = (
    datetime(2026, 3, 24, tzinfo=UTC),
    datetime(2026, 10, 20, tzinfo=UTC),
    datetime(2026, 3, 5, tzinfo=UTC),
)
DAY_MS = 86_400_000


def dt(ms: int) -> datetime:
    return from_ms(ms)


@settings(max_examples=300, deadline=None)
@given(
    spec=st.sampled_from(SCHEDULES),
    tz=st.sampled_from((BERLIN, MOSCOW, NEW_YORK, UTC)),
    base=st.sampled_from(BASES),
    offsets=st.lists(
        st.tuples(st.integers(0, 10 * DAY_MS), st.integers(0, 4 * DAY_MS)),
        min_size=1,
        max_size=8,
    ),
)
def test_timeline_agrees_with_working_hours(
    spec: str, tz: ZoneInfo, base: datetime, offsets: list[tuple[int, int]]
) -> None:
    hours = WorkingHours.parse(spec)
    origin = to_ms(base)
    starts = np.array([origin + a for a, _ in offsets], dtype=np.int64)
    ends = starts + np.array([b for _, b in offsets], dtype=np.int64)
    timeline = Timeline(hours, tz, int(starts.min()), int(ends.max()))
    got = timeline.elapsed(starts, ends)
    for start, end, elapsed in zip(starts.tolist(), ends.tolist(), got.tolist(), strict=True):
        expected = hours.elapsed(dt(start), dt(end), tz)
        assert timedelta(milliseconds=elapsed) == expected, (spec, tz, dt(start), dt(end))


@settings(max_examples=100, deadline=None)
@given(
    tz=st.sampled_from((BERLIN, MOSCOW, NEW_YORK, ZoneInfo("Asia/Kolkata"))),
    base=st.sampled_from(BASES),
    moments=st.lists(st.integers(0, 12 * DAY_MS), min_size=1, max_size=20),
)
def test_local_grid_matches_the_wall_clock(
    tz: ZoneInfo, base: datetime, moments: list[int]
) -> None:
    origin = to_ms(base)
    instants = np.array([origin + m for m in moments], dtype=np.int64)
    grid = LocalGrid(tz, origin, int(instants.max()))
    quarters = grid.quarter(instants)
    for instant, quarter in zip(instants.tolist(), quarters.tolist(), strict=True):
        local = dt(instant).astimezone(tz)
        assert grid.ordinals[quarter] == local.toordinal()
        assert grid.hours[quarter] == local.hour
        assert grid.weekdays[quarter] == local.weekday()


def ms_between(hours: WorkingHours, tz: ZoneInfo, start: datetime, end: datetime) -> int:
    timeline = Timeline(hours, tz, to_ms(start), to_ms(end))
    return int(timeline.elapsed(np.array([to_ms(start)]), np.array([to_ms(end)]))[0])


@pytest.mark.parametrize(
    ("spec", "tz", "start", "end", "expected"),
    [
        # Past midnight: Friday 23:00 to Saturday 01:30 is all open.
        ("fri 20:00-02:00", MOSCOW, (2026, 11, 27, 23, 0), (2026, 11, 28, 1, 30), 2.5),
        # Saturday 01:00 to 10:00: only 01:00-02:00 is Friday's shift.
        ("fri 20:00-02:00", MOSCOW, (2026, 11, 28, 1, 0), (2026, 11, 28, 10, 0), 1.0),
        # A weekend: Friday 17:30 to Monday 09:30 is an hour of work.
        ("mon-fri 09:00-18:00", MOSCOW, (2026, 11, 27, 17, 30), (2026, 11, 30, 9, 30), 1.0),
        # Spring forward in Berlin: 01:00-04:00 on 29 March 2026 has two real hours.
        ("sun 01:00-04:00", BERLIN, (2026, 3, 29, 0, 30), (2026, 3, 29, 5, 0), 2.0),
        # Fall back: 01:00-04:00 on 25 October 2026 has four.
        ("sun 01:00-04:00", BERLIN, (2026, 10, 25, 0, 30), (2026, 10, 25, 5, 0), 4.0),
        # 24/7 counts real time across the change, not wall time.
        ("24/7", BERLIN, (2026, 3, 29, 1, 30), (2026, 3, 29, 3, 30), 1.0),
        ("24/7", BERLIN, (2026, 10, 25, 1, 30), (2026, 10, 25, 3, 30), 3.0),
    ],
)
def test_working_time_examples(
    spec: str,
    tz: ZoneInfo,
    start: tuple[int, ...],
    end: tuple[int, ...],
    expected: float,
) -> None:
    hours = WorkingHours.parse(spec)
    begin, finish = datetime(*start, tzinfo=tz), datetime(*end, tzinfo=tz)
    assert ms_between(hours, tz, begin, finish) == expected * 3_600_000
    assert hours.elapsed(begin, finish, tz) == timedelta(hours=expected)


# -- the first-response clock, through the board and the store --------------------------------

SHOP = StatsSettings(
    timezone=BERLIN,
    hours=WorkingHours.parse("sun 01:00-04:00, mon-fri 09:00-18:00"),
    warn_after=timedelta(minutes=15),
    breach_after=timedelta(hours=1),
)


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN).astimezone(UTC)


def report_for(store: SqliteStore, now: datetime, stats: StatsSettings = SHOP) -> Report:
    since = berlin(2026, 3, 28)
    return build_report(store, stats, since, since + timedelta(days=3), now)


def test_first_response_across_the_spring_dst_change(
    store: SqliteStore, clock: FakeClock, ingest: Ingest
) -> None:
    # Arrives Sunday 01:30 (before the jump at 02:00), answered 03:30 (after it): the shop's
    # clock ran 01:30-02:00 and 03:00-03:30, one hour, which is a breach (not kept).
    clock.now = berlin(2026, 3, 29, 3, 30)
    (mention,) = ingest(make_item("n1", "Кофе холодный", created_at=berlin(2026, 3, 29, 1, 30)))
    board = Board(store, replace(SETTINGS, timezone=BERLIN), clock)
    board.load()
    board.reply(mention.id, "Разбираемся")
    report = report_for(store, clock.now)
    assert report.first_response.median == 3600.0
    assert report.sla.within_breach == 0
    assert report.sla.breaches == 1


def test_a_snooze_does_not_stop_the_sla_clock(
    store: SqliteStore, clock: FakeClock, ingest: Ingest
) -> None:
    # Monday 09:00 arrival, snoozed at 09:05 until 11:00, unanswered at 10:30: the customer
    # has waited 1.5 working hours, snoozed or not, so it is a breach.
    clock.now = berlin(2026, 3, 30, 9, 5)
    first, second = ingest(
        make_item("n1", "Кофе холодный", created_at=berlin(2026, 3, 30, 9, 0)),
        make_item("n2", "Опять холодный", created_at=berlin(2026, 3, 30, 9, 0)),
    )
    board = Board(store, replace(SETTINGS, timezone=BERLIN), clock)
    board.load()
    board.snooze(first.id, berlin(2026, 3, 30, 11, 0))
    board.snooze(second.id, berlin(2026, 3, 30, 11, 0))
    clock.now = berlin(2026, 3, 30, 10, 30)
    report = report_for(store, clock.now)
    assert report.sla.waiting_past_breach == 2
    assert report.sla.breaches == 2
    # Answered after the snooze ends: 2 h 10 min from arrival, the snooze included.
    clock.now = berlin(2026, 3, 30, 11, 10)
    board.reply(first.id, "Извините за ожидание")
    report = report_for(store, clock.now)
    assert report.first_response.median == 2 * 3600 + 600


def test_an_undone_reply_is_not_a_response(
    store: SqliteStore, clock: FakeClock, ingest: Ingest
) -> None:
    clock.now = berlin(2026, 3, 30, 9, 5)
    (mention,) = ingest(make_item("n1", "Кофе холодный", created_at=berlin(2026, 3, 30, 9, 0)))
    board = Board(store, replace(SETTINGS, timezone=BERLIN), clock)
    board.load()
    board.reply(mention.id, "Не тому")
    clock.now = berlin(2026, 3, 30, 9, 5, 3)
    board.undo()
    clock.now = berlin(2026, 3, 30, 9, 20)
    report = report_for(store, clock.now)
    assert report.sla.answered == 0
    assert report.sla.waiting_past_warn == 1
    assert report.first_response.count == 0
    # The real answer at 09:40 is the first response: 40 minutes, within breach, late for warn.
    clock.now = berlin(2026, 3, 30, 9, 40)
    board.reply(mention.id, "Разбираемся")
    report = report_for(store, clock.now)
    assert report.first_response.median == 40 * 60
    assert (report.sla.within_warn, report.sla.within_breach) == (0, 1)
    (operator,) = report.operators
    assert operator.actions == {"reply": 1, "undo": 1}  # the undone reply is not counted


def test_weekend_arrival_counts_from_monday_morning(
    store: SqliteStore, clock: FakeClock, ingest: Ingest
) -> None:
    # Saturday 12:00 arrival (the shop is shut), answered Monday 09:10: 10 working minutes.
    clock.now = berlin(2026, 3, 30, 9, 10)
    (mention,) = ingest(make_item("n1", "Кофе холодный", created_at=berlin(2026, 3, 28, 12, 0)))
    board = Board(store, replace(SETTINGS, timezone=BERLIN), clock)
    board.load()
    board.reply(mention.id, "Доброе утро")
    weekdays = replace(SHOP, hours=WorkingHours.parse("mon-fri 09:00-18:00"))
    report = report_for(store, clock.now, weekdays)
    assert report.first_response.median == 600
    assert report.sla.within_warn == 1
    # With Sunday's 01:00-04:00 shift (two real hours: the clocks jumped) it is 2 h 10 min.
    assert report_for(store, clock.now).first_response.median == 7800
    # On a 24/7 clock it waited 44 h 10 min of real time (45 by the wall clock).
    always = replace(SHOP, hours=WorkingHours.always())
    waited = report_for(store, clock.now, always).first_response.median
    assert waited == (44 * 60 + 10) * 60
