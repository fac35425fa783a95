"""The Telegram feed against a fake Bot API server on 127.0.0.1: parsing, offsets, replies,
error states and the token's secrecy. No internet; polls are kept at 1 s."""

from __future__ import annotations

import copy
import itertools
import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from feeds import create_feed, feed_options
from feeds.base import FeedError, FeedState, FetchResult
from feeds.telegram import TelegramFeed
from feeds.telegram_parse import (
    BotIdentity,
    Scope,
    ThreadRoots,
    UpdateError,
    normalise_channel,
    parse_update,
)
from triage.board import Board
from triage.ingest import Ingestor
from triage.model import Author, Column, IncomingItem, Kind, OutboxState
from triage.outbox import OutboxSender
from triage.secret import Secret
from triage.sqlite_store import SqliteStore

from .conftest import SETTINGS, FakeClock, KeywordClassifier
from .fakes.telegram_server import (
    CONFLICT_POLLER,
    FakeTelegram,
    Scripted,
    running_fake,
)
from .feed_helpers import closed_port, mention_for

TOKEN = "7000000001:AAH-s3cret_Tok3n-0123456789abcdefXYZ"
SECRET_PART = TOKEN.split(":", 1)[1]
DATA = Path(__file__).parent / "data"
SAMPLE = json.loads((DATA / "telegram_getupdates.json").read_text(encoding="utf-8"))["result"]
ERRORS = json.loads((DATA / "telegram_errors.json").read_text(encoding="utf-8"))
BOT = BotIdentity(7000000001, "zerno_coffee_bot")
CHANNEL_ID = -1001700000001
GROUP_ID = -1001800000002
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

MakeFeed = Callable[..., TelegramFeed]


def sample(update_id: int) -> dict[str, Any]:
    """A deep copy of one update from the sample getUpdates answer."""
    for update in SAMPLE:
        if update["update_id"] == update_id:
            return copy.deepcopy(update)
    raise KeyError(update_id)


DM, FORWARD, COMMENT, COMMENT_REPLY, CHATTER, MENTION, SERVICE, EDITED = (
    sample(500000101 + n) for n in range(8)
)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fake is local; a proxy from the environment must not get in between.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with running_fake(TOKEN) as fake:
        yield fake


@pytest.fixture
def make_feed(tg: FakeTelegram) -> Iterator[MakeFeed]:
    made: list[TelegramFeed] = []

    def make(**overrides: Any) -> TelegramFeed:
        options: dict[str, Any] = {
            "api_base": tg.base_url,
            "poll_timeout": 1,
            "now": lambda: NOW,
            "send_timeout": 1.0,
            "read_slack": 2.0,
            "backoff_first": 0.05,
            "backoff_max": 0.2,
            "conflict_delay": 0.2,
            "rng": random.Random(7),
        }
        options.update(overrides)
        token = options.pop("token", Secret(TOKEN))
        feed = TelegramFeed(options.pop("name", "tg"), token, **options)
        made.append(feed)
        return feed

    yield make
    for feed in made:
        feed.close()
    tg.release_polls()  # end held long polls now rather than at their timeout
    for feed in made:
        assert feed.join(5), "poll thread outlived close() and its last poll"


def fetch_items(feed: TelegramFeed, count: int, timeout: float = 5.0) -> list[FetchResult]:
    """Fetch (as the app does, each call acknowledging the last) until `count` items came."""
    results: list[FetchResult] = []
    deadline = time.monotonic() + timeout
    while sum(len(r.items) for r in results) < count:
        assert time.monotonic() < deadline, f"got {results}"
        result = feed.fetch(0.2)
        if result.items or result.cursor is not None or result.skipped:
            results.append(result)
    return results


def fetch_batch(feed: TelegramFeed, timeout: float = 5.0) -> FetchResult:
    """The next result that carries a cursor (a batch, even one with nothing for the board)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = feed.fetch(0.2)
        if result.cursor is not None:
            return result
    raise AssertionError("no batch arrived")


def wait_state(feed: TelegramFeed, state: FeedState, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while feed.describe().state is not state:
        assert time.monotonic() < deadline, f"still {feed.describe()}"
        feed.fetch(0.05)


def parse(update: dict[str, Any], roots: ThreadRoots | None = None, **scope: Any) -> Any:
    return parse_update(
        update,
        bot=BOT,
        scope=Scope(**scope),
        roots=roots if roots is not None else ThreadRoots(),
        feed="tg",
    )


# -- parsing (pure) ----------------------------------------------------------------------------


def test_private_message_is_a_dm() -> None:
    item = parse(DM)
    assert item == IncomingItem(
        network="telegram",
        native_id="512300001:45",
        kind=Kind.DM,
        author=Author(id="512300001", name="Анна Смирнова", handle="anna_smr"),
        text="Здравствуйте! Заказ 1842 опять привезли холодным, верните деньги",
        created_at=datetime(2026, 11, 23, 8, 30, tzinfo=UTC),
        url=None,
        context=None,
        route={"chat_id": 512300001, "message_id": 45},
        feed="tg",
    )


def test_comment_under_channel_post_carries_the_post_as_context() -> None:
    roots = ThreadRoots()
    assert parse(FORWARD, roots) is None  # the post itself is the shop's, not a customer's
    item = parse(COMMENT, roots, channel="zerno_coffee")
    assert item.kind is Kind.COMMENT
    assert item.native_id == f"{GROUP_ID}:3302"
    assert item.context == "Новинка недели: раф «Лесной орех» — 290 ₽"
    assert item.author == Author(id="512300002", name="Дмитрий", handle="dima_k")
    assert item.url == "https://t.me/zerno_coffee/412?comment=3302"
    assert item.route == {
        "chat_id": GROUP_ID,
        "message_id": 3302,
        "message_thread_id": 3301,
        "topic": False,
    }


def test_reply_to_a_comment_is_a_comment_with_the_post_context() -> None:
    roots = ThreadRoots()
    parse(COMMENT, roots)
    item = parse(COMMENT_REPLY, roots)
    assert item.kind is Kind.COMMENT
    assert item.context == "Новинка недели: раф «Лесной орех» — 290 ₽"
    # Its own reply_to_message is the comment it answers, not the post.
    assert item.text == "Присоединяюсь, и на овсяном тоже"


def test_reply_to_a_comment_under_an_unseen_post_in_the_known_group() -> None:
    # After a restart the post is unknown; a configured discussion group still makes it a comment.
    item = parse(COMMENT_REPLY, discussion_chat_id=GROUP_ID)
    assert item.kind is Kind.COMMENT
    assert item.context is None
    assert parse(COMMENT_REPLY) is None  # without that, it is indistinguishable from chatter


def test_comments_of_another_channel_are_ignored_when_a_channel_is_set() -> None:
    assert parse(COMMENT, channel="other_shop") is None
    assert parse(COMMENT, channel=CHANNEL_ID).kind is Kind.COMMENT
    assert parse(COMMENT, channel=-1001111111111) is None
    assert parse(COMMENT, discussion_chat_id=-1009999) is None


def test_group_chatter_and_service_messages_are_ignored() -> None:
    assert parse(CHATTER) is None
    assert parse(SERVICE) is None


def test_mentions_of_the_bot_in_a_group() -> None:
    item = parse(MENTION)
    assert item.kind is Kind.MENTION
    assert item.url == "https://t.me/moscow_coffee_chat/130018"
    assert item.route == {"chat_id": -1001900000003, "message_id": 130018}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("спросите @Zerno_Coffee_Bot", True),
        ("/menu@zerno_coffee_bot", True),
        ("а у @zerno_coffee есть веган?", True),  # the channel, when configured
        ("пишите на info@zerno_coffee_bot.ru", False),
        ("@zerno_coffee_bot_fan привет", False),
        ("просто про кофе", False),
    ],
)
def test_mention_detection(text: str, expected: bool) -> None:
    update = copy.deepcopy(CHATTER)
    update["message"]["text"] = text
    item = parse(update, channel="zerno_coffee")
    assert (item is not None and item.kind is Kind.MENTION) is expected


def test_text_mention_and_reply_to_the_bot_are_mentions() -> None:
    update = copy.deepcopy(CHATTER)
    update["message"]["entities"] = [
        {"offset": 0, "length": 3, "type": "text_mention", "user": {"id": BOT.id, "is_bot": True}}
    ]
    assert parse(update).kind is Kind.MENTION
    update = copy.deepcopy(CHATTER)
    update["message"]["reply_to_message"] = {
        "message_id": 130000,
        "from": {"id": BOT.id, "is_bot": True, "first_name": "Зерно"},
        "chat": update["message"]["chat"],
        "date": 1795422000,
        "text": "Мы открыты с 8:00",
    }
    item = parse(update)
    assert item.kind is Kind.MENTION
    assert item.context == "Мы открыты с 8:00"


def test_the_shop_posting_as_its_channel_or_anonymously_is_ignored() -> None:
    roots = ThreadRoots()
    parse(FORWARD, roots)
    as_channel = copy.deepcopy(COMMENT)
    as_channel["message"]["sender_chat"] = FORWARD["message"]["sender_chat"]
    assert parse(as_channel, roots) is None
    anonymous_admin = copy.deepcopy(COMMENT)
    anonymous_admin["message"]["sender_chat"] = dict(COMMENT["message"]["chat"])
    assert parse(anonymous_admin, roots) is None
    bot = copy.deepcopy(COMMENT)
    bot["message"]["from"]["is_bot"] = True
    assert parse(bot, roots) is None


def test_a_user_commenting_as_their_own_channel_is_the_author() -> None:
    update = copy.deepcopy(COMMENT)
    update["message"]["sender_chat"] = {
        "id": -1002000000001,
        "title": "Блог Димы",
        "username": "dima_blog",
        "type": "channel",
    }
    item = parse(update)
    assert item.author == Author(id="-1002000000001", name="Блог Димы", handle="dima_blog")


def test_media_without_caption_gets_a_placeholder() -> None:
    update = copy.deepcopy(DM)
    del update["message"]["text"]
    update["message"]["photo"] = [{"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1}]
    assert parse(update).text == "[фото]"
    update["message"].pop("photo")
    update["message"]["sticker"] = {"file_id": "x", "emoji": "😡"}
    assert parse(update).text == "[стикер 😡]"


def test_edited_message_keeps_the_native_id_of_the_message() -> None:
    item = parse(EDITED)
    assert item.native_id == "512300001:46"
    assert item.kind is Kind.DM


def test_lone_surrogates_become_replacement_characters() -> None:
    update = json.loads(
        json.dumps(DM, ensure_ascii=False).replace("Здравствуйте", "\\ud83dЗдравствуйте")
    )
    assert parse(update).text.startswith("\ufffdЗдравствуйте")


@pytest.mark.parametrize(
    "update",
    [
        [],
        {"message": {}},
        {"update_id": "1"},
        {"update_id": True, "message": {}},
        {"update_id": 1, "message": "text"},
        {"update_id": 1, "message": {"message_id": 1, "date": 1, "text": "hi"}},
        {"update_id": 1, "message": {"message_id": 1, "chat": {"id": 5, "type": "private"}}},
        {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 10**20,
                "chat": {"id": 5, "type": "private"},
                "text": "hi",
            },
        },
    ],
)
def test_malformed_updates_raise_update_error(update: Any) -> None:
    with pytest.raises(UpdateError):
        parse(update)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("@Zerno_Coffee", "zerno_coffee"),
        ("zerno_coffee", "zerno_coffee"),
        ("https://t.me/zerno_coffee", "zerno_coffee"),
        ("-1001700000001", CHANNEL_ID),
        (CHANNEL_ID, CHANNEL_ID),
        ("", None),
        (None, None),
    ],
)
def test_normalise_channel(value: Any, expected: Any) -> None:
    assert normalise_channel(value) == expected


def test_normalise_channel_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        normalise_channel("not a channel!")


# -- config ------------------------------------------------------------------------------------


def test_registered_options() -> None:
    assert set(feed_options("telegram")) == {
        "name",
        "token_env",
        "api_base",
        "channel",
        "discussion_chat_id",
        "poll_timeout",
    }
    assert feed_options("telegram")["token_env"].required


def test_config_loader_resolves_the_token(tmp_path: Path, tg: FakeTelegram) -> None:
    from config.loader import load_config

    path = tmp_path / "shop.toml"
    path.write_text(
        f'[[feeds]]\ntype = "telegram"\ntoken_env = "TG_TOKEN"\napi_base = "{tg.base_url}"\n'
        'channel = "@zerno_coffee"\ndiscussion_chat_id = -1001800000002\npoll_timeout = 1\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    config = load_config(path, {"HOME": str(tmp_path), "TG_TOKEN": TOKEN})
    feed_config = config.feeds[0]
    feed = create_feed(feed_config.type, feed_config.name, feed_config.options)
    try:
        assert isinstance(feed, TelegramFeed)
        assert feed.poll_timeout == 1
        feed.start(None)
        assert feed.describe().detail == "signed in as @zerno_coffee_bot"
    finally:
        feed.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "token_env"),
        ({"token": Secret(TOKEN), "poll_timeout": 0}, "poll_timeout"),
        ({"token": Secret(TOKEN), "poll_timeout": 500}, "poll_timeout"),
        ({"token": Secret(TOKEN), "api_base": "ftp://x"}, "api_base"),
        ({"token": Secret(TOKEN), "channel": "no such thing!"}, "channel"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(FeedError, match=message) as raised:
        create_feed("telegram", "tg", options)
    assert not raised.value.retryable


# -- reading -----------------------------------------------------------------------------------


def test_dm_arrives_with_cursor(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    tg.add_update(DM)
    feed = make_feed()
    feed.start(None)
    assert feed.describe().state is FeedState.CONNECTING
    [result] = fetch_items(feed, 1)
    assert [item.native_id for item in result.items] == ["512300001:45"]
    assert result.items[0].kind is Kind.DM
    assert result.items[0].feed == "tg"
    assert result.cursor == str(DM["update_id"] + 1)
    assert feed.describe().state is FeedState.LIVE
    assert feed.describe().detail == "@zerno_coffee_bot"
    first = tg.calls_to("getUpdates")[0].params
    assert first["timeout"] == 1
    assert first["allowed_updates"] == ["message", "edited_message"]
    assert "offset" not in first  # no stored cursor: read what Telegram still holds


def test_whole_sample_batch(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    for update in SAMPLE:
        tg.add_update(copy.deepcopy(update))
    feed = make_feed(channel="@zerno_coffee")
    feed.start(None)
    result = fetch_batch(feed)
    kinds = [(item.native_id, item.kind) for item in result.items]
    assert kinds == [
        ("512300001:45", Kind.DM),
        (f"{GROUP_ID}:3302", Kind.COMMENT),
        (f"{GROUP_ID}:3303", Kind.COMMENT),
        ("-1001900000003:130018", Kind.MENTION),
        ("512300001:46", Kind.DM),
    ]
    assert result.cursor == str(SAMPLE[-1]["update_id"] + 1)
    assert result.skipped == 0
    assert feed.describe().detail == "@zerno_coffee_bot · comments on @zerno_coffee"


def test_only_ignored_updates_still_move_the_cursor(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    tg.add_update(CHATTER)
    tg.add_update(SERVICE)
    feed = make_feed()
    feed.start(None)
    result = fetch_batch(feed)
    assert result.items == []
    assert result.cursor == str(SERVICE["update_id"] + 1)


def test_fetch_returns_within_its_timeout(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    feed = make_feed(poll_timeout=3)
    feed.start(None)
    for _ in range(3):
        began = time.monotonic()
        assert feed.fetch(0.2) == FetchResult()
        assert time.monotonic() - began < 0.5


def test_batch_is_confirmed_only_when_the_app_asks_again(
    tg: FakeTelegram, make_feed: MakeFeed
) -> None:
    for update in (DM, CHATTER, MENTION):
        tg.add_update(copy.deepcopy(update))
    feed = make_feed()
    feed.start(None)
    result = fetch_batch(feed)
    next_offset = int(result.cursor or 0)
    time.sleep(0.5)  # give a wrongly eager poller time to confirm
    assert all(call.params.get("offset") != next_offset for call in tg.calls_to("getUpdates"))
    assert tg.pending() == [DM["update_id"], CHATTER["update_id"], MENTION["update_id"]]
    # The app stored the batch and asks for more: now the offset goes out.
    feed.fetch(0.2)
    calls = tg.wait_for_call("getUpdates", 2)
    assert calls[-1].params["offset"] == next_offset
    deadline = time.monotonic() + 2
    while tg.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert tg.pending() == []


def test_resume_from_stored_cursor_after_recreation(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    tg.add_update(copy.deepcopy(DM))
    tg.add_update(copy.deepcopy(MENTION))
    first = make_feed()
    first.start(None)
    batch = fetch_batch(first)
    stored = batch.cursor
    first.close()  # the app quits right after storing: the server never heard of the offset
    assert first.join(5)
    assert len(tg.pending()) == 2

    tg.add_update(copy.deepcopy(EDITED))
    second = make_feed()
    second.start(stored)
    [result] = fetch_items(second, 1)
    assert [item.native_id for item in result.items] == ["512300001:46"]  # no loss, no repeat
    assert tg.calls_to("getUpdates")[-1].params["offset"] == int(stored or 0)
    assert result.cursor == str(EDITED["update_id"] + 1)


def test_crash_before_storing_reads_the_batch_again(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    tg.add_update(copy.deepcopy(DM))
    first = make_feed()
    first.start(None)
    assert fetch_batch(first).items
    first.close()  # nothing stored: the app "crashed"
    assert first.join(5)
    second = make_feed()
    second.start(None)
    assert [i.native_id for i in fetch_batch(second).items] == ["512300001:45"]


def test_unreadable_cursor_reads_from_what_telegram_holds(
    tg: FakeTelegram, make_feed: MakeFeed
) -> None:
    tg.add_update(copy.deepcopy(DM))
    feed = make_feed()
    feed.start("garbage")
    assert fetch_batch(feed).items
    assert "offset" not in tg.calls_to("getUpdates")[0].params


def test_malformed_updates_are_skipped_and_counted(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    tg.add_update(copy.deepcopy(DM))
    tg.add_update({"update_id": 500000201, "message": {"message_id": 1}})  # no chat
    tg.add_raw_update("not an update")
    tg.add_update({"update_id": 500000202, "message": "text"})
    tg.add_update(copy.deepcopy(MENTION) | {"update_id": 500000203})
    feed = make_feed()
    feed.start(None)
    result = fetch_batch(feed)
    assert [i.kind for i in result.items] == [Kind.DM, Kind.MENTION]
    assert result.skipped == 3
    assert result.cursor == "500000204"
    assert feed.describe().skipped == 3
    assert feed.describe().state is FeedState.LIVE


@pytest.mark.parametrize(
    "answer",
    [
        Scripted(body=b"<html>proxy login</html>", content_type="text/html"),
        Scripted(body=b'{"ok": true, "result": [{"update_id": 5'),
        Scripted(body={"ok": True}),
        Scripted(body={"ok": True, "result": "nope"}),
    ],
    ids=["html", "cut-json", "no-result", "result-not-list"],
)
def test_unreadable_answers_are_skipped_and_retried(
    tg: FakeTelegram, make_feed: MakeFeed, answer: Scripted
) -> None:
    tg.script("getUpdates", answer)
    tg.add_update(copy.deepcopy(DM))
    feed = make_feed()
    feed.start(None)
    results = fetch_items(feed, 1)
    assert sum(r.skipped for r in results) == 1
    assert feed.describe().skipped == 1
    assert [i.native_id for r in results for i in r.items] == ["512300001:45"]
    assert feed.describe().state is FeedState.LIVE


def test_truncated_answer_is_a_network_error(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    tg.script("getUpdates", Scripted(body=b'{"ok": true, "res', truncate=True))
    tg.add_update(copy.deepcopy(DM))
    feed = make_feed(backoff_first=0.5)
    feed.start(None)
    wait_state(feed, FeedState.OFFLINE)
    assert "retrying in" in feed.describe().detail
    assert fetch_items(feed, 1)[0].items[0].native_id == "512300001:45"


# -- error states ------------------------------------------------------------------------------


@pytest.mark.parametrize("error", ["unauthorized", "not_found"])
def test_bad_token_fails_start(tg: FakeTelegram, make_feed: MakeFeed, error: str) -> None:
    tg.script("getMe", Scripted(status=ERRORS[error]["error_code"], body=ERRORS[error]))
    feed = make_feed()
    with pytest.raises(FeedError) as raised:
        feed.start(None)
    assert not raised.value.retryable
    assert raised.value.status is not None
    assert raised.value.status.state is FeedState.AUTH_FAILED


def test_wrong_token_against_the_fake_is_auth_failed(make_feed: MakeFeed) -> None:
    feed = make_feed(token=Secret("123456:wrong"))
    with pytest.raises(FeedError, match="rejected the bot token") as raised:
        feed.start(None)
    assert not raised.value.retryable


def test_unreachable_server_fails_start_retryably(make_feed: MakeFeed) -> None:
    feed = make_feed(api_base=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(FeedError, match=r"cannot reach 127\.0\.0\.1") as raised:
        feed.start(None)
    assert raised.value.retryable
    assert raised.value.status is not None
    assert raised.value.status.state is FeedState.OFFLINE


def test_token_revoked_while_polling(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.start(None)
    tg.script("getUpdates", Scripted.error(401, "Unauthorized"))
    deadline = time.monotonic() + 5
    with pytest.raises(FeedError) as raised:
        while time.monotonic() < deadline:
            feed.fetch(0.1)
    assert not raised.value.retryable
    assert feed.describe().state is FeedState.AUTH_FAILED


def test_conflict_with_another_poller(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    tg.script("getUpdates", Scripted.error(409, CONFLICT_POLLER))
    tg.add_update(copy.deepcopy(DM))
    feed = make_feed(conflict_delay=0.5)
    feed.start(None)
    wait_state(feed, FeedState.ERROR)
    assert "another program is polling this bot" in feed.describe().detail
    assert fetch_items(feed, 1)  # retried (slowly) and recovered
    assert feed.describe().state is FeedState.LIVE


def test_conflict_with_a_webhook(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    tg.webhook_url = "https://example.invalid/hook"
    feed = make_feed(conflict_delay=0.3)
    feed.start(None)
    wait_state(feed, FeedState.ERROR)
    detail = feed.describe().detail
    assert "webhook" in detail and "deleteWebhook" in detail
    assert feed.describe().retry_at == NOW + timedelta(seconds=0.3)
    tg.webhook_url = ""  # the operator ran deleteWebhook
    wait_state(feed, FeedState.LIVE)


def test_rate_limited_until_retry_after(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    body = ERRORS["too_many_requests"]
    tg.script("getUpdates", Scripted(status=429, body=body))
    feed = make_feed()
    feed.start(None)
    wait_state(feed, FeedState.RATE_LIMITED)
    status = feed.describe()
    assert status.retry_at == NOW + timedelta(seconds=3)
    assert status.detail == "Telegram rate limit; retrying in 3 s"
    began = time.monotonic()
    feed.close()
    assert time.monotonic() - began < 0.5
    assert feed.join(2)  # the wait for retry_after is cut short by close()


@pytest.mark.parametrize("status", [500, 502])
def test_server_errors_go_offline_and_recover(
    tg: FakeTelegram, make_feed: MakeFeed, status: int
) -> None:
    tg.script("getUpdates", Scripted.error(status, "Internal Server Error"))
    tg.script("getUpdates", Scripted(status=status, body=b"<html>Bad Gateway</html>"))
    tg.add_update(copy.deepcopy(DM))
    feed = make_feed(backoff_first=0.3)
    feed.start(None)
    wait_state(feed, FeedState.OFFLINE)
    status_now = feed.describe()
    assert "retrying in" in status_now.detail
    assert status_now.retry_at is not None
    assert fetch_items(feed, 1)
    assert feed.describe().state is FeedState.LIVE
    assert feed.describe().skipped == 0  # a 5xx page is an outage, not a malformed record


def test_backoff_grows_with_jitter(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    tg.script("getUpdates", *[Scripted.error(500, "Internal Server Error")] * 4)
    feed = make_feed(backoff_first=0.05, backoff_max=10.0)
    feed.start(None)
    deadline = time.monotonic() + 5
    while len(tg.calls_to("getUpdates")) < 4 and time.monotonic() < deadline:
        feed.fetch(0.02)
    calls = tg.calls_to("getUpdates")
    gaps = [b.at - a.at for a, b in itertools.pairwise(calls)]
    # 0.05, 0.1, 0.2 s, each ±20 %.
    for gap, base in zip(gaps, (0.05, 0.1, 0.2), strict=False):
        assert base * 0.8 - 0.01 <= gap <= base * 1.2 + 0.3


def test_close_during_a_long_poll_returns_promptly(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    feed = make_feed(poll_timeout=2)
    feed.start(None)
    feed.fetch(0.1)
    tg.wait_for_call("getUpdates")  # the poll is now held open by the server
    began = time.monotonic()
    feed.close()
    assert time.monotonic() - began < 0.2
    assert feed.describe().state is FeedState.STOPPED
    assert feed.fetch(0.5) == FetchResult()  # and fetch after close does not wait
    assert feed.join(5)  # the thread ends with its current request


def test_close_before_any_fetch(make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.start(None)
    feed.close()
    assert feed.join(0.1)
    with pytest.raises(FeedError):
        feed.start(None)


# -- replies -----------------------------------------------------------------------------------


def test_reply_to_a_dm(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.start(None)
    result = feed.reply(mention_for(parse(DM)), "Анна, простите нас!", "socialtui-1")
    assert result.native_reply_id == "9001"
    assert result.refused is None
    [sent] = tg.sent
    assert sent == {
        "chat_id": 512300001,
        "text": "Анна, простите нас!",
        "reply_parameters": {"message_id": 45, "allow_sending_without_reply": True},
    }


def test_reply_to_a_comment_stays_out_of_message_thread_id(
    tg: FakeTelegram, make_feed: MakeFeed
) -> None:
    # In a discussion group (not a forum) message_thread_id makes sendMessage fail with
    # "message thread not found"; replying to the comment puts the answer in its thread.
    feed = make_feed()
    feed.start(None)
    feed.reply(mention_for(parse(COMMENT)), "Да, без сахара можно", "socialtui-2")
    assert tg.sent[0]["chat_id"] == GROUP_ID
    assert tg.sent[0]["reply_parameters"]["message_id"] == 3302
    assert "message_thread_id" not in tg.sent[0]


def test_reply_in_a_forum_topic_names_the_topic(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.start(None)
    update = copy.deepcopy(MENTION)
    update["message"]["message_thread_id"] = 77
    update["message"]["is_topic_message"] = True
    feed.reply(mention_for(parse(update)), "Да, работаем до 18:00", "socialtui-3")
    assert tg.sent[0]["message_thread_id"] == 77


@pytest.mark.parametrize(
    ("route", "text", "reason"),
    [
        ({}, "привет", "no Telegram chat"),
        ({"chat_id": 1, "message_id": "x"}, "привет", "no Telegram chat"),
        ({"chat_id": 1, "message_id": 2}, "   ", "empty"),
        ({"chat_id": 1, "message_id": 2}, "я" * 4097, "4096"),
    ],
)
def test_reply_refusals(
    tg: FakeTelegram, make_feed: MakeFeed, route: dict[str, Any], text: str, reason: str
) -> None:
    feed = make_feed()
    mention = mention_for(parse(DM))
    mention.route = route
    result = feed.reply(mention, text, "k")
    assert result.refused is not None and reason in result.refused
    assert tg.calls_to("sendMessage") == []


@pytest.mark.parametrize(
    ("answer", "retryable", "fragment"),
    [
        (Scripted(status=403, body=ERRORS["blocked_by_user"]), False, "blocked by the user"),
        (Scripted(status=400, body=ERRORS["reply_not_found"]), False, "to be replied not found"),
        (Scripted(status=400, body=ERRORS["migrated"]), False, "upgraded to a supergroup"),
        (Scripted(status=429, body=ERRORS["too_many_requests"]), True, "not sent"),
        (Scripted(status=502, body=ERRORS["bad_gateway"]), False, "may have been sent"),
        (Scripted(status=401, body=ERRORS["unauthorized"]), False, "rejected the bot token"),
        (Scripted(body=b"<html></html>", content_type="text/html"), False, "may have been sent"),
        (Scripted(stall=2.0, body={"ok": True, "result": {}}), False, "may have been sent"),
        (Scripted(body=b'{"ok": true, "result": {"mes', truncate=True), False, "may have been"),
    ],
    ids=["blocked", "gone", "migrated", "429", "502", "401", "html", "timeout", "truncated"],
)
def test_reply_failures(
    tg: FakeTelegram, make_feed: MakeFeed, answer: Scripted, retryable: bool, fragment: str
) -> None:
    tg.script("sendMessage", answer)
    feed = make_feed(send_timeout=0.5)
    with pytest.raises(FeedError, match=fragment) as raised:
        feed.reply(mention_for(parse(DM)), "Ответ", "socialtui-9")
    assert raised.value.retryable is retryable
    assert len(tg.calls_to("sendMessage")) == 1  # never retried inside reply


def test_reply_reads_the_sent_message_id(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    answer = json.loads((DATA / "telegram_sendmessage.json").read_text(encoding="utf-8"))
    tg.script("sendMessage", Scripted(body=answer))
    feed = make_feed()
    assert feed.reply(mention_for(parse(DM)), "Ответ", "k").native_reply_id == "47"


def test_reply_after_close_is_not_sent(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.close()
    with pytest.raises(FeedError, match="not sent") as raised:
        feed.reply(mention_for(parse(DM)), "Ответ", "k")
    assert raised.value.retryable
    assert tg.calls_to("sendMessage") == []


def test_reply_when_telegram_is_unreachable_is_retryable(make_feed: MakeFeed) -> None:
    feed = make_feed(api_base=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(FeedError, match="not sent") as raised:
        feed.reply(mention_for(parse(DM)), "Ответ", "socialtui-9")
    assert raised.value.retryable


def test_reply_while_polling(tg: FakeTelegram, make_feed: MakeFeed) -> None:
    # The outbox thread replies while the feed thread's long poll is held open.
    feed = make_feed(poll_timeout=3)
    feed.start(None)
    feed.fetch(0.1)
    tg.wait_for_call("getUpdates")
    began = time.monotonic()
    assert feed.reply(mention_for(parse(DM)), "Ответ", "k").native_reply_id
    assert time.monotonic() - began < 1.0


# -- the token stays secret --------------------------------------------------------------------


def test_token_never_appears_in_logs_errors_or_status(
    tg: FakeTelegram, make_feed: MakeFeed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "feeds"):
        caplog.set_level(logging.DEBUG, logger=name)
    texts: list[str] = []

    def remember(exc: FeedError) -> None:
        texts.append(str(exc))
        if exc.status is not None:
            texts.append(exc.status.detail)

    tg.add_update(copy.deepcopy(DM))
    tg.script("getUpdates", Scripted.error(500, f"oops {TOKEN}"), Scripted(body=b"garbage"))
    tg.script("getUpdates", Scripted.error(409, CONFLICT_POLLER))
    feed = make_feed(backoff_first=0.3, conflict_delay=0.3)
    feed.start(None)
    deadline = time.monotonic() + 5
    seen: set[FeedState] = set()
    while not fetch_batch_or_none(feed) and time.monotonic() < deadline:
        seen.add(feed.describe().state)
        texts.append(feed.describe().detail)
    assert {FeedState.OFFLINE, FeedState.ERROR} <= seen
    texts.append(feed.describe().detail)
    tg.script("sendMessage", Scripted.error(403, f"Forbidden: {TOKEN}"))
    for _ in range(2):
        try:
            feed.reply(mention_for(parse(DM)), "Ответ", "k")
        except FeedError as exc:
            remember(exc)
    dead = make_feed(api_base=f"http://127.0.0.1:{closed_port()}")
    for action in (lambda: dead.start(None), lambda: dead.reply(mention_for(parse(DM)), "x", "k")):
        try:
            action()
        except FeedError as exc:
            remember(exc)
    wrong = make_feed(token=Secret(TOKEN + "x"))
    try:
        wrong.start(None)
    except FeedError as exc:
        remember(exc)

    assert "bot***/getUpdates" in caplog.text  # httpx did log the requests, masked
    everything = caplog.text + "\n".join(texts) + repr(feed.describe())
    assert TOKEN not in everything
    assert SECRET_PART not in everything
    assert len(texts) >= 8


def fetch_batch_or_none(feed: TelegramFeed) -> FetchResult | None:
    result = feed.fetch(0.05)
    return result if result.items else None


# -- end to end --------------------------------------------------------------------------------


def test_end_to_end_through_ingestor_store_and_outbox(
    tg: FakeTelegram,
    make_feed: MakeFeed,
    store: SqliteStore,
    classifier: KeywordClassifier,
    clock: FakeClock,
) -> None:
    for update in SAMPLE:
        tg.add_update(copy.deepcopy(update))
    ingestor = Ingestor(store, classifier, clock)
    feed = make_feed(name="telegram", channel="zerno_coffee")
    feed.start(store.get_cursor("telegram"))
    batch = fetch_batch(feed)
    mentions = ingestor.ingest("telegram", batch)
    assert [(m.kind, m.native_id) for m in mentions] == [
        (Kind.DM, "512300001:45"),
        (Kind.COMMENT, f"{GROUP_ID}:3302"),
        (Kind.COMMENT, f"{GROUP_ID}:3303"),
        (Kind.MENTION, "-1001900000003:130018"),
        (Kind.DM, "512300001:46"),
    ]
    assert mentions[0].column is Column.NEGATIVE
    assert mentions[1].context == "Новинка недели: раф «Лесной орех» — 290 ₽"
    assert store.get_cursor("telegram") == str(SAMPLE[-1]["update_id"] + 1)

    # The operator answers the complaint; the outbox sends it through the feed.
    board = Board(store, SETTINGS, clock)
    board.load()
    board.reply(mentions[0].id, "Анна, простите нас. Вернём деньги сегодня.")
    clock.advance(seconds=10)  # past the undo window
    sender = OutboxSender(store, {"telegram": feed}, clock)
    assert sender.send_pending() == [mentions[0].id]
    [entry] = store.outbox(mentions[0].id)
    assert entry.state is OutboxState.SENT
    assert entry.native_reply_id == "9001"
    assert tg.sent[0]["reply_parameters"] == {"message_id": 45, "allow_sending_without_reply": True}
    feed.close()
    assert feed.join(5)

    # A restart resumes from the stored cursor: only the new message, nothing twice.
    tg.add_update(copy.deepcopy(DM) | {"update_id": 500000300})
    tg.add_update(
        {
            "update_id": 500000301,
            "message": {**copy.deepcopy(DM["message"]), "message_id": 48, "text": "Спасибо!"},
        }
    )
    again = make_feed(name="telegram", channel="zerno_coffee")
    again.start(store.get_cursor("telegram"))
    new = ingestor.ingest("telegram", fetch_batch(again))
    assert [m.native_id for m in new] == ["512300001:48"]  # 45 again is dropped as a duplicate
    # The restart's first poll confirmed the first run's batch; its own waits for the next fetch.
    assert tg.pending() == [500000300, 500000301]
    assert store.get_cursor("telegram") == "500000302"


def test_app_feed_loop_drives_the_feed(
    tg: FakeTelegram, make_feed: MakeFeed, db_path: Path, clock: FakeClock
) -> None:
    """The worker the app runs: start, fetch at 0.5 s, store each batch with its cursor."""
    import threading

    from tui.messages import ItemsArrived
    from tui.workers import FeedLoop

    tg.add_update(copy.deepcopy(DM))
    tg.add_update(copy.deepcopy(MENTION))
    stop = threading.Event()
    posted: list[Any] = []

    def post(message: Any) -> None:
        posted.append(message)
        if isinstance(message, ItemsArrived):
            stop.set()

    feed = make_feed(name="telegram")
    loop = FeedLoop(feed, lambda: SqliteStore(str(db_path)), KeywordClassifier(), clock, post, stop)
    worker = threading.Thread(target=loop.run)
    worker.start()
    worker.join(10)
    assert not worker.is_alive()
    [arrived] = [m for m in posted if isinstance(m, ItemsArrived)]
    assert [m.native_id for m in arrived.mentions] == ["512300001:45", "-1001900000003:130018"]
    check = SqliteStore(str(db_path))
    try:
        assert check.get_cursor("telegram") == str(MENTION["update_id"] + 1)
    finally:
        check.close()
    assert feed.describe().state is FeedState.STOPPED  # the loop closed the feed on stop
