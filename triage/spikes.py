"""Spikes: an hour with far more complaints than that hour of the week usually brings.

An outage or a bad batch shows as a burst of negative items. Monday 10:00 is compared with the
Monday 10:00s of the preceding weeks, not with Sunday night, so the daily and weekly rhythm of
a shop is not a spike. The baseline is robust: the median of those hours, and their spread as
the median absolute deviation (MAD), which one earlier outage cannot inflate the way it would a
mean and a standard deviation.

    flagged  <=>  count >= min_count  and  count > median + k * spread
    spread    =   max(1.4826 * MAD, sqrt(median), 1)

1.4826 * MAD estimates the standard deviation for normal data. Counts also vary by chance,
about sqrt(mean) for Poisson arrivals, and a MAD from a few weeks can be near zero by luck
(500 and 502 complaints), so the spread never goes below that; the floor of 1 keeps an hour
that is always 0 from flagging on a stray complaint. Weeks before the first stored item are
missing, not zeros, and an hour needs `min_weeks` of them to be judged at all.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

# A local hour slot: (date ordinal, hour 0-23) in the shop's timezone.
Slot = tuple[int, int]

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True, slots=True)
class SpikeRule:
    k: float = 4.0
    min_count: int = 5
    weeks: int = 4
    min_weeks: int = 2


DEFAULT_RULE = SpikeRule()


@dataclass(frozen=True, slots=True)
class Spike:
    start: datetime  # local, the start of the hour
    count: int  # negative items that arrived in the hour
    baseline: float  # the median of the same hour in the preceding weeks
    threshold: float  # what the count had to exceed


def threshold(history: Sequence[int], rule: SpikeRule) -> tuple[float, float]:
    """(baseline median, threshold) for an hour whose earlier weeks counted `history`."""
    median = float(statistics.median(history))
    mad = float(statistics.median(abs(value - median) for value in history))
    return median, median + rule.k * max(MAD_TO_SIGMA * mad, math.sqrt(median), 1.0)


def find_spikes(
    counts: Mapping[Slot, int],
    window: Sequence[tuple[Slot, datetime]],
    earliest: Slot | None,
    rule: SpikeRule = DEFAULT_RULE,
) -> list[Spike]:
    """The window's hours whose negative count is a spike, in time order.

    `counts` holds the negative count of every hour slot in the window and the `rule.weeks`
    weeks before it (absent = 0); `earliest` is the slot of the first stored item.
    """
    if earliest is None:
        return []
    spikes: list[Spike] = []
    for (day, hour), start in window:
        count = counts.get((day, hour), 0)
        if count < rule.min_count:
            continue
        history = [
            counts.get((day - 7 * week, hour), 0)
            for week in range(1, rule.weeks + 1)
            if (day - 7 * week, hour) >= earliest
        ]
        if len(history) < rule.min_weeks:
            continue
        baseline, limit = threshold(history, rule)
        if count > limit:
            spikes.append(Spike(start=start, count=count, baseline=baseline, threshold=limit))
    return spikes
