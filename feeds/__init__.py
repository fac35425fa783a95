"""Feeds: one module per network behind `feeds.base.Feed`. Importing this package registers them."""
