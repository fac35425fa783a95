"""The VK feed against a fake VK on 127.0.0.1, through the real vk_api client.

Covers: parsing every event type, enrichment (authors, post context), long-poll failed 1/2/3,
cursor persistence, replies and refusals, error states, malformed bodies, close() during a long
poll, tokens never logged, keyword search, the registry/config, and the app's FeedLoop + SQLite
store + outbox end to end.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message

import feeds.vk as vk_module
from config.loader import load_config
from feeds import create_feed, feed_options
from feeds.base import FeedError, FeedState, FetchResult, ReplyResult
from feeds.vk import Pacing, VkFeed, reply_random_id
from feeds.vk_parse import PayloadError, parse_post, parse_update, to_item
from triage.board import Board
from triage.model import Author, Column, IncomingItem, Kind, OutboxState
from triage.outbox import OutboxSender
from triage.secret import Secret
from triage.sqlite_store import SqliteStore
from tui.messages import ItemsArrived
from tui.workers import FeedLoop

from .conftest import SETTINGS, FakeClock, KeywordClassifier
from .fakes.vk_server import (
    COMMUNITY_TOKEN,
    GROUP_ID,
    LONG_POLL,
    SERVICE_TOKEN,
    FakeVk,
    Fault,
    message_new,
    running_fake,
)
from .feed_helpers import closed_port, mention_for

DATA = Path(__file__).parent / "data"
UPDATES: list[dict[str, Any]] = json.loads((DATA / "vk_longpoll_updates.json").read_text("utf-8"))
DIRECTORY: dict[str, Any] = json.loads((DATA / "vk_directory.json").read_text("utf-8"))
SEARCH: dict[str, Any] = json.loads((DATA / "vk_newsfeed_search.json").read_text("utf-8"))
NOW = datetime(2026, 11, 23, 8, 50, tzinfo=UTC)
# Short everything: a failing call is retried within 0.1 s, a silent long poll gives up at 1.5 s.
FAST = Pacing(
    connect_timeout=1.0,
    read_slack=0.5,
    api_timeout=2.0,
    retry_first=0.02,
    retry_limit=0.1,
    too_many_rps=0.02,
    flood=0.02,
    rate_limit=0.02,
    captcha=0.02,
    api_interval=0.0,
    service_interval=0.0,
)
POST_TEXT = "Новое осеннее меню: тыквенный латте и раф с халвой. Ждём вас!"
DM_ID = "message_new:990000101_312"
WALL_ID = "wall_reply_new:-218000001_5210"


# -- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture
def vk() -> Iterator[FakeVk]:
    with running_fake(
        users={user["id"]: user for user in DIRECTORY["users"]},
        groups={group["id"]: group for group in DIRECTORY["groups"]},
        posts={f"{p['owner_id']}_{p['id']}": p for p in DIRECTORY["posts"]},
    ) as fake:
        yield fake


MakeFeed = Callable[..., VkFeed]


@pytest.fixture
def make_feed(vk: FakeVk) -> Iterator[MakeFeed]:
    made: list[VkFeed] = []

    def factory(name: str = "vk", **options: Any) -> VkFeed:
        settings: dict[str, Any] = {
            "token": COMMUNITY_TOKEN,
            "group_id": GROUP_ID,
            "api_base": vk.base,
            "wait": 1,
            "pacing": FAST,
            "now": lambda: NOW,
        }
        settings.update(options)
        feed = VkFeed(name, **settings)
        made.append(feed)
        return feed

    yield factory
    for feed in made:
        feed.close()


def dm(n: int, text: str = "где мой заказ?", from_id: int = 990000101) -> dict[str, Any]:
    """A message_new update in the documented shape; native id message_new:<from>_<400+n>."""
    return message_new(n, f"{text} #{n}", from_id)


def dm_id(n: int, from_id: int = 990000101) -> str:
    return f"message_new:{from_id}_{400 + n}"


class Collected:
    def __init__(self) -> None:
        self.items: list[IncomingItem] = []
        self.cursors: list[str] = []
        self.skipped = 0

    @property
    def ids(self) -> list[str]:
        return [item.native_id for item in self.items]

    @property
    def cursor(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.cursors[-1])
        return loaded

    def add(self, result: FetchResult) -> None:
        self.items.extend(result.items)
        self.skipped += result.skipped
        if result.cursor is not None:
            self.cursors.append(result.cursor)


def collect(
    feed: VkFeed,
    count: int,
    *,
    until: Callable[[Collected], bool] | None = None,
    into: Collected | None = None,
    timeout: float = 5.0,
) -> Collected:
    """fetch() like the feed worker does until `count` items (and `until`) or the timeout."""
    got = into or Collected()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got.add(feed.fetch(0.05))
        if len(got.items) >= count and (until is None or until(got)):
            return got
    raise AssertionError(f"timed out with {got.ids}, wanted {count}")


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


def fetch_until_state(feed: VkFeed, state: FeedState, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while feed.describe().state is not state:
        if time.monotonic() > deadline:
            raise AssertionError(f"still {feed.describe()}")
        feed.fetch(0.02)


def item_from(update: dict[str, Any]) -> IncomingItem:
    parsed = parse_update(update, group_id=GROUP_ID, now=NOW)
    assert parsed is not None
    return to_item(parsed, Author(str(parsed.from_id), "Клиент"), None, "vk")


# -- parsing -------------------------------------------------------------------------------


def test_parse_routes_every_event_type() -> None:
    parsed = [parse_update(update, group_id=GROUP_ID, now=NOW) for update in UPDATES]
    routes = {p.native_id: (p.kind, p.route, p.url) for p in parsed if p is not None}
    assert routes == {
        DM_ID: (
            Kind.DM,
            {"event": "message_new", "peer_id": 990000101, "message_id": 4521, "cmid": 312},
            "https://vk.com/gim218000001?sel=990000101",
        ),
        WALL_ID: (
            Kind.COMMENT,
            {"event": "wall_reply_new", "owner_id": -GROUP_ID, "post_id": 1840, "comment_id": 5210},
            "https://vk.com/wall-218000001_1840?reply=5210&thread=5207",
        ),
        "photo_comment_new:-218000001_77": (
            Kind.COMMENT,
            {"event": "photo_comment_new", "owner_id": -GROUP_ID, "photo_id": 457239100,
             "comment_id": 77},
            "https://vk.com/photo-218000001_457239100",
        ),
        "video_comment_new:-218000001_12": (
            Kind.COMMENT,
            {"event": "video_comment_new", "owner_id": -GROUP_ID, "video_id": 456239020,
             "comment_id": 12},
            "https://vk.com/video-218000001_456239020",
        ),
        "market_comment_new:-218000001_301": (
            Kind.COMMENT,
            {"event": "market_comment_new", "owner_id": -GROUP_ID, "item_id": 8123,
             "comment_id": 301},
            "https://vk.com/product-218000001_8123",
        ),
        "board_post_new:-218000001_31": (
            Kind.COMMENT,
            {"event": "board_post_new", "owner_id": -GROUP_ID, "topic_id": 49001,
             "comment_id": 31},
            "https://vk.com/topic-218000001_49001?post=31",
        ),
    }  # fmt: skip
    # The shop's own answer (message_reply) and its own wall comment are not customer items.
    assert parsed[6:] == [None, None]


def test_parse_text_readable_and_dated() -> None:
    comment = parse_update(UPDATES[1], group_id=GROUP_ID, now=NOW)
    sticker = parse_update(UPDATES[3], group_id=GROUP_ID, now=NOW)
    assert comment is not None and sticker is not None
    # VK's "[id…|Name]" reply markup becomes the name; a sticker-only comment still says something.
    assert comment.text == "Ольга, у меня тоже капучино было холодное, ужас"
    assert sticker.text == "[стикер]"
    assert comment.created_at == datetime(2026, 11, 23, 8, 41, tzinfo=UTC)


@pytest.mark.parametrize(
    "update",
    [
        "not an object",
        {"type": "message_new"},
        {"type": "message_new", "object": {"message": {"from_id": 1, "id": 2, "text": "x"}}},
        {"type": "wall_reply_new", "object": {"id": True, "from_id": 1, "post_id": 2}},
        {"type": 7, "object": {}},
    ],
)
def test_parse_malformed_update_raises(update: object) -> None:
    with pytest.raises(PayloadError):
        parse_update(update, group_id=GROUP_ID, now=NOW)


def test_parse_search_hits() -> None:
    hits = [parse_post(post, group_id=GROUP_ID, now=NOW) for post in SEARCH["items"]]
    assert [h.native_id if h else None for h in hits] == [
        "newsfeed:990000103_301",
        "newsfeed:-219000002_77",
        None,  # the shop's own post
        "newsfeed:-218000001_1851",
    ]
    assert all(h is None or h.kind is Kind.MENTION for h in hits)


# -- ingest --------------------------------------------------------------------------------


def test_ingests_every_event_type_with_authors_and_context(vk: FakeVk, make_feed: MakeFeed) -> None:
    feed = make_feed(service_token=SERVICE_TOKEN)
    feed.start(None)
    assert feed.describe().state is FeedState.CONNECTING
    vk.push(*UPDATES)
    got = collect(feed, 6)
    items = {item.native_id: item for item in got.items}
    assert list(items) == [
        DM_ID,
        WALL_ID,
        "photo_comment_new:-218000001_77",
        "video_comment_new:-218000001_12",
        "market_comment_new:-218000001_301",
        "board_post_new:-218000001_31",
    ]
    message = items[DM_ID]
    assert message.kind is Kind.DM and message.network == "vk" and message.feed == "vk"
    assert message.author == Author("990000101", "Анна Тестова", "anna_testova_demo", 340, "Казань")
    assert message.text == "Здравствуйте! Заказ 1482 так и не привезли, где он?"
    assert message.created_at == datetime(2026, 11, 23, 8, 40, tzinfo=UTC)
    assert message.context is None
    comment = items[WALL_ID]
    assert comment.context == POST_TEXT
    assert comment.author == Author("990000102", "Пётр Примеров", "id990000102", 12, None)
    assert items["photo_comment_new:-218000001_77"].author == Author(
        "-219000002", "Кофейный клуб «Пример»", "coffee_club_sample", 1520
    )
    assert items["video_comment_new:-218000001_12"].author.city == "Москва"
    assert feed.describe().state is FeedState.LIVE
    assert got.cursor == {"ts": str(vk.current_ts)}

    [users] = vk.calls_to("users.get")
    assert users.params["fields"] == "screen_name,city,followers_count"
    assert set(users.params["user_ids"].split(",")) == {"990000101", "990000102", "990000103"}
    assert users.params["v"] == "5.199" and users.token == "community"
    [groups] = vk.calls_to("groups.getById")
    assert groups.params["group_ids"] == "219000002"
    [posts] = vk.calls_to("wall.getById")
    assert posts.params["posts"] == "-218000001_1840" and posts.token == "service"


def test_without_service_token_context_is_none(vk: FakeVk, make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.start(None)
    vk.push(UPDATES[1])
    [comment] = collect(feed, 1).items
    assert comment.context is None
    assert vk.calls_to("wall.getById") == []
    assert feed.describe().state is FeedState.LIVE


def test_authors_cached_and_unknown_users_fall_back(vk: FakeVk, make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.start(None)
    vk.push(dm(1))
    got = collect(feed, 1)
    vk.push(dm(2), dm(3, from_id=990000999))
    collect(feed, 3, into=got)
    assert [item.author.name for item in got.items] == [
        "Анна Тестова",
        "Анна Тестова",
        "id990000999",
    ]
    # One lookup each; a failed lookup (see the malformed test) is not cached.
    assert [call.params["user_ids"] for call in vk.calls_to("users.get")] == [
        "990000101",
        "990000999",
    ]


# -- long poll failures and the cursor -----------------------------------------------------


def test_failed_1_takes_vks_ts(vk: FakeVk, make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.start(None)  # ts 100
    vk.push(dm(1), dm(2))
    vk.forget_history()  # VK dropped events 100-101: our ts 100 is too old
    vk.push(dm(3))
    got = collect(feed, 1)
    assert got.ids == [dm_id(3)]
    assert [call.params["ts"] for call in vk.calls_to(LONG_POLL)][:2] == ["100", "102"]
    assert got.cursor == {"ts": "103"}


def test_failed_2_new_key_keeps_ts(vk: FakeVk, make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.start(None)
    vk.push(dm(1), dm(2))
    vk.expire_keys()
    got = collect(feed, 2)
    assert got.ids == [dm_id(1), dm_id(2)]  # nothing lost
    checks = vk.calls_to(LONG_POLL)
    assert [c.params["key"] for c in checks[:2]] == ["lpkey0001", "lpkey0002"]
    assert [c.params["ts"] for c in checks[:2]] == ["100", "100"]
    assert len(vk.calls_to("groups.getLongPollServer")) == 2
    assert got.cursor == {"ts": "102"}


def test_failed_3_new_key_and_ts(vk: FakeVk, make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.start(None)
    vk.push(dm(1))
    vk.script(LONG_POLL, Fault.long_poll_failed(3))
    got = Collected()
    deadline = time.monotonic() + 5
    while len(vk.calls_to("groups.getLongPollServer")) < 2 and time.monotonic() < deadline:
        got.add(feed.fetch(0.02))
    vk.push(dm(2))
    collect(feed, 1, into=got)
    # VK said the history is lost: dm 1 is gone with it, dm 2 arrives exactly once.
    assert got.ids == [dm_id(2)]
    assert [call.params["ts"] for call in vk.calls_to(LONG_POLL)][:2] == ["100", "101"]
    assert got.cursor == {"ts": "102"}


def test_each_event_delivered_once_across_failures(vk: FakeVk, make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.start(None)
    vk.push(dm(1))
    got = collect(feed, 1)
    vk.script(LONG_POLL, Fault.long_poll_failed(2), Fault.garbage(), Fault.http(500))
    vk.push(dm(2))
    collect(feed, 2, into=got)
    vk.script(LONG_POLL, Fault.long_poll_failed(1, ts=str(vk.current_ts)))
    vk.push(dm(3))
    collect(feed, 3, into=got)
    assert got.ids == [dm_id(1), dm_id(2), dm_id(3)]


def test_restart_from_stored_cursor_loses_nothing(vk: FakeVk, make_feed: MakeFeed) -> None:
    first = make_feed()
    first.start(None)
    vk.push(dm(1), dm(2))
    got = collect(first, 2)
    stored = got.cursors[-1]
    first.close()
    vk.push(dm(3), dm(4))  # arrive while the app is down

    second = make_feed()
    second.start(stored)
    resumed = collect(second, 2)
    assert resumed.ids == [dm_id(3), dm_id(4)]
    assert resumed.cursor == {"ts": "104"}
    last = vk.calls_to(LONG_POLL)[-1]
    assert last.params["key"] == "lpkey0002"  # a fresh key from getLongPollServer


def test_stale_stored_cursor_takes_vks_ts(vk: FakeVk, make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.start(None)
    first = collect(feed, 0, until=lambda got: bool(got.cursors))
    # "From now" is stored at once, so a crash before the first event loses nothing.
    assert first.cursor == {"ts": "100"}
    feed.close()
    vk.push(dm(1), dm(2))
    vk.forget_history()

    again = make_feed()
    again.start(first.cursors[-1])
    vk.push(dm(3))
    got = collect(again, 1)
    assert got.ids == [dm_id(3)]
    assert got.cursor == {"ts": "103"}


def test_unreadable_cursor_starts_from_now(vk: FakeVk, make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.start("{not json")
    got = collect(feed, 0, until=lambda got: bool(got.cursors))
    assert got.cursor == {"ts": "100"}


# -- replies -------------------------------------------------------------------------------


def test_reply_to_dm_is_deduplicated_across_retries(vk: FakeVk, make_feed: MakeFeed) -> None:
    feed = make_feed()
    mention = mention_for(item_from(UPDATES[0]))
    first = feed.reply(mention, "Уже везём, простите!", "socialtui-7")
    retry = feed.reply(mention, "Уже везём, простите!", "socialtui-7")
    assert first == retry == ReplyResult(native_reply_id="7001")
    sends = vk.calls_to("messages.send")
    assert [call.params["random_id"] for call in sends] == [str(reply_random_id("socialtui-7"))] * 2
    assert sends[0].params == {
        "peer_id": "990000101",
        "random_id": str(reply_random_id("socialtui-7")),
        "message": "Уже везём, простите!",
        "reply_to": "4521",
        "v": "5.199",
    }
    assert len(vk.sent) == 1  # VK dropped the retry
    other = feed.reply(mention, "И ещё…", "socialtui-8")
    assert other.native_reply_id == "7002"
    assert 0 < reply_random_id("socialtui-8") < 2**31


def test_reply_to_wall_comment(vk: FakeVk, make_feed: MakeFeed) -> None:
    feed = make_feed()
    mention = mention_for(item_from(UPDATES[1]))
    result = feed.reply(mention, "Ольга, исправим!", "socialtui-9")
    assert result == ReplyResult(native_reply_id="9001")
    [call] = vk.calls_to("wall.createComment")
    assert call.params == {
        "owner_id": "-218000001",
        "post_id": "1840",
        "from_group": "218000001",
        "message": "Ольга, исправим!",
        "reply_to_comment": "5210",
        "guid": "socialtui-9",
        "v": "5.199",
    }
    assert call.token == "community"
    assert feed.reply(mention, "Ольга, исправим!", "socialtui-9") == result
    assert len(vk.comments) == 1


@pytest.mark.parametrize(
    ("index", "what"),
    [(2, "комментарии к фото"), (3, "комментарии к видео"), (4, "товарам"), (5, "обсуждениях")],
)
def test_reply_refused_where_a_community_token_cannot(
    vk: FakeVk, make_feed: MakeFeed, index: int, what: str
) -> None:
    feed = make_feed()
    result = feed.reply(mention_for(item_from(UPDATES[index])), "Спасибо!", "socialtui-1")
    assert result.refused is not None and what in result.refused
    assert result.refused.endswith("ответьте в VK")
    assert vk.calls == []


def test_reply_to_search_hits(vk: FakeVk, make_feed: MakeFeed) -> None:
    feed = make_feed()
    own_wall, elsewhere = SEARCH["items"][3], SEARCH["items"][0]
    parsed = [parse_post(post, group_id=GROUP_ID, now=NOW) for post in (own_wall, elsewhere)]
    mentions = [mention_for(to_item(p, Author("1", "x"), None, "vk")) for p in parsed if p]
    assert feed.reply(mentions[0], "Можно!", "socialtui-3").native_reply_id == "9001"
    assert "reply_to_comment" not in vk.calls_to("wall.createComment")[0].params
    refused = feed.reply(mentions[1], "Спасибо!", "socialtui-4").refused
    assert refused == "VK: сообщество может комментировать только свою стену — ответьте в VK"


@pytest.mark.parametrize(
    ("fault", "retryable", "state", "words"),
    [
        (Fault.api_error(901), False, None, "не разрешил сообщения"),
        (Fault.api_error(5), False, FeedState.AUTH_FAILED, "токен отклонён"),
        (Fault.api_error(9), True, FeedState.RATE_LIMITED, "error 9"),
        (Fault.api_error(14), True, FeedState.RATE_LIMITED, "captcha"),
        (Fault.http(500), True, FeedState.OFFLINE, "HTTP 500"),
        (Fault.garbage(), True, FeedState.ERROR, "malformed"),
    ],
)
def test_reply_errors(
    vk: FakeVk,
    make_feed: MakeFeed,
    fault: Fault,
    retryable: bool,
    state: FeedState | None,
    words: str,
) -> None:
    feed = make_feed()
    vk.script("messages.send", fault)
    with pytest.raises(FeedError) as raised:
        feed.reply(mention_for(item_from(UPDATES[0])), "Ответ", "socialtui-5")
    assert raised.value.retryable is retryable
    assert words in str(raised.value)
    assert (raised.value.status.state if raised.value.status else None) is state


def test_reply_offline_is_retryable(make_feed: MakeFeed) -> None:
    feed = make_feed(api_base=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(FeedError) as raised:
        feed.reply(mention_for(item_from(UPDATES[0])), "Ответ", "socialtui-6")
    assert raised.value.retryable
    assert raised.value.status is not None and raised.value.status.state is FeedState.OFFLINE


# -- error states --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "state", "retryable", "words"),
    [
        (Fault.api_error(5), FeedState.AUTH_FAILED, False, "rejected the token"),
        (Fault.api_error(6), FeedState.RATE_LIMITED, True, "error 6"),
        (Fault.api_error(9), FeedState.RATE_LIMITED, True, "error 9"),
        (Fault.api_error(29), FeedState.RATE_LIMITED, True, "error 29"),
        (Fault.api_error(14), FeedState.RATE_LIMITED, True, "captcha"),
        (Fault.api_error(100), FeedState.ERROR, False, "error 100"),
        (Fault.http(500), FeedState.OFFLINE, True, "offline, retrying in"),
        (Fault.garbage(), FeedState.ERROR, True, "malformed"),
    ],
)
def test_start_reports_a_verdict(
    vk: FakeVk,
    make_feed: MakeFeed,
    fault: Fault,
    state: FeedState,
    retryable: bool,
    words: str,
) -> None:
    feed = make_feed()
    vk.script("groups.getLongPollServer", fault)
    with pytest.raises(FeedError) as raised:
        feed.start(None)
    status = raised.value.status
    assert status is not None and status.state is state
    assert raised.value.retryable is retryable
    assert words in status.detail
    assert feed.describe().state is state
    if state in (FeedState.RATE_LIMITED, FeedState.OFFLINE):
        assert status.retry_at is not None and status.retry_at > NOW
    # One request each: vk_api's own retry-forever on error 6 is switched off.
    assert len(vk.calls_to("groups.getLongPollServer")) == 1
    assert feed.describe().skipped == (1 if fault.body and fault.status == 200 else 0)


def test_start_offline_when_vk_is_unreachable(make_feed: MakeFeed) -> None:
    feed = make_feed(api_base=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(FeedError) as raised:
        feed.start(None)
    assert raised.value.retryable
    status = feed.describe()
    assert status.state is FeedState.OFFLINE and status.retry_at is not None
    assert "offline, retrying in" in status.detail


@pytest.mark.parametrize(
    ("fault", "state"),
    [
        (Fault.http(500, sticky=True), FeedState.OFFLINE),
        (Fault.api_error(29, sticky=True), FeedState.RATE_LIMITED),
        (Fault.api_error(14, sticky=True), FeedState.RATE_LIMITED),
        (Fault.api_error(10, sticky=True), FeedState.ERROR),
    ],
)
def test_poll_errors_become_states_then_recover(
    vk: FakeVk, make_feed: MakeFeed, fault: Fault, state: FeedState
) -> None:
    feed = make_feed(pacing=replace(FAST, retry_limit=0.3))
    feed.start(None)
    # The key expires and getLongPollServer keeps failing (or the long poll itself does).
    method = LONG_POLL if fault.status != 200 else "groups.getLongPollServer"
    if method != LONG_POLL:
        vk.expire_keys()
    vk.script(method, fault)
    fetch_until_state(feed, state)
    status = feed.describe()
    assert status.retry_at is not None and status.retry_at > NOW
    vk.clear()
    vk.push(dm(1))
    assert collect(feed, 1).ids == [dm_id(1)]
    assert feed.describe().state is FeedState.LIVE


def test_auth_failure_while_polling_stops_with_a_verdict(vk: FakeVk, make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.start(None)
    vk.push(dm(1))
    assert collect(feed, 1).ids == [dm_id(1)]
    vk.script("groups.getLongPollServer", Fault.api_error(5, sticky=True))
    vk.expire_keys()
    deadline = time.monotonic() + 5
    with pytest.raises(FeedError) as raised:
        while time.monotonic() < deadline:
            feed.fetch(0.05)
    assert raised.value.retryable is False
    assert raised.value.status is not None
    assert raised.value.status.state is FeedState.AUTH_FAILED
    assert feed.describe().state is FeedState.AUTH_FAILED


def test_stalled_long_poll_times_out_and_recovers(vk: FakeVk, make_feed: MakeFeed) -> None:
    feed = make_feed(pacing=replace(FAST, read_slack=0.2))
    feed.start(None)
    vk.script(LONG_POLL, Fault.stalled(3.0))
    fetch_until_state(feed, FeedState.OFFLINE)
    assert "timed out" in feed.describe().detail
    vk.push(dm(1))
    assert collect(feed, 1).ids == [dm_id(1)]


def test_malformed_bodies_are_counted_not_raised(vk: FakeVk, make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.start(None)
    vk.script(LONG_POLL, Fault.garbage())
    vk.script("users.get", Fault.garbage())
    broken = {"type": "wall_reply_new", "object": {"id": 1, "text": "no author"}}
    vk.push(broken, dm(1))
    got = collect(feed, 1, until=lambda got: got.skipped >= 3)
    assert got.ids == [dm_id(1)]
    # The author lookup failed: the message still arrives, under the id VK gave.
    assert got.items[0].author == Author("990000101", "id990000101")
    assert got.skipped == 3  # the long-poll body, the event, the users.get body
    status = feed.describe()
    assert status.skipped == 3 and status.state is FeedState.LIVE


def test_close_during_long_poll_returns_promptly(vk: FakeVk, make_feed: MakeFeed) -> None:
    feed = make_feed("closing", wait=5)
    feed.start(None)
    feed.fetch(0.01)  # starts the poll thread
    wait_until(lambda: len(vk.calls_to(LONG_POLL)) >= 1)  # now held open by the server
    closer = threading.Thread(target=feed.close)
    closer.start()
    closer.join(timeout=1.0)
    assert not closer.is_alive()
    assert feed.describe().state is FeedState.STOPPED
    assert feed.fetch(0.01) == FetchResult()
    vk.push(dm(1))  # ends the held request; the daemon thread then sees the stop flag
    for poller in [t for t in threading.enumerate() if t.name == "vk-closing"]:
        assert poller.daemon
        poller.join(timeout=3.0)
        assert not poller.is_alive()


def test_tokens_never_logged(
    vk: FakeVk, make_feed: MakeFeed, caplog: pytest.LogCaptureFixture
) -> None:
    # Every logger at DEBUG, the libraries included (another feed may have quieted them).
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "vk_api", "feeds"):
        caplog.set_level(logging.DEBUG, logger=name)
    vk.search_posts = list(SEARCH["items"])
    feed = make_feed(service_token=SERVICE_TOKEN, search=["зерно"])
    feed.start(None)
    vk.push(*UPDATES)
    collect(feed, 6)
    feed.reply(mention_for(item_from(UPDATES[0])), "Ответ", "socialtui-1")
    feed.reply(mention_for(item_from(UPDATES[1])), "Ответ", "socialtui-2")
    vk.script(LONG_POLL, Fault.http(500))
    vk.script("users.get", Fault.api_error(5))
    vk.push(dm(1, from_id=990000555))
    collect(feed, 1, into=Collected())
    vk.script("messages.send", Fault.api_error(5))
    with pytest.raises(FeedError):
        feed.reply(mention_for(item_from(UPDATES[0])), "Ответ", "socialtui-3")
    feed.close()
    logged = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    assert any(record.name.startswith("urllib3") for record in caplog.records)  # DEBUG was on
    assert COMMUNITY_TOKEN not in logged
    assert SERVICE_TOKEN not in logged


# -- search --------------------------------------------------------------------------------


def test_search_finds_mentions_once(vk: FakeVk, make_feed: MakeFeed) -> None:
    vk.search_posts = list(SEARCH["items"])
    vk.search_page_size = 2  # two pages
    feed = make_feed(service_token=SERVICE_TOKEN, search=["Зерно"], search_interval=1)
    feed.start(None)
    got = collect(feed, 3)
    assert got.ids == [
        "newsfeed:990000103_301",
        "newsfeed:-219000002_77",
        "newsfeed:-218000001_1851",
    ]
    first = got.items[0]
    assert first.kind is Kind.MENTION and first.url == "https://vk.com/wall990000103_301"
    assert first.author == Author("990000103", "Вера Образцова", "vera_sample", None, "Москва")
    assert got.items[1].author.name == "Кофейный клуб «Пример»"
    # The profiles came with the search answer: no separate lookups.
    assert vk.calls_to("users.get") == [] and vk.calls_to("groups.getById") == []
    searches = vk.calls_to("newsfeed.search")
    start_time = str(int(NOW.timestamp()) - vk_module.SEARCH_OVERLAP)
    assert searches[0].params["q"] == "Зерно" and searches[0].params["extended"] == "1"
    assert searches[0].params["start_time"] == start_time
    assert searches[0].token == "service"
    assert searches[1].params["start_from"] == "2"
    assert got.cursor == {"ts": "100", "search_from": int(NOW.timestamp())}

    # The next round overlaps the last: the same posts come back and are not repeated.
    rounds = len(searches)
    vk.search_posts.append(
        {"id": 9, "owner_id": 990000104, "from_id": 990000104, "date": 1795423700,
         "post_type": "post", "text": "Зерно опять закрыто в обед?"}
    )  # fmt: skip
    collect(feed, 4, into=got, until=lambda _: len(vk.calls_to("newsfeed.search")) > rounds)
    assert got.ids[3:] == ["newsfeed:990000104_9"]


def test_search_needs_a_service_token(vk: FakeVk, make_feed: MakeFeed) -> None:
    feed = make_feed(search=["Зерно"], search_interval=1)
    feed.start(None)
    vk.push(dm(1))
    got = collect(feed, 1)
    assert vk.calls_to("newsfeed.search") == []
    assert got.cursor == {"ts": "101"}  # no search position without a search
    assert "search off: it needs service_token_env" in feed.describe().detail


def test_search_with_rejected_service_token_turns_search_off(
    vk: FakeVk, make_feed: MakeFeed
) -> None:
    vk.script("newsfeed.search", Fault.api_error(5))
    feed = make_feed(service_token=SERVICE_TOKEN, search=["Зерно"], search_interval=1)
    feed.start(None)
    vk.push(dm(1))
    assert collect(feed, 1).ids == [dm_id(1)]
    status = feed.describe()
    assert status.state is FeedState.LIVE and "search off" in status.detail


# -- registry, config and the app ----------------------------------------------------------


def test_registered_with_its_options(vk: FakeVk) -> None:
    assert set(feed_options("vk")) >= {
        "token_env",
        "group_id",
        "api_base",
        "wait",
        "search",
        "service_token_env",
        "search_interval",
    }
    feed = create_feed(
        "vk",
        "vk-main",
        {
            "token_env": "VK_TOKEN",
            "token": Secret(COMMUNITY_TOKEN),
            "group_id": GROUP_ID,
            "api_base": vk.base,
            "wait": 1,
            "search": ["зерно"],
            "service_token_env": "VK_SERVICE_TOKEN",
            "service_token": Secret(SERVICE_TOKEN),
            "search_interval": 60,
        },
    )
    assert isinstance(feed, VkFeed)
    assert (feed.wait, feed.search, feed.search_interval) == (1, ("зерно",), 60.0)
    try:
        feed.start(None)
        assert feed.describe().state is FeedState.CONNECTING
    finally:
        feed.close()
    with pytest.raises(FeedError):
        create_feed("vk", "vk", {"group_id": GROUP_ID})
    with pytest.raises(FeedError):
        create_feed("vk", "vk", {"token": Secret("x"), "group_id": 0})


def test_config_file_builds_a_vk_feed(tmp_path: Path, vk: FakeVk) -> None:
    path = tmp_path / "socialtui.toml"
    path.write_text(
        "[[feeds]]\n"
        'type = "vk"\n'
        'token_env = "VK_TOKEN"\n'
        f"group_id = {GROUP_ID}\n"
        f'api_base = "{vk.base}"\n'
        'search = ["зерно", "zerno"]\n'
        'service_token_env = "VK_SERVICE"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    config = load_config(path, {"VK_TOKEN": COMMUNITY_TOKEN, "VK_SERVICE": SERVICE_TOKEN})
    [feed_config] = config.feeds
    feed = create_feed(feed_config.type, feed_config.name, feed_config.options)
    assert isinstance(feed, VkFeed) and feed.search == ("зерно", "zerno")
    feed.close()


def test_end_to_end_feed_loop_store_and_outbox(
    vk: FakeVk, make_feed: MakeFeed, db_path: Path, store: SqliteStore
) -> None:
    """The app's FeedLoop stores what the feed reads; the outbox answers through the same feed."""
    feed = make_feed()
    stop = threading.Event()
    posted: list[Message] = []
    arrived = threading.Event()

    def post(message: Message) -> None:
        posted.append(message)
        stored = sum(len(m.mentions) for m in posted if isinstance(m, ItemsArrived))
        if stored >= 2:
            arrived.set()

    clock = FakeClock()
    loop = FeedLoop(
        feed, lambda: SqliteStore(str(db_path)), KeywordClassifier(), clock, post, stop,
        fetch_timeout=0.1,
    )  # fmt: skip
    worker = threading.Thread(target=loop.run, daemon=True)
    worker.start()
    try:
        wait_until(lambda: len(vk.calls_to(LONG_POLL)) >= 1)
        vk.push(UPDATES[0], UPDATES[1])
        assert arrived.wait(5)
        cursor = store.get_cursor("vk")
        assert cursor is not None and json.loads(cursor) == {"ts": "102"}
        board = Board(store, SETTINGS, clock)
        board.load()
        by_id = {m.native_id: m for m in board.store.open_mentions()}
        assert set(by_id) == {DM_ID, WALL_ID}
        assert by_id[WALL_ID].column is Column.NEGATIVE  # "ужас"
        board.reply(by_id[DM_ID].id, "Анна, заказ уже в пути!")
        clock.advance(seconds=board.send_delay.total_seconds() + 1)  # past the undo window
        # The outbox thread calls reply while the feed worker polls.
        changed = OutboxSender(store, {"vk": feed}, clock).send_pending()
        assert changed == [by_id[DM_ID].id]
    finally:
        stop.set()
        worker.join(5)
    assert not worker.is_alive()
    [entry] = store.outbox(by_id[DM_ID].id)
    assert entry.state is OutboxState.SENT and entry.native_reply_id == "7001"
    [sent] = vk.calls_to("messages.send")
    assert sent.params["random_id"] == str(reply_random_id(f"socialtui-{entry.id}"))
    assert sent.params["peer_id"] == "990000101"


def test_long_poll_server_follows_api_base(make_feed: MakeFeed) -> None:
    proxied = make_feed(api_base="https://vk-proxy.example/vk/")
    assert (
        proxied._long_poll_url("https://lp.vk.ru/whp/218000001")
        == "https://vk-proxy.example/vk/whp/218000001"
    )
    direct = make_feed(api_base=vk_module.DEFAULT_API_BASE)
    assert direct._long_poll_url("lp.vk.ru/whp/1") == "https://lp.vk.ru/whp/1"
