"""The X feed against a fake X API on 127.0.0.1: real tweepy, real HTTP, no internet."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feeds import create_feed, feed_options
from feeds.base import FeedError, FeedState, FetchResult
from feeds.x import NO_ANSWER, XFeed
from feeds.x_parse import PayloadError, build_author, build_item, parse_page, parse_root
from tests.conftest import FakeClock, KeywordClassifier
from tests.fakes.x_server import Credentials, FakeX
from tests.feed_helpers import closed_port, mention_for
from triage.board import Board
from triage.ingest import Ingestor
from triage.model import Author, Column, IncomingItem, Kind, Mention, OutboxState
from triage.outbox import OutboxSender
from triage.secret import Secret
from triage.sqlite_store import SqliteStore

DATA = Path(__file__).parent / "data"
SHOP = "1500000000000000001"
ANNA, IGOR, MASHA = "2000000000000000001", "2000000000000000002", "2000000000000000003"
# A cursor between the dataset's older tweets and its five newest mentions (201..205).
SINCE = "1800000000000000150"
NEWEST = "1800000000000000205"
SECRETS = {
    "bearer_token": "AAAA-bearer-s3cr3t-9f8e7d6c",
    "consumer_key": "ck-s3cr3t-1a2b3c",
    "consumer_secret": "cs-s3cr3t-4d5e6f",
    "access_token": f"{SHOP}-at-s3cr3t-7a8b9c",
    "access_token_secret": "ats-s3cr3t-0d1e2f",
}
CREDENTIALS = Credentials(
    bearer=SECRETS["bearer_token"],
    consumer_key=SECRETS["consumer_key"],
    access_token=SECRETS["access_token"],
)
ROOT_100 = "Новое осеннее меню: тыквенный латте и пирог с брусникой 🍂"
ROOT_110 = "Сегодня работаем до 23:00, заходите!"
ROOT_150 = "Где в Москве лучший кофе? Посоветуйте"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeX]:
    with FakeX.from_file(DATA / "x_world.json", CREDENTIALS) as server:
        yield server


MakeFeed = Callable[..., XFeed]


@pytest.fixture
def make_feed(fake: FakeX) -> Iterator[MakeFeed]:
    made: list[XFeed] = []

    def make(**overrides: Any) -> XFeed:
        options: dict[str, Any] = {key: Secret(value) for key, value in SECRETS.items()}
        options.update(
            api_base=fake.url,
            poll_interval=0.05,
            connect_timeout=0.5,
            read_timeout=0.5,
            backoff_first=0.05,
            backoff_limit=0.2,
        )
        options.update(overrides)
        feed = XFeed("x", **options)
        made.append(feed)
        return feed

    yield make
    for feed in made:
        feed.close()


def tweet(tweet_id: int | str, text: str, author: str = IGOR, **fields: Any) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    record = {
        "id": str(tweet_id),
        "text": text,
        "author_id": author,
        "conversation_id": str(tweet_id),
        "created_at": now,
    }
    record.update(fields)
    return record


def poll_until(
    feed: XFeed, done: Callable[[list[FetchResult]], bool], timeout: float = 5.0
) -> list[FetchResult]:
    results: list[FetchResult] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = feed.fetch(0.05)
        if result.items or result.cursor is not None or result.skipped:
            results.append(result)
        if done(results):
            return results
    raise AssertionError(f"timed out; got {results}")


def items_of(results: list[FetchResult]) -> list[IncomingItem]:
    return [item for result in results for item in result.items]


def has_items(count: int) -> Callable[[list[FetchResult]], bool]:
    return lambda results: len(items_of(results)) >= count


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def mention_of(tweet_id: str) -> Mention:
    author = Author(id=IGOR, name="Игорь", handle="igor_kzn")
    item = IncomingItem("x", tweet_id, Kind.MENTION, author, "?", datetime.now(UTC), feed="x")
    return mention_for(item)


# --- start and credentials ------------------------------------------------------------------


def test_start_checks_both_credentials_and_reads_nothing_yet(
    fake: FakeX, make_feed: MakeFeed
) -> None:
    feed = make_feed()
    feed.start(SINCE)
    status = feed.describe()
    assert status.state is FeedState.LIVE and status.detail == "@zerno_coffee"
    me, user = fake.requests
    assert (me.route, me.scheme) == ("me", "OAuth")
    assert (user.route, user.path, user.scheme) == ("user", f"/2/users/{SHOP}", "Bearer")
    # `socialtui check` starts, describes and closes: it must not pay for a mentions read.
    feed.close()
    time.sleep(0.1)
    assert fake.requests_to("mentions") == []


def test_bearer_only_reads_with_user_id_and_refuses_to_reply(
    fake: FakeX, make_feed: MakeFeed
) -> None:
    feed = make_feed(
        consumer_key=None,
        consumer_secret=None,
        access_token=None,
        access_token_secret=None,
        user_id=SHOP,
    )
    feed.start(SINCE)
    assert len(items_of(poll_until(feed, has_items(4)))) == 4
    assert {r.scheme for r in fake.requests} == {"Bearer"}
    with pytest.raises(FeedError, match="replying needs") as caught:
        feed.reply(mention_of("1800000000000000202"), "Здравствуйте!", "k")
    assert not caught.value.retryable
    assert fake.posts == []


def test_app_only_bearer_without_user_id_says_what_to_set(make_feed: MakeFeed) -> None:
    feed = make_feed(
        consumer_key=None, consumer_secret=None, access_token=None, access_token_secret=None
    )
    with pytest.raises(FeedError, match="set user_id") as caught:
        feed.start(None)
    assert not caught.value.retryable
    assert feed.describe().state is FeedState.AUTH_FAILED


@pytest.mark.parametrize(
    "wrong, named",
    [("bearer_token", "the bearer token"), ("access_token", "the access token and API keys")],
)
def test_refused_credentials_fail_start_for_good(
    fake: FakeX, make_feed: MakeFeed, wrong: str, named: str
) -> None:
    feed = make_feed(**{wrong: Secret("revoked-token")})
    with pytest.raises(FeedError) as caught:
        feed.start(SINCE)
    assert not caught.value.retryable
    assert caught.value.status is not None
    assert caught.value.status.state is FeedState.AUTH_FAILED
    assert feed.describe().state is FeedState.AUTH_FAILED
    assert str(caught.value).startswith(f"X refused {named} (401: Unauthorized).")


def test_unknown_user_id_is_refused(make_feed: MakeFeed) -> None:
    feed = make_feed(
        consumer_key=None,
        consumer_secret=None,
        access_token=None,
        access_token_secret=None,
        user_id="42",
    )
    with pytest.raises(FeedError, match="no account with user_id 42") as caught:
        feed.start(SINCE)
    assert not caught.value.retryable


def test_user_id_that_is_not_the_tokens_account_is_refused(make_feed: MakeFeed) -> None:
    with pytest.raises(FeedError, match="not the account of the access token") as caught:
        make_feed(user_id="42").start(SINCE)
    assert not caught.value.retryable


def test_start_offline_is_retryable(make_feed: MakeFeed) -> None:
    feed = make_feed(api_base=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(FeedError, match="X is unreachable") as caught:
        feed.start(SINCE)
    assert caught.value.retryable
    assert feed.describe().state is FeedState.OFFLINE


def test_start_rate_limited_gates_the_next_start(fake: FakeX, make_feed: MakeFeed) -> None:
    reset = int(time.time()) + 900
    fake.fail("429", route="me", reset=reset)
    feed = make_feed()
    with pytest.raises(FeedError, match="rate-limited until") as caught:
        feed.start(SINCE)
    assert caught.value.retryable
    assert caught.value.status is not None
    assert caught.value.status.retry_at == datetime.fromtimestamp(reset, UTC)
    before = len(fake.requests)
    with pytest.raises(FeedError, match="rate-limited until"):
        feed.start(SINCE)  # the worker's quick retry costs no request
    assert len(fake.requests) == before


# --- reading --------------------------------------------------------------------------------


def test_mentions_arrive_with_authors_kinds_and_conversation_context(
    fake: FakeX, make_feed: MakeFeed
) -> None:
    feed = make_feed()
    feed.start(SINCE)
    results = poll_until(feed, has_items(4))
    [batch] = results
    assert batch.cursor == NEWEST  # the retweet (205) is left out but stepped over
    by_id = {item.native_id: item for item in batch.items}
    assert list(by_id) == [f"18000000000000002{n:02d}" for n in (1, 2, 3, 4)]

    complaint = by_id["1800000000000000201"]
    assert complaint.network == "x" and complaint.feed == "x"
    assert complaint.kind is Kind.COMMENT  # a reply to the shop's own tweet
    assert complaint.author == Author(
        id=ANNA, name="Анна Смирнова", handle="anna_smr", followers=1520, city="Москва"
    )
    assert complaint.text == "@zerno_coffee латте был холодный, ужас"
    assert complaint.created_at == datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    assert complaint.context == ROOT_100
    assert complaint.url == "https://x.com/anna_smr/status/1800000000000000201"
    assert complaint.route == {"tweet_id": "1800000000000000201"}

    question = by_id["1800000000000000202"]
    assert question.kind is Kind.MENTION and question.context is None
    assert question.author.city == "Казань" and question.author.followers == 87
    # A reply in someone else's thread: a mention, with that thread's first tweet as context.
    assert by_id["1800000000000000203"].kind is Kind.MENTION
    assert by_id["1800000000000000203"].context == ROOT_150
    # Its root is not in the page's includes: one lookup.
    assert by_id["1800000000000000204"].context == ROOT_110
    assert [r.path for r in fake.requests_to("tweet")] == ["/2/tweets/1800000000000000110"]

    [request] = fake.requests_to("mentions")
    assert request.path == f"/2/users/{SHOP}/mentions"
    assert request.scheme == "Bearer"
    assert request.query["since_id"] == SINCE
    assert request.query["max_results"] == "100"
    assert request.query["expansions"] == "author_id,referenced_tweets.id"
    assert set(request.query["user.fields"].split(",")) >= {"public_metrics", "location"}
    assert set(request.query["tweet.fields"].split(",")) >= {"conversation_id", "created_at"}


def test_conversation_roots_are_cached_and_missing_roots_tolerated(
    fake: FakeX, make_feed: MakeFeed
) -> None:
    feed = make_feed()
    feed.start(SINCE)
    poll_until(feed, has_items(4))
    fake.add_mention(
        tweet(
            1800000000000000206,
            "@zerno_coffee а в понедельник?",
            conversation_id="1800000000000000110",
            referenced_tweets=[{"type": "replied_to", "id": "1800000000000000204"}],
        )
    )
    fake.add_mention(
        tweet(
            1800000000000000207,
            "@zerno_coffee ответ на удалённый твит",
            conversation_id="1800000000000000099",
            referenced_tweets=[{"type": "replied_to", "id": "1800000000000000099"}],
        )
    )
    later = items_of(poll_until(feed, has_items(2)))
    assert [(i.native_id, i.context) for i in later] == [
        ("1800000000000000206", ROOT_110),
        ("1800000000000000207", None),
    ]
    looked_up = [r.path.rsplit("/", 1)[1] for r in fake.requests_to("tweet")]
    assert looked_up == ["1800000000000000110", "1800000000000000099"]


def test_all_pages_of_one_poll_come_as_one_batch(fake: FakeX, make_feed: MakeFeed) -> None:
    first = 1800000000000001000
    for n in range(230):
        fake.add_mention(tweet(first + n, f"@zerno_coffee вопрос №{n}?"))
    feed = make_feed()
    feed.start(NEWEST)
    [batch] = poll_until(feed, has_items(230))
    assert [int(i.native_id) for i in batch.items] == list(range(first, first + 230))
    assert batch.cursor == str(first + 229)
    requests = fake.requests_to("mentions")
    assert [r.query.get("pagination_token") for r in requests] == [None, "next-100", "next-200"]
    assert {r.query["since_id"] for r in requests} == {NEWEST}


def test_a_failed_page_keeps_the_cursor_and_loses_nothing(fake: FakeX, make_feed: MakeFeed) -> None:
    first = 1800000000000001000
    for n in range(150):
        fake.add_mention(tweet(first + n, f"@zerno_coffee №{n}"))
    fake.fail("500", route="mentions", after=1)  # page 1 answers, page 2 fails
    feed = make_feed()
    feed.start(NEWEST)
    results = poll_until(feed, lambda rs: any(r.cursor for r in rs))
    partial = results[0]
    # The newest page is delivered at once, but the cursor stays: the next poll asks again
    # from the old since_id and the store drops the repeats.
    assert partial.cursor is None and len(partial.items) == 100
    delivered = {item.native_id for item in items_of(results)}
    assert delivered == {str(first + n) for n in range(150)}
    assert results[-1].cursor == str(first + 149)
    assert {r.query["since_id"] for r in fake.requests_to("mentions")} == {NEWEST}


def test_fresh_start_reads_from_now_and_resumes_from_its_start_time(
    fake: FakeX, make_feed: MakeFeed
) -> None:
    feed = make_feed()
    feed.start(None)
    [first] = poll_until(feed, lambda rs: bool(rs))
    assert first.items == []  # the backlog before the start is not replayed
    assert first.cursor is not None and first.cursor.startswith("time:")
    [request] = fake.requests_to("mentions")[:1]
    assert "since_id" not in request.query and "start_time" in request.query
    feed.close()

    # Quiet until a restart: the stored start time still bounds what is new.
    fake.add_mention(tweet(1800000000000000300, "@zerno_coffee вы открыты?"))
    seen = len(fake.requests_to("mentions"))
    again = make_feed()
    again.start(first.cursor)
    [batch] = poll_until(again, has_items(1))
    assert [i.native_id for i in batch.items] == ["1800000000000000300"]
    assert batch.cursor == "1800000000000000300"
    resumed = fake.requests_to("mentions")[seen]
    assert resumed.query["start_time"] == request.query["start_time"]


def test_unreadable_cursor_restarts_from_now(fake: FakeX, make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.start("garbage")
    [first] = poll_until(feed, lambda rs: bool(rs))
    assert first.items == [] and (first.cursor or "").startswith("time:")


def test_end_to_end_ingest_persists_since_id_without_loss_or_duplicates(
    fake: FakeX,
    make_feed: MakeFeed,
    store: SqliteStore,
    classifier: KeywordClassifier,
    clock: FakeClock,
) -> None:
    ingestor = Ingestor(store, classifier, clock)
    store.ingest("x", [], SINCE, clock())  # as if an earlier run had stored this cursor
    feed = make_feed()
    feed.start(store.get_cursor("x"))
    stored: list[Mention] = []
    deadline = time.monotonic() + 5
    while len(stored) < 4 and time.monotonic() < deadline:
        stored += ingestor.ingest("x", feed.fetch(0.05))
    assert [m.native_id for m in stored] == [f"18000000000000002{n:02d}" for n in (1, 2, 3, 4)]
    complaint = stored[0]
    assert complaint.column is Column.NEGATIVE and complaint.kind is Kind.COMMENT
    assert complaint.author.followers == 1520 and complaint.context == ROOT_100
    assert store.get_cursor("x") == NEWEST
    feed.close()

    fake.add_mention(tweet(1800000000000000206, "@zerno_coffee спасибо, всё вкусно!"))
    seen = len(fake.requests_to("mentions"))
    again = make_feed()
    again.start(store.get_cursor("x"))
    later: list[Mention] = []
    deadline = time.monotonic() + 5
    while not later and time.monotonic() < deadline:
        later += ingestor.ingest("x", again.fetch(0.05))
    assert [m.native_id for m in later] == ["1800000000000000206"]
    assert fake.requests_to("mentions")[seen].query["since_id"] == NEWEST
    assert len(store.open_mentions()) == 5
    assert store.get_cursor("x") == "1800000000000000206"


# --- failures while reading -----------------------------------------------------------------


def test_rate_limit_shows_the_reset_time_and_close_stays_prompt(
    fake: FakeX, make_feed: MakeFeed
) -> None:
    reset = int(time.time()) + 3600
    feed = make_feed()
    feed.start(SINCE)
    fake.fail("429", route="mentions", reset=reset)
    started = time.monotonic()
    feed.fetch(0.05)
    wait_for(lambda: feed.describe().state is FeedState.RATE_LIMITED)
    status = feed.describe()
    retry_at = datetime.fromtimestamp(reset, UTC)
    assert status.retry_at == retry_at
    assert status.detail == f"rate-limited until {retry_at.astimezone():%H:%M}"
    for _ in range(5):  # fetch keeps its timeout; the poller waits for the reset
        assert feed.fetch(0.05) == FetchResult()
    assert time.monotonic() - started < 2
    assert len(fake.requests_to("mentions")) == 1
    closing = time.monotonic()
    feed.close()
    assert time.monotonic() - closing < 0.2
    wait_for(lambda: not any(t.name == "x-feed-x" for t in threading.enumerate()), timeout=2)


def test_refused_credentials_while_polling_raise_once(fake: FakeX, make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.start(SINCE)
    fake.fail("401", route="mentions", times=1000)
    deadline = time.monotonic() + 5
    raised: list[FeedError] = []
    while not raised and time.monotonic() < deadline:
        try:
            feed.fetch(0.05)
        except FeedError as exc:
            raised.append(exc)
    [error] = raised
    assert not error.retryable
    assert error.status is not None and error.status.state is FeedState.AUTH_FAILED
    assert feed.describe().state is FeedState.AUTH_FAILED
    assert feed.fetch(0.05) == FetchResult()  # said once, not on every fetch


@pytest.mark.parametrize("fault", ["reset", "503", "stall"])
def test_outage_backs_off_then_recovers(fake: FakeX, make_feed: MakeFeed, fault: str) -> None:
    fake.fail(fault, route="mentions", times=2)
    feed = make_feed(read_timeout=0.3)
    feed.start(SINCE)
    seen: list[FeedState] = []
    retry_ats = []
    deadline = time.monotonic() + 8
    items: list[IncomingItem] = []
    while len(items) < 4 and time.monotonic() < deadline:
        begun = time.monotonic()
        items += feed.fetch(0.05).items
        assert time.monotonic() - begun < 0.3  # never waits on the network
        status = feed.describe()
        seen.append(status.state)
        if status.state is FeedState.OFFLINE:
            retry_ats.append(status.retry_at)
    assert len(items) == 4
    assert FeedState.OFFLINE in seen and seen[-1] is FeedState.LIVE
    assert all(r is not None for r in retry_ats)
    first_three = fake.requests_to("mentions")[:3]
    assert len(first_three) == 3  # two failed, then the one that delivered


def test_close_during_a_stalled_poll_is_prompt(fake: FakeX, make_feed: MakeFeed) -> None:
    fake.fail("stall", route="mentions")
    feed = make_feed(read_timeout=5.0)
    feed.start(SINCE)
    feed.fetch(0.05)
    wait_for(lambda: len(fake.requests_to("mentions")) == 1)
    begun = time.monotonic()
    assert feed.fetch(0.1) == FetchResult()
    feed.describe()
    feed.close()
    assert time.monotonic() - begun < 0.5


@pytest.mark.parametrize(
    "kind, body",
    [
        ("garbage", b""),
        ("truncated", b""),
        ("body", b"[]"),
        ("body", b'{"data": "not a list"}'),
    ],
)
def test_unreadable_answers_are_counted_not_raised(
    fake: FakeX, make_feed: MakeFeed, kind: str, body: bytes
) -> None:
    fake.fail(kind, route="mentions", body=body)
    feed = make_feed()
    feed.start(SINCE)
    results = poll_until(feed, has_items(4))
    assert results[0].skipped == 1 and results[0].cursor is None
    assert feed.describe().skipped == 1
    assert feed.describe().state is FeedState.LIVE
    assert results[-1].cursor == NEWEST


def test_malformed_records_are_skipped_and_stepped_over(fake: FakeX, make_feed: MakeFeed) -> None:
    page = {
        "data": [
            {"id": "1800000000000000403", "text": "@zerno_coffee норм", "author_id": IGOR},
            {"id": "1800000000000000402", "author_id": IGOR},  # no text
            {"id": "not-a-number", "text": "?"},
            "a string",
            {"id": "1800000000000000401", "text": "   "},
            {
                "id": "1800000000000000400",
                "text": "@zerno_coffee ok",
                "created_at": "вчера",
                "author_id": IGOR,
            },
        ],
        "includes": {"users": [{"id": IGOR, "name": "Игорь", "username": "igor kzn!"}]},
        "meta": {"result_count": 6, "newest_id": "1800000000000000403"},
    }
    fake.fail("body", route="mentions", body=json.dumps(page).encode())
    feed = make_feed()
    feed.start(SINCE)
    [batch] = poll_until(feed, has_items(2))
    assert [i.native_id for i in batch.items] == ["1800000000000000400", "1800000000000000403"]
    assert batch.skipped == 4
    assert batch.cursor == "1800000000000000403"
    odd = batch.items[0]
    assert odd.author.handle is None and odd.author.name == "Игорь"
    assert odd.url == "https://x.com/i/web/status/1800000000000000400"
    assert feed.describe().skipped == 4


# --- replying -------------------------------------------------------------------------------


def test_reply_posts_in_reply_to_the_mention(fake: FakeX, make_feed: MakeFeed) -> None:
    feed = make_feed()
    feed.start(SINCE)
    items = items_of(poll_until(feed, has_items(4)))
    result = feed.reply(mention_for(items[0]), "Анна, простите! Сварим новый.", "socialtui-1")
    [post] = fake.requests_to("post")
    assert post.scheme == "OAuth"
    assert post.body == {
        "text": "Анна, простите! Сварим новый.",
        "reply": {"in_reply_to_tweet_id": "1800000000000000201"},
    }
    assert result.native_reply_id is not None
    assert fake.tweets[result.native_reply_id]["_in_reply_to"] == "1800000000000000201"


@pytest.mark.parametrize(
    "fault, retryable, words",
    [
        ("429", True, "rate-limited until"),
        ("500", True, "unavailable"),
        ("503", True, "unavailable"),
        ("401", False, "refused the credentials"),
        ("403", False, "refused the reply"),
        ("stall", False, "check on X"),
        ("reset", False, "check on X"),
    ],
)
def test_reply_failures_are_retryable_only_when_nothing_was_posted(
    fake: FakeX, make_feed: MakeFeed, fault: str, retryable: bool, words: str
) -> None:
    fake.fail(fault, route="post", reset=int(time.time()) + 60)
    feed = make_feed(read_timeout=0.3)
    with pytest.raises(FeedError, match=words) as caught:
        feed.reply(mention_of("1800000000000000202"), "Откроемся в 9:00", "socialtui-7")
    assert caught.value.retryable is retryable
    assert len(fake.posts) == 1  # never retried inside reply
    if fault in ("stall", "reset"):
        assert str(caught.value) == NO_ANSWER


def test_reply_that_cannot_connect_is_retryable(make_feed: MakeFeed) -> None:
    feed = make_feed(api_base=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(FeedError, match="cannot connect") as caught:
        feed.reply(mention_of("1800000000000000202"), "Откроемся в 9:00", "socialtui-7")
    assert caught.value.retryable


def test_duplicate_refusal_means_an_earlier_attempt_got_through(
    fake: FakeX, make_feed: MakeFeed
) -> None:
    feed = make_feed()
    mention = mention_of("1800000000000000202")
    feed.reply(mention, "Откроемся в 9:00", "socialtui-7")
    with pytest.raises(FeedError, match="duplicate") as caught:
        feed.reply(mention, "Откроемся в 9:00", "socialtui-7")
    assert not caught.value.retryable


@pytest.fixture
def queued_reply(
    fake: FakeX,
    make_feed: MakeFeed,
    board: Board,
    store: SqliteStore,
    classifier: KeywordClassifier,
    clock: FakeClock,
) -> tuple[XFeed, Mention]:
    """A stored X mention with an operator's reply queued and past its undo window."""
    feed = make_feed(read_timeout=0.3)
    feed.start(SINCE)
    ingestor = Ingestor(store, classifier, clock)
    stored: list[Mention] = []
    deadline = time.monotonic() + 5
    while len(stored) < 4 and time.monotonic() < deadline:
        stored += ingestor.ingest("x", feed.fetch(0.05))
    board.absorb(stored)
    mention = stored[0]
    board.reply(mention.id, "Анна, простите! Сварим новый.")
    clock.advance(seconds=6)
    return feed, mention


def test_outbox_sends_through_x_once(
    fake: FakeX, queued_reply: tuple[XFeed, Mention], store: SqliteStore, clock: FakeClock
) -> None:
    feed, mention = queued_reply
    sender = OutboxSender(store, {"x": feed}, clock)
    assert sender.send_pending() == [mention.id]
    [entry] = store.outbox(mention.id)
    assert entry.state is OutboxState.SENT
    assert entry.native_reply_id == fake.tweets[entry.native_reply_id or ""]["id"]
    clock.advance(hours=1)
    assert sender.send_pending() == []
    assert len(fake.posts) == 1


def test_ambiguous_send_fails_visibly_and_is_never_resent(
    fake: FakeX, queued_reply: tuple[XFeed, Mention], store: SqliteStore, clock: FakeClock
) -> None:
    feed, mention = queued_reply
    fake.fail("stall", route="post")  # X takes the tweet, the answer comes too late
    sender = OutboxSender(store, {"x": feed}, clock)
    sender.send_pending()
    [entry] = store.outbox(mention.id)
    assert entry.state is OutboxState.FAILED and entry.error == NO_ANSWER
    assert store.get_mentions([mention.id])[0].delivery == f"failed: {NO_ANSWER}"
    clock.advance(hours=2)
    assert sender.send_pending() == []
    assert len(fake.posts) == 1


def test_crash_between_claim_and_record_becomes_unknown_and_is_not_reposted(
    fake: FakeX,
    queued_reply: tuple[XFeed, Mention],
    make_feed: MakeFeed,
    store: SqliteStore,
    clock: FakeClock,
) -> None:
    feed, mention = queued_reply
    claimed = store.claim_reply(clock())
    assert claimed is not None
    entry, claimed_mention = claimed
    feed.reply(claimed_mention, entry.text, f"socialtui-{entry.id}")  # posted; then the crash
    feed.close()

    restarted = make_feed()
    sender = OutboxSender(store, {"x": restarted}, clock)
    assert sender.recover() == [mention.id]
    clock.advance(hours=1)
    assert sender.send_pending() == []
    [after] = store.outbox(mention.id)
    assert after.state is OutboxState.UNKNOWN
    assert store.get_mentions([mention.id])[0].delivery == "unknown"
    assert len(fake.posts) == 1


# --- secrets --------------------------------------------------------------------------------


def test_no_secret_reaches_logs_errors_or_status(
    fake: FakeX, make_feed: MakeFeed, caplog: pytest.LogCaptureFixture
) -> None:
    # Everything at DEBUG, the chatty libraries included, as a debugging user might set them
    # (and whatever another test left behind is undone): the feed itself must quiet them.
    caplog.set_level(logging.DEBUG)
    for name in ("tweepy", "requests_oauthlib", "oauthlib", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)
    texts: list[str] = []
    feed = make_feed(read_timeout=0.3)
    feed.start(SINCE)
    items = items_of(poll_until(feed, has_items(4)))
    feed.reply(mention_for(items[1]), "Откроемся в 9:00", "socialtui-1")
    for fault in ("stall", "401", "429"):
        fake.fail(fault, route="post")
        with pytest.raises(FeedError) as caught:
            feed.reply(mention_for(items[2]), f"Ответ {fault}", "socialtui-2")
        texts.append(str(caught.value))
    fake.fail("401", route="mentions", times=100)
    with pytest.raises(FeedError) as polled:
        poll_until(feed, lambda rs: False, timeout=3)
    texts += [str(polled.value), repr(feed.describe())]
    bad = make_feed(bearer_token=Secret(SECRETS["bearer_token"] + "-old"))
    with pytest.raises(FeedError) as refused:
        bad.start(SINCE)
    texts += [str(refused.value), repr(bad.describe())]

    assert {r.scheme for r in fake.requests} == {"Bearer", "OAuth"}
    assert any(r.levelno == logging.DEBUG for r in caplog.records)  # DEBUG was captured
    everything = caplog.text + "\n".join(texts)
    for name, secret in SECRETS.items():
        assert secret not in everything, name
    assert "s3cr3t" not in everything


# --- parsing and configuration --------------------------------------------------------------


def test_parse_page_of_the_documented_shape() -> None:
    payload = json.loads((DATA / "x_mentions_page.json").read_text(encoding="utf-8"))
    page = parse_page(payload)
    assert [t["id"] for t in page.tweets] == [
        "1800000000000000302",
        "1800000000000000301",
        "1800000000000000300",
    ]
    assert page.newest_id == 1800000000000000302
    assert page.next_token == "7140dibdnow9c7btw4b0j3tvk9dtmhd7g9vjj3dm7sy0b"
    assert set(page.users) == {IGOR, ANNA} and set(page.included) == {"1800000000000000100"}
    unknown = build_item(
        page.tweets[2], users=page.users, kind=Kind.MENTION, context=None, now=NOW, feed="x"
    )
    assert unknown.author == Author(id="2000000000000000009", name="2000000000000000009")
    assert parse_page({"meta": {"result_count": 0}}).tweets == []
    with pytest.raises(PayloadError):
        parse_page({"data": [], "includes": []})


def test_build_author_tolerates_odd_profiles() -> None:
    odd = {"name": "  ", "username": "ok_name", "public_metrics": {"followers_count": -3}}
    author = build_author(ANNA, odd)
    assert author == Author(id=ANNA, name="ok_name", handle="ok_name", followers=None)
    assert build_author(None, None) == Author(id="unknown", name="unknown")
    long_city = build_author(ANNA, {"name": "A", "location": "Я" * 500}).city
    assert long_city is not None and len(long_city) == 200


def test_parse_root_handles_gone_tweets() -> None:
    assert parse_root({"errors": [{"title": "Not Found Error"}]}) is None
    root = parse_root({"data": {"id": "1", "text": " привет ", "author_id": SHOP}})
    assert root is not None and (root.text, root.author_id) == ("привет", SHOP)
    with pytest.raises(PayloadError):
        parse_root([])


def test_config_builds_the_feed_with_masked_secrets(tmp_path: Path) -> None:
    from config.loader import load_config

    path = tmp_path / "shop.toml"
    path.write_text(
        "[[feeds]]\n"
        'type = "x"\n'
        'bearer_token_env = "X_BEARER"\n'
        'consumer_key_env = "X_KEY"\n'
        'consumer_secret_env = "X_KEY_SECRET"\n'
        'access_token_env = "X_TOKEN"\n'
        'access_token_secret_env = "X_TOKEN_SECRET"\n'
        f"user_id = {SHOP}\n"
        'api_base = "http://127.0.0.1:9/"\n'
        "poll_interval = 120\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    env = {
        "HOME": str(tmp_path),
        "X_BEARER": SECRETS["bearer_token"],
        "X_KEY": SECRETS["consumer_key"],
        "X_KEY_SECRET": SECRETS["consumer_secret"],
        "X_TOKEN": SECRETS["access_token"],
        "X_TOKEN_SECRET": SECRETS["access_token_secret"],
    }
    [feed_config] = load_config(path, env).feeds
    feed = create_feed(feed_config.type, feed_config.name, feed_config.options)
    assert isinstance(feed, XFeed) and feed.name == "x"
    assert feed.describe().state is FeedState.CONNECTING
    assert "poll_interval" in feed_options("x") and "bearer_token_env" in feed_options("x")
    for secret in SECRETS.values():
        assert secret not in repr(feed_config.options)
    feed.close()


@pytest.mark.parametrize(
    "options, words",
    [
        ({}, "X needs bearer_token_env"),
        ({"consumer_key": Secret("k")}, "missing consumer_secret_env"),
        ({"bearer_token": Secret("b"), "user_id": "@shop"}, "numeric id"),
        ({"bearer_token": Secret("b"), "api_base": "api.x.com"}, "api_base"),
        ({"bearer_token": Secret("b"), "poll_interval": 0}, "poll_interval"),
    ],
)
def test_bad_options_are_refused_at_creation(options: dict[str, Any], words: str) -> None:
    with pytest.raises(FeedError, match=words) as caught:
        create_feed("x", "x", options)
    assert not caught.value.retryable
