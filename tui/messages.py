"""Messages the worker threads post to the UI. `post_message` is thread-safe, so each batch is
one message and the UI thread does all Board work."""

from __future__ import annotations

from collections.abc import Sequence

from textual.message import Message

from feeds.base import FeedStatus
from triage.model import Mention


class ItemsArrived(Message):
    """New mentions a feed worker stored; the board absorbs them on the UI thread."""

    def __init__(self, feed: str, mentions: Sequence[Mention]) -> None:
        super().__init__()
        self.feed = feed
        self.mentions = list(mentions)


class FeedStatusChanged(Message):
    def __init__(self, feed: str, status: FeedStatus) -> None:
        super().__init__()
        self.feed = feed
        self.status = status


class DeliveryChanged(Message):
    """The outbox changed these mentions' delivery state in the store."""

    def __init__(self, mention_ids: Sequence[int]) -> None:
        super().__init__()
        self.mention_ids = list(mention_ids)


class WorkerFailed(Message):
    """A worker hit an error the operator should see (it keeps retrying on its own)."""

    def __init__(self, source: str, error: str) -> None:
        super().__init__()
        self.source = source
        self.error = error
