from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from feeds import create_feed
from feeds.base import Feed, FeedError, FeedState
from feeds.demo import BACKLOG_SIZE, MAX_INTERVAL, MIN_INTERVAL, DemoFeed, native_id
from feeds.demo_script import AUTHORS, POSTS, SCRIPT, SHOP_NAME
from triage.model import Column, IncomingItem, Kind

from .feed_helpers import mention_for

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
CITIES = {"Москва", "Санкт-Петербург", "Казань", "Екатеринбург", "Новосибирск"}


class FakeClock:
    def __init__(self) -> None:
        self.now = START
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def make_feed(seed: int | None = 7, speed: float = 1.0) -> tuple[DemoFeed, FakeClock]:
    clock = FakeClock()
    return DemoFeed("demo", speed=speed, seed=seed, now=clock, sleep=clock.sleep), clock


def live_items(feed: DemoFeed, count: int, timeout: float = 10.0) -> list[IncomingItem]:
    items: list[IncomingItem] = []
    for _ in range(count * 3):
        items += feed.fetch(timeout).items
        if len(items) >= count:
            break
    return items


# -- the script ------------------------------------------------------------------------------


def test_script_has_enough_unique_messages() -> None:
    assert len(SCRIPT) >= 220
    assert len({line.text for line in SCRIPT}) == len(SCRIPT)
    assert len({native_id(position) for position in range(len(SCRIPT) * 2)}) == len(SCRIPT) * 2
    assert native_id(0) == "demo-001"
    assert native_id(len(SCRIPT)) == "demo-r2-001"


def test_mix_is_roughly_as_promised() -> None:
    share = {
        column: count / len(SCRIPT)
        for column, count in Counter(line.column for line in SCRIPT).items()
    }
    expected = {
        Column.NEGATIVE: 0.30,
        Column.QUESTIONS: 0.25,
        Column.NEUTRAL: 0.25,
        Column.POSITIVE: 0.20,
    }
    for column, target in expected.items():
        assert share[column] == pytest.approx(target, abs=0.05), column


def test_every_network_and_kind_appears() -> None:
    pairs = {(AUTHORS[line.author].network, line.kind) for line in SCRIPT}
    assert pairs == {(network, kind) for network in ("vk", "telegram", "x") for kind in Kind}


def test_authors_are_realistic_and_return() -> None:
    used = Counter(line.author for line in SCRIPT)
    assert set(used) == set(AUTHORS)
    assert 55 <= len(AUTHORS) <= 70
    assert sum(count > 1 for count in used.values()) >= 30
    followers = [a.followers for a in AUTHORS.values() if a.followers is not None]
    assert min(followers) == 12 and max(followers) == 85_000
    assert {a.city for a in AUTHORS.values()} == CITIES
    assert len({(a.network, a.id) for a in AUTHORS.values()}) == len(AUTHORS)


def test_every_item_is_valid() -> None:
    feed, clock = make_feed()
    for position in range(len(SCRIPT)):
        item = feed.item_at(position, clock.now)
        line = SCRIPT[position]
        assert item.network in ("vk", "telegram", "x")
        assert isinstance(item.kind, Kind)
        assert item.native_id == f"demo-{position + 1:03d}"
        assert item.text.strip() and item.text == item.text.strip()
        assert item.author.id and item.author.name
        assert item.author.followers is None or 12 <= item.author.followers <= 85_000
        assert item.created_at.tzinfo is not None
        assert item.feed == "demo"
        if item.kind is Kind.COMMENT:
            assert item.context in POSTS.values()
        else:
            assert item.context is None
        if item.url is None:
            assert item.kind is Kind.DM and item.network != "vk"
        else:
            assert item.url.startswith("https://")
        assert line.text == item.text


# -- replay ----------------------------------------------------------------------------------


def test_backlog_comes_first_dated_over_the_last_two_hours() -> None:
    feed, clock = make_feed()
    feed.start(None)
    result = feed.fetch(1.0)
    assert clock.slept == []
    assert len(result.items) == BACKLOG_SIZE
    assert [item.native_id for item in result.items] == [native_id(i) for i in range(BACKLOG_SIZE)]
    assert result.cursor == str(BACKLOG_SIZE)
    ages = [clock.now - item.created_at for item in result.items]
    assert all(timedelta(0) < age <= timedelta(hours=2, minutes=5) for age in ages)
    assert ages == sorted(ages, reverse=True)  # oldest first, like the script
    assert sum(age > timedelta(hours=1) for age in ages) >= 3
    assert sum(age > timedelta(minutes=15) for age in ages) >= 12
    assert sum(age < timedelta(minutes=15) for age in ages) >= 5
    columns = {SCRIPT[i].column for i in range(BACKLOG_SIZE)}
    assert columns == set(Column)


def test_live_items_arrive_every_one_to_six_seconds() -> None:
    feed, clock = make_feed()
    feed.start(None)
    feed.fetch(1.0)
    previous = clock.now
    for position in range(BACKLOG_SIZE, BACKLOG_SIZE + 20):
        result = feed.fetch(10.0)
        assert [item.native_id for item in result.items] == [native_id(position)]
        assert result.cursor == str(position + 1)
        item = result.items[0]
        assert item.created_at == clock.now
        gap = (clock.now - previous).total_seconds()
        assert MIN_INTERVAL <= gap <= MAX_INTERVAL
        previous = clock.now


def test_speed_scales_the_gaps() -> None:
    feed, clock = make_feed(speed=10)
    feed.start(None)
    feed.fetch(1.0)
    before = clock.now
    items = live_items(feed, 10)
    assert len(items) == 10
    assert timedelta(seconds=1) <= clock.now - before <= timedelta(seconds=6)


def test_fetch_never_waits_longer_than_timeout() -> None:
    feed, clock = make_feed()
    feed.start(None)
    feed.fetch(1.0)
    empties = 0
    for _ in range(30):
        clock.slept.clear()
        result = feed.fetch(0.5)
        assert sum(clock.slept) <= 0.5
        empties += not result.items
        assert result.cursor is None or result.items
    assert empties > 0
    clock.slept.clear()
    feed.fetch(0)
    assert clock.slept == []


def test_deterministic_with_a_seed() -> None:
    def run(seed: int) -> list[tuple[str, datetime]]:
        feed, _ = make_feed(seed=seed)
        feed.start(None)
        items = feed.fetch(1.0).items + live_items(feed, 15)
        return [(item.native_id, item.created_at) for item in items]

    assert run(42) == run(42)
    assert run(42) != run(43)


def test_resume_from_cursor_skips_backlog() -> None:
    feed, clock = make_feed()
    feed.start("30")
    result = feed.fetch(10.0)
    assert [item.native_id for item in result.items] == ["demo-031"]
    assert result.items[0].created_at == clock.now
    assert result.cursor == "31"


def test_loops_with_new_ids_after_the_script_ends() -> None:
    feed, _ = make_feed(speed=100)
    feed.start(str(len(SCRIPT) - 1))
    items = live_items(feed, 2)
    assert [item.native_id for item in items] == [native_id(len(SCRIPT) - 1), "demo-r2-001"]
    assert items[1].text == SCRIPT[0].text
    assert "×2" in feed.describe().detail


def test_unreadable_cursor_starts_over() -> None:
    feed, _ = make_feed()
    feed.start("not a number")
    assert len(feed.fetch(1.0).items) == BACKLOG_SIZE


def test_reply_describe_close() -> None:
    feed, _ = make_feed()
    feed.start(None)
    mention = mention_for(feed.fetch(1.0).items[0])
    assert feed.reply(mention, "Извините!", "rk-9").native_reply_id == "demo-reply-rk-9"
    status = feed.describe()
    assert status.state is FeedState.LIVE
    assert SHOP_NAME in status.detail
    assert status.skipped == 0
    feed.close()
    assert feed.describe().state is FeedState.STOPPED
    assert feed.fetch(1.0).items == []


def test_close_interrupts_a_real_wait() -> None:
    feed = DemoFeed("demo", speed=0.01)  # next message due in minutes
    feed.start("0")
    done = threading.Event()

    def worker() -> None:
        feed.fetch(30.0)
        done.set()

    thread = threading.Thread(target=worker)
    thread.start()
    time.sleep(0.05)
    started = time.monotonic()
    feed.close()
    assert done.wait(2.0)
    assert time.monotonic() - started < 1.0
    thread.join()


def test_created_through_the_registry() -> None:
    feed = create_feed("demo", "Зерно", {"speed": 2, "seed": 1})
    assert isinstance(feed, Feed)
    assert isinstance(feed, DemoFeed)
    assert feed.name == "Зерно" and feed.speed == 2.0 and feed.seed == 1
    with pytest.raises(FeedError):
        create_feed("demo", "demo", {"speed": 0})
