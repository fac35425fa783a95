"""One exception hierarchy: the CLI turns each into one human sentence and an exit code."""

from __future__ import annotations


class SocialtuiError(Exception):
    """Base of every error socialtui reports to a person."""


class StoreError(SocialtuiError):
    """The database could not do what was asked (locked, disk full, corrupt)."""
