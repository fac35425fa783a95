"""`?`: every key the board answers to, generated from the same table as the footer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.keymap import BOARD_KEYS, Key, describe_key
from tui.strings import Strings

COMPOSER_KEYS: Sequence[tuple[str, str]] = (
    ("ctrl+s", "help.key.send"),
    ("ctrl+t", "help.key.template"),
    ("esc", "help.key.cancel"),
)


# How the other keys of a binding look on a keyboard; "up" next to "↑/k" says nothing new.
KEY_NAMES: dict[str, str] = {
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "home": "Home",
    "end": "End",
    "pagedown": "PgDn",
    "pageup": "PgUp",
}


def help_content(strings: Strings, keys: Sequence[Key] = BOARD_KEYS) -> Content:
    width = max(len(describe_key(key)) for key in keys) + 3
    parts: list[str | tuple[str, str]] = [(strings.get("help.board") + "\n", "bold $accent")]
    for key in keys:
        shown = describe_key(key)
        names = (KEY_NAMES.get(k, k) for k in key.keys.split(",")[1:])
        others = [name for name in names if name not in shown]
        parts += [(shown.ljust(width), "bold"), strings.get(key.string)]
        if others:
            parts.append((f"  ({', '.join(others)})", "$text-muted"))
        parts.append("\n")
    parts += [("ctrl+p".ljust(width), "bold"), strings.get("help.key.palette"), "\n"]
    parts += ["\n", (strings.get("help.composer") + "\n", "bold $accent")]
    for key_name, string in COMPOSER_KEYS:
        parts += [(key_name.ljust(width), "bold"), strings.get(string), "\n"]
    parts += ["\n", (strings.get("help.close"), "$text-muted")]
    return Content.assemble(*parts)


class HelpScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close", show=False),
    ]

    def __init__(self, strings: Strings) -> None:
        super().__init__()
        self.strings = strings

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = self.strings.get("help.title")
            # In the frame, not only at the end: at 24 rows the end is below the fold.
            box.border_subtitle = self.strings.get("help.close")
            yield Static(help_content(self.strings), id="help-body")

    def action_close(self) -> None:
        self.dismiss(None)
