"""Garbage collection on the operator's time, not in the middle of a keypress.

A full collection with tens of thousands of mentions in memory takes 40-100 ms; left to
CPython it lands on a random keypress. So the automatic full collection is pushed far out,
and the app runs it (then freezes the survivors) when nobody has pressed a key for a while.
"""

from __future__ import annotations

import gc
import time

# Young generations still collect as usual: they are cheap and catch most garbage.
_YOUNG_THRESHOLDS = (5000, 20)
_OLD_THRESHOLD = 1_000_000


class IdleCollector:
    def __init__(self, idle_after: float = 2.0, at_most_every: float = 30.0) -> None:
        self.idle_after = idle_after
        self.at_most_every = at_most_every
        self._last_input = time.monotonic()
        self._last_collect = time.monotonic()
        self._saved: tuple[int, int, int] | None = None

    def start(self) -> None:
        self._saved = gc.get_threshold()
        gc.set_threshold(*_YOUNG_THRESHOLDS, _OLD_THRESHOLD)
        gc.collect()
        gc.freeze()

    def stop(self) -> None:
        gc.unfreeze()
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def touched(self) -> None:
        """The operator pressed a key."""
        self._last_input = time.monotonic()

    def maybe_collect(self) -> bool:
        now = time.monotonic()
        idle = now - self._last_input >= self.idle_after
        if not idle or now - self._last_collect < self.at_most_every:
            return False
        gc.collect()
        # What survived a full collection is long-lived (mostly mentions): keep it out of
        # every later collection.
        gc.freeze()
        self._last_collect = time.monotonic()
        return True
