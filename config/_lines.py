"""Line numbers for TOML keys, which tomllib does not report.

We re-read the (already valid) source with a small scanner that understands strings, comments
and multi-line values, so that a `[` inside a template text or a multi-line list is never taken
for a table header. Paths use the loader's shape: ("feeds", 0, "path") is the first [[feeds]].
"""

from __future__ import annotations

import json
import re

KeyPath = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def render_path(path: KeyPath) -> str:
    """("feeds", 0, "token_env") -> "feeds[1].token_env" (1-based, as people count tables)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part + 1}]"
            continue
        name = part if _BARE_KEY.fullmatch(part) else '"' + part.replace('"', '\\"') + '"'
        out += f".{name}" if out else name
    return out


def _scan(line: str, i: int, open_string: str | None, depth: int) -> tuple[str | None, int]:
    """Advance through a line's value text; return the multi-line string left open, if any,
    and the bracket depth of arrays and inline tables still open at the end of the line."""
    n = len(line)
    while i < n:
        if open_string is not None:
            if open_string == '"""' and line[i] == "\\":
                i += 2
            elif line.startswith(open_string, i):
                i += 3
                # Up to two more quotes right before the closing ones belong to the content.
                while i < n and line[i] == open_string[0]:
                    i += 1
                open_string = None
            else:
                i += 1
            continue
        char = line[i]
        if char == "#":
            break
        if line.startswith('"""', i) or line.startswith("'''", i):
            open_string = line[i : i + 3]
            i += 3
        elif char == '"':
            i += 1
            while i < n and line[i] != '"':
                i += 2 if line[i] == "\\" else 1
            i += 1
        elif char == "'":
            end = line.find("'", i + 1)
            i = n if end < 0 else end + 1
        else:
            if char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
            i += 1
    return open_string, depth


def _parse_key(text: str, i: int) -> tuple[list[str], int] | None:
    """Parse a possibly dotted, possibly quoted key at `text[i:]`; return its parts and end."""
    parts: list[str] = []
    n = len(text)
    while True:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            return None
        if text[i] == '"':
            end = i + 1
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            try:
                # TOML's basic-string escapes are JSON's, bar the rare \U and \e.
                parts.append(str(json.loads(text[i : end + 1])))
            except ValueError:
                parts.append(text[i + 1 : end])
            i = end + 1
        elif text[i] == "'":
            end = text.find("'", i + 1)
            if end < 0:
                return None
            parts.append(text[i + 1 : end])
            i = end + 1
        else:
            match = _BARE_KEY.match(text, i)
            if match is None:
                return None
            parts.append(match.group())
            i = match.end()
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == ".":
            i += 1
            continue
        return parts, i


class LineIndex:
    """Where each table header and each `key =` line is, by loader key path (1-based lines)."""

    def __init__(self, source: str) -> None:
        self.tables: dict[KeyPath, int] = {}
        self.keys: dict[KeyPath, tuple[int, int]] = {}
        # Split on \n only, as tomllib counts lines; splitlines() would also break on U+2028.
        self._lines = [line.rstrip("\r") for line in source.split("\n")]
        self._array_counts: dict[KeyPath, int] = {}
        table: KeyPath = ()
        open_string: str | None = None
        depth = 0
        pending: tuple[KeyPath, int] | None = None
        for number, line in enumerate(self._lines, start=1):
            if open_string is not None or depth > 0:
                open_string, depth = _scan(line, 0, open_string, depth)
            else:
                stripped = line.lstrip()
                start = len(line) - len(stripped)
                if stripped.startswith("["):
                    is_array = stripped.startswith("[[")
                    parsed = _parse_key(line, start + (2 if is_array else 1))
                    if parsed is not None:
                        table = self._resolve(parsed[0], is_array)
                        self.tables.setdefault(table, number)
                    continue
                parsed = _parse_key(line, start)
                if parsed is None or not line[parsed[1] :].startswith("="):
                    continue
                pending = ((*table, *parsed[0]), number)
                open_string, depth = _scan(line, parsed[1] + 1, None, 0)
            if pending is not None and open_string is None and depth <= 0:
                self.keys.setdefault(pending[0], (pending[1], number))
                pending = None
                depth = 0

    def _resolve(self, names: list[str], is_array: bool) -> KeyPath:
        # An array-of-tables name gains its current index, so "[feeds.x]" after the second
        # "[[feeds]]" is ("feeds", 1, "x") and the N-th "[[feeds]]" is ("feeds", N - 1).
        path: list[str | int] = []
        for position, name in enumerate(names):
            path.append(name)
            key = tuple(path)
            if is_array and position == len(names) - 1:
                index = self._array_counts.get(key, 0)
                self._array_counts[key] = index + 1
                path.append(index)
            elif key in self._array_counts:
                path.append(self._array_counts[key] - 1)
        return tuple(path)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of `path`'s key, else of the nearest enclosing key or table header."""
        for size in range(len(path), 0, -1):
            prefix = path[:size]
            if prefix in self.keys:
                return self.keys[prefix][0]
            if prefix in self.tables:
                return self.tables[prefix]
        return None

    def value_line(self, path: KeyPath, needle: str, occurrence: int = 1) -> int | None:
        """The line holding the `occurrence`-th `needle` inside `path`'s value (list items)."""
        span = self.keys.get(path)
        if span is None:
            return self.line_of(path)
        seen = 0
        for number in range(span[0], span[1] + 1):
            seen += self._lines[number - 1].count(needle)
            if seen >= occurrence:
                return number
        return span[0]
