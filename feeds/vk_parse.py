"""Pure VK payload parsing for feeds.vk: long-poll answers, events, search posts, profiles.

Nothing here touches the network or a clock: `now` is passed in. Shapes follow API 5.199:
- a Bots Long Poll answer is {"ts", "updates": [...]} or {"failed": 1|2|3, "ts"?};
- an update is {"type", "object", "group_id", "event_id"}; for `message_new` the object is
  {"message": {...}, "client_info": {...}}, for comments the object is the comment itself with
  the commented object's ids beside it (post_id, photo_id, video_id, item_id, topic_id);
- users.get gives [{"id", "first_name", "last_name", "screen_name", "city": {"title"},
  "followers_count"}]; groups.getById gives {"groups": [...]} (a bare list before 5.139);
- wall.getById gives {"items": [...]} (a bare list in older versions).

Malformed input raises PayloadError; the feed counts it as skipped. Events the board has no use
for (the shop's own comments, outgoing messages, other event types) give None, not an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeGuard

from triage.model import Author, IncomingItem, Kind

__all__ = [
    "COMMENT_EVENTS",
    "NETWORK",
    "NEWSFEED",
    "Parsed",
    "PayloadError",
    "PollAnswer",
    "fallback_author",
    "group_author",
    "groups_of",
    "parse_poll_answer",
    "parse_post",
    "parse_update",
    "post_context",
    "posts_of",
    "to_item",
    "user_author",
]

NETWORK = "vk"
# The route "event" of a newsfeed.search hit; not a long-poll type, so it never collides.
NEWSFEED = "newsfeed"
# Comment events: (key of the owner id, key of the commented object's id, URL pattern).
COMMENT_EVENTS: Mapping[str, tuple[str, str, str]] = {
    "wall_reply_new": (
        "post_owner_id",
        "post_id",
        "https://vk.com/wall{owner}_{object}?reply={id}",
    ),
    "photo_comment_new": ("photo_owner_id", "photo_id", "https://vk.com/photo{owner}_{object}"),
    "video_comment_new": ("video_owner_id", "video_id", "https://vk.com/video{owner}_{object}"),
    "market_comment_new": ("market_owner_id", "item_id", "https://vk.com/product{owner}_{object}"),
    "board_post_new": (
        "topic_owner_id",
        "topic_id",
        "https://vk.com/topic{owner}_{object}?post={id}",
    ),
}
# Peer ids from here up are group chats, not one person (VK's documented offset).
CHAT_PEER_BASE = 2_000_000_000
CONTEXT_MAX_CHARS = 1000
# The store keeps counts as SQLite INTEGERs (signed 64-bit); a larger "count" is garbage.
_MAX_COUNT = 2**63 - 1
# A date outside this range is garbage (VK began in 2006), and the board could not show it in
# every time zone: such a message gets the time it was fetched, like one without a date.
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_SURROGATE = re.compile("[\ud800-\udfff]")
# "[id123|Анна], спасибо" is how VK spells a reply to someone; the operator wants "Анна, спасибо".
_MENTION_MARKUP = re.compile(r"\[(?:id|club|public|event)\d+\|([^\]\[|]*)\]")
_ATTACHMENT_NAMES = {
    "photo": "фото",
    "video": "видео",
    "audio": "аудио",
    "audio_message": "голосовое сообщение",
    "doc": "файл",
    "sticker": "стикер",
    "graffiti": "граффити",
    "link": "ссылка",
    "wall": "запись",
    "wall_reply": "комментарий",
    "market": "товар",
    "poll": "опрос",
    "gift": "подарок",
    "story": "история",
}


class PayloadError(ValueError):
    """A payload is not in the documented shape. The message says why, for logs and tests."""


@dataclass(frozen=True, slots=True)
class PollAnswer:
    """One a_check answer: either `updates` with the next `ts`, or `failed` (and maybe `ts`)."""

    ts: str | None
    updates: list[object] = field(default_factory=list)
    failed: int | None = None


@dataclass(frozen=True, slots=True)
class Parsed:
    """One customer message from VK, before its author and post are looked up."""

    native_id: str
    kind: Kind
    from_id: int
    text: str
    created_at: datetime
    url: str | None
    route: dict[str, Any]
    # (owner_id, post_id) of the wall post a comment hangs on, for IncomingItem.context.
    post: tuple[int, int] | None = None


# -- long poll -----------------------------------------------------------------------------


def parse_poll_answer(body: bytes) -> PollAnswer:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"long poll answer is not JSON: {exc}"[:200]) from None
    if not isinstance(data, dict):
        raise PayloadError("long poll answer is not an object")
    ts = _ts(data.get("ts"))
    if "failed" in data:
        failed = data["failed"]
        if not _is_int(failed):
            raise PayloadError("long poll 'failed' is not a number")
        return PollAnswer(ts, [], failed)
    if ts is None:
        raise PayloadError("long poll answer without ts")
    updates = data.get("updates")
    if not isinstance(updates, list):
        raise PayloadError("long poll answer without an updates list")
    return PollAnswer(ts, updates)


def _ts(value: object) -> str | None:
    # VK sends ts as a string ("12"), older servers as a number; it is only ever echoed back.
    if _is_int(value) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.strip().isdigit():
        return value.strip()
    return None


def parse_update(update: object, *, group_id: int, now: datetime) -> Parsed | None:
    """One long-poll update. None for types and messages the board does not show."""
    if not isinstance(update, dict):
        raise PayloadError("update is not an object")
    event = update.get("type")
    if not isinstance(event, str):
        raise PayloadError("update without a type")
    if event != "message_new" and event not in COMMENT_EVENTS:
        return None
    obj = update.get("object")
    if not isinstance(obj, dict):
        raise PayloadError(f"{event} without an object")
    if event == "message_new":
        return _message(obj, group_id, now)
    return _comment(event, obj, group_id, now)


def _message(obj: Mapping[str, Any], group_id: int, now: datetime) -> Parsed | None:
    # Before API 5.103 the object was the message itself.
    message = obj.get("message", obj)
    if not isinstance(message, dict):
        raise PayloadError("message_new without a message")
    peer_id = _required_int(message, "peer_id")
    from_id = _required_int(message, "from_id")
    message_id = _optional_int(message, "id") or 0
    cmid = _optional_int(message, "conversation_message_id")
    if message.get("out") == 1 or from_id == -group_id or "action" in message:
        return None  # our own message, or a chat service message (someone joined, ...)
    if not message_id and not cmid:
        raise PayloadError("message_new without an id")
    text = _text(message.get("text"), message.get("attachments"))
    if not text:
        return None
    sel = f"c{peer_id - CHAT_PEER_BASE}" if peer_id >= CHAT_PEER_BASE else str(peer_id)
    return Parsed(
        native_id=f"message_new:{peer_id}_{cmid or message_id}",
        kind=Kind.DM,
        from_id=from_id,
        text=text,
        created_at=_date(message, now),
        url=f"https://vk.com/gim{group_id}?sel={sel}",
        route={"event": "message_new", "peer_id": peer_id, "message_id": message_id, "cmid": cmid},
    )


def _comment(event: str, obj: Mapping[str, Any], group_id: int, now: datetime) -> Parsed | None:
    owner_key, object_key, url = COMMENT_EVENTS[event]
    comment_id = _required_int(obj, "id")
    from_id = _required_int(obj, "from_id")
    object_id = _required_int(obj, object_key)
    # Payloads name the owner per type, some also as "owner_id"; either way it is our community.
    owner_id = _optional_int(obj, owner_key)
    if owner_id is None:
        owner_id = _optional_int(obj, "owner_id")
    if owner_id is None:
        owner_id = -group_id
    if from_id == -group_id:
        return None  # the shop's own comment, our replies included
    text = _text(obj.get("text"), obj.get("attachments"))
    if not text:
        return None
    link = url.format(owner=owner_id, object=object_id, id=comment_id)
    thread = obj.get("parents_stack")
    if event == "wall_reply_new" and isinstance(thread, list) and thread and _is_int(thread[0]):
        link += f"&thread={thread[0]}"
    return Parsed(
        native_id=f"{event}:{owner_id}_{comment_id}",
        kind=Kind.COMMENT,
        from_id=from_id,
        text=text,
        created_at=_date(obj, now),
        url=link,
        route={
            "event": event,
            "owner_id": owner_id,
            object_key: object_id,
            "comment_id": comment_id,
        },
        post=(owner_id, object_id) if event == "wall_reply_new" else None,
    )


# -- newsfeed.search -----------------------------------------------------------------------


def parse_post(post: object, *, group_id: int, now: datetime) -> Parsed | None:
    """A newsfeed.search hit: a post elsewhere that mentions the shop. None for the shop's own."""
    if not isinstance(post, dict):
        raise PayloadError("search item is not an object")
    owner_id = _required_int(post, "owner_id")
    post_id = _required_int(post, "id")
    from_id = _optional_int(post, "from_id")
    if from_id is None:
        from_id = owner_id
    if from_id == -group_id:
        return None
    text = _text(post.get("text"), post.get("attachments"))
    if not text:
        return None
    return Parsed(
        native_id=f"{NEWSFEED}:{owner_id}_{post_id}",
        kind=Kind.MENTION,
        from_id=from_id,
        text=text,
        created_at=_date(post, now),
        url=f"https://vk.com/wall{owner_id}_{post_id}",
        route={"event": NEWSFEED, "owner_id": owner_id, "post_id": post_id},
    )


# -- profiles and posts --------------------------------------------------------------------


def user_author(user: object) -> Author | None:
    """An Author from a users.get / newsfeed profile; None if the record is unusable."""
    if not isinstance(user, dict) or not _is_int(user.get("id")):
        return None
    name = " ".join(
        part.strip()
        for part in (user.get("first_name"), user.get("last_name"))
        if isinstance(part, str) and part.strip()
    )
    user_id = user["id"]
    city = user.get("city")
    return Author(
        id=str(user_id),
        name=_clean(name) or f"id{user_id}",
        handle=_optional_clean(user.get("screen_name")),
        followers=_count(user.get("followers_count")),
        city=_optional_clean(city.get("title")) if isinstance(city, dict) else None,
    )


def group_author(group: object) -> Author | None:
    """An Author from a groups.getById / newsfeed group record, id negative as VK writes it."""
    if not isinstance(group, dict) or not _is_int(group.get("id")):
        return None
    group_id = abs(group["id"])
    return Author(
        id=str(-group_id),
        name=_optional_clean(group.get("name")) or f"Сообщество {group_id}",
        handle=_optional_clean(group.get("screen_name")),
        followers=_count(group.get("members_count")),
    )


def fallback_author(from_id: int) -> Author:
    """Who wrote it when the profile lookup failed: the id, spelled as VK links do."""
    if from_id < 0:
        return Author(id=str(from_id), name=f"Сообщество {-from_id}")
    return Author(id=str(from_id), name=f"id{from_id}")


def groups_of(response: object) -> list[object]:
    if isinstance(response, dict):
        response = response.get("groups")
    if not isinstance(response, list):
        raise PayloadError("groups.getById answer has no groups")
    return response


def posts_of(response: object) -> list[object]:
    if isinstance(response, dict):
        response = response.get("items")
    if not isinstance(response, list):
        raise PayloadError("wall.getById answer has no items")
    return response


def post_context(post: Mapping[str, Any]) -> str | None:
    """What the operator sees as "the post being commented on", cut to CONTEXT_MAX_CHARS."""
    text = _text(post.get("text"), post.get("attachments"))
    if not text:
        history = post.get("copy_history")
        if isinstance(history, list) and history and isinstance(history[0], dict):
            text = _text(history[0].get("text"), history[0].get("attachments"))
    if not text:
        return None
    if len(text) > CONTEXT_MAX_CHARS:
        text = text[: CONTEXT_MAX_CHARS - 1].rstrip() + "…"
    return text


def to_item(parsed: Parsed, author: Author, context: str | None, feed: str) -> IncomingItem:
    return IncomingItem(
        network=NETWORK,
        native_id=parsed.native_id,
        kind=parsed.kind,
        author=author,
        text=parsed.text,
        created_at=parsed.created_at,
        url=parsed.url,
        context=context,
        route=parsed.route,
        feed=feed,
    )


# -- fields --------------------------------------------------------------------------------


def _is_int(value: object) -> TypeGuard[int]:
    # bool is an int subclass, and `true` is no one's id.
    return isinstance(value, int) and not isinstance(value, bool)


def _required_int(record: Mapping[str, Any], key: str) -> int:
    value = _optional_int(record, key)
    if value is None:
        raise PayloadError(f"missing {key}")
    return value


def _optional_int(record: Mapping[str, Any], key: str) -> int | None:
    value = record.get(key)
    if value is None:
        return None
    if not _is_int(value):
        raise PayloadError(f"{key} is not a whole number")
    return value


def _count(value: object) -> int | None:
    return value if _is_int(value) and 0 <= value <= _MAX_COUNT else None


def _date(record: Mapping[str, Any], now: datetime) -> datetime:
    value = record.get("date")
    if not _is_int(value):
        return now
    try:
        moment = datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return now
    return moment if _EARLIEST <= moment < _LATEST else now


def _clean(value: str) -> str:
    """Lone surrogates cannot be stored as UTF-8; JSON can spell them, so VK text may hold them."""
    return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value


def _optional_clean(value: object) -> str | None:
    return _clean(value.strip()) if isinstance(value, str) and value.strip() else None


def _text(value: object, attachments: object) -> str:
    """The message text, raw (sanitising is the display's job) but readable.

    A message of only a photo or a sticker is still a customer talking: it becomes "[фото]".
    """
    text = _clean(value) if isinstance(value, str) else ""
    text = _MENTION_MARKUP.sub(_mention_name, text).strip()
    if text:
        return text
    names = _attachment_names(attachments)
    return f"[{', '.join(names)}]" if names else ""


def _mention_name(match: re.Match[str]) -> str:
    return match.group(1)


def _attachment_names(attachments: object) -> list[str]:
    if not isinstance(attachments, list):
        return []
    names: list[str] = []
    for attachment in attachments:
        kind = attachment.get("type") if isinstance(attachment, dict) else None
        if isinstance(kind, str):
            name = _ATTACHMENT_NAMES.get(kind, "вложение")
            if name not in names:
                names.append(name)
    return names
