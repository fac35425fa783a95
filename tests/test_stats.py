"""Shift analytics: a fixed day computed by hand, the pieces it is built from, and the store's
query (indexes, migration)."""

from __future__ import annotations

import json
import math
import sqlite3
import statistics
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.board import Board
from triage.clock import WorkingHours
from triage.model import Column, Kind
from triage.spikes import SpikeRule, find_spikes, threshold
from triage.sqlite_schema import SCHEMA_VERSION
from triage.sqlite_store import SqliteStore
from triage.stats import (
    Report,
    StatsRows,
    StatsSettings,
    build_report,
    group_durations,
    parse_day_range,
    parse_moment,
    preset_range,
    summarise,
    to_ms,
    today_summary,
)
from triage.stats_export import (
    report_csv,
    report_dict,
    report_json,
    report_markdown,
    report_table,
)
from triage.stats_text import complaint_terms, stem, words

from .conftest import SETTINGS, FakeClock, Ingest, make_item

MOSCOW = ZoneInfo("Europe/Moscow")
SHOP = StatsSettings(
    timezone=MOSCOW,
    hours=WorkingHours.parse("mon-fri 09:00-18:00"),
    warn_after=timedelta(minutes=15),
    breach_after=timedelta(hours=1),
)


def msk(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """November 2026 in Moscow (UTC+3, no DST); the 23rd is a Monday."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=MOSCOW).astimezone(UTC)


# ---------------------------------------------------------------------------------------------
# The fixed day.
#
# Shop hours mon-fri 09:00-18:00 (Moscow), warn 15 min, breach 1 h. Report for Monday 23.11
# (00:00 to Tuesday 00:00), as of Monday 17:00. Operators Оля and Маша.
#
#   item  arrives  column     network   kind     what happened
#   H     Sun 23:00 negative  vk        comment  Оля replies Mon 09:05  (Sunday: not in range)
#   A     08:30    negative   vk        dm       Оля replies 09:10; Маша replies too, 09:30
#                                                (not the first); Оля tags it «доставка» 09:31
#   B     10:00    negative   vk        comment  Маша acknowledges 10:20, marks done 11:00
#   C     11:00    questions  telegram  dm       Оля replies 11:05, undoes it 11:05:03,
#                                                redirects to delivery 12:30
#   D     12:00    neutral    x         mention  Оля snoozes it 12:05 until 15:00; unanswered
#   F     13:00    positive   telegram  comment  Оля marks done 13:05 without an answer
#   E     16:30    positive   vk        comment  unanswered
#   G     16:50    negative   vk        dm       unanswered
#
# First responses, in working time (the shop opens 09:00):
#   A 09:00-09:10 = 600 s      (before opening does not count)
#   B 10:00-10:20 = 1200 s
#   C 11:00-12:30 = 5400 s     (the undone 11:05 reply is no response)
#   median = 1200; p90 nearest rank = ceil(0.9 * 3) = 3rd = 5400; mean = 7200 / 3 = 2400
# Waiting at 17:00 (no answer, not done): D 18000 s (snoozed or not), E 1800 s, G 600 s.
# F was closed without an answer: left out of the SLA and the response times.
# SLA: within warn (< 900 s): A; within breach (< 3600 s): A, B; late: C.
#   waiting past warn: D, E (2); past breach: D (1); pending (younger than 1 h): E, G (2)
#   kept within warn   = 1 / (3 answered + 2 waiting past warn)   = 0.2
#   kept within breach = 2 / (3 answered + 1 waiting past breach) = 0.5
#   breaches = C (answered late) + D (waiting) = 2; listed longest first: D 18000, C 5400
# Time to done: B 10:00-11:00 = 3600, F 13:00-13:05 = 300: median 1950, p90 3600, mean 1950
# Counts: 7 items; negative A B G, questions C, neutral D, positive E F;
#   vk A B E G, telegram C F, x D; dm A C G, comment B E F, mention D;
#   tag доставка 1 (A); team delivery 1 (C).
# Operators: Оля answered A (600) and C (5400) first: median 3000, p90 5400, mean 3000,
#   1 of 2 within breach; Маша answered B (1200). Actions taken on Monday, not undone:
#   Оля reply 2 (H and A; the undone one does not count), tag 1, undo 1, snooze 1,
#   redirect 1, done 1; Маша reply 1, acknowledge 1, done 1.
# (Маша's board had A without Оля's answer and wrote 09:30 into the mention's
# first_response_at: the report reads the actions, so A's first response stays 09:10.)
# Per hour (arrivals): 08 A; 10 B; 11 C; 12 D; 13 F; 16 E G.
#   08: kept warn 1/1 = 1.0; 11: kept breach 0/1 = 0.0, 1 breach;
#   16: 2 in, 1 negative (G), nothing answered, E past warn: kept warn 0/1 = 0.0,
#       kept breach None (nothing decided yet).
# Histogram (bounds 300, 900, 1800, 3600, 7200, ...): 600 -> up to 900, 1200 -> up to 1800,
#   5400 -> up to 7200.
# Complaint words (negative A, B, G, by items): «кофе» 3, «холодный» 3 (холодный/холодный/
#   Холодный), then one each.


@pytest.fixture
def day(store: SqliteStore, clock: FakeClock, ingest: Ingest) -> SqliteStore:
    def arrive(native: str, text: str, when: datetime, network: str, kind: Kind) -> int:
        (mention,) = ingest(make_item(native, text, created_at=when, network=network, kind=kind))
        return int(mention.id)

    clock.now = msk(23, 8, 0)
    ids = {
        "H": arrive("H", "Плохо упаковали", msk(22, 23), "vk", Kind.COMMENT),
        "A": arrive("A", "Доставка опоздала, кофе холодный", msk(23, 8, 30), "vk", Kind.DM),
        "B": arrive("B", "Кофе опять холодный, ужас", msk(23, 10), "vk", Kind.COMMENT),
        "C": arrive("C", "Когда привезут заказ?", msk(23, 11), "telegram", Kind.DM),
        "D": arrive("D", "Зашёл за капучино", msk(23, 12), "x", Kind.MENTION),
        "F": arrive("F", "Спасибо!", msk(23, 13), "telegram", Kind.COMMENT),
        "E": arrive("E", "Спасибо, всё вкусно", msk(23, 16, 30), "vk", Kind.COMMENT),
        "G": arrive("G", "Холодный кофе и грубый курьер", msk(23, 16, 50), "vk", Kind.DM),
    }
    olya = Board(store, replace(SETTINGS, timezone=MOSCOW), clock)
    masha = Board(store, replace(SETTINGS, operator="Маша", timezone=MOSCOW), clock)
    olya.load()
    masha.load()

    def at(hour: int, minute: int, second: int = 0) -> None:
        clock.now = msk(23, hour, minute, second)

    at(9, 5)
    olya.reply(ids["H"], "Извините")
    at(9, 10)
    olya.reply(ids["A"], "Разбираемся")
    at(9, 30)
    masha.reply(ids["A"], "Уже разбираемся")
    at(9, 31)
    olya.tag(ids["A"], "доставка")
    at(10, 20)
    masha.acknowledge(ids["B"])
    at(11, 0)
    masha.done(ids["B"])
    at(11, 5)
    olya.reply(ids["C"], "Не тому")
    at(11, 5, 3)
    olya.undo()
    at(12, 5)
    olya.snooze(ids["D"], msk(23, 15))
    at(12, 30)
    olya.redirect(ids["C"], "delivery")
    at(13, 5)
    olya.done(ids["F"])
    at(17, 0)
    return store


def monday(store: SqliteStore, **kwargs: object) -> Report:
    return build_report(store, SHOP, msk(23, 0), msk(24, 0), msk(23, 17), **kwargs)  # type: ignore[arg-type]


def test_the_fixed_day_matches_the_hand_computation(day: SqliteStore) -> None:
    r = monday(day)
    assert r.incoming == 7
    assert r.by_column == {"negative": 3, "questions": 1, "neutral": 1, "positive": 2}
    assert r.by_network == {"vk": 4, "telegram": 2, "x": 1}
    assert r.by_kind == {"dm": 3, "comment": 3, "mention": 1}
    assert r.by_tag == {"доставка": 1}
    assert r.by_team == {"delivery": 1}
    first = r.first_response
    assert (first.count, first.median, first.p90, first.mean) == (3, 1200.0, 5400.0, 2400.0)
    done = r.time_to_done
    assert (done.count, done.median, done.p90, done.mean) == (2, 1950.0, 3600.0, 1950.0)
    sla = r.sla
    assert (sla.answered, sla.within_warn, sla.within_breach) == (3, 1, 2)
    assert (sla.waiting_past_warn, sla.waiting_past_breach, sla.pending) == (2, 1, 2)
    assert sla.closed_unanswered == 1
    assert sla.kept_warn == 0.2
    assert sla.kept_breach == 0.5
    assert sla.breaches == 2
    assert [(b.waited, b.first_response_at is None, b.operator) for b in r.breaches] == [
        (18000.0, True, None),
        (5400.0, False, "Оля"),
    ]
    assert [b.text for b in r.breaches] == ["Зашёл за капучино", "Когда привезут заказ?"]
    assert r.breaches[1].column is Column.QUESTIONS and r.breaches[1].network == "telegram"
    assert r.first_response_by_column["negative"].median == 900.0  # A 600, B 1200
    assert r.first_response_by_column["questions"].median == 5400.0


def test_the_fixed_day_per_operator_and_per_hour(day: SqliteStore) -> None:
    r = monday(day)
    olya, masha = r.operators
    assert olya.operator == "Оля"
    fr = olya.first_response
    assert (fr.count, fr.median, fr.p90, fr.mean) == (2, 3000.0, 5400.0, 3000.0)
    assert (olya.sla.answered, olya.sla.within_breach) == (2, 1)
    assert olya.actions == {
        "reply": 2,
        "tag": 1,
        "undo": 1,
        "snooze": 1,
        "redirect": 1,
        "done": 1,
    }
    assert masha.operator == "Маша"
    assert masha.first_response.median == 1200.0
    assert masha.actions == {"reply": 1, "acknowledge": 1, "done": 1}

    assert r.granularity == "hour"
    by_hour = {p.start.hour: p for p in r.series}
    assert len(r.series) == 24
    assert [h for h, p in sorted(by_hour.items()) if p.incoming] == [8, 10, 11, 12, 13, 16]
    assert by_hour[8].sla.kept_warn == 1.0
    assert (by_hour[11].sla.kept_breach, by_hour[11].sla.breaches) == (0.0, 1)
    sixteen = by_hour[16]
    assert (sixteen.incoming, sixteen.negative) == (2, 1)
    assert (sixteen.sla.kept_warn, sixteen.sla.kept_breach) == (0.0, None)
    assert r.hour_of_week[0][16] == 2 and sum(r.hour_of_week[0]) == 7
    assert sum(map(sum, r.hour_of_week[1:])) == 0
    assert r.hour_of_day[8] == 1
    assert [b.count for b in r.response_histogram] == [0, 1, 1, 0, 1, 0, 0, 0, 0]
    assert r.spikes == ()
    assert r.complaints.words[:2] == (("кофе", 3), ("холодный", 3))


def test_responses_out_of_order_still_find_the_first() -> None:
    """The engine does not rely on the store's order: the earliest response per item wins."""
    base = to_ms(msk(23, 10))
    minute = 60_000

    class Source:
        def stats_rows(self, *args: object, **kwargs: object) -> StatsRows:
            return StatsRows(
                item_ids=np.array([7, 3], dtype=np.int64),
                created_ms=np.array([base, base], dtype=np.int64),
                done_ms=np.array([-1, -1], dtype=np.int64),
                codes=np.array([0, 1], dtype=np.int64),
                response_ids=np.array([7, 3, 7, 3], dtype=np.int64),
                response_ms=np.array(
                    [base + 9 * minute, base + 50 * minute, base + 5 * minute, base + 70 * minute],
                    dtype=np.int64,
                ),
                response_operator=np.array([1, 0, 0, 1], dtype=np.int64),
                operators=("Оля", "Маша"),
                networks={},
                teams={},
                tags={},
                operator_actions={},
                negative_quarters={},
                spike_origin_ms=base,
                earliest_ms=base,
                negative_total=1,
                complaint_texts=[],
            )

        def get_mentions(self, ids: object) -> list[object]:
            return []

    r = build_report(Source(), SHOP, msk(23, 0), msk(24, 0), msk(23, 17))  # type: ignore[arg-type]
    assert r.first_response_by_column["negative"].median == 300.0  # item 7: 10:05 by Оля
    assert r.first_response_by_column["questions"].median == 3000.0  # item 3: 10:50 by Оля
    assert [(o.operator, o.first_response.count) for o in r.operators] == [("Оля", 2)]


def test_the_fixed_day_on_a_24_7_clock(day: SqliteStore) -> None:
    # A waited 08:30-09:10 = 2400 s of real time; B 1200; C 5400: median 2400, p90 5400.
    r = build_report(
        day, replace(SHOP, hours=WorkingHours.always()), msk(23, 0), msk(24, 0), msk(23, 17)
    )
    assert (r.first_response.median, r.first_response.p90) == (2400.0, 5400.0)
    assert r.first_response.mean == 3000.0
    # A is late for warn now: kept warn 0 / (3 + 2) (D, E waiting past 15 min).
    assert r.sla.kept_warn == 0.0
    assert r.hours == "24/7"


def test_a_week_is_shown_per_day_and_counts_arrivals_in_range_only(day: SqliteStore) -> None:
    r = build_report(day, SHOP, msk(17, 0), msk(24, 0), msk(23, 17))
    assert r.granularity == "day"
    assert [(p.start.day, p.incoming) for p in r.series if p.incoming] == [(22, 1), (23, 7)]
    # H (Sunday 23:00, shut) was answered Monday 09:05: 5 working minutes, on Sunday's row.
    assert r.first_response.count == 4
    sunday = r.series[-2]
    assert (sunday.start.day, sunday.first_response.median) == (22, 300.0)


def test_today_summary_is_the_cheap_part(day: SqliteStore) -> None:
    summary = today_summary(day, SHOP, msk(23, 17))
    assert (summary.answered, summary.median_first_response, summary.breaches) == (3, 1200.0, 2)


def test_an_empty_range(store: SqliteStore) -> None:
    r = build_report(store, SHOP, msk(23, 0), msk(24, 0), msk(23, 17))
    assert r.incoming == 0
    assert r.first_response.median is None
    assert r.sla.kept_breach is None
    assert r.operators == () and r.breaches == () and r.spikes == ()
    json.dumps(report_dict(r))
    with pytest.raises(ValueError, match="empty"):
        build_report(store, SHOP, msk(24, 0), msk(23, 0), msk(23, 17))


# -- exports -------------------------------------------------------------------------------------


def test_json_keys_are_the_documented_ones(day: SqliteStore) -> None:
    data = report_dict(monday(day))
    assert list(data) == [
        "range",
        "totals",
        "by_column",
        "by_network",
        "by_kind",
        "by_tag",
        "by_team",
        "first_response",
        "first_response_by_column",
        "time_to_done",
        "sla",
        "breaches",
        "operators",
        "series",
        "hour_of_week",
        "hour_of_day",
        "response_histogram",
        "spikes",
        "complaints",
    ]
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Reports", 1)[1].split("\n## ", 1)[0]
    for key in data:
        assert f"`{key}`" in section, key
    assert data["totals"] == {
        "incoming": 7,
        "answered": 3,
        "unanswered": 3,
        "closed_unanswered": 1,
        "done": 2,
    }
    assert data["first_response"] == {
        "count": 3,
        "median_s": 1200.0,
        "p90_s": 5400.0,
        "mean_s": 2400.0,
    }
    assert data["sla"]["kept_warn"] == 0.2 and data["sla"]["breaches"] == 2
    assert data["range"]["since"] == "2026-11-23T00:00:00+03:00"
    assert data["breaches"][0]["created_at"] == "2026-11-23T12:00:00+03:00"
    assert data["operators"][0]["kept_breach"] == 0.5


def test_csv_is_long_form_and_defuses_formulas(day: SqliteStore, clock: FakeClock) -> None:
    report = monday(day)
    evil = replace(report.breaches[0], text='=HYPERLINK("http://x")\x1b[31m')
    text = report_csv(replace(report, breaches=(evil,)))
    lines = text.splitlines()
    assert lines[0] == "section,key,metric,value"
    assert "first_response,,median_s,1200.0" in lines
    assert "by_column,negative,count,3" in lines
    assert "hour_of_week,mon 16,incoming,2" in lines
    breach_text = next(line for line in lines if line.startswith("breaches,") and ",text," in line)
    assert "'=HYPERLINK" in breach_text and ",=HYPERLINK" not in breach_text
    assert "\x1b" not in text


HOSTILE = "\u202eвзлом\x9b2J\x1b]0;pwned\x07 <img src=x onerror=alert(1)> [жми](http://x) *a*"


def test_every_format_is_safe_to_print(day: SqliteStore) -> None:
    """Customer text (and an operator's name) with terminal escapes, a bidi override and
    Markdown/HTML: JSON keeps the exact text behind \\u escapes, the rest show it inert."""
    report = monday(day)
    evil = replace(report.breaches[0], text=HOSTILE, operator="Оля\x1b[2J")
    report = replace(report, breaches=(evil,), by_tag={"=tag\u202e": 1})
    text = report_json(report)
    assert all(line.isprintable() for line in text.splitlines())
    data = json.loads(text)
    assert data["breaches"][0]["text"] == HOSTILE  # the same value once parsed
    assert data["breaches"][0]["operator"] == "Оля\x1b[2J"
    assert "\\u202e" in text and "\\u009b" in text and "\\u001b" in text
    assert "взлом" in text  # Cyrillic stays readable
    csv_text = report_csv(report)
    assert all(line.isprintable() for line in csv_text.splitlines())
    assert "by_tag,'=tag,count,1" in csv_text.splitlines()
    md = report_markdown(report)
    assert all(line.isprintable() for line in md.splitlines())
    assert "\\<img src=x onerror=alert(1)\\>" in md and " <img" not in md
    assert "\\[жми\\](http://x)" in md and "\\*a\\*" in md
    table = report_table(report)
    assert all(line.isprintable() for line in table.splitlines())


def test_markdown_and_table_read_in_russian(day: SqliteStore) -> None:
    report = monday(day)
    md = report_markdown(report)
    assert md.startswith("# Отчёт смены")
    assert "| Поступило | 7 |" in md
    assert "## Нарушения SLA (2)" in md
    piped = replace(report, breaches=(replace(report.breaches[0], text="a | b"),))
    assert "a \\| b" in report_markdown(piped)
    table = report_table(report, "en")
    assert table.startswith("Shift report")
    assert "answered within 15 min" in table or "answered within 15m" in table


# -- pieces --------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=60))
def test_summarise_matches_the_definitions(values: list[int]) -> None:
    d = summarise(np.array(values, dtype=np.int64))
    ordered = sorted(values)
    assert d.count == len(values)
    assert d.median == statistics.median(values) / 1000
    assert d.p90 == ordered[math.ceil(0.9 * len(values)) - 1] / 1000
    assert d.mean == pytest.approx(sum(values) / len(values) / 1000)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 10**7)), max_size=80))
def test_group_durations_equal_per_group_summaries(pairs: list[tuple[int, int]]) -> None:
    groups = np.array([g for g, _ in pairs], dtype=np.int64)
    values = np.array([v for _, v in pairs], dtype=np.int64)
    got = group_durations(groups, values, 5)
    for group in range(5):
        assert got[group] == summarise(values[groups == group])


def test_spike_threshold_is_robust() -> None:
    # Median 4, MAD 1: spread max(1.48, 2, 1) = 2 -> threshold 4 + 4 * 2 = 12.
    assert threshold([3, 4, 5, 4], SpikeRule()) == (4.0, 12.0)
    # One earlier outage (40) does not move the median or the MAD much.
    baseline, limit = threshold([4, 40, 5, 4], SpikeRule())
    assert baseline == 4.5 and limit < 15


def test_spikes_need_history_and_a_minimum_count() -> None:
    monday_10 = (date(2026, 11, 23).toordinal(), 10)
    start = datetime(2026, 11, 23, 10, tzinfo=MOSCOW)
    history = {(monday_10[0] - 7 * w, 10): 3 for w in range(1, 5)}
    window = [(monday_10, start)]
    earliest = (monday_10[0] - 28, 0)
    # Always 3: MAD 0, spread max(0, sqrt(3), 1) = 1.73, threshold 3 + 4 * 1.73 = 9.93.
    (spike,) = find_spikes({**history, monday_10: 10}, window, earliest)
    assert (spike.count, spike.baseline) == (10, 3.0)
    assert spike.threshold == pytest.approx(3 + 4 * math.sqrt(3))
    assert find_spikes({**history, monday_10: 9}, window, earliest) == []
    assert find_spikes({monday_10: 40}, window, (monday_10[0] - 7, 0)) == []  # one week only
    assert find_spikes({monday_10: 4}, window, earliest) == []  # below the minimum count
    # Weeks before the first stored item are missing, not zeros.
    assert find_spikes({monday_10: 40}, window, (monday_10[0], 0)) == []


def test_stemmer_groups_inflections() -> None:
    assert stem("доставку") == stem("доставка") == stem("доставки")
    assert stem("холодный") == stem("холодная") == stem("холодное")
    assert stem("опоздал") == stem("опоздала")
    assert stem("курьер") == stem("курьера")


def test_complaint_terms() -> None:
    texts = [
        "Курьер опоздал, доставка не пришла",
        "Доставку ждём третий день, курьер не отвечает",
        "Не отвечает никто!!! Доставку верните",
        "\u202eкурьер\u200b опоздал",
    ]
    terms = complaint_terms(texts)
    ranked = dict(terms.words)
    assert ranked["доставку"] == 3  # доставка, доставку, доставку: one word, three items
    assert ranked["курьер"] == 3
    assert "не" not in ranked and "никто" not in ranked
    assert ("не отвечает", 2) in terms.phrases
    assert ("курьер опоздал", 2) in terms.phrases  # the zero-width space is cleaned away
    for term, _ in terms.words + terms.phrases:
        assert term.replace(" ", "").replace("-", "").isalpha()  # nothing invisible
    # A word repeated in one item counts once.
    assert dict(complaint_terms(["ужас ужас ужас", "ужас"]).words) == {"ужас": 2}
    assert words("кое-где 5 раз, ой") == ["кое-где", None, None, None, None]


def test_range_parsing() -> None:
    now = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert parse_moment("30d", now, MOSCOW, end=False) == now - timedelta(days=30)
    assert parse_moment("24h", now, MOSCOW, end=False) == now - timedelta(hours=24)
    assert parse_moment("2026-11-01", now, MOSCOW, end=False) == datetime(
        2026, 11, 1, tzinfo=MOSCOW
    )
    assert parse_moment("2026-11-01", now, MOSCOW, end=True) == datetime(2026, 11, 2, tzinfo=MOSCOW)
    assert parse_moment("2026-11-01T09:30", now, MOSCOW, end=False) == datetime(
        2026, 11, 1, 9, 30, tzinfo=MOSCOW
    )
    # A UTC time, or any offset, is a moment and not a duration, though it ends in a letter.
    assert parse_moment("2026-11-01T09:00Z", now, MOSCOW, end=False) == datetime(
        2026, 11, 1, 9, 0, tzinfo=UTC
    )
    assert parse_moment("2026-11-01T09:00+05:00", now, MOSCOW, end=True) == datetime(
        2026, 11, 1, 4, 0, tzinfo=UTC
    )
    assert parse_moment("1h30m", now, MOSCOW, end=False) == now - timedelta(minutes=90)
    for bad in ("", "soon", "30", "0d", "2026-13-01", "2026-11-01T09:00Q"):
        with pytest.raises(ValueError):
            parse_moment(bad, now, MOSCOW, end=False)
    today = date(2026, 11, 23)
    assert parse_day_range("1.11–15.11", today) == (date(2026, 11, 1), date(2026, 11, 15))
    assert parse_day_range("с 1.11 по 2.11", today) == (date(2026, 11, 1), date(2026, 11, 2))
    assert parse_day_range("2026-11-01..2026-11-03", today)[1] == date(2026, 11, 3)
    assert parse_day_range("24.11", today) == (date(2025, 11, 24), date(2025, 11, 24))
    for bad in ("вчера", "15.11–1.11", "1.11 2.11 3.11", "31.02"):
        with pytest.raises(ValueError):
            parse_day_range(bad, today)
    since, until = preset_range("7d", now, MOSCOW)
    assert since == datetime(2026, 11, 17, tzinfo=MOSCOW) and until == now


# -- the store ---------------------------------------------------------------------------------


STATS_INDEXES = {
    "mentions_col",
    "mentions_network",
    "mentions_team",
    "mentions_tagged",
    "actions_response",
    "actions_operator",
}


def indexes(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
        return {name for (name,) in rows}
    finally:
        db.close()


def test_a_version_1_store_gains_the_stats_indexes(db_path: Path) -> None:
    SqliteStore(str(db_path)).close()
    db = sqlite3.connect(db_path)
    for name in STATS_INDEXES:
        db.execute(f"DROP INDEX {name}")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    assert not indexes(db_path) & STATS_INDEXES
    SqliteStore(str(db_path)).close()
    assert indexes(db_path) >= STATS_INDEXES
    assert SCHEMA_VERSION == 2


@pytest.fixture
def plans(day: SqliteStore) -> Iterator[list[str]]:
    seen: list[str] = []
    day._db.set_trace_callback(seen.append)
    yield seen
    day._db.set_trace_callback(None)


def test_the_report_queries_never_sort_the_big_tables(day: SqliteStore, plans: list[str]) -> None:
    monday(day)
    queries = [q for q in plans if q.lstrip().upper().startswith("SELECT")]
    assert queries
    db = day._db
    for query in queries:
        if "group_concat" not in query:
            continue
        plan = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + query))
        assert "TEMP B-TREE" not in plan, plan
        assert "SCAN mentions" not in plan and "SCAN actions" not in plan, plan
