from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import feeds.jsonl as jsonl_module
from feeds import create_feed
from feeds.base import Feed, FeedError, FeedState
from feeds.jsonl import JsonlFeed, RecordError, parse_record
from triage.model import Author, IncomingItem, Kind

from .feed_helpers import mention_for

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DATA = Path(__file__).parent / "data"


def parse(line: bytes | str) -> IncomingItem:
    return parse_record(line, default_network="vk", now=NOW)


def record(**fields: Any) -> str:
    return json.dumps({"id": "1", "text": "привет", **fields}, ensure_ascii=False)


def line(native_id: str | int, text: str = "текст", **fields: Any) -> str:
    return json.dumps({"id": native_id, "text": text, **fields}, ensure_ascii=False) + "\n"


def append(path: Path, data: str | bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)


def ids(items: list[IncomingItem]) -> list[str]:
    return [item.native_id for item in items]


def make_feed(path: Path, **kwargs: Any) -> JsonlFeed:
    return JsonlFeed("events", path, now=lambda: NOW, poll_interval=0.01, **kwargs)


# -- parse_record ----------------------------------------------------------------------------


def test_minimal_record_gets_defaults() -> None:
    item = parse(record())
    assert item == IncomingItem(
        network="vk",
        native_id="1",
        kind=Kind.MENTION,
        author=Author(id="unknown", name="unknown"),
        text="привет",
        created_at=NOW,
    )


def test_full_record() -> None:
    item = parse_record(
        record(
            id=987,
            network="telegram",
            kind="dm",
            author={
                "id": 5012847733,
                "name": "Михаил",
                "handle": "@mikhail_rz",
                "followers": 120,
                "city": "Казань",
            },
            created_at="2025-02-28T21:30:00+03:00",
            url="https://t.me/c/1/2",
            context="Новинка недели: раф с лавандой 🌿",
            unknown_key=[1, 2],
        ),
        default_network="vk",
        now=NOW,
        feed="events",
    )
    assert item.native_id == "987"
    assert item.network == "telegram"
    assert item.kind is Kind.DM
    assert item.author == Author("5012847733", "Михаил", "mikhail_rz", 120, "Казань")
    assert item.created_at == datetime(2025, 2, 28, 18, 30, tzinfo=UTC)
    assert item.created_at.tzinfo is UTC
    assert item.url == "https://t.me/c/1/2"
    assert item.context == "Новинка недели: раф с лавандой 🌿"
    assert item.feed == "events"


FEB_28_10 = datetime(2025, 2, 28, 10, tzinfo=UTC)
HOSTILE = "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\"


@pytest.mark.parametrize(
    ("fields", "attribute", "expected"),
    [
        ({"created_at": "2025-02-28T10:00:00"}, "created_at", FEB_28_10),
        ({"created_at": "2025-02-28T10:00:00Z"}, "created_at", FEB_28_10),
        ({"created_at": "2025-02-28T13:00:00+03:00"}, "created_at", FEB_28_10),
        ({"created_at": "2025-02-28"}, "created_at", FEB_28_10.replace(hour=0)),
        ({"created_at": None}, "created_at", NOW),
        ({"kind": "COMMENT"}, "kind", Kind.COMMENT),
        ({"kind": None}, "kind", Kind.MENTION),
        ({"url": None}, "url", None),
        ({"context": ""}, "context", None),
        ({"network": ""}, "network", "vk"),
        ({"author": {"handle": "masha"}}, "author", Author("masha", "masha", "masha")),
        ({"author": {"name": "Маша"}}, "author", Author("Маша", "Маша")),
        ({"author": {"id": 7}}, "author", Author("7", "7")),
        ({"author": {"id": "", "followers": 0}}, "author", Author("unknown", "unknown", None, 0)),
        ({"author": None}, "author", Author("unknown", "unknown")),
        ({"text": HOSTILE}, "text", HOSTILE),  # stored raw; cleaned at display time
        ({"text": "a\ud800b"}, "text", "a\ufffdb"),
    ],
)
def test_good_records(fields: dict[str, Any], attribute: str, expected: object) -> None:
    assert getattr(parse(record(**fields)), attribute) == expected


def test_escaped_surrogate_pair_is_one_character() -> None:
    assert parse(r'{"id": "1", "text": "\ud83d\ude00 \ud83d"}').text == "😀 \ufffd"


def test_bytes_bom_and_crlf() -> None:
    raw = ("\ufeff" + record(text="с BOM") + "\r\n").encode("utf-8")
    assert parse(raw).text == "с BOM"


BAD_LINES = [
    pytest.param(b"", id="empty"),
    pytest.param(b"   \r", id="blank"),
    pytest.param(b"{not json", id="invalid-json"),
    pytest.param(b'{"id": "1", "text": "x"} trailing', id="trailing-garbage"),
    pytest.param(b"[1, 2]", id="array"),
    pytest.param(b'"text"', id="string"),
    pytest.param(b"42", id="number"),
    pytest.param(b"null", id="null"),
    pytest.param(b'{"id": "1", "text": "\xff\xfe"}', id="invalid-utf8"),
    pytest.param(b'{"id": "1", "text": "\xed\xa0\x80"}', id="utf8-encoded-surrogate"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deep-nesting"),
    pytest.param(record(id=None), id="missing-id"),
    pytest.param(json.dumps({"text": "x"}), id="no-id-key"),
    pytest.param(record(id=""), id="empty-id"),
    pytest.param(record(id="   "), id="blank-id"),
    pytest.param(record(id=True), id="bool-id"),
    pytest.param(record(id=1.5), id="float-id"),
    pytest.param(record(id=["a"]), id="list-id"),
    pytest.param(record(id="x" * 300), id="long-id"),
    pytest.param(json.dumps({"id": "1"}), id="missing-text"),
    pytest.param(record(text=""), id="empty-text"),
    pytest.param(record(text=" \n\t"), id="blank-text"),
    pytest.param(record(text=42), id="number-text"),
    pytest.param(record(text={"ru": "x"}), id="object-text"),
    pytest.param(record(kind="story"), id="bad-kind"),
    pytest.param(record(kind=1), id="number-kind"),
    pytest.param(record(network=5), id="number-network"),
    pytest.param(record(created_at="вчера"), id="bad-date"),
    pytest.param(record(created_at="2025-13-45T10:00:00"), id="impossible-date"),
    pytest.param(record(created_at=1709287200), id="epoch-date"),
    pytest.param(record(created_at="0001-01-01T00:00:00+05:00"), id="date-overflow"),
    pytest.param(record(author="Маша"), id="string-author"),
    pytest.param(record(author={"followers": -1}), id="negative-followers"),
    pytest.param(record(author={"followers": "12k"}), id="string-followers"),
    pytest.param(record(author={"followers": True}), id="bool-followers"),
    pytest.param(record(author={"followers": 1.5}), id="float-followers"),
    pytest.param(record(author={"name": 7}), id="number-name"),
    pytest.param(record(author={"id": {}}), id="object-author-id"),
    pytest.param(record(url=["https://x"]), id="list-url"),
    pytest.param(record(context=1), id="number-context"),
]


@pytest.mark.parametrize("raw", BAD_LINES)
def test_bad_records_raise_record_error(raw: bytes | str) -> None:
    with pytest.raises(RecordError):
        parse(raw)


def test_oversized_line_is_malformed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonl_module, "MAX_LINE_BYTES", 64)
    with pytest.raises(RecordError, match="8 MB"):
        parse(record(text="x" * 100))
    assert parse(record(text="x" * 10)).text == "x" * 10


def test_fixture_file_parses(tmp_path: Path) -> None:
    path = tmp_path / "sample.jsonl"
    path.write_bytes((DATA / "sample.jsonl").read_bytes())
    feed = make_feed(path)
    feed.start(None)
    result = feed.fetch(0.5)
    assert ids(result.items) == ["vk-1001", "tg-2002", "x-3003", "4004", "vk-1005"]
    assert result.skipped == 4
    assert result.cursor == str(path.stat().st_size)
    assert feed.describe().skipped == 4


# -- following -------------------------------------------------------------------------------


def test_follows_appended_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(line("a") + line("b"), encoding="utf-8")
    feed = make_feed(path)
    feed.start(None)
    first = feed.fetch(0.2)
    assert ids(first.items) == ["a", "b"]
    assert first.cursor == str(path.stat().st_size)
    assert first.items[0].feed == "events"
    assert feed.describe().state is FeedState.LIVE

    assert feed.fetch(0.05).items == []
    append(path, line("c"))
    second = feed.fetch(0.2)
    assert ids(second.items) == ["c"]
    assert second.cursor == str(path.stat().st_size)


def test_waits_for_data_but_not_past_timeout(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("", encoding="utf-8")
    feed = make_feed(path)
    feed.start(None)
    started = time.monotonic()
    result = feed.fetch(0.3)
    elapsed = time.monotonic() - started
    assert result.items == [] and result.cursor is None
    assert 0.25 <= elapsed < 1.0

    timer = threading.Timer(0.1, append, (path, line("late")))
    timer.start()
    started = time.monotonic()
    result = feed.fetch(2.0)
    timer.join()
    assert ids(result.items) == ["late"]
    assert time.monotonic() - started < 1.0


def test_partial_line_waits_for_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    full = line("whole", "целиком")
    path.write_text(line("a") + full[:10], encoding="utf-8")
    feed = make_feed(path)
    feed.start(None)
    first = feed.fetch(0.1)
    assert ids(first.items) == ["a"]
    assert first.cursor == str(len(line("a").encode()))

    append(path, full[10:-1])  # still no newline
    assert feed.fetch(0.05).items == []
    append(path, "\n")
    second = feed.fetch(0.2)
    assert ids(second.items) == ["whole"]
    assert second.items[0].text == "целиком"


def test_multibyte_character_split_across_writes(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    raw = line("ru", "ёж").encode("utf-8")
    cut = raw.index("ё".encode()) + 1  # inside the two-byte "ё"
    path.write_bytes(raw[:cut])
    feed = make_feed(path)
    feed.start(None)
    assert feed.fetch(0.05).items == []
    append(path, raw[cut:])
    assert feed.fetch(0.2).items[0].text == "ёж"


def test_bad_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b"\n   \n"
        + line("a").encode()
        + b"{broken\n"
        + b"\xff\xfe\n"
        + b"[]\n"
        + line("b").encode()
    )
    feed = make_feed(path)
    feed.start(None)
    result = feed.fetch(0.2)
    assert ids(result.items) == ["a", "b"]
    assert result.skipped == 3  # blank lines are not errors
    assert feed.describe().skipped == 3

    append(path, "nope\n")
    only_bad = feed.fetch(0.2)
    assert only_bad.items == [] and only_bad.skipped == 1
    assert only_bad.cursor == str(path.stat().st_size)
    assert feed.describe().skipped == 4


def test_truncation_restarts_from_zero(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(line("a") + line("b") + line("c"), encoding="utf-8")
    feed = make_feed(path)
    feed.start(None)
    assert ids(feed.fetch(0.2).items) == ["a", "b", "c"]

    path.write_text(line("d"), encoding="utf-8")  # truncated and rewritten, same inode
    result = feed.fetch(0.2)
    assert ids(result.items) == ["d"]
    assert result.cursor == str(path.stat().st_size)


def test_rotation_drains_old_file_then_follows_new(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(line("a"), encoding="utf-8")
    feed = make_feed(path)
    feed.start(None)
    assert ids(feed.fetch(0.2).items) == ["a"]

    rotated = tmp_path / "in.jsonl.1"
    path.rename(rotated)
    append(rotated, line("b") + '{"id": "cut')  # the writer's last words, one unfinished
    path.write_text(line("c") + line("d"), encoding="utf-8")

    seen: list[str] = []
    skipped = 0
    for _ in range(5):
        result = feed.fetch(0.1)
        seen += ids(result.items)
        skipped += result.skipped
    assert seen == ["b", "c", "d"]
    assert skipped == 1
    assert feed.describe().state is FeedState.LIVE


def test_missing_file_then_created(tmp_path: Path) -> None:
    path = tmp_path / "later.jsonl"
    feed = make_feed(path)
    feed.start(None)
    status = feed.describe()
    assert status.state is FeedState.OFFLINE
    assert status.detail == f"waiting for {path}"
    assert feed.fetch(0.05).items == []

    path.write_text(line("first"), encoding="utf-8")
    result = feed.fetch(0.2)
    assert ids(result.items) == ["first"]
    assert feed.describe().state is FeedState.LIVE


def test_deleted_file_goes_offline(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(line("a"), encoding="utf-8")
    feed = make_feed(path)
    feed.start(None)
    feed.fetch(0.1)
    path.unlink()
    result = feed.fetch(0.1)
    assert result.items == []
    assert result.cursor == "0"  # whatever appears at the path next is read from its start
    assert feed.describe().state is FeedState.OFFLINE


def test_oversized_line_is_skipped_without_buffering_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonl_module, "MAX_LINE_BYTES", 200)
    monkeypatch.setattr(jsonl_module, "_READ_BUDGET", 64)
    path = tmp_path / "in.jsonl"
    path.write_text(line("a") + line("huge", "x" * 1000) + line("b"), encoding="utf-8")
    feed = make_feed(path)
    feed.start(None)
    seen: list[str] = []
    skipped = 0
    for _ in range(10):
        result = feed.fetch(0.05)
        seen += ids(result.items)
        skipped += result.skipped
        assert len(feed._pending) <= 200 + 64
    assert seen == ["a", "b"]
    assert skipped == 1
    assert feed.fetch(0.01).cursor is None  # nothing left; cursor already at the end


def test_close_stops_fetching(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(line("a"), encoding="utf-8")
    feed = make_feed(path)
    feed.start(None)
    feed.close()
    assert feed.describe().state is FeedState.STOPPED
    assert feed.fetch(0.1).items == []


# -- cursor resume ---------------------------------------------------------------------------


def test_resume_from_stored_cursor_has_no_duplicates_or_loss(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(line(1) + line(2) + line(3)[:7], encoding="utf-8")  # 3 is half-written
    feed = make_feed(path)
    feed.start(None)
    result = feed.fetch(0.1)
    assert ids(result.items) == ["1", "2"]
    stored = result.cursor
    feed.close()

    append(path, line(3)[7:] + line(4))
    resumed = make_feed(path)
    resumed.start(stored)
    assert ids(resumed.fetch(0.2).items) == ["3", "4"]


def test_resume_cursor_beyond_end_means_a_new_file(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(line("x"), encoding="utf-8")
    feed = make_feed(path)
    feed.start("100000")
    result = feed.fetch(0.1)
    assert ids(result.items) == ["x"]
    assert result.cursor == str(path.stat().st_size)


@pytest.mark.parametrize("cursor", ["garbage", "-5", ""])
def test_unreadable_cursor_reads_from_start(tmp_path: Path, cursor: str) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(line("x"), encoding="utf-8")
    feed = make_feed(path)
    feed.start(cursor)
    assert ids(feed.fetch(0.1).items) == ["x"]


def test_cursor_kept_while_file_missing_at_start(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    feed = make_feed(path)
    feed.start("12")
    assert feed.fetch(0.05).cursor is None  # the stored cursor stays as it is
    path.write_text(line("a") + line("b"), encoding="utf-8")
    skip = len(line("a").encode())
    resumed = make_feed(path)
    resumed.start(str(skip))
    assert ids(resumed.fetch(0.1).items) == ["b"]


# -- replies ---------------------------------------------------------------------------------


def test_reply_appends_once_per_key(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(line("m1"), encoding="utf-8")
    feed = make_feed(path, network="telegram")
    feed.start(None)
    mention = mention_for(feed.fetch(0.1).items[0])

    assert feed.reply(mention, "Здравствуйте! Разбираемся.", "rk-1").native_reply_id == "rk-1"
    assert feed.reply(mention, "Здравствуйте! Разбираемся.", "rk-1").native_reply_id == "rk-1"
    feed.reply(mention, "И ещё", "rk-2")
    # A restarted feed knows what the file already holds.
    again = make_feed(path)
    again.reply(mention, "повтор после рестарта", "rk-1")

    replies_path = tmp_path / "in.jsonl.replies.jsonl"
    lines = [json.loads(raw) for raw in replies_path.read_text(encoding="utf-8").splitlines()]
    assert [r["reply_key"] for r in lines] == ["rk-1", "rk-2"]
    assert lines[0] == {
        "reply_key": "rk-1",
        "in_reply_to": "m1",
        "network": "telegram",
        "text": "Здравствуйте! Разбираемся.",
        "at": NOW.isoformat(),
    }


def test_reply_after_a_torn_line_starts_a_new_line(tmp_path: Path) -> None:
    replies = tmp_path / "out" / "sent.jsonl"
    replies.parent.mkdir()
    replies.write_text('{"reply_key": "old"}\n{"reply_key": "to', encoding="utf-8")
    feed = make_feed(tmp_path / "in.jsonl", replies_path=replies)
    item = parse(record(id="m"))
    feed.reply(mention_for(item), "ok", "new")
    feed.reply(mention_for(item), "ok", "old")  # already sent before the crash
    lines = replies.read_text(encoding="utf-8").splitlines()
    assert lines[-1].startswith('{"reply_key": "new"')
    assert sum('"old"' in raw for raw in lines) == 1


def test_reply_to_unwritable_place_raises_feed_error(tmp_path: Path) -> None:
    feed = make_feed(tmp_path / "in.jsonl", replies_path=tmp_path / "no" / "such" / "dir.jsonl")
    with pytest.raises(FeedError) as caught:
        feed.reply(mention_for(parse(record())), "ok", "k")
    assert caught.value.retryable is False


# -- registry --------------------------------------------------------------------------------


def test_created_through_the_registry(tmp_path: Path) -> None:
    feed = create_feed("jsonl", "inbox", {"path": str(tmp_path / "in.jsonl"), "network": "x"})
    assert isinstance(feed, Feed)
    assert isinstance(feed, JsonlFeed)
    assert feed.name == "inbox" and feed.network == "x"
    assert feed.replies_path == tmp_path / "in.jsonl.replies.jsonl"
    with pytest.raises(FeedError):
        create_feed("jsonl", "inbox", {})


# -- fuzzing ---------------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
# Each field is mostly well-formed and sometimes anything at all, so that both valid items and
# every kind of rejection come up often.
texts = st.text(max_size=20)
dates = st.sampled_from(
    ["2025-03-01T10:00:00", "2025-03-01T10:00:00+03:00", "2025-03-01", "2025-02-30", "Z", ""]
)
authors = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(texts, st.integers(), json_values),
        "name": st.one_of(texts, json_values),
        "handle": st.one_of(texts, json_values),
        "followers": st.one_of(st.integers(-5, 10**6), json_values),
        "city": st.one_of(texts, json_values),
    },
)
plausible_records = st.fixed_dictionaries(
    {
        "id": st.one_of(st.integers(), st.text(min_size=1, max_size=12)),
        "text": st.text(min_size=1, max_size=30),
    },
    optional={
        "network": st.sampled_from(["vk", "telegram", "x"]),
        "kind": st.sampled_from(["dm", "comment", "mention"]),
        "author": st.fixed_dictionaries(
            {},
            optional={
                "id": st.one_of(st.integers(), texts),
                "name": texts,
                "handle": texts,
                "followers": st.integers(0, 10**6),
                "city": texts,
            },
        ),
        "created_at": dates,
        "url": texts,
        "context": texts,
    },
)
arbitrary_records = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(texts, st.integers(), json_values),
        "text": st.one_of(texts, json_values),
        "network": st.one_of(st.sampled_from(["vk", "telegram", "x", ""]), json_values),
        "kind": st.one_of(st.sampled_from(["dm", "comment", "mention", "DM", "story"]), scalars),
        "author": st.one_of(authors, json_values),
        "created_at": st.one_of(dates, texts, json_values),
        "url": st.one_of(texts, json_values),
        "context": st.one_of(texts, json_values),
        "extra": json_values,
    },
)
records = st.one_of(plausible_records, arbitrary_records)


def _only_item_or_record_error(raw: bytes | str) -> None:
    try:
        item = parse(raw)
    except RecordError:
        return
    assert isinstance(item, IncomingItem)
    assert item.native_id.strip() and item.text.strip()
    assert item.created_at.tzinfo is not None
    assert isinstance(item.kind, Kind)
    item.text.encode("utf-8")  # storable


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(raw: bytes) -> None:
    _only_item_or_record_error(raw)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=records, as_bytes=st.booleans())
def test_fuzz_arbitrary_objects(obj: dict[str, Any], as_bytes: bool) -> None:
    text = json.dumps(obj, ensure_ascii=False)
    _only_item_or_record_error(text.encode("utf-8", "surrogatepass") if as_bytes else text)


@settings(max_examples=2000, deadline=None)
@given(
    native_id=st.one_of(st.text(), st.integers()),
    text=st.text(),
    offset_hours=st.integers(-12, 14),
)
def test_fuzz_valid_shapes_roundtrip(native_id: str | int, text: str, offset_hours: int) -> None:
    when = datetime(2025, 3, 1, 9, tzinfo=timezone(timedelta(hours=offset_hours)))
    raw = json.dumps({"id": native_id, "text": text, "created_at": when.isoformat()})
    try:
        item = parse(raw)
    except RecordError:
        assert not str(native_id).strip() or not text.strip() or len(str(native_id)) > 256
        return
    assert item.created_at == when
    assert item.native_id == "".join(
        "\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in str(native_id)
    )


def test_no_leftover_files(tmp_path: Path) -> None:
    feed = make_feed(tmp_path / "in.jsonl")
    feed.start(None)
    feed.fetch(0.01)
    feed.close()
    assert os.listdir(tmp_path) == []
