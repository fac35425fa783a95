"""The one error a broken config produces: where it is, what is wrong, and how to fix it."""

from __future__ import annotations

from pathlib import Path

from triage.errors import SocialtuiError

__all__ = ["ConfigError", "SocialtuiError"]


class ConfigError(SocialtuiError):
    """A config problem, pinned to a file, a key path ("sla.warn_after") and a line.

    `str(err)` is what the operator reads, e.g.
    `shop.toml:12: sla.warn_after: "15x" is not a duration. Use forms like "45s", "15m".`
    """

    def __init__(
        self,
        file: Path | str | None,
        key_path: str | None,
        line: int | None,
        message: str,
        hint: str = "",
    ) -> None:
        super().__init__(file, key_path, line, message, hint)
        self.file = Path(file) if file is not None else None
        self.key_path = key_path or ""
        self.line = line
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        # The path as the operator gave it, like a compiler: they know where they put it.
        where = ""
        if self.file is not None:
            where = str(self.file) if self.line is None else f"{self.file}:{self.line}"
        prefix = ": ".join(part for part in (where, self.key_path) if part)
        text = f"{prefix}: {self.message}" if prefix else self.message
        if self.hint:
            separator = " " if text.endswith((".", "!", "?")) else "; "
            text = f"{text}{separator}{self.hint}"
        return _visible(text)


def _visible(text: str) -> str:
    """One line with every invisible character spelled out (\\u001b, \\n): the message quotes
    keys and values from the file, and an operator can only fix what they can see. Also keeps an
    ESC in a quoted value from acting on the terminal the error is printed to."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(character: str) -> str:
    code = ord(character)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
