"""The wait between retries: doubling from `first` up to `limit`, spread by jitter.

Shared by the feeds that pace their own retries (Telegram) and by the app's worker loops
(tui.workers), which retry a failing feed, store or outbox.
"""

from __future__ import annotations

import random

__all__ = ["MAX_BACKOFF", "Backoff"]

MAX_BACKOFF = 60.0


class Backoff:
    """1 s, 2 s, 4 s … up to a minute; reset after a success.

    `jitter` spreads each wait by ± that fraction, so boards that lost the network together
    do not all retry in the same second when it comes back.
    """

    def __init__(
        self,
        first: float = 1.0,
        limit: float = MAX_BACKOFF,
        *,
        jitter: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.first = first
        self.limit = limit
        self.delay = first
        self.jitter = jitter
        self.rng = rng or random.Random()

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.limit, self.delay * 2)
        if self.jitter:
            delay *= self.rng.uniform(1 - self.jitter, 1 + self.jitter)
        return delay

    def reset(self) -> None:
        self.delay = self.first
