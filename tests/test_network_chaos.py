"""Network chaos: the fake VK, Telegram and X servers drop connections (a TCP relay resets
them), stall past the client's timeouts, answer 500s and 429s, and send truncated or non-JSON
bodies. Every feed recovers by itself, with exponential backoff plus jitter, and loses and
repeats nothing; the board stays responsive throughout and shows each feed's state.

Fault order comes from a seeded RNG; every wait is bounded and waits for a state, not a time.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message

from feeds.backoff import Backoff
from feeds.base import FeedState
from feeds.telegram import TelegramFeed
from feeds.vk import Pacing, Problem, VkCallError, _Backoff
from feeds.x import XFeed
from triage.secret import Secret
from triage.sqlite_store import SqliteStore
from tui.messages import FeedStatusChanged, ItemsArrived
from tui.workers import JITTER, FeedLoop, OutboxLoop

from .conftest import FakeClock, KeywordClassifier
from .crash_helpers import (
    TOKEN,
    X_SECRETS,
    Network,
    TelegramNetwork,
    VkNetwork,
    XNetwork,
)
from .fakes.telegram_server import Scripted
from .fakes.vk_server import LONG_POLL, Fault
from .tui_fakes import item, make_app, make_config, screen_text, seed, wait_for

SEED = 4242
FAULTS = ("500", "429", "garbage", "truncated", "stall", "drop")
# What each kind of trouble looks like to the status bar (None: counted as skipped, not shown).
OFFLINE = {FeedState.OFFLINE}


# -- jitter ----------------------------------------------------------------------------------


def _assert_jittered(delays: list[float], first: float, limit: float) -> None:
    """Each delay within ±20 % of first·2^k (capped), and not simply equal to it."""
    for k, delay in enumerate(delays):
        base = min(limit, first * 2**k)
        assert 0.8 * base <= delay <= 1.2 * base, (k, delay, base)
    assert any(abs(d - min(limit, first * 2**k)) > 1e-9 for k, d in enumerate(delays))


def test_every_retry_delay_has_jitter() -> None:
    """Telegram, VK, X and the app's feed worker all spread their retries, and two boards
    (two seeds) do not retry in step."""

    def telegram(seed: int) -> list[float]:
        feed = TelegramFeed("tg", TOKEN, api_base="http://127.0.0.1:9", rng=random.Random(seed))
        try:
            return [feed._backoff.next() for _ in range(8)]
        finally:
            feed.close()

    def vk(seed: int) -> list[float]:
        backoff = _Backoff(Pacing(), random.Random(seed))
        return [backoff.delay(VkCallError(Problem.OFFLINE, "down")) for _ in range(8)]

    def x(seed: int) -> list[float]:
        secrets = {key: Secret(value) for key, value in X_SECRETS.items()}
        feed = XFeed("x", **secrets, api_base="http://127.0.0.1:9", rng=random.Random(seed))
        try:
            return [feed._backoff() for _ in range(8)]
        finally:
            feed.close()

    def worker(seed: int) -> list[float]:
        backoff = Backoff(jitter=JITTER, rng=random.Random(seed))
        return [backoff.next() for _ in range(8)]

    for delays, first, limit in (
        (telegram, 1.0, 60.0),
        (vk, 1.0, 60.0),
        (x, 5.0, 300.0),
        (worker, 1.0, 60.0),
    ):
        one, two = delays(1), delays(2)
        _assert_jittered(one, first, limit)
        _assert_jittered(two, first, limit)
        assert one != two
    # The loops the app runs use it.
    stop = threading.Event()
    loop = FeedLoop(None, None, None, None, None, stop)  # type: ignore[arg-type]
    outbox = OutboxLoop(None, {}, None, None, stop, stop)  # type: ignore[arg-type]
    assert loop.backoff.jitter == outbox.backoff.jitter == JITTER > 0


# -- each feed, alone, through every kind of trouble ------------------------------------------


def inject(net: Network, fault: str) -> None:
    """One bout of `fault` on the feed's reading path (the long poll, getUpdates, mentions)."""
    if fault == "drop":
        assert net.proxy is not None
        net.proxy.drop()
        return
    if isinstance(net, TelegramNetwork):
        answers = {
            "500": Scripted(status=500, body=b"<html>500</html>", content_type="text/html"),
            "429": Scripted.error(429, "Too Many Requests: retry after 1", retry_after=1),
            "garbage": Scripted(body=b"<html>502 Bad Gateway</html>", content_type="text/html"),
            "truncated": Scripted(body=b'{"ok": true, "result": [{"update_id": 5', truncate=True),
            # Past the client's read timeout (poll_timeout 1 s + read_slack 1 s).
            "stall": Scripted(stall=2.5, body={"ok": True, "result": []}),
        }
        net.fake.script("getUpdates", answers[fault])
    elif isinstance(net, VkNetwork):
        faults = {
            "500": Fault.http(500),
            "429": Fault(status=429, body=b"Too Many Requests"),
            "garbage": Fault.garbage(),
            "truncated": Fault(body=b'{"ts": "10', stall=0.0),
            "stall": Fault.stalled(2.5),  # past wait 1 s + read_slack 0.5 s
        }
        net.fake.script(LONG_POLL, faults[fault])
    elif isinstance(net, XNetwork):
        if fault == "429":
            net.fake.fail("429", route="mentions", reset=int(time.time()) + 1)
        else:
            kind = {"500": "503", "stall": "stall"}.get(fault, fault)
            net.fake.fail(kind, route="mentions")


def served(net: Network) -> bool:
    """Whether the scripted trouble has been given to the feed (a long poll in progress
    would otherwise deliver the next item first, and the trouble never be met)."""
    if isinstance(net, TelegramNetwork):
        net.fake.release_polls()  # end a held getUpdates, so the next one meets the script
        return net.fake.scripted() == 0
    if isinstance(net, VkNetwork):
        return not net.fake._faults.get(LONG_POLL)  # a held a_check answers a fault at once
    if isinstance(net, XNetwork):
        return not net.fake._faults
    return True


def heal(net: Network) -> None:
    if net.proxy is not None:
        net.proxy.heal()
    if isinstance(net, TelegramNetwork):
        net.fake.clear_scripts()
    elif isinstance(net, VkNetwork):
        net.fake.clear()
    elif isinstance(net, XNetwork):
        net.fake.clear_faults()


class Watch:
    """The worker's messages, plus the feed's state sampled every 10 ms, so a short bout of
    trouble is seen even if it is over before the worker reports it."""

    def __init__(self, feed: Any) -> None:
        self.feed = feed
        self.messages: list[Message] = []
        self.states: set[FeedState] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def __call__(self, message: Message) -> None:
        with self._lock:
            self.messages.append(message)

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.states.add(self.feed.describe().state)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def stored(self) -> set[str]:
        with self._lock:
            arrived = [m for m in self.messages if isinstance(m, ItemsArrived)]
        return {mention.native_id for message in arrived for mention in message.mentions}

    def started(self) -> bool:
        with self._lock:
            return any(isinstance(m, FeedStatusChanged) for m in self.messages)


def until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture(params=["telegram", "vk", "x"])
def chaotic(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Network]:
    kinds = {"telegram": TelegramNetwork, "vk": VkNetwork, "x": XNetwork}
    with kinds[request.param](tmp_path, seed=SEED) as net:
        yield net


def test_feed_recovers_from_every_kind_of_trouble_by_itself(
    chaotic: Network, tmp_path: Path
) -> None:
    net = chaotic
    db = tmp_path / "store.db"
    feed = net.feed()
    watch = Watch(feed)
    stop = threading.Event()
    loop = FeedLoop(
        feed,
        lambda: SqliteStore(str(db)),
        KeywordClassifier(),
        FakeClock(),
        watch,
        stop,
        fetch_timeout=0.1,
    )
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    faults = list(FAULTS)
    random.Random(SEED).shuffle(faults)
    delivered: list[str] = []
    try:
        until(watch.started, "the feed to start")
        delivered.append(net.deliver(0))
        until(lambda: set(delivered) <= watch.stored(), "the first item")
        for number, fault in enumerate(faults, start=1):
            inject(net, fault)
            until(lambda: served(net), f"{net.kind} to meet {fault}")
            delivered.append(net.deliver(number))  # written while the network misbehaves
            if fault == "drop":
                until(lambda: FeedState.OFFLINE in watch.states, f"{net.kind} to say offline")
                heal(net)
            until(lambda: set(delivered) <= watch.stored(), f"the item after {fault}")
            heal(net)
        until(lambda: feed.describe().state is FeedState.LIVE, "live again")
    finally:
        stop.set()
        thread.join(10)
        watch.close()
    assert not thread.is_alive()
    assert FeedState.OFFLINE in watch.states
    if not isinstance(net, VkNetwork):  # VK's HTTP 429 is a server error, shown offline
        assert FeedState.RATE_LIMITED in watch.states
    store = SqliteStore(str(db))
    stored = [m.native_id for m in store.open_mentions()]
    store.close()
    assert sorted(stored) == sorted(delivered)  # each exactly once


# -- the board, with all three feeds in trouble ------------------------------------------------


def _rate_limit(net: Network) -> None:
    # Until healed: all three must be seen rate-limited at once, however slow the machine.
    if isinstance(net, TelegramNetwork):
        for _ in range(30):
            net.fake.script("getUpdates", Scripted.error(429, "Too Many Requests", retry_after=1))
    elif isinstance(net, VkNetwork):
        # A new long-poll key is needed, and asking for it hits flood control until healed.
        net.fake.script("groups.getLongPollServer", Fault.api_error(9, sticky=True))
        net.fake.expire_keys()
    elif isinstance(net, XNetwork):
        net.fake.fail("429", route="mentions", reset=int(time.time()) + 1, times=50)


async def test_board_stays_responsive_while_every_feed_fails_and_recovers(
    tmp_path: Path, clock: FakeClock
) -> None:
    config = make_config(tmp_path / "board.db")
    seed(
        config,
        [
            item("n1", "Кофе опять холодный, ужас", minutes_ago=50),
            item("n2", "Плохо упаковали заказ", minutes_ago=40, author_id="u2", name="Мария"),
            item("n3", "Верните деньги, ужас", minutes_ago=30, author_id="u3", name="Пётр"),
        ],
        clock,
    )
    nets = [TelegramNetwork(tmp_path, SEED), VkNetwork(tmp_path, SEED), XNetwork(tmp_path, SEED)]
    for net in nets:
        net.start()
    try:
        feeds = [net.feed() for net in nets]
        app = make_app(config, clock, feeds=feeds)
        async with app.run_test(size=(160, 48)) as pilot:

            def all_in(states: set[FeedState]) -> bool:
                return all(app.feed_status[f.name].state in states for f in feeds)

            async def keys_still_move() -> None:
                first = app.selected
                assert first is not None
                await pilot.press("j")
                assert app.selected is not None and app.selected.id != first.id
                await pilot.press("k")
                assert app.selected is not None and app.selected.id == first.id

            def status_text() -> str:
                return screen_text(app).splitlines()[0]  # the status bar's line

            assert await wait_for(pilot, lambda: all_in({FeedState.LIVE}), tries=1500)

            # 1. The network goes away: every feed offline, the board works on.
            for net in nets:
                assert net.proxy is not None
                net.proxy.drop()
            assert await wait_for(pilot, lambda: all_in(OFFLINE), tries=1500), app.feed_status
            await keys_still_move()
            assert "нет связи" in status_text()

            # 2. It comes back, rate-limited.
            for net in nets:
                _rate_limit(net)
                assert net.proxy is not None
                net.proxy.heal()
            assert await wait_for(pilot, lambda: all_in({FeedState.RATE_LIMITED}), tries=1500), (
                app.feed_status
            )
            await keys_still_move()
            assert "лимит" in status_text()

            # 3. The trouble is over: live again, and what customers wrote meanwhile arrives.
            expected = {net.deliver(100 + i) for i, net in enumerate(nets)}
            for net in nets:
                heal(net)

            def arrived() -> bool:
                open_ids = {m.native_id for view in app.views for m in view.items}
                return expected <= open_ids

            assert await wait_for(pilot, arrived, tries=2000), app.feed_status
            assert await wait_for(pilot, lambda: all_in({FeedState.LIVE}), tries=1500)
            await keys_still_move()
    finally:
        for net in nets:
            net.__exit__(None, None, None)
