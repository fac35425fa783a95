"""Sends queued replies through their feeds: at most once, and never silently dropped.

A reply is claimed (state `sending`, committed) before the network call and marked `sent`
after it. If the process dies in between, `recover` turns it into `unknown` so the operator
checks by hand instead of the customer getting the same answer twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from feeds.base import Feed, FeedError
from triage.model import Mention, OutboxEntry
from triage.store import Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff, capped at ten minutes."""
    return timedelta(seconds=min(600, 5 * 2 ** max(0, attempts - 1)))


class OutboxSender:
    def __init__(
        self,
        store: Store,
        feeds: Mapping[str, Feed],
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.feeds = feeds
        self.clock = clock or (lambda: datetime.now(UTC))
        # Outcomes the network gave but the store could not save yet (disk full, locked):
        # entry id -> finish_reply arguments. Saved before anything else is sent,
        # so a reply that went out is recorded `sent` once the store takes writes again,
        # instead of sitting in `sending` until a restart turns it `unknown`.
        self._unrecorded: dict[int, dict[str, Any]] = {}
        self._touched: list[int] = []  # mentions whose delivery changed, not yet returned

    def recover(self) -> list[int]:
        """Mark replies interrupted by a crash as `unknown`; returns their mention ids."""
        return [entry.mention_id for entry in self.store.recover_sending()]

    def send_pending(self, limit: int = 20) -> list[int]:
        """Send due replies; returns the ids of mentions whose delivery state changed."""
        self._save_outcomes()
        for _ in range(limit):
            claimed = self.store.claim_reply(self.clock())
            if claimed is None:
                break
            entry, mention = claimed
            self._touched.append(mention.id)
            self._send(entry, self.feeds.get(mention.feed), mention)
        # Kept across a store error, so the UI still hears of every change once one succeeds.
        changed, self._touched = list(dict.fromkeys(self._touched)), []
        return changed

    def _send(self, entry: OutboxEntry, feed: Feed | None, mention: Mention) -> None:
        if feed is None:
            self._fail(entry, f"feed {mention.feed!r} is not configured any more", retry=False)
            return
        try:
            result = feed.reply(mention, entry.text, f"socialtui-{entry.id}")
        except FeedError as exc:
            self._fail(entry, str(exc), retry=exc.retryable)
            return
        except Exception as exc:  # a feed bug must not kill the sender or resend blindly
            log.exception("reply %s failed in feed %s", entry.id, feed.name)
            self._fail(entry, f"{type(exc).__name__}: {exc}", retry=False)
            return
        if result.refused:
            self._fail(entry, result.refused, retry=False)
            return
        self._finish(
            entry,
            sent_at=self.clock(),
            native_reply_id=result.native_reply_id,
            error=None,
            retry_at=None,
        )

    def _fail(self, entry: OutboxEntry, error: str, *, retry: bool) -> None:
        retry_at = None
        if retry and entry.attempts < MAX_ATTEMPTS:
            retry_at = self.clock() + retry_delay(entry.attempts)
        self._finish(entry, sent_at=None, native_reply_id=None, error=error, retry_at=retry_at)

    def _finish(self, entry: OutboxEntry, **outcome: Any) -> None:
        self._unrecorded[entry.id] = outcome
        self._save_outcomes()

    def _save_outcomes(self) -> None:
        """Save the outcomes still held; raises (keeping the rest) if the store still fails."""
        for entry_id, outcome in list(self._unrecorded.items()):
            self.store.finish_reply(entry_id, **outcome)
            del self._unrecorded[entry_id]
