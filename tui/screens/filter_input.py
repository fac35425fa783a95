"""The `/` filter: narrows every column as you type; enter keeps it, esc clears it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.strings import Strings
from tui.widgets.safe_input import SafeInput


class FilterScreen(ModalScreen[str]):
    """Dismisses with the query to keep ("" after esc)."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "clear", "Clear", show=False)]

    def __init__(self, query: str, apply: Callable[[str], None], strings: Strings) -> None:
        super().__init__()
        self.query_text = query
        self.apply = apply
        self.strings = strings

    def compose(self) -> ComposeResult:
        with Vertical(id="filter-box"):
            yield SafeInput(
                self.query_text,
                placeholder=self.strings.get("filter.placeholder"),
                id="filter-input",
            )
            yield Static(Content(self.strings.get("filter.hint")), id="filter-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self.apply(event.value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_clear(self) -> None:
        self.apply("")
        self.dismiss("")
