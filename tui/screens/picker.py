"""One small modal list for every choice: tag, team, snooze time, column.

Dismisses with the chosen option's value, or None on esc. Digits 1-9 choose directly. With
`allow_new`, an input on top filters the list and enter on text that matches nothing returns
the text itself (a new tag).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from triage.sanitize import one_line
from tui.widgets.safe_input import SafeInput


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str  # plain text; may come from customers or config, never parsed as markup
    hint: str = ""
    marked: bool = False  # e.g. a tag the mention already has


class PickerScreen(ModalScreen[str | None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("down", "cursor(1)", show=False, priority=True),
        Binding("up", "cursor(-1)", show=False, priority=True),
        # Without an input on top, j/k move as they do on the board.
        Binding("j", "cursor(1)", show=False),
        Binding("k", "cursor(-1)", show=False),
    ]

    def __init__(
        self,
        title: str,
        choices: Sequence[Choice],
        hint: str,
        *,
        allow_new: bool = False,
        placeholder: str = "",
        empty: str = "",
    ) -> None:
        super().__init__(classes="picker")
        self.title_text = title
        self.choices = list(choices)
        self.hint = hint
        self.allow_new = allow_new
        self.placeholder = placeholder
        self.empty = empty

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Static(Content.styled(self.title_text, "bold"), id="picker-title")
            if self.allow_new:
                yield SafeInput(placeholder=self.placeholder, id="picker-input")
            yield OptionList(*self._options(self.choices), id="picker-list")
            if not self.choices and self.empty:
                yield Static(Content(self.empty), id="picker-empty")
            yield Static(Content(self.hint), id="picker-hint")

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        if self.choices:
            option_list.highlighted = 0
        if self.allow_new:
            self.query_one(Input).focus()
        else:
            option_list.focus()

    def _options(self, choices: Sequence[Choice]) -> list[Option]:
        options = []
        for number, choice in enumerate(choices, 1):
            mark = "✓ " if choice.marked else "  "
            prefix = f"{number} " if number <= 9 and not self.allow_new else ""
            parts: list[str | tuple[str, str]] = [
                (prefix, "$text-muted"),
                (mark, "$success bold"),
                one_line(choice.label, 80),
            ]
            if choice.hint:
                parts.append(("  " + one_line(choice.hint, 80), "$text-muted"))
            options.append(Option(Content.assemble(*parts), id=choice.value))
        return options

    @property
    def visible_labels(self) -> list[str]:
        """The options as shown, for tests."""
        option_list = self.query_one(OptionList)
        labels = []
        for index in range(option_list.option_count):
            prompt = option_list.get_option_at_index(index).prompt
            labels.append(prompt.plain if isinstance(prompt, Content) else str(prompt))
        return labels

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_cursor(self, delta: int) -> None:
        option_list = self.query_one(OptionList)
        if option_list.option_count == 0:
            return
        current = option_list.highlighted
        index = 0 if current is None else (current + delta) % option_list.option_count
        option_list.highlighted = index

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    @on(Input.Changed, "#picker-input")
    def _filter(self, event: Input.Changed) -> None:
        query = event.value.strip().casefold().lstrip("#")
        matching = [c for c in self.choices if query in c.label.casefold()]
        option_list = self.query_one(OptionList)
        option_list.clear_options()
        option_list.add_options(self._options(matching))
        option_list.highlighted = 0 if matching else None

    @on(Input.Submitted, "#picker-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        option_list = self.query_one(OptionList)
        highlighted = option_list.highlighted
        if highlighted is not None:
            self.dismiss(option_list.get_option_at_index(highlighted).id)
            return
        text = event.value.strip().lstrip("#").strip()
        if text:
            self.dismiss(text)

    def on_key(self, event: Key) -> None:
        if self.allow_new or event.character is None or not event.character.isdigit():
            return
        index = int(event.character) - 1
        if 0 <= index < len(self.choices):
            event.stop()
            self.dismiss(self.choices[index].value)
