"""X API v2 payloads -> IncomingItems. Pure: no network, no clock, no tweepy objects.

The feed asks tweepy for plain dicts (`return_type=dict`) rather than its Tweet/User objects,
whose constructors raise on a record missing `text` or `username` and would lose a whole page
for one bad record. Here every record is checked on its own: a malformed tweet is counted as
skipped and the rest of the page still arrives.

Shapes (GET /2/users/:id/mentions):
    {"data": [{"id", "text", "author_id", "created_at", "conversation_id",
               "referenced_tweets": [{"type": "replied_to" | "quoted" | "retweeted", "id"}]}],
     "includes": {"users": [{"id", "name", "username", "location",
                             "public_metrics": {"followers_count", ...}}],
                  "tweets": [...the referenced tweets, same fields...]},
     "meta": {"result_count", "newest_id", "oldest_id", "next_token"}}
An empty timeline is {"meta": {"result_count": 0}}. Partial errors ("errors": [...], e.g. a
referenced tweet that was deleted) come next to the data and are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from triage.model import Author, IncomingItem, Kind

__all__ = [
    "NETWORK",
    "Page",
    "PayloadError",
    "Root",
    "build_author",
    "build_item",
    "conversation_of",
    "is_retweet",
    "parse_page",
    "parse_root",
    "parse_tweet_id",
    "replied_to",
    "root_from_tweet",
    "tweet_url",
]

NETWORK = "x"
# Snowflake ids are 64-bit integers; 20 digits is the most a uint64 can spell.
_ID = re.compile(r"[0-9]{1,20}")
_HANDLE = re.compile(r"[A-Za-z0-9_]{1,50}")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Free-text profile fields are short on X; anything longer is not worth a card's space.
_MAX_FIELD = 200
# The store keeps counts as SQLite INTEGERs (signed 64-bit); a larger "count" is garbage.
_MAX_COUNT = 2**63 - 1
# Dates outside this range are garbage, and the board cannot show them in every time zone
# (year 9999 in UTC is year 10000 in Moscow): such a tweet gets the time it was fetched.
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


class PayloadError(ValueError):
    """A payload or record does not have the shape X documents. The message says why."""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the mentions timeline, checked at the top level only."""

    tweets: list[Mapping[str, Any]] = field(default_factory=list)
    users: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    included: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    # The largest tweet id on the page, malformed records included, so that a broken record is
    # stepped over instead of being fetched (and paid for) on every poll.
    newest_id: int | None = None
    next_token: str | None = None
    # Records in `data` that are not objects with an id: they cannot even be stepped over.
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class Root:
    """The first tweet of a conversation: shown as context, and tells replies from mentions."""

    text: str
    author_id: str | None


def parse_tweet_id(value: object) -> int | None:
    """A tweet or user id as an int, or None if it is not a plausible snowflake."""
    if isinstance(value, str) and _ID.fullmatch(value):
        return int(value)
    return None


def parse_page(payload: object) -> Page:
    """Check a mentions page; raises PayloadError if the page as a whole is unusable."""
    if not isinstance(payload, dict):
        raise PayloadError("the answer is not a JSON object")
    data = payload.get("data", [])
    includes = payload.get("includes", {})
    meta = payload.get("meta", {})
    if not isinstance(data, list):
        raise PayloadError("data is not a list")
    if not isinstance(includes, dict) or not isinstance(meta, dict):
        raise PayloadError("includes or meta is not an object")

    tweets: list[Mapping[str, Any]] = []
    skipped = 0
    newest = parse_tweet_id(meta.get("newest_id"))
    for record in data:
        tweet_id = parse_tweet_id(record.get("id")) if isinstance(record, dict) else None
        if tweet_id is None:
            skipped += 1
            continue
        newest = tweet_id if newest is None else max(newest, tweet_id)
        tweets.append(record)

    token = meta.get("next_token")
    return Page(
        tweets=tweets,
        users=_by_id(includes.get("users")),
        included=_by_id(includes.get("tweets")),
        newest_id=newest,
        next_token=token if isinstance(token, str) and token else None,
        skipped=skipped,
    )


def _by_id(records: object) -> dict[str, Mapping[str, Any]]:
    if not isinstance(records, list):
        return {}
    return {
        record["id"]: record
        for record in records
        if isinstance(record, dict) and parse_tweet_id(record.get("id")) is not None
    }


def parse_root(payload: object) -> Root | None:
    """The tweet in a GET /2/tweets/:id answer; None when X says it is gone or hidden.

    A deleted or protected tweet comes back as 200 with only {"errors": [...]}.
    """
    if not isinstance(payload, dict):
        raise PayloadError("the answer is not a JSON object")
    data = payload.get("data")
    if data is None:
        return None
    return root_from_tweet(data)


def root_from_tweet(data: object) -> Root:
    if not isinstance(data, dict):
        raise PayloadError("data is not an object")
    text = data.get("text")
    if not isinstance(text, str):
        raise PayloadError("tweet without text")
    author = data.get("author_id")
    return Root(_clean(text), author if isinstance(author, str) else None)


def replied_to(tweet: Mapping[str, Any]) -> str | None:
    """The id of the tweet this one answers, if it is a reply."""
    return _referenced(tweet, "replied_to")


def is_retweet(tweet: Mapping[str, Any]) -> bool:
    return _referenced(tweet, "retweeted") is not None


def _referenced(tweet: Mapping[str, Any], kind: str) -> str | None:
    references = tweet.get("referenced_tweets")
    if not isinstance(references, list):
        return None
    for reference in references:
        if isinstance(reference, dict) and reference.get("type") == kind:
            target = reference.get("id")
            if parse_tweet_id(target) is not None:
                return str(target)
    return None


def conversation_of(tweet: Mapping[str, Any]) -> str | None:
    """The conversation root's id, or None when the tweet is its own root."""
    conversation = tweet.get("conversation_id")
    if parse_tweet_id(conversation) is None or conversation == tweet.get("id"):
        return None
    return str(conversation)


def build_author(author_id: object, user: Mapping[str, Any] | None) -> Author:
    """An Author from an includes.users record; a bare id when X left the user out."""
    # Lone surrogates cannot be stored as UTF-8: the store would refuse the whole batch.
    uid = _valid_unicode(author_id) if isinstance(author_id, str) and author_id else "unknown"
    if user is None:
        return Author(id=uid, name=uid)
    username = user.get("username")
    handle = username if isinstance(username, str) and _HANDLE.fullmatch(username) else None
    name = _optional_text(user.get("name")) or handle or uid
    metrics = user.get("public_metrics")
    followers = metrics.get("followers_count") if isinstance(metrics, dict) else None
    if (
        not isinstance(followers, int)
        or isinstance(followers, bool)
        or not 0 <= followers <= _MAX_COUNT
    ):
        followers = None
    return Author(
        id=uid,
        name=name,
        handle=handle,
        followers=followers,
        city=_optional_text(user.get("location")),
    )


def build_item(
    tweet: Mapping[str, Any],
    *,
    users: Mapping[str, Mapping[str, Any]],
    kind: Kind,
    context: str | None,
    now: datetime,
    feed: str,
) -> IncomingItem:
    """One mention as an IncomingItem; raises PayloadError for a record that cannot be one.

    Text is kept whole and raw (sanitising is the display's job) except that lone surrogates
    become U+FFFD, which the store could not encode.
    """
    tweet_id = tweet.get("id")
    if parse_tweet_id(tweet_id) is None:
        raise PayloadError("tweet without a valid id")
    assert isinstance(tweet_id, str)
    text = tweet.get("text")
    if not isinstance(text, str):
        raise PayloadError(f"tweet {tweet_id} has no text")
    if not text.strip():
        raise PayloadError(f"tweet {tweet_id} has empty text")
    author_id = tweet.get("author_id")
    author = build_author(author_id, users.get(author_id) if isinstance(author_id, str) else None)
    return IncomingItem(
        network=NETWORK,
        native_id=tweet_id,
        kind=kind,
        author=author,
        text=_valid_unicode(text),
        created_at=_timestamp(tweet.get("created_at"), now),
        url=tweet_url(author.handle, tweet_id),
        context=context,
        route={"tweet_id": tweet_id},
        feed=feed,
    )


def tweet_url(handle: str | None, tweet_id: str) -> str:
    # x.com resolves /i/web/status/<id> without the author's name.
    return f"https://x.com/{handle or 'i/web'}/status/{tweet_id}"


def _timestamp(value: object, now: datetime) -> datetime:
    if not isinstance(value, str):
        return now
    try:
        parsed = datetime.fromisoformat(value.strip())
        # astimezone overflows for the first and last hours of years 1 and 9999.
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return now  # a bad date is no reason to lose a customer's message
    return parsed if _EARLIEST <= parsed < _LATEST else now


def _optional_text(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return _clean(value)[:_MAX_FIELD]


def _clean(value: str) -> str:
    return _valid_unicode(value.strip())


def _valid_unicode(value: str) -> str:
    return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
