"""From a feed's FetchResult to classified, deduplicated, stored mentions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from feeds.base import FetchResult
from triage.model import Mention, Sentiment
from triage.store import Store


class Classifier(Protocol):
    def classify(self, texts: Sequence[str]) -> list[Sentiment]: ...


class Ingestor:
    def __init__(
        self,
        store: Store,
        classifier: Classifier,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.classifier = classifier
        self.clock = clock or (lambda: datetime.now(UTC))

    def ingest(self, feed_name: str, result: FetchResult) -> list[Mention]:
        """Classify and store a batch; the cursor moves in the same transaction as the items."""
        items = result.items
        if not items and result.cursor is None:
            return []
        sentiments = self.classifier.classify([item.text for item in items]) if items else []
        return self.store.ingest(
            feed_name, list(zip(items, sentiments, strict=True)), result.cursor, self.clock()
        )
