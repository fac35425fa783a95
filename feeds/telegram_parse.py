"""Telegram Bot API updates -> IncomingItem: pure parsing and the triage rules, no network.

Which messages reach the board:
- `chat.type == "private"`: a message to the bot, Kind.DM.
- In a group or supergroup, a comment under one of the shop's channel posts, Kind.COMMENT. The
  channel's linked discussion group receives each post as an automatic forward
  (`is_automatic_forward: true`); a top-level comment is a reply to that forward, and a reply to
  a comment carries the forward's id as `message_thread_id`. Bot API replies nest only one
  level deep, so the post behind a reply-to-a-comment is known only if this run saw the
  forward or a top-level comment under it first (`ThreadRoots`).
- Any other group message that mentions the bot or the channel (@username, a text mention, a
  /command@bot, or a reply to the bot's own message), Kind.MENTION.
Everything else (group chatter, service messages, other bots, the shop posting as its channel
or as an anonymous admin) is ignored. A malformed update raises UpdateError: the feed counts
it as skipped and moves on.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard

from triage.model import Author, IncomingItem, Kind

__all__ = [
    "NETWORK",
    "BotIdentity",
    "RootPost",
    "Scope",
    "ThreadRoots",
    "UpdateError",
    "message_text",
    "normalise_channel",
    "parse_update",
    "update_id",
]

NETWORK = "telegram"
_MAX_ROOTS = 2000
_GROUPS = frozenset({"group", "supergroup"})
_SURROGATE = re.compile("[\ud800-\udfff]")
# Media without a caption still deserves a card (a photo of a broken order says a lot), so it
# gets a placeholder; anything without text or media is a service message and is ignored.
_MEDIA_LABELS = (
    ("photo", "[фото]"),
    ("video", "[видео]"),
    ("video_note", "[видеосообщение]"),
    ("voice", "[голосовое сообщение]"),
    ("audio", "[аудио]"),
    ("animation", "[GIF]"),
    ("document", "[файл]"),
    ("location", "[геопозиция]"),
    ("venue", "[место]"),
    ("contact", "[контакт]"),
    ("poll", "[опрос]"),
)
_USERNAME = re.compile(r"[A-Za-z0-9_]{4,32}")
_CHANNEL_LINK = re.compile(r"^(?:https?://)?(?:t\.me|telegram\.me)/", re.IGNORECASE)
# Telegram was founded in 2013; a date outside this range is garbage, and the board could not
# show it in every time zone (year 9999 in UTC is year 10000 in Moscow).
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


class UpdateError(ValueError):
    """An update is not in a shape we can read; the message says why."""


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who we are, from getMe: needed to tell mentions of the bot from chatter."""

    id: int
    username: str | None


@dataclass(frozen=True, slots=True)
class Scope:
    """Which channel's comments count. None everywhere: any discussion group the bot is in.

    `channel` is a lowercased username without "@", or a numeric chat id.
    """

    channel: str | int | None = None
    discussion_chat_id: int | None = None


@dataclass(frozen=True, slots=True)
class RootPost:
    """A channel post as forwarded into its discussion group: the context of its comments."""

    text: str | None
    channel_id: int | None
    channel_username: str | None
    post_id: int | None


class ThreadRoots:
    """Channel posts seen in discussion groups, keyed by (group chat id, forward message id).

    Bounded (oldest forgotten first) and in memory only: after a restart a reply to a comment
    under an older post is still a comment, just without the post as context.
    """

    def __init__(self, limit: int = _MAX_ROOTS) -> None:
        self._limit = limit
        self._roots: OrderedDict[tuple[int, int], RootPost] = OrderedDict()
        self.discussion_chats: set[int] = set()
        self.channel_ids: set[int] = set()

    def remember(self, chat_id: int, message_id: int, root: RootPost) -> None:
        self._roots[(chat_id, message_id)] = root
        self._roots.move_to_end((chat_id, message_id))
        while len(self._roots) > self._limit:
            self._roots.popitem(last=False)
        self.discussion_chats.add(chat_id)
        if root.channel_id is not None:
            self.channel_ids.add(root.channel_id)

    def get(self, chat_id: int, thread_id: int) -> RootPost | None:
        return self._roots.get((chat_id, thread_id))

    def __len__(self) -> int:
        return len(self._roots)


def normalise_channel(value: object) -> str | int | None:
    """`@shop`, `shop`, `https://t.me/shop` -> "shop"; `-100123` (int or text) -> -100123."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise ValueError("channel must be a @username or a numeric chat id")
    text = _CHANNEL_LINK.sub("", value.strip()).strip("/").lstrip("@")
    if not text:
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if not _USERNAME.fullmatch(text):
        raise ValueError(f"{value!r} is not a channel @username or a numeric chat id")
    return text.lower()


def update_id(update: object) -> int:
    if not isinstance(update, dict):
        raise UpdateError("update is not an object")
    value = update.get("update_id")
    if not _is_int(value):
        raise UpdateError("update_id missing or not an integer")
    return value


def parse_update(
    update: object,
    *,
    bot: BotIdentity | None,
    scope: Scope,
    roots: ThreadRoots,
    feed: str = "",
) -> IncomingItem | None:
    """The item an update brings, or None when it is not for the board.

    Raises UpdateError for a malformed update. `roots` is updated with any channel post seen.
    """
    update_id(update)
    assert isinstance(update, dict)
    message = update.get("message")
    if message is None:
        message = update.get("edited_message")
    if message is None:
        return None  # another update type (we ask only for these two, but be lenient)
    if not isinstance(message, dict):
        raise UpdateError("message is not an object")

    chat = _object(message, "chat", required=True)
    chat_id = _int(chat, "id", "chat.id")
    chat_type = chat.get("type")
    message_id = _int(message, "message_id")
    date = _int(message, "date")
    if chat_type == "private":
        kind = Kind.DM
        root: RootPost | None = None
    elif isinstance(chat_type, str) and chat_type in _GROUPS:
        classified = _classify_group_message(message, chat_id, bot=bot, scope=scope, roots=roots)
        if classified is None:
            return None
        kind, root = classified
    else:
        return None  # channel posts and unknown chat types

    sender = message.get("from")
    if isinstance(sender, dict) and sender.get("is_bot") is True:
        return None  # other bots (and our own messages, if a server ever echoed them)
    text = message_text(message)
    if text is None:
        return None  # a service message: someone joined, a pin, a new title ...

    route: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id}
    thread_id = message.get("message_thread_id")
    if _is_int(thread_id):
        route["message_thread_id"] = thread_id
        # Only forum topics take message_thread_id on sendMessage; elsewhere it makes the API
        # answer "message thread not found", and the reply lands in the thread anyway.
        route["topic"] = message.get("is_topic_message") is True

    if kind is Kind.COMMENT:
        context = root.text if root is not None else None
    else:
        context = _reply_context(message)
    return IncomingItem(
        network=NETWORK,
        native_id=f"{chat_id}:{message_id}",
        kind=kind,
        author=_author(message, chat),
        text=_valid_unicode(text),
        created_at=_timestamp(date),
        url=_url(chat, message_id, root if kind is Kind.COMMENT else None),
        context=_valid_unicode(context) if context else None,
        route=route,
        feed=feed,
    )


def message_text(message: Mapping[str, Any]) -> str | None:
    """The text or caption, a placeholder for media without one, or None (service message)."""
    for key in ("text", "caption"):
        value = message.get(key)
        if isinstance(value, str) and value.strip():
            return value
    sticker = message.get("sticker")
    if isinstance(sticker, dict):
        emoji = sticker.get("emoji")
        return f"[стикер {emoji}]" if isinstance(emoji, str) and emoji else "[стикер]"
    for key, label in _MEDIA_LABELS:
        if message.get(key) is not None:
            return label
    return None


# -- groups --------------------------------------------------------------------------------


def _classify_group_message(
    message: Mapping[str, Any],
    chat_id: int,
    *,
    bot: BotIdentity | None,
    scope: Scope,
    roots: ThreadRoots,
) -> tuple[Kind, RootPost | None] | None:
    if scope.discussion_chat_id is not None and chat_id == scope.discussion_chat_id:
        roots.discussion_chats.add(chat_id)
    if message.get("is_automatic_forward") is True:
        # The post itself, arriving in its discussion group: remember it for its comments.
        root = _root_post(message)
        if _in_scope(root, chat_id, scope):
            roots.remember(chat_id, _int(message, "message_id"), root)
        return None
    if _from_the_shop(message, chat_id, scope, roots):
        return None

    replied = message.get("reply_to_message")
    if isinstance(replied, dict) and replied.get("is_automatic_forward") is True:
        root = _root_post(replied)
        if _in_scope(root, chat_id, scope):
            roots.remember(
                chat_id, _int(replied, "message_id", "reply_to_message.message_id"), root
            )
            return Kind.COMMENT, root
    thread_id = message.get("message_thread_id")
    if _is_int(thread_id) and message.get("is_topic_message") is not True:
        known = roots.get(chat_id, thread_id)
        if known is not None:
            return Kind.COMMENT, known
        # A reply deep in a comment thread whose post this run has not seen: in the shop's
        # discussion group that is still a comment, just without the post as context.
        if chat_id in roots.discussion_chats:
            return Kind.COMMENT, None
    if _mentions_shop(message, bot, scope):
        return Kind.MENTION, None
    return None


def _root_post(forward: Mapping[str, Any]) -> RootPost:
    """The channel behind an automatic forward: `forward_origin` (Bot API 7+), else the older
    `forward_from_chat`/`forward_from_message_id`, else the sender_chat."""
    channel: object = None
    post_id: object = None
    origin = forward.get("forward_origin")
    if isinstance(origin, dict):
        channel, post_id = origin.get("chat"), origin.get("message_id")
    if not isinstance(channel, dict):
        channel, post_id = forward.get("forward_from_chat"), forward.get("forward_from_message_id")
    if not isinstance(channel, dict):
        channel = forward.get("sender_chat")
    channel_id = channel.get("id") if isinstance(channel, dict) else None
    username = channel.get("username") if isinstance(channel, dict) else None
    return RootPost(
        text=message_text(forward),
        channel_id=channel_id if _is_int(channel_id) else None,
        channel_username=username if isinstance(username, str) and username else None,
        post_id=post_id if _is_int(post_id) else None,
    )


def _in_scope(root: RootPost, chat_id: int, scope: Scope) -> bool:
    if scope.discussion_chat_id is not None and chat_id != scope.discussion_chat_id:
        return False
    if scope.channel is None:
        return True
    if isinstance(scope.channel, int):
        return root.channel_id == scope.channel
    return root.channel_username is not None and root.channel_username.lower() == scope.channel


def _from_the_shop(
    message: Mapping[str, Any], chat_id: int, scope: Scope, roots: ThreadRoots
) -> bool:
    """Posted as the group itself (an anonymous admin) or as the shop's channel."""
    sender_chat = message.get("sender_chat")
    if not isinstance(sender_chat, dict):
        return False
    sender_id = sender_chat.get("id")
    if not _is_int(sender_id):
        return False  # not a chat we could compare (a list would not even hash)
    if sender_id == chat_id or sender_id in roots.channel_ids:
        return True
    if isinstance(scope.channel, int):
        return sender_id == scope.channel
    username = sender_chat.get("username")
    return (
        scope.channel is not None
        and isinstance(username, str)
        and username.lower() == scope.channel
    )


def _mentions_shop(message: Mapping[str, Any], bot: BotIdentity | None, scope: Scope) -> bool:
    names = [name.lower() for name in (bot.username if bot else None,) if name]
    if isinstance(scope.channel, str):
        names.append(scope.channel)
    replied = message.get("reply_to_message")
    if bot is not None and isinstance(replied, dict):
        replied_from = replied.get("from")
        if isinstance(replied_from, dict) and replied_from.get("id") == bot.id:
            return True
    for entities_key in ("entities", "caption_entities"):
        entities = message.get(entities_key)
        if not isinstance(entities, list):
            continue
        for entity in entities:
            if not isinstance(entity, dict) or entity.get("type") != "text_mention":
                continue
            user = entity.get("user")
            if bot is not None and isinstance(user, dict) and user.get("id") == bot.id:
                return True
    if not names:
        return False
    # Matching the text also covers @mentions and /command@bot without trusting entity
    # offsets (which count UTF-16 code units).
    text = " ".join(
        value for key in ("text", "caption") if isinstance(value := message.get(key), str)
    )
    names_re = "|".join(re.escape(name) for name in names)
    # "@name" not inside a word or an e-mail address, or "/command@name".
    pattern = rf"(?:(?<![\w@])@|(?<!\S)/\w+@)(?:{names_re})(?!\w)"
    return re.search(pattern, text, re.IGNORECASE) is not None


# -- fields --------------------------------------------------------------------------------


def _author(message: Mapping[str, Any], chat: Mapping[str, Any]) -> Author:
    sender = message.get("from")
    sender_chat = message.get("sender_chat")
    if isinstance(sender_chat, dict) and _is_int(sender_chat.get("id")):
        # Someone commenting as their own channel: that channel is the author.
        title = sender_chat.get("title")
        return _make_author(sender_chat.get("id"), title, None, sender_chat.get("username"))
    if isinstance(sender, dict) and _is_int(sender.get("id")):
        return _make_author(
            sender.get("id"),
            sender.get("first_name"),
            sender.get("last_name"),
            sender.get("username"),
        )
    if chat.get("type") == "private":
        return _make_author(
            chat.get("id"), chat.get("first_name"), chat.get("last_name"), chat.get("username")
        )
    raise UpdateError("message has no sender")


def _make_author(author_id: object, first: object, last: object, username: object) -> Author:
    handle = (
        _valid_unicode(username.lstrip("@"))
        if isinstance(username, str) and username.strip("@ ")
        else None
    )
    parts = [part.strip() for part in (first, last) if isinstance(part, str) and part.strip()]
    name = " ".join(parts) or (f"@{handle}" if handle else str(author_id))
    return Author(id=str(author_id), name=_valid_unicode(name), handle=handle)


def _url(chat: Mapping[str, Any], message_id: int, root: RootPost | None) -> str | None:
    # A comment link opens the post with its comments, which is what the operator wants.
    if (
        root is not None
        and root.channel_username
        and _USERNAME.fullmatch(root.channel_username)
        and root.post_id is not None
    ):
        return f"https://t.me/{root.channel_username}/{root.post_id}?comment={message_id}"
    username = chat.get("username")
    # A private chat's username is the customer's: messages there have no public link.
    if chat.get("type") == "private":
        return None
    if isinstance(username, str) and _USERNAME.fullmatch(username):
        return f"https://t.me/{username}/{message_id}"
    return None


def _reply_context(message: Mapping[str, Any]) -> str | None:
    """What a DM or mention answers, when it is a reply: the operator needs it to follow."""
    replied = message.get("reply_to_message")
    return message_text(replied) if isinstance(replied, dict) else None


def _timestamp(value: int) -> datetime:
    try:
        moment = datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        moment = None
    if moment is None or not _EARLIEST <= moment < _LATEST:
        raise UpdateError(f"date {value} is out of range")
    return moment


def _object(parent: Mapping[str, Any], key: str, *, required: bool = False) -> dict[str, Any]:
    value = parent.get(key)
    if isinstance(value, dict):
        return value
    if value is None and not required:
        return {}
    raise UpdateError(f"{key} missing or not an object")


def _int(parent: Mapping[str, Any], key: str, label: str | None = None) -> int:
    value = parent.get(key)
    if not _is_int(value):
        raise UpdateError(f"{label or key} missing or not an integer")
    return value


def _is_int(value: object) -> TypeGuard[int]:
    # bool is an int subclass, and `true` is no one's id.
    return isinstance(value, int) and not isinstance(value, bool)


def _valid_unicode(value: str) -> str:
    """JSON can spell lone surrogates; UTF-8 (the store, the terminal) cannot."""
    return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
