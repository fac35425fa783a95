"""Durations ("15m"), working hours ("mon-fri 09:00-21:00") and human ages ("3 ч 05 мин").

SLA clocks only tick while the shop is open, so a complaint that arrives on Saturday night is
not "overdue" by Monday morning. `WorkingHours.elapsed` is on the hot path (every visible card
each second), so it never steps by minute: the partial days at either end are summed from cached
per-day intervals, and the whole weeks between them at once (a cached sum per run of weeks; a
week without a change of UTC offset is simply the schedule's nominal week).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

__all__ = ["WorkingHours", "format_age", "parse_duration"]

_DURATION_EXAMPLES = 'Use forms like "45s", "15m", "1h30m" or "2d".'
_DURATION_RE = re.compile(
    r"^(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m)?\s*(?:(?P<s>\d+)\s*s)?$"
)


def parse_duration(text: str) -> timedelta:
    """Parse "45s", "15m", "1h30m", "2d" (units in d, h, m, s order, each at most once)."""
    cleaned = text.strip().lower()
    match = _DURATION_RE.match(cleaned)
    if cleaned and match is not None:
        parts = {unit: int(value) for unit, value in match.groupdict().items() if value}
        return timedelta(
            days=parts.get("d", 0),
            hours=parts.get("h", 0),
            minutes=parts.get("m", 0),
            seconds=parts.get("s", 0),
        )
    if cleaned.isdigit():
        # A bare number is ambiguous (seconds? minutes?), so make the operator say which.
        raise ValueError(
            f'"{text}" has no unit. Write "{cleaned}m" for minutes or "{cleaned}s" for seconds.'
        )
    raise ValueError(f'"{text}" is not a duration. {_DURATION_EXAMPLES}')


# ---------------------------------------------------------------------------------------------
# Working hours

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES: dict[str, int] = {
    **{name: i for i, name in enumerate(_DAY_NAMES)},
    **{name: i for i, name in enumerate(("пн", "вт", "ср", "чт", "пт", "сб", "вс"))},
}
_MINUTES_PER_DAY = 24 * 60
_HOURS_EXAMPLES = 'Use forms like "24/7" or "mon-fri 09:00-21:00, sat 10:00-18:00".'
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
# Websites and office suites turn "-" into en/em dashes; operators paste from both.
_DASHES = str.maketrans({"–": "-", "—": "-", "−": "-"})

Period = tuple[int, int]  # minutes after local midnight, start < end <= 1440
DayPeriods = tuple[Period, ...]

_ALWAYS_DAYS: tuple[DayPeriods, ...] = (((0, _MINUTES_PER_DAY),),) * 7
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
_ONE_WEEK = timedelta(weeks=1)
_US_PER_MINUTE = 60_000_000
_WEEK_US = 7 * 24 * 60 * _US_PER_MINUTE
_CACHE_LIMIT = 20_000

# (start, end) instants in microseconds since the epoch, and their total length.
_DaySpans = tuple[tuple[tuple[int, int], ...], int]


def _hours_error(part: str, problem: str) -> ValueError:
    return ValueError(f'working hours "{part}": {problem}. {_HOURS_EXAMPLES}')


def _parse_time(token: str, part: str, *, is_end: bool) -> int:
    match = _TIME_RE.match(token)
    if match is None:
        raise _hours_error(part, f'"{token}" is not a time like 09:00')
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours == 24 and minutes == 0 and is_end:
        return _MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        raise _hours_error(part, f'"{token}" is not a valid time of day')
    return hours * 60 + minutes


def _parse_day(token: str, part: str) -> int:
    try:
        return _DAY_ALIASES[token]
    except KeyError:
        close = difflib.get_close_matches(token, _DAY_NAMES, n=1)
        suggestion = f' (did you mean "{close[0]}"?)' if close else ""
        raise _hours_error(part, f'unknown day "{token}"{suggestion}; days are mon..sun') from None


def _parse_days(token: str, part: str) -> list[int]:
    if token in ("daily", "ежедневно"):
        return list(range(7))
    if "-" not in token:
        return [_parse_day(token, part)]
    first, _, last = token.partition("-")
    start, end = _parse_day(first, part), _parse_day(last, part)
    # "sat-mon" wraps over the week's end, like the shop's week does.
    return [(start + i) % 7 for i in range((end - start) % 7 + 1)]


def _parse_group(part: str, week: list[list[Period]]) -> None:
    normalized = re.sub(r"\s*-\s*", "-", part.translate(_DASHES).strip().lower())
    tokens = normalized.split()
    if not tokens:
        raise _hours_error(part, "empty group (a stray comma?)")
    day_tokens = [t for t in tokens if not t[:1].isdigit()]
    time_tokens = tokens[len(day_tokens) :]
    if tokens[: len(day_tokens)] != day_tokens:
        raise _hours_error(part, "write the days first, then the hours")
    if not time_tokens:
        raise _hours_error(part, 'no hours given; write e.g. "mon-fri 09:00-21:00"')
    days = sorted({d for token in day_tokens for d in _parse_days(token, part)})
    # A group without day names ("09:00-21:00") means every day.
    days = days or list(range(7))
    for token in time_tokens:
        start_text, dash, end_text = token.partition("-")
        if not dash:
            raise _hours_error(part, f'"{token}" is not a period like 09:00-21:00')
        start = _parse_time(start_text, part, is_end=False)
        end = _parse_time(end_text, part, is_end=True)
        if start == end:
            raise _hours_error(part, f'"{token}" is empty; for a whole day write 00:00-24:00')
        for day in days:
            if start < end:
                week[day].append((start, end))
            else:
                # Past midnight: the tail belongs to the next calendar day.
                week[day].append((start, _MINUTES_PER_DAY))
                week[(day + 1) % 7].append((0, end))


def _merge(periods: list[Period]) -> DayPeriods:
    merged: list[Period] = []
    for start, end in sorted(periods):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _to_us(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _wall_to_us(day: date, minute: int, tz: tzinfo) -> int:
    """The instant a local wall-clock time happens; a time skipped by DST maps to the jump."""
    naive = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
    us = _to_us(naive.replace(tzinfo=tz))
    if _from_us(us).astimezone(tz).replace(tzinfo=None) == naive:
        return us  # exists (for repeated times, fold=0: the first occurrence)
    # In a spring-forward gap the two folds bracket the transition; find it so that the
    # mapping stays monotonic and no working time is counted twice.
    other = _to_us(naive.replace(tzinfo=tz, fold=1))
    low, high = min(us, other), max(us, other)
    before = _from_us(low).astimezone(tz).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if _from_us(middle).astimezone(tz).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {moment!r}")


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """When the shop answers: per weekday (Monday first), merged periods in local minutes."""

    days: tuple[DayPeriods, ...]
    _cache: dict[tuple[tzinfo, int], _DaySpans] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    # (tz, Monday's ordinal, number of weeks) -> working microseconds in those whole weeks.
    _week_cache: dict[tuple[tzinfo, int, int], int] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    _nominal_week_us: int = field(default=0, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError("working hours need exactly 7 days, Monday first")
        minutes = sum(end - start for periods in self.days for start, end in periods)
        object.__setattr__(self, "_nominal_week_us", minutes * _US_PER_MINUTE)

    @classmethod
    def always(cls) -> WorkingHours:
        return cls(_ALWAYS_DAYS)

    @classmethod
    def parse(cls, spec: str) -> WorkingHours:
        text = spec.strip().lower()
        if text in ("24/7", "always", "круглосуточно"):
            return cls.always()
        if not text:
            raise ValueError(f"working hours are empty. {_HOURS_EXAMPLES}")
        week: list[list[Period]] = [[] for _ in range(7)]
        for part in spec.split(","):
            _parse_group(part, week)
        return cls(tuple(_merge(periods) for periods in week))

    @property
    def is_always(self) -> bool:
        return self.days == _ALWAYS_DAYS

    def __repr__(self) -> str:
        return f"WorkingHours.parse({str(self)!r})"

    def __str__(self) -> str:
        if self.is_always:
            return "24/7"
        rendered = self._rendered_days()
        runs: list[tuple[int, int]] = []
        day = 0
        while day < 7:
            last = day
            while last + 1 < 7 and rendered[last + 1] == rendered[day]:
                last += 1
            runs.append((day, last))
            day = last + 1
        if len(runs) > 1 and rendered[0] == rendered[6]:
            # Same hours on Sunday and Monday: one wrapping group reads like the spec ("sat-mon").
            runs = [*runs[1:-1], (runs[-1][0], runs[0][1])]
        groups: list[str] = []
        for first, last in runs:
            if rendered[first]:
                names = _DAY_NAMES[first]
                if last != first:
                    names += f"-{_DAY_NAMES[last]}"
                groups.append(f"{names} {rendered[first]}")
        return ", ".join(groups)

    def _rendered_days(self) -> list[str]:
        # A period ending at 24:00 joined to one starting at 00:00 the next day (and ending
        # earlier than it started) reads back as the single "20:00-02:00" the operator wrote.
        joined: dict[int, int] = {}
        consumed: set[int] = set()
        for day, periods in enumerate(self.days):
            following = self.days[(day + 1) % 7]
            if periods and periods[-1][1] == _MINUTES_PER_DAY and following:
                head = following[0]
                if head[0] == 0 and head[1] < periods[-1][0]:
                    joined[day] = head[1]
                    consumed.add((day + 1) % 7)
        rendered: list[str] = []
        for day, periods in enumerate(self.days):
            texts: list[str] = []
            for index, (start, end) in enumerate(periods):
                if index == 0 and day in consumed:
                    continue
                if index == len(periods) - 1 and day in joined:
                    end = joined[day]
                texts.append(f"{_format_minute(start)}-{_format_minute(end)}")
            rendered.append(" ".join(texts))
        return rendered

    def open_periods(self, day: date, tz: tzinfo) -> tuple[tuple[int, int], ...]:
        """The shop's open periods on the local calendar `day` in `tz`, in order, as (start,
        end) instants in microseconds since the Unix epoch: the very intervals `elapsed` sums.

        DST is applied: a period across a spring-forward gap is that much shorter, one across
        a fall-back hour that much longer, and one wholly inside a gap is left out. A period
        ending at 24:00 ends where the next day's 00:00 begins."""
        return self._spans(day, tz)[0]

    def _spans(self, day: date, tz: tzinfo) -> _DaySpans:
        key = (tz, day.toordinal())
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        spans: list[tuple[int, int]] = []
        for start, end in self.days[day.weekday()]:
            begin, finish = _wall_to_us(day, start, tz), _wall_to_us(day, end, tz)
            if finish > begin:  # a period wholly inside a DST gap never happens
                spans.append((begin, finish))
        result = (tuple(spans), sum(b - a for a, b in spans))
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = result
        return result

    def _week(self, monday: date, tz: tzinfo) -> int:
        """Working microseconds in the local week from `monday` 00:00 to the next Monday."""
        first = _wall_to_us(monday, 0, tz)
        following = _wall_to_us(monday + _ONE_WEEK, 0, tz)
        if following - first == _WEEK_US:
            # No net change of UTC offset in the week, so (tzdata has never had two offset
            # changes cancel out within one Monday-to-Monday week) every wall-clock minute of
            # it happened once: the week is the schedule's nominal one.
            return self._nominal_week_us
        return sum(self._spans(monday + timedelta(days=i), tz)[1] for i in range(7))

    def _weeks(self, monday: date, count: int, tz: tzinfo) -> int:
        """Working microseconds in `count` whole local weeks from `monday`, cached: a card's
        timer asks for the same run of weeks every second until another week completes."""
        key = (tz, monday.toordinal(), count)
        cached = self._week_cache.get(key)
        if cached is not None:
            return cached
        if count == 1:
            total = self._week(monday, tz)
        else:
            total = sum(self._weeks(monday + i * _ONE_WEEK, 1, tz) for i in range(count))
        if len(self._week_cache) >= _CACHE_LIMIT:
            self._week_cache.clear()
        self._week_cache[key] = total
        return total

    def _day(self, day: date, tz: tzinfo, low: int, high: int) -> int:
        """Working microseconds of the local `day` between the instants `low` and `high`."""
        spans, day_total = self._spans(day, tz)
        if not spans:
            return 0
        if spans[0][0] >= low and spans[-1][1] <= high:
            return day_total
        total = 0
        for begin, finish in spans:
            overlap = min(finish, high) - max(begin, low)
            if overlap > 0:
                total += overlap
        return total

    def elapsed(self, start: datetime, end: datetime, tz: tzinfo) -> timedelta:
        """Working time between two aware instants, by the shop's wall clock in `tz`."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        # Instants, not `end - start`: Python subtracts two datetimes sharing a tzinfo by wall
        # clock, which is off by an hour across a DST change.
        low, high = _to_us(start), _to_us(end)
        if high <= low:
            return timedelta(0)
        if self.is_always:
            return timedelta(microseconds=high - low)
        day = start.astimezone(tz).date()
        last = end.astimezone(tz).date()
        total = 0
        # The days up to the first Monday after the start's day, one by one.
        monday = day + timedelta(days=7 - day.weekday())
        while day <= last and day < monday:
            total += self._day(day, tz, low, high)
            day += _ONE_DAY
        # Whole weeks, each wholly after the start's day and before the end's: every instant
        # of them lies between `low` and `high`, so each counts in full.
        weeks = (last - day).days // 7
        if weeks > 0:
            total += self._weeks(day, weeks, tz)
            day += weeks * _ONE_WEEK
        # The rest, up to and including the end's day, one by one.
        while day <= last:
            total += self._day(day, tz, low, high)
            day += _ONE_DAY
        return timedelta(microseconds=total)

    def is_open(self, at: datetime, tz: tzinfo) -> bool:
        _require_aware(at, "at")
        if self.is_always:
            return True
        moment = _to_us(at)
        spans, _ = self._spans(at.astimezone(tz).date(), tz)
        return any(begin <= moment < finish for begin, finish in spans)

    def next_open(self, at: datetime, tz: tzinfo) -> datetime:
        """`at` itself if the shop is open then, else when it next opens (aware, in `tz`)."""
        _require_aware(at, "at")
        if self.is_always:
            return at
        moment = _to_us(at)
        day = at.astimezone(tz).date()
        # Eight days covers a week plus the partial day we start in.
        for _ in range(8):
            for begin, finish in self._spans(day, tz)[0]:
                if begin <= moment < finish:
                    return at
                if begin > moment:
                    return _from_us(begin).astimezone(tz)
            day += _ONE_DAY
        raise ValueError(f"the shop is never open with working hours {self}")


# ---------------------------------------------------------------------------------------------
# Ages

_AGE_UNITS = {
    "ru": ("{} с", "{} мин", "{} ч {:02d} мин", "{} д {:02d} ч"),
    "en": ("{}s", "{}m", "{}h {:02d}m", "{}d {:02d}h"),
}


def format_age(age: timedelta, language: str = "ru") -> str:
    """A compact, truncated age for a card: «45 с», «12 мин», «3 ч 05 мин», «2 д 03 ч»."""
    seconds_fmt, minutes_fmt, hours_fmt, days_fmt = _AGE_UNITS.get(language, _AGE_UNITS["ru"])
    seconds = max(0, int(age.total_seconds()))
    if seconds < 60:
        return seconds_fmt.format(seconds)
    minutes = seconds // 60
    if minutes < 60:
        return minutes_fmt.format(minutes)
    hours = minutes // 60
    if hours < 24:
        return hours_fmt.format(hours, minutes % 60)
    return days_fmt.format(hours // 24, hours % 24)
