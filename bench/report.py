"""Report benchmark: a 30-day shift report over 1,000,000 stored items.

Run: `uv run python bench/report.py [--items 1000000] [--days 30] [--keep PATH] [--reuse]`

It writes the rows straight into a temporary SQLite file in the real schema: the schema's
tables, then mentions and actions with executemany (a shop's day curve, 86% answered, 3% of
first replies undone, a 3-hour complaint outage on day 20), then the store's own migration adds
the indexes and the schema version. It prints how long that took, then times the report end to
end as `socialtui report` runs it: open the store, query, compute, render JSON. Once with
working hours (the shop's "mon-fri 09:00-21:00, sat 10:00-18:00" in Europe/Moscow), once 24/7,
each --runs times (3): the median is judged, and the CPU time and load average are printed,
since on a shared two-core machine a run's wall time depends on whatever else is running.
Target: the 30-day report over 1,000,000 items in <= 3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from triage.clock import WorkingHours
from triage.sqlite_schema import SCHEMA
from triage.sqlite_store import SqliteStore
from triage.stats import StatsSettings, build_report
from triage.stats_export import report_json

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MOSCOW = ZoneInfo("Europe/Moscow")
SHOP_HOURS = "mon-fri 09:00-21:00, sat 10:00-18:00"
OPERATORS = ("Оля", "Маша", "Дима", "Саша", "Петя")
NETWORKS = ("vk", "telegram", "x")
KINDS = ("dm", "comment", "mention")
COLUMNS = ("negative", "questions", "neutral", "positive")
TEAMS = ("delivery", "kitchen", "payments")
TAGS = ("доставка", "брак", "оплата", "кухня")
COMPLAINTS = (
    "Третий день жду доставку",
    "курьер опоздал на час",
    "кофе опять холодный",
    "верните деньги за заказ",
    "приложение не открывается",
    "оплата картой не проходит",
    "заказ привезли не тот",
    "круассаны чёрствые",
    "никто не отвечает в поддержке",
    "списали деньги дважды",
    "грубый бариста",
    "долго ждали заказ",
)
TAILS = ("", ", ужас", "! Верните деньги", ". Сколько можно?", ", больше не закажу", "…")
OTHER = (
    "Подскажите, до скольки вы сегодня работаете?",
    "Есть ли у вас безлактозное молоко?",
    "Зашёл за капучино после работы",
    "Были у вас сегодня с подругой",
    "Спасибо за лавандовый раф, лучший в городе 🌿",
    "Очень вкусные круассаны, спасибо!",
)
# Share of arrivals per local hour: a shop's day, quiet at night.
HOUR_WEIGHTS = np.array(
    [1, 1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 10, 10, 9, 9, 9, 9, 9, 8, 7, 5, 3, 2], dtype=float
)

MENTION_SQL = (
    "INSERT INTO mentions (id, network, native_id, feed, kind, author_id, author_name,"
    " author_handle, author_followers, author_city, text, created_at, received_at, url, context,"
    " route, label, score_negative, score_neutral, score_positive, is_question, model_col, col,"
    " status, tags, team, snoozed_until, first_response_at, done_at, delivery)"
    " VALUES (" + ",".join("?" * 30) + ")"
)
ACTION_SQL = (
    "INSERT INTO actions (mention_id, kind, operator, at, payload, before, undone)"
    " VALUES (?,?,?,?,?,?,?)"
)


def arrivals(rng: np.random.Generator, count: int, days: int) -> np.ndarray:
    """Arrival instants over the last `days` days, following the shop's daily curve."""
    start, end = (NOW - timedelta(days=days)).timestamp(), NOW.timestamp() - 600
    first_day = datetime.combine(
        (NOW - timedelta(days=days)).astimezone(MOSCOW).date(), clock_time(0), MOSCOW
    ).timestamp()
    chosen = np.zeros(0)
    while len(chosen) < count:
        draws = count * 2
        day = rng.integers(0, days + 1, draws)
        hour = rng.choice(24, draws, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
        moments = first_day + day * 86400.0 + hour * 3600.0 + rng.uniform(0, 3600, draws)
        chosen = np.concatenate((chosen, moments[(moments >= start) & (moments < end)]))
    return np.sort(chosen[:count])


def generate(path: str, items: int, days: int, seed: int = 7) -> tuple[int, int]:
    """Fill a fresh store; returns (mentions, actions) written."""
    # The tables first, the rows, then the store's own migration adds the indexes and the
    # schema version: the same store a shop ends up with, built in bulk.
    db = sqlite3.connect(path, isolation_level=None)
    for statement in SCHEMA:
        if statement.startswith("CREATE TABLE"):
            db.execute(statement)
    db.close()
    rng = np.random.default_rng(seed)
    created = arrivals(rng, items, days)
    column = rng.choice(4, items, p=[0.25, 0.2, 0.35, 0.2])
    # An outage: three hours on day 20, from 11:00 local, where complaints pour in.
    outage = (
        datetime.combine(
            (NOW - timedelta(days=10)).astimezone(MOSCOW).date(), clock_time(11), MOSCOW
        )
    ).timestamp()
    in_outage = (created >= outage) & (created < outage + 3 * 3600.0)
    column[in_outage & (rng.random(items) < 0.8)] = 0
    network = rng.integers(0, 3, items)
    kind = rng.integers(0, 3, items)
    operator = rng.integers(0, len(OPERATORS), items)
    now = NOW.timestamp()
    answered = rng.random(items) < 0.86
    first = created + rng.lognormal(np.log(600.0), 1.3, items)
    undone_first = rng.random(items) < 0.03
    response_kind = rng.choice(3, items, p=[0.55, 0.35, 0.10])
    done = rng.random(items) < 0.7
    done_at = first + rng.lognormal(np.log(1800.0), 1.0, items)
    tagged = rng.random(items) < 0.1
    tag = rng.integers(0, len(TAGS), items)
    team = rng.integers(0, len(TEAMS), items)
    complaint = rng.integers(0, len(COMPLAINTS), items)
    tail = rng.integers(0, len(TAILS), items)

    def mention_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(items):
            col = int(column[i])
            replied = bool(answered[i]) and first[i] < now
            closed = replied and bool(done[i]) and done_at[i] < now
            redirected = replied and response_kind[i] == 2
            if col == 0:
                text = COMPLAINTS[complaint[i]] + TAILS[tail[i]]
            else:
                text = OTHER[(i + col) % len(OTHER)]
            status = "done" if closed else ("replied" if replied else "new")
            yield (
                i + 1,
                NETWORKS[network[i]],
                f"n{i}",
                "bench",
                KINDS[kind[i]],
                f"u{i % 90_000}",
                "Покупатель",
                None,
                None,
                None,
                text,
                float(created[i]),
                float(created[i]),
                None,
                None,
                None,
                "negative" if col == 0 else "neutral",
                0.8 if col == 0 else 0.1,
                0.1,
                0.1,
                int(col == 1),
                COLUMNS[col],
                COLUMNS[col],
                status,
                f'["{TAGS[tag[i]]}"]' if tagged[i] else "[]",
                TEAMS[team[i]] if redirected else None,
                None,
                float(first[i]) if replied else None,
                float(done_at[i]) if closed else None,
                "sent" if replied else None,
            )

    def action_rows() -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        kinds = ("reply", "acknowledge", "redirect")
        for i in range(items):
            if not answered[i] or first[i] >= now:
                continue
            who = OPERATORS[operator[i]]
            at = float(first[i])
            if undone_first[i]:
                # A reply taken back within the outbox delay: not a response.
                early = float(created[i]) + (at - float(created[i])) / 3
                rows.append((i + 1, "reply", who, early, "{}", "{}", 1))
                rows.append((i + 1, "undo", who, early + 3.0, "{}", "{}", 0))
            rows.append((i + 1, kinds[response_kind[i]], who, at, "{}", "{}", 0))
            if tagged[i]:
                rows.append((i + 1, "tag", who, at + 1.0, "{}", "{}", 0))
            if done[i] and done_at[i] < now:
                rows.append((i + 1, "done", who, float(done_at[i]), "{}", "{}", 0))
        rows.sort(key=lambda row: row[3])
        return rows

    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("BEGIN")
        db.executemany(MENTION_SQL, mention_rows())
        actions = action_rows()
        db.executemany(ACTION_SQL, actions)
        db.execute("COMMIT")
    finally:
        db.close()
    SqliteStore(path).close()
    return items, len(actions)


def timed_report(path: str, hours: WorkingHours, days: int) -> tuple[float, float, dict[str, Any]]:
    """(wall seconds, CPU seconds of this process, the JSON report)."""
    settings = StatsSettings(
        timezone=MOSCOW,
        hours=hours,
        warn_after=timedelta(minutes=15),
        breach_after=timedelta(hours=1),
    )
    started, cpu = time.perf_counter(), time.process_time()
    store = SqliteStore(path)
    try:
        report = build_report(store, settings, NOW - timedelta(days=days), NOW, NOW)
        text = report_json(report)
    finally:
        store.close()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return elapsed, cpu, json.loads(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--keep", metavar="PATH", help="keep the generated store here")
    parser.add_argument(
        "--reuse", action="store_true", help="report on --keep without regenerating"
    )
    parser.add_argument("--runs", type=int, default=3, help="timed reports per clock (3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="socialtui-report-") as folder:
        path = args.keep or str(Path(folder) / "report.db")
        if not args.reuse:
            Path(path).unlink(missing_ok=True)
            started = time.perf_counter()
            mentions, actions = generate(path, args.items, args.days)
            took = time.perf_counter() - started
            print(f"generated {mentions:,} mentions and {actions:,} actions in {took:.1f} s")
        size = Path(path).stat().st_size / 2**20
        print(f"store: {size:,.0f} MB")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for label, hours in (
            (f"working hours ({SHOP_HOURS})", WorkingHours.parse(SHOP_HOURS)),
            ("24/7", WorkingHours.always()),
        ):
            runs = [timed_report(path, hours, args.days) for _ in range(args.runs)]
            times = [elapsed for elapsed, _, _ in runs]
            cpus = [cpu for _, cpu, _ in runs]
            middle = statistics.median(times)
            data = runs[-1][2]
            first = data["first_response"]
            sla = data["sla"]
            shown = ", ".join(f"{t:.2f} s" for t in times)
            verdict = "ok" if middle <= 3.0 else "OVER"
            print(f"{args.days}-day report, {label}: {shown}")
            print(
                f"  median {middle:.2f} s ({verdict} <= 3 s); CPU time"
                f" {', '.join(f'{c:.2f} s' for c in cpus)}"
            )
            print(
                f"  incoming {data['totals']['incoming']:,}, answered"
                f" {data['totals']['answered']:,}; first response median"
                f" {first['median_s']} s, p90 {first['p90_s']} s, mean {first['mean_s']} s;"
                f" SLA kept {sla['kept_warn']} / {sla['kept_breach']}, breaches"
                f" {sla['breaches']:,}; spikes {len(data['spikes'])}; top complaint"
                f" {data['complaints']['words'][0]['word'] if data['complaints']['words'] else '-'}"
            )


if __name__ == "__main__":
    main()
