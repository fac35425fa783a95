"""The loops the app runs in worker threads: one per feed, and one for the outbox.

Plain classes with a `run()` method and a `post` callback, so they can be tested without a
terminal. Each opens its own store connection (SQLite connections are per thread), waits only
on a `threading.Event` so quitting never waits more than one fetch timeout, and reports every
failure as a message instead of dying: a feed that fails keeps retrying with backoff.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime

from textual.message import Message

from feeds.backoff import Backoff
from feeds.base import Feed, FeedError, FeedState, FeedStatus, FetchResult
from triage.ingest import Classifier, Ingestor
from triage.model import Mention
from triage.outbox import OutboxSender
from triage.store import Store
from tui.messages import DeliveryChanged, FeedStatusChanged, ItemsArrived, WorkerFailed

log = logging.getLogger(__name__)

Post = Callable[[Message], object]
Clock = Callable[[], datetime]

FETCH_TIMEOUT = 0.5
JITTER = 0.2


class FeedLoop:
    def __init__(
        self,
        feed: Feed,
        open_store: Callable[[], Store],
        classifier: Classifier,
        clock: Clock,
        post: Post,
        stop: threading.Event,
        *,
        fetch_timeout: float = FETCH_TIMEOUT,
    ) -> None:
        self.feed = feed
        self.open_store = open_store
        self.classifier = classifier
        self.clock = clock
        self.post = post
        self.stop = stop
        self.fetch_timeout = fetch_timeout
        self.backoff = Backoff(jitter=JITTER)
        self._status: FeedStatus | None = None
        self._last_error = ""

    def run(self) -> None:
        store: Store | None = None
        try:
            store = self.open_store()
            ingestor = Ingestor(store, self.classifier, self.clock)
            if not self._start(store):
                return
            while not self.stop.is_set():
                result = self._fetch()
                if result is not None and (result.items or result.cursor is not None):
                    self._ingest(ingestor, result)
        except Exception as exc:  # a broken feed must not take the board down
            log.exception("feed %s stopped", self.feed.name)
            self._fail(f"{type(exc).__name__}: {exc}")
        finally:
            self._close(store)

    def _start(self, store: Store) -> bool:
        while not self.stop.is_set():
            try:
                cursor = store.get_cursor(self.feed.name)
            except Exception as exc:
                # A locked or failing store: the feed cannot start without knowing where it
                # stopped (from the beginning would re-read, or confirm, what is not stored).
                # Say so and try again, paced like a failing fetch.
                log.warning("feed %s: cannot read its cursor: %s", self.feed.name, exc)
                error = f"{type(exc).__name__}: {exc}"
                self._report(FeedStatus(FeedState.ERROR, f"cannot read the stored cursor: {error}"))
                self._fail(error)
                self.stop.wait(self.backoff.next())
                continue
            try:
                self.feed.start(cursor)
            except FeedError as exc:
                self._report(exc.status)
                self._fail(str(exc))
                if not exc.retryable:
                    return False
                self.stop.wait(self.backoff.next())
                continue
            self._report()
            return True
        return False

    def _fetch(self) -> FetchResult | None:
        try:
            result = self.feed.fetch(timeout=self.fetch_timeout)
        except FeedError as exc:
            self._report(exc.status)
            self._fail(str(exc))
            self.stop.wait(self.backoff.next())
            return None
        self._report()
        return result

    def _ingest(self, ingestor: Ingestor, result: FetchResult) -> None:
        # The feed has moved past these items: keep retrying until they are stored or we quit.
        while not self.stop.is_set():
            try:
                mentions: list[Mention] = ingestor.ingest(self.feed.name, result)
            except Exception as exc:
                log.warning("feed %s: ingest failed: %s", self.feed.name, exc)
                self._fail(f"{type(exc).__name__}: {exc}")
                self.stop.wait(self.backoff.next())
                continue
            self.backoff.reset()
            self._last_error = ""
            if mentions:
                self.post(ItemsArrived(self.feed.name, mentions))
            return

    def _report(self, status: FeedStatus | None = None) -> None:
        try:
            status = status or self.feed.describe()
        except Exception:  # describe() is for display; never let it stop the loop
            return
        if status != self._status:
            self._status = status
            self.post(FeedStatusChanged(self.feed.name, status))

    def _fail(self, error: str) -> None:
        # Report a repeating error once, not on every retry.
        if error != self._last_error:
            self._last_error = error
            self.post(WorkerFailed(self.feed.name, error))

    def _close(self, store: Store | None) -> None:
        try:
            self.feed.close()
        except Exception:
            log.exception("feed %s: close failed", self.feed.name)
        if store is not None:
            store.close()


class OutboxLoop:
    def __init__(
        self,
        open_store: Callable[[], Store],
        feeds: Mapping[str, Feed],
        clock: Clock,
        post: Post,
        stop: threading.Event,
        wake: threading.Event,
        *,
        interval: float = 0.3,
    ) -> None:
        self.open_store = open_store
        self.feeds = feeds
        self.clock = clock
        self.post = post
        self.stop = stop
        self.wake = wake
        self.interval = interval
        self.backoff = Backoff(jitter=JITTER)
        self._last_error = ""

    def run(self) -> None:
        store: Store | None = None
        try:
            store = self.open_store()
            sender = OutboxSender(store, self.feeds, self.clock)
            recovered = False
            while not self.stop.is_set():
                try:
                    # Inside the retry loop: a store that is locked or full at start-up must
                    # not end the outbox for the session. Nothing is sent before it succeeds,
                    # or a reply claimed now could be taken for one a crash interrupted.
                    if not recovered:
                        self._changed(sender.recover())
                        recovered = True
                    self._changed(sender.send_pending())
                except Exception as exc:
                    log.warning("outbox: %s", exc)
                    self._fail(f"{type(exc).__name__}: {exc}")
                    self.stop.wait(self.backoff.next())
                    continue
                self.backoff.reset()
                self._last_error = ""  # the next failure is news again
                self.wake.wait(self.interval)
                self.wake.clear()
        except Exception as exc:
            log.exception("outbox stopped")
            self._fail(f"{type(exc).__name__}: {exc}")
        finally:
            if store is not None:
                store.close()

    def _changed(self, mention_ids: list[int]) -> None:
        if mention_ids:
            self.post(DeliveryChanged(mention_ids))

    def _fail(self, error: str) -> None:
        if error != self._last_error:
            self._last_error = error
            self.post(WorkerFailed("outbox", error))
