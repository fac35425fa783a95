"""Feeds: one module per network behind `feeds.base.Feed`. Importing this package registers them."""

from feeds import demo, jsonl, telegram, vk, x
from feeds.base import create_feed, feed_options, feed_types

__all__ = ["create_feed", "demo", "feed_options", "feed_types", "jsonl", "telegram", "vk", "x"]
