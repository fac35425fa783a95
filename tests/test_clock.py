from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.clock import WorkingHours, format_age, parse_duration

MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
SHOP = WorkingHours.parse("mon-fri 09:00-21:00, sat 10:00-18:00")
# Open around the clock but not in canonical form, so it takes the day-stepping path.
ALWAYS_UNMERGED = WorkingHours((((0, 720), (720, 1440)),) * 7)


def msk(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MOSCOW)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def real(start: datetime, end: datetime) -> timedelta:
    # `end - start` with a shared tzinfo is a wall-clock difference; DST needs instants.
    return end.astimezone(UTC) - start.astimezone(UTC)


# --- parse_duration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", timedelta(seconds=45)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        (" 1h 30m ", timedelta(hours=1, minutes=30)),
        ("0m", timedelta(0)),
        ("90M", timedelta(minutes=90)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "15x", "m", "1.5h", "-5m", "30m1h", "1h1h", "15 minutes"])
def test_parse_duration_rejects_with_examples(text: str) -> None:
    with pytest.raises(ValueError, match=r'Use forms like "45s", "15m", "1h30m"'):
        parse_duration(text)


def test_bare_number_asks_for_a_unit() -> None:
    with pytest.raises(ValueError, match=r'"90" has no unit\. Write "90m"'):
        parse_duration("90")


# --- WorkingHours.parse ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [
        ("24/7", "24/7"),
        ("mon-fri 09:00-21:00, sat 10:00-18:00", "mon-fri 09:00-21:00, sat 10:00-18:00"),
        ("MON-FRI 9:00 - 21:00", "mon-fri 09:00-21:00"),
        ("пн-пт 09:00–18:00", "mon-fri 09:00-18:00"),
        ("09:00-21:00", "mon-sun 09:00-21:00"),
        ("daily 00:00-24:00", "24/7"),
        ("fri 20:00-02:00", "fri 20:00-02:00"),
        ("mon-sun 20:00-02:00", "mon-sun 20:00-02:00"),
        ("sat-mon 10:00-16:00", "sat-mon 10:00-16:00"),
        ("mon-fri 09:00-13:00 14:00-18:00", "mon-fri 09:00-13:00 14:00-18:00"),
        ("mon 09:00-12:00, mon 11:00-15:00", "mon 09:00-15:00"),
        ("sat sun 10:00-16:00", "sat-sun 10:00-16:00"),
        ("sun 22:00-24:00", "sun 22:00-24:00"),
    ],
)
def test_parse_and_canonical_form(spec: str, canonical: str) -> None:
    parsed = WorkingHours.parse(spec)
    assert str(parsed) == canonical
    assert WorkingHours.parse(str(parsed)) == parsed


@pytest.mark.parametrize(
    ("spec", "bad_part"),
    [
        ("", "empty"),
        ("mon-fry 09:00-21:00", '"fry" (did you mean "fri"?)'),
        ("mon-fri", "no hours"),
        ("mon-fri 09:00-25:00", '"25:00"'),
        ("mon 09:00-09:00", "is empty"),
        ("mon 9-18", '"9" is not a time'),
        ("mon-fri 09:00-18:00,", "stray comma"),
        ("09:00-18:00 mon", "days first"),
        ("mon 24:00-02:00", '"24:00"'),
        ("mon 09:00", "not a period"),
        ("mon-fri 09:60-18:00", '"09:60"'),
    ],
)
def test_parse_errors_name_the_bad_part(spec: str, bad_part: str) -> None:
    with pytest.raises(ValueError) as info:
        WorkingHours.parse(spec)
    assert bad_part in str(info.value)
    assert '"24/7"' in str(info.value)  # the example of valid forms


def test_always() -> None:
    always = WorkingHours.always()
    assert always.is_always
    assert WorkingHours.parse("24/7") == always
    assert not SHOP.is_always
    assert str(always) == "24/7"


def test_midnight_crossing_spills_into_next_day() -> None:
    late = WorkingHours.parse("fri 20:00-02:00")
    assert late.days[4] == ((20 * 60, 24 * 60),)
    assert late.days[5] == ((0, 2 * 60),)
    sunday = WorkingHours.parse("sun 23:00-01:00")
    assert sunday.days[0] == ((0, 60),)


# --- elapsed --------------------------------------------------------------------------------


def test_elapsed_within_a_day() -> None:
    # Wednesday 2026-01-07.
    assert SHOP.elapsed(msk(2026, 1, 7, 10), msk(2026, 1, 7, 12, 30), MOSCOW) == hours(2.5)


def test_elapsed_before_opening_counts_from_opening() -> None:
    assert SHOP.elapsed(msk(2026, 1, 7, 7), msk(2026, 1, 7, 9, 15), MOSCOW) == hours(0.25)


def test_elapsed_across_a_night() -> None:
    # Wed 20:00 -> Thu 10:00: one hour on Wednesday evening, one on Thursday morning.
    assert SHOP.elapsed(msk(2026, 1, 7, 20), msk(2026, 1, 8, 10), MOSCOW) == hours(2)


def test_elapsed_across_a_weekend() -> None:
    # Fri 20:00 -> Mon 10:00: 1 h Friday + 8 h Saturday + 0 Sunday + 1 h Monday.
    assert SHOP.elapsed(msk(2026, 1, 9, 20), msk(2026, 1, 12, 10), MOSCOW) == hours(10)


def test_elapsed_sunday_is_closed() -> None:
    assert SHOP.elapsed(msk(2026, 1, 11, 8), msk(2026, 1, 11, 23), MOSCOW) == timedelta(0)


def test_elapsed_over_many_weeks() -> None:
    weekly = hours(5 * 12 + 8)
    start = msk(2026, 1, 5)  # a Monday
    assert SHOP.elapsed(start, start + timedelta(weeks=10), MOSCOW) == 10 * weekly


def test_elapsed_midnight_crossing_period() -> None:
    bar = WorkingHours.parse("fri 20:00-02:00")
    # Fri 2026-01-09 19:00 -> Sat 03:00: open 20:00-02:00.
    assert bar.elapsed(msk(2026, 1, 9, 19), msk(2026, 1, 10, 3), MOSCOW) == hours(6)
    assert bar.elapsed(msk(2026, 1, 10, 1), msk(2026, 1, 10, 5), MOSCOW) == hours(1)


def test_elapsed_zero_when_end_not_after_start() -> None:
    moment = msk(2026, 1, 7, 12)
    assert SHOP.elapsed(moment, moment, MOSCOW) == timedelta(0)
    assert SHOP.elapsed(moment, moment - hours(3), MOSCOW) == timedelta(0)


def test_elapsed_accepts_instants_in_any_zone() -> None:
    start = datetime(2026, 1, 7, 7, tzinfo=UTC)  # 10:00 in Moscow
    end = datetime(2026, 1, 7, 9, tzinfo=timezone(timedelta(hours=-2)))  # 14:00 in Moscow
    assert SHOP.elapsed(start, end, MOSCOW) == hours(4)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SHOP.elapsed(datetime(2026, 1, 7, 10), msk(2026, 1, 7, 11), MOSCOW)


def test_elapsed_spring_forward() -> None:
    # Berlin, Sunday 2026-03-29: 02:00 CET jumps to 03:00 CEST.
    night = WorkingHours.parse("sun 01:00-05:00")
    start = datetime(2026, 3, 29, 0, tzinfo=BERLIN)
    end = datetime(2026, 3, 29, 6, tzinfo=BERLIN)
    assert real(start, end) == hours(5)
    assert night.elapsed(start, end, BERLIN) == hours(3)
    # A period that starts inside the skipped hour starts when the clock jumps.
    gap = WorkingHours.parse("sun 02:30-03:30")
    assert gap.elapsed(start, end, BERLIN) == hours(0.5)


def test_elapsed_fall_back() -> None:
    # Berlin, Sunday 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:xx happens twice.
    night = WorkingHours.parse("sun 01:00-05:00")
    start = datetime(2026, 10, 25, 0, tzinfo=BERLIN)
    end = datetime(2026, 10, 25, 6, tzinfo=BERLIN)
    assert real(start, end) == hours(7)
    assert night.elapsed(start, end, BERLIN) == hours(5)


def test_elapsed_24_7_across_dst_is_real_time() -> None:
    start = datetime(2026, 3, 28, 12, tzinfo=BERLIN)
    end = datetime(2026, 3, 29, 12, tzinfo=BERLIN)
    assert WorkingHours.always().elapsed(start, end, BERLIN) == hours(23)


def test_elapsed_full_days_across_dst_match_real_time() -> None:
    split = ALWAYS_UNMERGED
    assert not split.is_always
    start = datetime(2026, 10, 24, 12, tzinfo=BERLIN)
    end = datetime(2026, 10, 26, 12, tzinfo=BERLIN)
    assert split.elapsed(start, end, BERLIN) == real(start, end) == hours(49)


# --- is_open / next_open --------------------------------------------------------------------


def test_is_open() -> None:
    assert SHOP.is_open(msk(2026, 1, 7, 9), MOSCOW)
    assert not SHOP.is_open(msk(2026, 1, 7, 21), MOSCOW)
    assert not SHOP.is_open(msk(2026, 1, 11, 12), MOSCOW)  # Sunday
    assert WorkingHours.always().is_open(msk(2026, 1, 11, 3), MOSCOW)


def test_next_open() -> None:
    open_now = msk(2026, 1, 7, 12)
    assert SHOP.next_open(open_now, MOSCOW) == open_now
    # Saturday evening -> Monday 09:00.
    assert SHOP.next_open(msk(2026, 1, 10, 19), MOSCOW) == msk(2026, 1, 12, 9)
    assert SHOP.next_open(msk(2026, 1, 10, 19), MOSCOW).tzinfo is MOSCOW
    # Before opening on the same day.
    assert SHOP.next_open(msk(2026, 1, 7, 6), MOSCOW) == msk(2026, 1, 7, 9)


# --- format_age -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "ru", "en"),
    [
        (timedelta(seconds=45), "45 с", "45s"),
        (timedelta(minutes=12, seconds=59), "12 мин", "12m"),
        (timedelta(hours=3, minutes=5), "3 ч 05 мин", "3h 05m"),
        (timedelta(days=2, hours=3, minutes=59), "2 д 03 ч", "2d 03h"),
        (timedelta(0), "0 с", "0s"),
        (timedelta(seconds=-30), "0 с", "0s"),
        (timedelta(hours=1), "1 ч 00 мин", "1h 00m"),
    ],
)
def test_format_age(age: timedelta, ru: str, en: str) -> None:
    assert format_age(age) == ru
    assert format_age(age, "ru") == ru
    assert format_age(age, "en") == en


def test_format_age_unknown_language_falls_back_to_russian() -> None:
    assert format_age(timedelta(minutes=5), "de") == "5 мин"


# --- properties -----------------------------------------------------------------------------

_BASE = datetime(2026, 3, 1, tzinfo=UTC)
# Minutes across about three months, covering Berlin's spring DST change.
instants = st.integers(min_value=0, max_value=90 * 24 * 60).map(
    lambda minutes: _BASE + timedelta(minutes=minutes)
)
specs = st.sampled_from(
    [
        "mon-fri 09:00-21:00, sat 10:00-18:00",
        "fri 20:00-02:00",
        "sun 01:00-04:00, wed 02:15-02:45",
        "daily 08:00-12:00 13:00-24:00",
        "sat-mon 23:00-03:00",
    ]
)
zones = st.sampled_from([MOSCOW, BERLIN, ZoneInfo("America/New_York"), UTC])


@settings(max_examples=200, deadline=None)
@given(spec=specs, tz=zones, points=st.lists(instants, min_size=3, max_size=3))
def test_elapsed_is_additive_and_bounded(spec: str, tz: ZoneInfo, points: list[datetime]) -> None:
    a, b, c = sorted(points)
    working = WorkingHours.parse(spec)
    total = working.elapsed(a, c, tz)
    assert total == working.elapsed(a, b, tz) + working.elapsed(b, c, tz)
    assert timedelta(0) <= total <= c - a


@settings(max_examples=100, deadline=None)
@given(tz=zones, start=instants, end=instants)
def test_always_equals_plain_difference(tz: ZoneInfo, start: datetime, end: datetime) -> None:
    expected = max(end - start, timedelta(0))
    assert WorkingHours.always().elapsed(start, end, tz) == expected
    # The general day-stepping path agrees with the 24/7 shortcut.
    assert ALWAYS_UNMERGED.elapsed(start, end, tz) == expected


@settings(max_examples=100, deadline=None)
@given(spec=specs, tz=zones, at=instants)
def test_next_open_is_open(spec: str, tz: ZoneInfo, at: datetime) -> None:
    working = WorkingHours.parse(spec)
    opens = working.next_open(at, tz)
    assert opens >= at
    assert working.is_open(opens, tz)
    assert working.elapsed(at, opens, tz) == timedelta(0)


# --- whole weeks at once --------------------------------------------------------------------


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def day_by_day(working: WorkingHours, start: datetime, end: datetime, tz: ZoneInfo) -> timedelta:
    """The reference: every local day's open periods, one day at a time, clipped to the span."""
    low = (start - _EPOCH) // timedelta(microseconds=1)
    high = (end - _EPOCH) // timedelta(microseconds=1)
    total = 0
    day, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    while day <= last:
        for begin, finish in working.open_periods(day, tz):
            total += max(0, min(finish, high) - max(begin, low))
        day += timedelta(days=1)
    return timedelta(microseconds=total)


# Moscow changed its clocks twice a year until March 2011 (then stayed on UTC+4) and went back
# to UTC+3 in October 2014; Berlin changes twice a year throughout.
_YEARS_START = datetime(2009, 6, 1, tzinfo=UTC)
_YEARS_US = 7 * 366 * 24 * 3600 * 10**6
_YEAR_US = 366 * 24 * 3600 * 10**6
WEEK_SPECS = (
    "mon-fri 09:00-21:00, sat 10:00-18:00",
    "fri 20:00-02:00",  # past midnight
    "sun 01:00-04:00, wed 02:15-02:45",  # across the DST hours
    "daily 02:30-03:30",  # inside the spring-forward gap in Berlin
    "sat-mon 22:00-06:00",  # over the week's end and midnight
    "mon 00:00-24:00",
)


@settings(max_examples=300, deadline=None)
@given(
    spec=st.sampled_from(WEEK_SPECS),
    tz=st.sampled_from([MOSCOW, BERLIN]),
    offset=st.integers(0, _YEARS_US),
    length=st.integers(0, _YEAR_US),
)
def test_whole_weeks_agree_with_day_by_day(
    spec: str, tz: ZoneInfo, offset: int, length: int
) -> None:
    working = WorkingHours.parse(spec)
    start = _YEARS_START + timedelta(microseconds=offset)
    end = start + timedelta(microseconds=length)
    assert working.elapsed(start, end, tz) == day_by_day(working, start, end, tz)
    # Cached runs of weeks give the same answer the second time, and for unmerged periods.
    assert working.elapsed(start, end, tz) == day_by_day(working, start, end, tz)
    assert ALWAYS_UNMERGED.elapsed(start, end, tz) == end - start


def test_open_periods_are_the_instants_elapsed_sums() -> None:
    night = WorkingHours.parse("sun 01:00-04:00")
    utc = timedelta(hours=1)
    # Berlin springs forward at 02:00 on 29 March 2026: the period has two real hours.
    ((begin, end),) = night.open_periods(datetime(2026, 3, 29).date(), BERLIN)
    assert _EPOCH + timedelta(microseconds=begin) == datetime(2026, 3, 29, 1, tzinfo=UTC) - utc
    assert end - begin == 2 * 3600 * 10**6
    assert night.open_periods(datetime(2026, 3, 30).date(), BERLIN) == ()  # Monday: shut
    gap = WorkingHours.parse("sun 02:15-02:45")  # wholly in the skipped hour: no period
    assert gap.open_periods(datetime(2026, 3, 29).date(), BERLIN) == ()


def test_whole_weeks_across_moscow_clock_changes() -> None:
    around_the_clock = WorkingHours((((0, 1440),),) * 7)  # not is_always: counts by week
    # 26 October 2014: Moscow went from UTC+4 back to UTC+3, a Sunday with 25 hours.
    start, end = msk(2014, 10, 13), msk(2014, 11, 10)
    assert around_the_clock.elapsed(start, end, MOSCOW) == hours(28 * 24 + 1)
    # 27 March 2011: the last spring-forward (to UTC+4, kept), a Sunday of 23 hours; the shop
    # hours from 02:00 to 03:00 that night did not happen.
    nights = WorkingHours.parse("daily 01:30-03:30")
    start, end = msk(2011, 3, 14), msk(2011, 4, 11)
    assert nights.elapsed(start, end, MOSCOW) == hours(28 * 2 - 1)
    assert nights.elapsed(start, end, MOSCOW) == day_by_day(nights, start, end, MOSCOW)


def test_an_old_item_is_counted_by_the_week(monkeypatch: pytest.MonkeyPatch) -> None:
    import triage.clock

    calls = 0
    original = triage.clock._wall_to_us

    def counting(*args: object) -> int:
        nonlocal calls
        calls += 1
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(triage.clock, "_wall_to_us", counting)
    working = WorkingHours.parse("mon-fri 09:00-21:00, sat 10:00-18:00")
    start, end = msk(2021, 3, 3, 12), msk(2026, 3, 4, 15)  # five years
    expected = day_by_day(working, start, end, MOSCOW)
    calls = 0
    assert working.elapsed(start, end, MOSCOW) == expected
    # Two wall-clock look-ups a week (where it starts and ends), not two a day per period.
    assert calls <= 2 * (5 * 53) + 2 * 14
    calls = 0
    assert working.elapsed(start, end + timedelta(minutes=1), MOSCOW) == expected + timedelta(
        minutes=1
    )
    assert calls == 0  # the run of weeks and the partial days are cached
