"""Fuzzing every feed's payload parser: VK, Telegram, X and the JSONL records.

Each parser gets at least FUZZ_EXAMPLES hypothesis examples (counted as they run, not
assumed). An example is a near-valid payload built from the documented API shapes, in which
any field may be swapped for junk (wrong types, huge numbers, lone surrogates, escape
sequences, absurd dates) or dropped, whole records may be arbitrary JSON, and the wire bytes
may be cut or corrupted; some examples are raw bytes. The contract checked per record is the
feeds' own:

- a malformed record raises the parser's documented error (vk_parse.PayloadError,
  telegram_parse.UpdateError, x_parse.PayloadError, jsonl.RecordError), which the feed counts
  as skipped, or comes back as None ("not for the board"); never any other exception;
- what comes out can be stored and shown: every string encodes as UTF-8 (a lone surrogate made
  the store refuse the whole batch, for ever), counts fit SQLite's 64-bit INTEGER, created_at
  is aware UTC within 2000..2099 (year 9999 overflowed in the shop's time zone), the route is
  JSON, and the text is not blank.

Speed: on the 2-core CI box hypothesis spends about 1 ms per example even on `st.integers()`,
and a payload built from nested strategies costs 50-150 draws (5 ms). So hypothesis draws one
seed per example and the payload is built from the API shapes below with `random.Random(seed)`
(about 0.1 ms): which family (near-valid, arbitrary JSON, raw bytes), which fields are junk or
missing, whether the wire bytes are cut or corrupted. A failure prints the seed and the payload
(`note`), and the seed replays it exactly.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context

from feeds import jsonl, telegram_parse, vk_parse, x_parse
from triage.model import Author, IncomingItem, Kind

FUZZ_EXAMPLES = 10_000
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_INT64 = 2**63 - 1

# How many examples each fuzz test really ran, by parser (printed with -s; see reliability.md).
RUNS: dict[str, int] = {}

FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    # Shrinking a seed says nothing; the noted payload is the minimal story.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
seeds = st.integers(min_value=0, max_value=2**64 - 1)

# -- building blocks -----------------------------------------------------------------------

HOSTILE_TEXT = [
    "\x1b]0;pwned\x07",
    "\x1b]8;;https://evil.example\x1b\\клик\x1b]8;;\x1b\\",
    "\x1b[2J\x1b[H",
    "\x9b31m\x9d0;t\x9c",
    "\u202eанеро\u202c",
    "[@click=app.quit]выход[/]",
    "[/b]",
    "e" + "\u0301" * 50,
    "👩\u200d👩\u200d👧",
    "\u3164",
    "\x00\x7f\r\n\t",
    "\ud800",
    "\udfff x",
    "  ",
    "",
    "[id123|Анна], спасибо",
    "[club1|]",
    "@zerno_coffee_bot",
    "/start@zerno_coffee_bot",
    "{name} {0} %s",
]
PLAIN_TEXT = [
    "Здравствуйте! Где мой заказ №4471?",
    "спс 🙏",
    "Кофе холодный",
    "ivan_p",
    "Москва",
    "a",
]
# Values that are the wrong thing wherever they land.
JUNK_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    float("inf"),
    2**63,
    -(2**63) - 1,
    10**30,
    "",
    " ",
    "1",
    "-5",
    "abc",
    "\ud800",
    "\x1b]0;pwned\x07",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    [],
    [1],
    ["a", None],
    {},
    {"id": []},
    {"a": {"b": None}},
]
# Character ranges random text draws from: ASCII, controls, Cyrillic, marks, format
# characters, surrogates, private use, emoji, and anything at all.
_CHAR_RANGES = [
    (0x20, 0x7F),
    (0x00, 0x20),
    (0x80, 0xA0),
    (0x400, 0x460),
    (0x300, 0x370),
    (0x2000, 0x2070),
    (0xD800, 0xE000),
    (0xE000, 0xE010),
    (0x1F600, 0x1F650),
    (0x0, 0x110000),
]

Make = Callable[[], Any]


class Payloads:
    """Near-valid payloads from a seed: each field maybe junk, maybe missing."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    # primitives

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def text(self) -> str:
        roll = self.rng.random()
        if roll < 0.35:
            return self.rng.choice(HOSTILE_TEXT)
        if roll < 0.6:
            return self.rng.choice(PLAIN_TEXT)
        low, high = self.rng.choice(_CHAR_RANGES)
        return "".join(chr(self.rng.randrange(low, high)) for _ in range(self.rng.randrange(12)))

    def json(self, depth: int = 2) -> Any:
        roll = self.rng.random()
        if depth <= 0 or roll < 0.5:
            return self.rng.choice([None, True, self.rng.randrange(-9, 9), 0.5, self.text()])
        if roll < 0.75:
            return [self.json(depth - 1) for _ in range(self.rng.randrange(3))]
        return {self.text(): self.json(depth - 1) for _ in range(self.rng.randrange(3))}

    def junk(self) -> Any:
        roll = self.rng.random()
        if roll < 0.6:
            return self.rng.choice(JUNK_VALUES)
        return self.text() if roll < 0.8 else self.json()

    def maybe(self, make: Make, p_junk: float = 0.12) -> Any:
        return self.junk() if self.chance(p_junk) else make()

    def one(self, *values: Any) -> Make:
        return lambda: self.rng.choice(values)

    def ints(self, low: int, high: int) -> Make:
        return lambda: self.rng.randrange(low, high)

    def record(self, required: Mapping[str, Make], optional: Mapping[str, Make] = {}) -> Any:
        """A dict in an API's shape; now and then something else entirely."""
        if self.chance(0.04):
            return self.junk()
        out: dict[str, Any] = {}
        for key, make in required.items():
            if not self.chance(0.04):
                out[key] = self.maybe(make)
        for key, make in optional.items():
            if self.chance(0.5):
                out[key] = self.maybe(make)
        return out

    def many(self, make: Make, most: int) -> Make:
        return lambda: [make() for _ in range(self.rng.randrange(most + 1))]

    def unix_date(self) -> int:
        if self.chance(0.85):
            return self.rng.randrange(1_700_000_000, 1_900_000_000)
        return self.rng.choice([0, -1, 946_684_799, 4_102_444_800, 253_402_300_799, 10**20])

    def iso_date(self) -> str:
        if self.chance(0.2):
            return self.text()
        return self.rng.choice(
            [
                "2026-11-23T08:00:00Z",
                "2026-11-23T08:00:00.000Z",
                "2026-11-23T11:00:00+03:00",
                "2026-11-23 08:00",
                "2026-11-23",
                "9999-12-31T23:59:59-01:00",
                "9999-12-31T23:59:59",
                "0001-01-01T00:00:00+01:00",
                "1970-01-01T00:00:00Z",
                "2100-01-01T00:00:00Z",
                "1999-12-31T23:59:59Z",
                "not a date",
                "",
            ]
        )

    def wire(self, value: Any) -> bytes:
        """JSON bytes as a server or a writing tool sends them, sometimes cut or corrupted."""
        text = json.dumps(value, ensure_ascii=self.chance(0.5))
        body = text.encode("utf-8", "surrogatepass")
        roll = self.rng.random()
        if roll < 0.1 and body:
            body = body[: self.rng.randrange(len(body))]
        elif roll < 0.2 and body:
            where = self.rng.randrange(len(body))
            flipped = body[where] ^ self.rng.randrange(1, 256)
            body = body[:where] + bytes([flipped]) + body[where + 1 :]
        return body

    def raw(self) -> bytes:
        return bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(40)))

    # VK (API 5.199)

    def vk_id(self) -> int:
        if self.chance(0.7):
            return self.rng.choice([1, 42, 101, -VK_GROUP, VK_GROUP, 2_000_000_001, 2_000_000_000])
        return self.rng.randrange(-(2**40), 2**40)

    def vk_attachments(self) -> list[Any]:
        kinds = self.one("photo", "sticker", "doc", "mystery")
        return self.many(lambda: self.maybe(lambda: {"type": kinds()}), 3)()

    def vk_message(self) -> Any:
        return self.record(
            {"peer_id": self.vk_id, "from_id": self.vk_id, "text": self.text},
            {
                "id": self.vk_id,
                "conversation_message_id": self.vk_id,
                "date": self.unix_date,
                "out": self.one(0, 1),
                "attachments": self.vk_attachments,
                "action": lambda: {"type": "chat_invite_user"},
            },
        )

    def vk_comment(self) -> Any:
        return self.record(
            {"id": self.vk_id, "from_id": self.vk_id, "text": self.text},
            {
                "post_id": self.vk_id,
                "photo_id": self.vk_id,
                "video_id": self.vk_id,
                "item_id": self.vk_id,
                "topic_id": self.vk_id,
                "owner_id": self.vk_id,
                "post_owner_id": self.vk_id,
                "photo_owner_id": self.vk_id,
                "date": self.unix_date,
                "attachments": self.vk_attachments,
                "parents_stack": self.many(lambda: self.maybe(self.vk_id), 2),
            },
        )

    def vk_update(self) -> Any:
        roll = self.rng.random()
        if roll < 0.4:
            return self.record(
                {
                    "type": lambda: "message_new",
                    "object": lambda: self.record({"message": self.vk_message}),
                },
                {"group_id": self.vk_id, "event_id": self.text},
            )
        if roll < 0.5:  # before API 5.103 the object was the message itself
            return self.record({"type": lambda: "message_new", "object": self.vk_message})
        events = self.one(
            "wall_reply_new",
            "photo_comment_new",
            "video_comment_new",
            "market_comment_new",
            "board_post_new",
            "wall_reply_edit",
            "group_join",
        )
        return self.record({"type": events, "object": self.vk_comment}, {"group_id": self.vk_id})

    def vk_poll_answer(self) -> Any:
        if self.chance(0.15):
            return self.record({"failed": self.one(1, 2, 3)}, {"ts": lambda: str(self.vk_id())})
        ts = self.one("1000", "12", 7, " 42 ", "²")
        return self.record({"ts": ts}, {"updates": self.many(self.vk_update, 4)})

    def vk_user(self) -> Any:
        return self.record(
            {"id": self.vk_id},
            {
                "first_name": self.text,
                "last_name": self.text,
                "screen_name": self.text,
                "city": lambda: self.record({"title": self.text}),
                "followers_count": self.one(0, 12400, -5, 2**63, 2**64),
            },
        )

    def vk_group(self) -> Any:
        return self.record(
            {"id": self.vk_id},
            {
                "name": self.text,
                "screen_name": self.text,
                "members_count": self.one(0, 12400, -5, 2**63),
            },
        )

    def vk_post(self) -> Any:
        return self.record(
            {"owner_id": self.vk_id, "id": self.vk_id},
            {
                "from_id": self.vk_id,
                "text": self.text,
                "date": self.unix_date,
                "attachments": self.vk_attachments,
                "copy_history": self.many(lambda: self.record({"text": self.text}), 2),
            },
        )

    # Telegram (Bot API 7)

    def tg_chat_id(self) -> int:
        return self.rng.choice([5, 77, -1001, -1002, -100123, 7000000001])

    def tg_user(self) -> Any:
        return self.record(
            {"id": self.one(5, 77, 7000000001, 136817688)},
            {
                "is_bot": self.one(True, False),
                "first_name": self.text,
                "last_name": self.text,
                "username": self.one("zerno_coffee_bot", "@ivan", "\ud800", " @ ", "ivan_p"),
            },
        )

    def tg_chat(self) -> Any:
        return self.record(
            {"id": self.tg_chat_id, "type": self.one("private", "group", "supergroup", "channel")},
            {
                "title": self.text,
                "username": self.one("zerno_coffee", "zerno_chat", "\udc00", "a b", "x"),
                "first_name": self.text,
                "last_name": self.text,
            },
        )

    def tg_entities(self) -> list[Any]:
        kinds = self.one("mention", "text_mention", "bot_command", "url")
        entity = lambda: self.record(  # noqa: E731
            {"type": kinds},
            {"offset": self.ints(-1, 50), "length": self.ints(-1, 50), "user": self.tg_user},
        )
        return self.many(entity, 2)()

    def tg_forward(self) -> Any:
        return self.record(
            {
                "message_id": self.ints(1, 50),
                "date": self.unix_date,
                "chat": self.tg_chat,
                "is_automatic_forward": lambda: True,
            },
            {
                "text": self.text,
                "forward_origin": lambda: self.record(
                    {
                        "type": lambda: "channel",
                        "chat": self.tg_chat,
                        "message_id": self.ints(1, 50),
                    }
                ),
                "forward_from_chat": self.tg_chat,
                "forward_from_message_id": self.ints(1, 50),
                "sender_chat": self.tg_chat,
                "from": self.tg_user,
            },
        )

    def tg_message(self, depth: int = 1) -> Any:
        def replied() -> Any:
            return self.tg_forward() if self.chance(0.5) or depth <= 0 else self.tg_message(0)

        return self.record(
            {"message_id": self.ints(1, 50), "date": self.unix_date, "chat": self.tg_chat},
            {
                "from": self.tg_user,
                "sender_chat": self.tg_chat,
                "text": self.text,
                "caption": self.text,
                "entities": self.tg_entities,
                "caption_entities": self.tg_entities,
                "reply_to_message": replied,
                "message_thread_id": self.ints(1, 50),
                "is_topic_message": self.one(True, False),
                "is_automatic_forward": self.one(True, False),
                "forward_origin": lambda: self.record(
                    {"chat": self.tg_chat, "message_id": self.ints(1, 50)}
                ),
                "photo": lambda: [{"file_id": "x"}],
                "voice": lambda: {"file_id": "v"},
                "sticker": lambda: self.record({}, {"emoji": self.text}),
            },
        )

    def tg_update(self) -> Any:
        key = self.rng.choice(["message", "message", "edited_message", "channel_post"])
        update_id = self.ints(0, 2**40)
        return self.record({"update_id": update_id, key: self.tg_message})

    # X (API v2)

    def x_id(self) -> str:
        if self.chance(0.85):
            return self.rng.choice(
                ["1900000000000000001", "1900000000000000002", "1900000000000000003", X_SHOP]
            )
        return self.rng.choice(["", "abc", "-1", "1" * 21, "99999999999999999999", "\ud800"])

    def x_user(self) -> Any:
        return self.record(
            {"id": self.x_id},
            {
                "name": self.text,
                "username": self.one("ivan_p", "zerno", "bad name", "\ud800"),
                "location": self.text,
                "public_metrics": lambda: self.record(
                    {"followers_count": self.one(0, 12400, -5, 2**63, 2**64)}
                ),
            },
        )

    def x_tweet(self) -> Any:
        reference = lambda: self.record(  # noqa: E731
            {"type": self.one("replied_to", "quoted", "retweeted"), "id": self.x_id}
        )
        return self.record(
            {"id": self.x_id, "text": self.text},
            {
                "author_id": self.x_id,
                "created_at": self.iso_date,
                "conversation_id": self.x_id,
                "referenced_tweets": self.many(reference, 2),
            },
        )

    def x_page(self) -> Any:
        return self.record(
            {},
            {
                "data": self.many(self.x_tweet, 4),
                "includes": lambda: self.record(
                    {},
                    {"users": self.many(self.x_user, 3), "tweets": self.many(self.x_tweet, 2)},
                ),
                "meta": lambda: self.record(
                    {"result_count": self.ints(0, 5)},
                    {"newest_id": self.x_id, "next_token": self.text},
                ),
                "errors": self.many(self.json, 2),
            },
        )

    # JSONL

    def jsonl_record(self) -> Any:
        identifier = lambda: self.text() if self.chance(0.5) else self.rng.randrange(-9, 2**70)  # noqa: E731
        return self.record(
            {"id": identifier, "text": self.text},
            {
                "network": self.one("vk", "telegram", "x", "", "\ud800"),
                "kind": self.one("dm", "comment", "mention", " DM ", "post"),
                "author": lambda: self.record(
                    {},
                    {
                        "id": identifier,
                        "name": self.text,
                        "handle": self.text,
                        "followers": self.one(0, 12400, -5, 2**63 - 1, 2**63, 2**64),
                        "city": self.text,
                    },
                ),
                "created_at": self.iso_date,
                "url": self.text,
                "context": self.text,
            },
        )


# -- what every parsed item must satisfy -----------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def check_author(author: Author) -> None:
    assert isinstance(author, Author)
    assert isinstance(author.id, str) and author.id
    assert isinstance(author.name, str) and author.name
    for text in (author.id, author.name, author.handle, author.city):
        assert text is None or isinstance(text, str)
        if text is not None:
            text.encode("utf-8")  # the store writes UTF-8; a lone surrogate raises here
    followers = author.followers
    assert followers is None or (
        isinstance(followers, int) and not isinstance(followers, bool) and followers >= 0
    )
    assert followers is None or followers <= MAX_INT64  # a SQLite INTEGER


def check_item(item: IncomingItem) -> None:
    assert isinstance(item, IncomingItem)
    assert isinstance(item.kind, Kind)
    assert isinstance(item.native_id, str) and item.native_id.strip()
    assert isinstance(item.text, str) and item.text.strip()
    for text in (item.network, item.native_id, item.text, item.url, item.context, item.feed):
        assert text is None or isinstance(text, str)
        if text is not None:
            text.encode("utf-8")
    check_author(item.author)
    offset = item.created_at.utcoffset()
    assert offset is not None and not offset
    assert EARLIEST <= item.created_at < LATEST
    # The route is stored as JSON text (ensure_ascii=False, as sqlite_store writes it).
    json.dumps(item.route, ensure_ascii=False).encode("utf-8")
    for text in _strings(item.route):
        text.encode("utf-8")


def run_counted(name: str, test: Callable[[], None]) -> int:
    RUNS[name] = 0
    test()
    ran = RUNS[name]
    print(f"\n{name}: {ran} examples")
    return ran


def _counted(name: str, seed: int) -> Payloads:
    RUNS[name] = RUNS.get(name, 0) + 1
    return Payloads(seed)


def _show(**values: Any) -> None:
    """Print the payload with a failure (only the final, failing run pays for the repr)."""
    if current_build_context().is_final:
        for key, value in values.items():
            note(f"{key}={value!r}")


# -- VK ------------------------------------------------------------------------------------

VK_GROUP = 218000001


def _vk_author(gen: Payloads, parsed: vk_parse.Parsed) -> Author:
    if parsed.from_id > 0:
        author = vk_parse.user_author(gen.vk_user())
    else:
        author = vk_parse.group_author(gen.vk_group())
    return author or vk_parse.fallback_author(parsed.from_id)


def _vk_context(gen: Payloads) -> str | None:
    answer = gen.many(gen.vk_post, 2)() if gen.chance(0.5) else {"items": [gen.vk_post()]}
    try:
        posts = vk_parse.posts_of(gen.maybe(lambda: answer))
    except vk_parse.PayloadError:
        return None
    first = posts[0] if posts else None
    return vk_parse.post_context(first) if isinstance(first, dict) else None


@FUZZ
@given(seed=seeds)
def _fuzz_vk(seed: int) -> None:
    gen = _counted("vk", seed)
    shape = gen.rng.choice(["answer"] * 8 + ["json", "bytes"])
    if shape == "answer":
        body = gen.wire(gen.vk_poll_answer())
    else:
        body = gen.wire(gen.json(3)) if shape == "json" else gen.raw()
    _show(body=body)
    try:
        poll = vk_parse.parse_poll_answer(body)
    except vk_parse.PayloadError:
        poll = None
    updates = list(poll.updates) if poll is not None else []
    if poll is not None:
        assert poll.ts is None or (isinstance(poll.ts, str) and poll.ts.isdigit())
        assert poll.failed is not None or poll.ts is not None
    # newsfeed.search hits and profile lookups are parsed whatever the long poll said.
    search = gen.many(gen.vk_post, 2)()
    for index, update in enumerate([*updates, *search]):
        try:
            if index < len(updates):
                parsed = vk_parse.parse_update(update, group_id=VK_GROUP, now=NOW)
            else:
                parsed = vk_parse.parse_post(update, group_id=VK_GROUP, now=NOW)
        except vk_parse.PayloadError:
            continue
        if parsed is None:
            continue
        assert parsed.from_id != -VK_GROUP  # the shop's own messages never come back
        check_item(vk_parse.to_item(parsed, _vk_author(gen, parsed), _vk_context(gen), "vk"))
    groups = gen.maybe(lambda: {"groups": gen.many(gen.vk_group, 2)()})
    try:
        for group in vk_parse.groups_of(groups):
            author = vk_parse.group_author(group)
            if author is not None:
                check_author(author)
    except vk_parse.PayloadError:
        pass


def test_fuzz_vk_payloads() -> None:
    assert run_counted("vk", _fuzz_vk) >= FUZZ_EXAMPLES


# -- Telegram ------------------------------------------------------------------------------

TG_BOT = telegram_parse.BotIdentity(7000000001, "zerno_coffee_bot")
TG_SCOPES = [
    telegram_parse.Scope(),
    telegram_parse.Scope("zerno_coffee"),
    telegram_parse.Scope(-100123, -1001),
    telegram_parse.Scope(None, -1002),
]


@FUZZ
@given(seed=seeds)
def _fuzz_telegram(seed: int) -> None:
    gen = _counted("telegram", seed)
    shape = gen.rng.choice(["updates"] * 8 + ["json", "wire"])
    bot = gen.rng.choice([TG_BOT, None, telegram_parse.BotIdentity(1, None)])
    scope = gen.rng.choice(TG_SCOPES)
    if shape == "json":
        updates: list[Any] = [gen.json(3) for _ in range(3)]
    else:
        updates = gen.many(gen.tg_update, 4)()
    if shape == "wire":
        # Through JSON as the feed reads it: \u escapes bring lone surrogates back.
        updates = json.loads(json.dumps(updates))
    _show(updates=updates, bot=bot, scope=scope)
    roots = telegram_parse.ThreadRoots(limit=4)
    for update in updates:
        try:
            telegram_parse.update_id(update)
            item = telegram_parse.parse_update(update, bot=bot, scope=scope, roots=roots, feed="tg")
        except telegram_parse.UpdateError:
            continue
        if item is not None:
            check_item(item)
            assert item.network == "telegram"
    assert len(roots) <= 4


def test_fuzz_telegram_updates() -> None:
    assert run_counted("telegram", _fuzz_telegram) >= FUZZ_EXAMPLES


# -- X ---------------------------------------------------------------------------------------

X_SHOP = "1500000000000000001"


@FUZZ
@given(seed=seeds)
def _fuzz_x(seed: int) -> None:
    gen = _counted("x", seed)
    shape = gen.rng.choice(["page"] * 9 + ["json"])
    payload = gen.x_page() if shape == "page" else gen.json(3)
    root = gen.record({}, {"data": gen.x_tweet, "errors": gen.json})
    _show(payload=payload, root=root)
    try:
        found = x_parse.parse_root(root)
        assert found is None or isinstance(found.text, str)
    except x_parse.PayloadError:
        pass
    try:
        page = x_parse.parse_page(payload)
    except x_parse.PayloadError:
        return
    assert page.newest_id is None or 0 <= page.newest_id < 10**20
    for tweet in page.tweets:
        # What XFeed._build_items does with each tweet on the page.
        x_parse.is_retweet(tweet)
        conversation = x_parse.conversation_of(tweet)
        context = None
        if conversation is not None and conversation in page.included:
            try:
                context = x_parse.root_from_tweet(page.included[conversation]).text
            except x_parse.PayloadError:
                context = None
        parent = x_parse.replied_to(tweet)
        assert parent is None or x_parse.parse_tweet_id(parent) is not None
        try:
            item = x_parse.build_item(
                tweet, users=page.users, kind=Kind.MENTION, context=context, now=NOW, feed="x"
            )
        except x_parse.PayloadError:
            continue
        check_item(item)


def test_fuzz_x_pages() -> None:
    assert run_counted("x", _fuzz_x) >= FUZZ_EXAMPLES


# -- JSONL -----------------------------------------------------------------------------------


@FUZZ
@given(seed=seeds)
def _fuzz_jsonl(seed: int) -> None:
    gen = _counted("jsonl", seed)
    shape = gen.rng.choice(["bytes"] * 6 + ["str"] * 2 + ["json", "raw"])
    line: bytes | str
    if shape == "raw":
        line = gen.raw()
    else:
        line = gen.wire(gen.json(3) if shape == "json" else gen.jsonl_record())
        if shape == "str":
            line = line.decode("utf-8", "replace")
    _show(line=line)
    try:
        item = jsonl.parse_record(line, default_network="jsonl", now=NOW, feed="inbox")
    except jsonl.RecordError:
        return
    check_item(item)


def test_fuzz_jsonl_records() -> None:
    assert run_counted("jsonl", _fuzz_jsonl) >= FUZZ_EXAMPLES


# -- regressions the fuzzing found -------------------------------------------------------------


@pytest.mark.parametrize(
    "created_at", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "1970-01-01T00:00Z"]
)
def test_x_absurd_dates_become_the_fetch_time(created_at: str) -> None:
    tweet = {"id": "1900000000000000001", "text": "привет", "created_at": created_at}
    item = x_parse.build_item(tweet, users={}, kind=Kind.MENTION, context=None, now=NOW, feed="x")
    assert item.created_at == NOW


def test_x_author_id_with_a_lone_surrogate_is_storable() -> None:
    tweet = {"id": "1900000000000000001", "text": "привет", "author_id": "\ud800"}
    item = x_parse.build_item(tweet, users={}, kind=Kind.MENTION, context=None, now=NOW, feed="x")
    item.author.id.encode("utf-8")


def test_telegram_sender_chat_id_that_does_not_hash_is_not_a_crash() -> None:
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1_795_420_000,
            "chat": {"id": -1001, "type": "supergroup"},
            "sender_chat": {"id": [1]},
            "text": "hi",
        },
    }
    roots = telegram_parse.ThreadRoots()
    assert (
        telegram_parse.parse_update(update, bot=TG_BOT, scope=telegram_parse.Scope(), roots=roots)
        is None
    )


def test_telegram_username_with_a_lone_surrogate_is_storable() -> None:
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1_795_420_000,
            "chat": {"id": 5, "type": "private"},
            "from": {"id": 5, "first_name": "Анна", "username": "\ud800anna"},
            "text": "hi",
        },
    }
    item = telegram_parse.parse_update(
        update, bot=TG_BOT, scope=telegram_parse.Scope(), roots=telegram_parse.ThreadRoots()
    )
    assert item is not None
    check_item(item)


@pytest.mark.parametrize("date", [0, 253_402_300_799])
def test_telegram_absurd_dates_are_malformed(date: int) -> None:
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": date,
            "chat": {"id": 5, "type": "private", "first_name": "Анна"},
            "text": "hi",
        },
    }
    with pytest.raises(telegram_parse.UpdateError):
        telegram_parse.parse_update(
            update, bot=TG_BOT, scope=telegram_parse.Scope(), roots=telegram_parse.ThreadRoots()
        )


def test_huge_follower_counts_do_not_reach_the_store() -> None:
    assert vk_parse.user_author({"id": 1, "followers_count": 2**63}) == Author(
        id="1", name="id1", followers=None
    )
    user = {"id": "1", "name": "A", "public_metrics": {"followers_count": 2**63}}
    assert x_parse.build_author("1", user).followers is None
    line = json.dumps({"id": 1, "text": "t", "author": {"followers": 2**63}})
    with pytest.raises(jsonl.RecordError, match="followers"):
        jsonl.parse_record(line, default_network="jsonl", now=NOW)


@pytest.mark.parametrize("created_at", ["9999-12-31T23:59:59Z", "0001-01-02T00:00:00Z"])
def test_jsonl_absurd_dates_are_malformed(created_at: str) -> None:
    line = json.dumps({"id": 1, "text": "t", "created_at": created_at})
    with pytest.raises(jsonl.RecordError, match="out of range"):
        jsonl.parse_record(line, default_network="jsonl", now=NOW)


def test_vk_absurd_dates_become_the_fetch_time() -> None:
    update = {
        "type": "wall_reply_new",
        "object": {"id": 1, "from_id": 5, "post_id": 2, "text": "hi", "date": 253_402_300_799},
    }
    parsed = vk_parse.parse_update(update, group_id=VK_GROUP, now=NOW)
    assert parsed is not None and parsed.created_at == NOW


def test_jsonl_feed_skips_and_counts_every_malformed_line(tmp_path: Path) -> None:
    """The feed-level half of the contract: bad lines cost nothing but a count."""
    good = [json.dumps({"id": n, "text": f"сообщение {n}"}) for n in range(3)]
    bad = [
        "not json",
        json.dumps({"id": 1}),
        json.dumps({"id": 2, "text": "t", "created_at": "9999-12-31T23:59:59Z"}),
        json.dumps({"id": 3, "text": "t", "author": {"followers": 2**64}}),
        json.dumps([1, 2]),
        '{"id": 4, "text": "\\ud800 cut',
    ]
    lines = [good[0], *bad[:3], good[1], *bad[3:], good[2]]
    inbox = tmp_path / "inbox.jsonl"
    inbox.write_bytes(b"\n".join(line.encode("utf-8") for line in lines) + b"\n\xff\xfe\n")
    feed = jsonl.JsonlFeed("inbox", inbox, now=lambda: NOW)
    feed.start(None)
    try:
        result = feed.fetch(timeout=1.0)
    finally:
        feed.close()
    assert [item.text for item in result.items] == [f"сообщение {n}" for n in range(3)]
    assert result.skipped == len(bad) + 1  # the invalid UTF-8 line too
    assert feed.describe().skipped == len(bad) + 1
    for item in result.items:
        check_item(item)
