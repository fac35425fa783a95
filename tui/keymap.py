"""The board's key bindings, described in the UI language.

One table feeds the footer, the help screen (`?`) and the command palette (ctrl+p), so the
three never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from tui.strings import Strings


@dataclass(frozen=True, slots=True)
class Key:
    keys: str  # comma-separated, as Binding takes them
    action: str
    string: str  # key into tui.strings
    display: str | None = None
    show: bool = True


BOARD_KEYS: tuple[Key, ...] = (
    Key("k,up", "cursor(-1)", "key.up", "↑/k", show=False),
    Key("j,down", "cursor(1)", "key.down", "↓/j", show=False),
    Key("h,left", "column(-1)", "key.left", "←/h", show=False),
    Key("l,right", "column(1)", "key.right", "→/l", show=False),
    Key("g,home", "cursor_edge('top')", "key.top", "g", show=False),
    Key("G,end", "cursor_edge('bottom')", "key.bottom", "G", show=False),
    Key("pagedown", "cursor_page(1)", "key.page_down", "PgDn", show=False),
    Key("pageup", "cursor_page(-1)", "key.page_up", "PgUp", show=False),
    Key("ctrl+d", "scroll_detail(1)", "key.detail_down", "ctrl+d", show=False),
    Key("ctrl+u", "scroll_detail(-1)", "key.detail_up", "ctrl+u", show=False),
    # The footer shows these in this order and cuts at the right edge: most used first.
    Key("question_mark", "help", "key.help", "?"),
    Key("r", "reply", "key.reply"),
    Key("a", "acknowledge", "key.acknowledge"),
    Key("e", "done", "key.done"),
    Key("s", "snooze", "key.snooze"),
    Key("t", "tag", "key.tag"),
    Key("f", "redirect", "key.redirect"),
    Key("m", "move", "key.move"),
    Key("u", "undo", "key.undo"),
    Key("slash", "filter", "key.filter", "/"),
    Key("S", "stats", "key.stats"),
    Key("enter", "toggle_detail", "key.detail", "⏎"),
    Key("q", "quit", "key.quit"),
)


def board_bindings(strings: Strings) -> list[Binding]:
    return [
        Binding(
            key.keys,
            key.action,
            strings.get(key.string),
            show=key.show,
            key_display=key.display,
            id=key.string,
        )
        for key in BOARD_KEYS
    ]


def describe_key(key: Key) -> str:
    """The keys as a person types them, for the help screen."""
    if key.display:
        return key.display
    return key.keys.split(",")[0]
