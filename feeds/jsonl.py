"""A feed that follows a JSONL file another tool appends to, like `tail -F`.

One JSON object per line: {"id", "text"} required; optional "network", "kind" (dm, comment,
mention), "author" {id, name, handle, followers, city}, "created_at" (ISO 8601, naive = UTC,
years 2000..2099), "url", "context". The cursor is the byte offset after the last complete
line consumed, so a restart neither repeats nor loses a line. Replies are "sent" by appending
to a replies file (`<path>.replies.jsonl` unless configured), once per reply key.

Bad lines are counted and skipped, never raised: the file is written by someone else.
"""

from __future__ import annotations

import errno
import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from feeds.base import (
    Feed,
    FeedError,
    FeedState,
    FeedStatus,
    FetchResult,
    OptionSpec,
    ReplyResult,
    register,
)
from triage.model import Author, IncomingItem, Kind, Mention

__all__ = ["MAX_LINE_BYTES", "JsonlFeed", "RecordError", "parse_record"]

# Longer lines are skipped as malformed without ever being held in memory whole.
MAX_LINE_BYTES = 8 * 1024 * 1024
MAX_ID_CHARS = 256
# The store keeps counts as SQLite INTEGERs (signed 64-bit).
MAX_FOLLOWERS = 2**63 - 1
# created_at outside this range is garbage, and the board could not show it in every time zone
# (year 9999 in UTC is year 10000 in Moscow).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
DEFAULT_NETWORK = "jsonl"
# Bytes read per poll: bounds the work (and the batch) of one fetch on a huge backlog.
_READ_BUDGET = 4 * 1024 * 1024
_POLL_INTERVAL = 0.2
_SURROGATE = re.compile("[\ud800-\udfff]")
# Errors a retry cannot fix; anything else (disk full, I/O) may pass.
_PERMANENT_ERRNOS = frozenset({errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.EROFS})


class RecordError(ValueError):
    """A line is not a valid record. The message says why, for logs and tests."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def parse_record(
    line: bytes | str, *, default_network: str, now: datetime, feed: str = ""
) -> IncomingItem:
    """Parse one JSONL line into an IncomingItem, or raise RecordError.

    Pure: `now` stands in for a missing created_at. Text is kept whole and raw (sanitising is
    the display's job) except that lone surrogates become U+FFFD: JSON can spell them but they
    are not encodable as UTF-8, so the store could not save them.
    """
    if len(line) > MAX_LINE_BYTES:
        raise RecordError("line longer than 8 MB")
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecordError(f"invalid UTF-8 at byte {exc.start}") from None
    line = line.lstrip("\ufeff")
    if not line.strip():
        raise RecordError("empty line")
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise RecordError(f"invalid JSON: {exc}"[:200]) from None
    if not isinstance(record, dict):
        raise RecordError("not a JSON object")

    native_id = _identifier(record.get("id"), "id")
    if native_id is None:
        raise RecordError("missing id")
    text = record.get("text")
    if not isinstance(text, str):
        raise RecordError("missing text" if text is None else "text must be a string")
    if not text.strip():
        raise RecordError("empty text")
    return IncomingItem(
        network=_optional_str(record, "network") or default_network,
        native_id=native_id,
        kind=_kind(record.get("kind")),
        author=_author(record.get("author")),
        text=_valid_unicode(text),
        created_at=_timestamp(record.get("created_at"), now),
        url=_optional_str(record, "url"),
        context=_optional_str(record, "context"),
        feed=feed,
    )


def _valid_unicode(value: str) -> str:
    return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value


def _identifier(value: object, field: str, *, optional: bool = False) -> str | None:
    if value is None:
        return None
    # bool is an int subclass, and `true` is no one's id.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise RecordError(f"{field} must be a string or an integer")
    if not value.strip():
        if optional:
            return None
        raise RecordError(f"empty {field}")
    if len(value) > MAX_ID_CHARS:
        raise RecordError(f"{field} longer than {MAX_ID_CHARS} characters")
    return _valid_unicode(value)


def _optional_str(record: Mapping[str, object], key: str) -> str | None:
    """A string field where null and "" both mean absent."""
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"{key} must be a string")
    return _valid_unicode(value) if value.strip() else None


def _kind(value: object) -> Kind:
    if value is None:
        return Kind.MENTION
    if isinstance(value, str):
        try:
            return Kind(value.strip().lower())
        except ValueError:
            pass
    raise RecordError(f"kind must be one of {', '.join(Kind)}")


def _author(value: object) -> Author:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise RecordError("author must be an object")
    author_id = _identifier(value.get("id"), "author.id", optional=True)
    name = _optional_str(value, "name")
    handle = _optional_str(value, "handle")
    if handle is not None:
        handle = handle.lstrip("@") or None
    followers = value.get("followers")
    if followers is not None and (
        not isinstance(followers, int)
        or isinstance(followers, bool)
        or not 0 <= followers <= MAX_FOLLOWERS
    ):
        raise RecordError("author.followers must be a non-negative 64-bit integer")
    fallback = author_id or handle or name or "unknown"
    return Author(
        id=fallback,
        name=name or handle or fallback,
        handle=handle,
        followers=followers,
        city=_optional_str(value, "city"),
    )


def _timestamp(value: object, now: datetime) -> datetime:
    if value is None:
        return now
    if not isinstance(value, str):
        raise RecordError("created_at must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value.strip())
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise RecordError(f"bad created_at {value[:40]!r}") from None
    if not EARLIEST <= parsed < LATEST:
        raise RecordError(f"created_at {value[:40]!r} is out of range (2000..2099)")
    return parsed


class JsonlFeed:
    """Follows one JSONL file. `fetch` runs on one worker thread; `close` may come from another."""

    type_name: ClassVar[str] = "jsonl"

    def __init__(
        self,
        name: str,
        path: str | os.PathLike[str],
        *,
        replies_path: str | os.PathLike[str] | None = None,
        network: str | None = None,
        now: Callable[[], datetime] = _utc_now,
        poll_interval: float = _POLL_INTERVAL,
    ) -> None:
        self.name = name
        self.path = Path(path).expanduser()
        self.replies_path = (
            Path(replies_path).expanduser()
            if replies_path
            else self.path.with_name(self.path.name + ".replies.jsonl")
        )
        self.network = network or DEFAULT_NETWORK
        self._now = now
        self._poll_interval = poll_interval
        self._lock = threading.Lock()
        self._file: BinaryIO | None = None
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the open file
        self._resume_offset: int | None = None  # the stored cursor, honoured on the first open
        self._offset = 0  # start of the first line not yet consumed: the cursor
        self._read_pos = 0  # end of what has been read; pending bytes lie between the two
        self._pending = bytearray()
        self._discarding = False  # inside a line longer than MAX_LINE_BYTES
        self._reported: str | None = None
        self._skipped = 0
        self._status = FeedStatus(FeedState.CONNECTING, "not started")
        self._reply_lock = threading.Lock()

    # -- Feed protocol ---------------------------------------------------------------------

    def start(self, cursor: str | None) -> None:
        offset = 0
        if cursor is not None:
            try:
                offset = max(int(cursor), 0)
            except ValueError:
                # A mangled cursor costs a re-read of the file, which dedupe absorbs.
                offset = 0
        with self._lock:
            self._close_file()
            self._resume_offset = offset
            # No stored cursor is as good as "0"; a mangled one must be overwritten.
            self._reported = "0" if cursor is None else cursor
            self._status = FeedStatus(FeedState.CONNECTING, f"opening {self.path}")
            self._open()

    def fetch(self, timeout: float) -> FetchResult:
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            with self._lock:
                if self._status.state is FeedState.STOPPED:
                    return FetchResult()
                try:
                    items, skipped, more = self._poll()
                except OSError as exc:  # an I/O error on a share that went away, say
                    self._lost(exc)
                    items, skipped, more = [], 0, False
                timed_out = time.monotonic() >= deadline
                # None until the stored offset has been applied to a file we could open.
                cursor = str(self._offset) if self._resume_offset is None else None
                changed = cursor is not None and cursor != self._reported
                # A bare cursor move (rewind after rotation) waits for the data behind it.
                if items or skipped or (changed and (timed_out or not more)):
                    if changed:
                        self._reported = cursor
                    return FetchResult(items, cursor if changed else None, skipped)
            if timed_out:
                return FetchResult()
            if not more:
                time.sleep(min(self._poll_interval, max(deadline - time.monotonic(), 0.0)))

    def reply(self, mention: Mention, text: str, reply_key: str) -> ReplyResult:
        with self._reply_lock:
            try:
                if not self._already_sent(reply_key):
                    self._append_reply(mention, text, reply_key)
            except OSError as exc:
                raise FeedError(
                    f"cannot write replies to {self.replies_path}: {exc.strerror or exc}",
                    retryable=exc.errno not in _PERMANENT_ERRNOS,
                ) from exc
        return ReplyResult(native_reply_id=reply_key)

    def describe(self) -> FeedStatus:
        status = self._status
        return FeedStatus(status.state, status.detail, status.retry_at, self._skipped)

    def close(self) -> None:
        with self._lock:
            self._close_file()
            self._status = FeedStatus(FeedState.STOPPED, "closed")

    # -- following -------------------------------------------------------------------------

    def _open(self) -> bool:
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            self._status = FeedStatus(FeedState.OFFLINE, f"waiting for {self.path}")
            return False
        except OSError as exc:
            self._status = FeedStatus(FeedState.ERROR, f"cannot read {self.path}: {exc.strerror}")
            return False
        stat = os.fstat(handle.fileno())
        offset = self._resume_offset or 0
        # The stored offset belongs to the file we followed last; a smaller file is a new one.
        self._resume_offset = None
        self._file = handle
        self._identity = (stat.st_dev, stat.st_ino)
        self._rewind(offset if offset <= stat.st_size else 0)
        self._status = FeedStatus(FeedState.LIVE, f"following {self.path}")
        return True

    def _lost(self, exc: OSError) -> None:
        """Drop the file after an I/O error; the next poll reopens it where we stopped."""
        self._close_file()
        self._resume_offset = self._offset
        self._status = FeedStatus(FeedState.ERROR, f"cannot read {self.path}: {exc.strerror}")

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = None
        self._identity = None

    def _rewind(self, offset: int) -> None:
        self._offset = self._read_pos = offset
        self._pending.clear()
        self._discarding = False

    def _poll(self) -> tuple[list[IncomingItem], int, bool]:
        """Read what is new. Returns (items, skipped, whether more data is waiting)."""
        if self._file is None and not self._open():
            return [], 0, False
        assert self._file is not None
        size = os.fstat(self._file.fileno()).st_size
        if size < self._read_pos:  # truncated in place (copytruncate, or `> file`)
            self._rewind(0)
        self._file.seek(self._read_pos)
        data = self._file.read(_READ_BUDGET)
        self._read_pos += len(data)
        items, skipped = self._consume(data) if data else ([], 0)
        more = len(data) == _READ_BUDGET
        if not data and self._replaced():
            # The old file is drained: what is left unterminated will never be completed.
            if self._pending.strip() or self._discarding:
                skipped += 1
            self._close_file()
            self._rewind(0)
            self._status = FeedStatus(FeedState.OFFLINE, f"waiting for {self.path}")
            more = self._open()
        self._skipped += skipped
        return items, skipped, more

    def _replaced(self) -> bool:
        """Whether the path now names another file, or none (rotated or deleted)."""
        try:
            stat = self.path.stat()
        except OSError:
            return True
        return (stat.st_dev, stat.st_ino) != self._identity

    def _consume(self, data: bytes) -> tuple[list[IncomingItem], int]:
        items: list[IncomingItem] = []
        skipped = 0
        parse = partial(parse_record, default_network=self.network, now=self._now(), feed=self.name)
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            line_end = self._read_pos - len(data) + end + 1
            if self._discarding:
                self._discarding = False
                skipped += 1
            else:
                self._pending += data[start:end]
                line = bytes(self._pending)
                self._pending.clear()
                if line.strip():
                    try:
                        items.append(parse(line))
                    except RecordError:
                        skipped += 1
            self._offset = line_end
            start = end + 1
        if not self._discarding:
            self._pending += data[start:]
            if len(self._pending) > MAX_LINE_BYTES:
                self._pending.clear()
                self._discarding = True
        return items, skipped

    # -- replies ---------------------------------------------------------------------------

    def _already_sent(self, reply_key: str) -> bool:
        """Whether the replies file holds `reply_key`, from this run or an earlier one.

        Read whole each time: replies are few, and the file is the only record that survives a
        crash between writing and the outbox recording "sent".
        """
        try:
            data = self.replies_path.read_bytes()
        except FileNotFoundError:
            return False
        for line in data.splitlines():
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                continue  # a line torn by a crash
            if isinstance(record, dict) and record.get("reply_key") == reply_key:
                return True
        return False

    def _append_reply(self, mention: Mention, text: str, reply_key: str) -> None:
        record = {
            "reply_key": reply_key,
            "in_reply_to": mention.native_id,
            "network": mention.network,
            "text": text,
            "at": self._now().isoformat(),
        }
        # Lone surrogates (pasted text can carry them) can only sit inside JSON strings, where
        # backslashreplace turns them into \uXXXX escapes: the line stays UTF-8 and valid JSON.
        line = json.dumps(record, ensure_ascii=False).encode("utf-8", "backslashreplace")
        line += b"\n"
        with self.replies_path.open("a+b") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size:
                # A line cut short by a crash must not swallow ours.
                handle.seek(size - 1)
                if handle.read(1) != b"\n":
                    line = b"\n" + line
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())


@register(
    "jsonl",
    {
        "path": OptionSpec(str, required=True, help="the JSONL file to follow"),
        "replies_path": OptionSpec(
            str, help="where replies are appended; default <path>.replies.jsonl"
        ),
        "network": OptionSpec(str, help='network for records without one; default "jsonl"'),
    },
)
def create_jsonl_feed(name: str, options: Mapping[str, Any]) -> Feed:
    if not options.get("path"):
        raise FeedError(f"feed {name!r}: jsonl needs a path", retryable=False)
    replies_path, network = options.get("replies_path"), options.get("network")
    return JsonlFeed(name, str(options["path"]), replies_path=replies_path, network=network)
