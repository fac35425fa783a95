"""Typed access to the parsed TOML that turns every mistake into a pinned ConfigError."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from datetime import date, datetime, time
from pathlib import Path
from string import Formatter
from typing import Any

from config._lines import KeyPath, LineIndex, render_path
from config.errors import ConfigError

TOP_LEVEL_KEYS = (
    "shop",
    "storage",
    "sla",
    "sentiment",
    "ui",
    "feeds",
    "teams",
    "templates",
    "tags",
)
# {contact} is the redirect team's contact line; triage.board fills it alongside the other three.
PLACEHOLDERS = ("name", "shop", "team", "contact")
# C0 and C1 controls and DEL, but tab and newline (multi-line templates): TOML's \u001b puts an
# ESC in a shop name, a feed name or a template, and `socialtui check` prints feed names as they
# are, so a control character is a config error, not something to carry to a terminal.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def did_you_mean(word: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close and len(word) >= 3:
        # difflib misses truncations ("warn" for "warn_after"), a common way to misremember.
        close = [c for c in choices if c.startswith(word) or word.startswith(c)][:1]
    return f'Did you mean "{close[0]}"? ' if close else ""


def describe(value: object, *, reveal: bool = True) -> str:
    """How a TOML value reads to a person: 'a number (15)', 'text', 'true/false'."""
    if isinstance(value, bool):
        kind = "true/false"
    elif isinstance(value, int | float):
        kind = "a number"
    elif isinstance(value, str):
        kind = "text"
    elif isinstance(value, list):
        return "a list"
    elif isinstance(value, dict):
        return "a table"
    elif isinstance(value, datetime | date | time):
        kind = "a date/time"
    else:
        return type(value).__name__
    if not reveal:
        return kind
    shown = repr(value).lower() if isinstance(value, bool) else repr(value)
    if isinstance(value, str):
        shown = f'"{value}"'
    return f"{kind} ({shown})" if len(shown) <= 40 else kind


def placeholder_problem(text: str) -> tuple[str, str] | None:
    """(message, hint) if `text` uses an unknown placeholder or bad braces; None if fine."""
    known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in Formatter().parse(text)]
    except ValueError:
        return (
            "has an unmatched { or }.",
            f"Placeholders are {known}; write {{{{ or }}}} for a literal brace.",
        )
    for name, spec, conv in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            return (
                f'uses the unknown placeholder "{{{name}}}".',
                f"{did_you_mean(name, PLACEHOLDERS)}Placeholders are {known}.",
            )
        if spec or conv:
            return (f'placeholder "{{{name}}}" cannot have formatting.', f"Write just {{{name}}}.")
    return None


class Reader:
    """Knows the file and its line index, so callers only say which key path went wrong."""

    def __init__(self, file: Path, index: LineIndex, base_dir: Path) -> None:
        self.file = file
        self.index = index
        self.base_dir = base_dir

    def error(
        self, path: KeyPath, message: str, hint: str = "", *, line: int | None = None
    ) -> ConfigError:
        where = line if line is not None else self.index.line_of(path)
        return ConfigError(self.file, render_path(path), where, message, hint)

    def table(self, parent: Mapping[str, Any], key: str, path: KeyPath) -> dict[str, Any]:
        value = parent.get(key, {})
        if not isinstance(value, dict):
            raise self.error(
                path, f"expected a table, got {describe(value)}.", f"Write it as [{key}]."
            )
        return value

    def check_keys(self, table: Mapping[str, Any], allowed: Collection[str], path: KeyPath) -> None:
        where = f"[{render_path(path)}]" if path else "The top level"
        for key in table:
            if key in allowed:
                continue
            hint = did_you_mean(key, allowed)
            if path and key in TOP_LEVEL_KEYS:
                # TOML puts every key after a [header] into that table; a late `tags = [...]`
                # lands in the last table, which surprises everyone once.
                hint = f'"{key}" belongs at the top level: move it above the first [table] header. '
            raise self.error(
                (*path, key),
                f'unknown key "{key}".',
                f"{hint}{where} accepts: {', '.join(allowed)}.",
            )

    def text(
        self, table: Mapping[str, Any], key: str, path: KeyPath, default: str | None = None
    ) -> str:
        """A non-empty string; `default` None makes the key required."""
        here = (*path, key)
        if key not in table:
            if default is None:
                # Pinned to the table: the missing key has no line of its own.
                raise self.error(path, f'missing "{key}".', f'Add {key} = "...".')
            return default
        value = table[key]
        if not isinstance(value, str):
            raise self.error(
                here, f"expected text, got {describe(value)}.", f'Put it in quotes: {key} = "...".'
            )
        if not value.strip():
            raise self.error(here, "must not be empty.")
        self.check_controls(value, here)
        return value

    def check_controls(self, value: str, path: KeyPath) -> None:
        control = _CONTROL.search(value)
        if control is not None:
            raise self.error(
                path,
                f"contains the control character U+{ord(control.group()):04X}, "
                "which a terminal would act on.",
                "Remove it: write the text as it should read.",
            )

    def optional_text(self, table: Mapping[str, Any], key: str, path: KeyPath) -> str:
        """A string that may be empty or missing (contact details, team replies)."""
        if key not in table:
            return ""
        return self.text(table, key, path) if table[key] != "" else ""

    def boolean(self, table: Mapping[str, Any], key: str, path: KeyPath, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.error(
                (*path, key),
                f"expected true or false, got {describe(value)}.",
                f"Write {key} = true or {key} = false, without quotes.",
            )
        return value

    def number(self, table: Mapping[str, Any], key: str, path: KeyPath, default: float) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(
                (*path, key),
                f"expected a number, got {describe(value)}.",
                f"Write a number without quotes, e.g. {key} = {default}.",
            )
        return float(value)

    def resolve_path(self, text: str) -> Path:
        """Relative paths in a config mean "next to the config file", not the current folder."""
        path = Path(text).expanduser()
        return path if path.is_absolute() else self.base_dir / path
