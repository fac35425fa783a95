"""Textual's footer, showing only the keys that fit whole.

The stock footer clips its last key at the right edge, so at 100 columns the board read
«m В коло▏»: a word cut in half says nothing. This one leaves out the keys that do not fit (the
most used come first, and `?` lists them all) and lays itself out again when resized.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# Cells around a key's text: " r" + " Ответить " (the key's padding, the description's).
KEY_PADDING = 3
# The palette key docked right also has a border on its left.
PALETTE_EXTRA = 1


def key_width(key: FooterKey) -> int:
    if not key.description:
        return cell_len(key.key_display)
    return cell_len(key.key_display) + cell_len(key.description) + KEY_PADDING


def fitting(children: list[Widget], width: int) -> list[Widget]:
    """The keys that fit `width` whole, in order, then the palette key if there is one."""
    palette = [c for c in children if c.has_class("-command-palette")]
    room = width - sum(key_width(p) + PALETTE_EXTRA for p in palette if isinstance(p, FooterKey))
    shown: list[Widget] = []
    for child in children:
        if child in palette:
            continue
        size = key_width(child) if isinstance(child, FooterKey) else 0
        if size > room:
            break
        shown.append(child)
        room -= size
    return [*shown, *palette]


class BoardFooter(Footer):
    _laid_out_for = 0

    def compose(self) -> ComposeResult:
        children = list(super().compose())
        width = self._laid_out_for = self.size.width
        yield from fitting(children, width) if width > 0 else children

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._laid_out_for:
            self.call_after_refresh(self.recompose)
