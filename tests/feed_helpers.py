"""Helpers the feed tests share: a stored Mention to reply to, and a port nothing listens on."""

from __future__ import annotations

import socket

from triage.model import Column, IncomingItem, Label, Mention, Sentiment


def mention_for(item: IncomingItem) -> Mention:
    """The item as the board would hand it back to its feed's `reply` (id 1, neutral)."""
    return Mention(
        id=1,
        network=item.network,
        native_id=item.native_id,
        kind=item.kind,
        author=item.author,
        text=item.text,
        created_at=item.created_at,
        received_at=item.created_at,
        sentiment=Sentiment(Label.NEUTRAL, {}),
        column=Column.NEUTRAL,
        route=dict(item.route),
        feed=item.feed,
    )


def closed_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
