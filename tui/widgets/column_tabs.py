"""The switcher line shown instead of four columns on narrow terminals:
`[Негатив 12]  Вопросы 4  Нейтрально 30  Позитив 9`. Brackets mark the current column, so it
reads the same without colour."""

from __future__ import annotations

from pathlib import Path

from textual.content import Content
from textual.widget import Widget

from triage.model import COLUMN_ORDER, Column
from tui.strings import Strings


def tabs_line(current: Column, counts: dict[Column, int], strings: Strings) -> Content:
    parts: list[str | tuple[str, str]] = [" "]
    for column in COLUMN_ORDER:
        label = f"{column.title(strings.language)} {counts.get(column, 0)}"
        if column is current:
            parts += [(f"[{label}]", "bold reverse $accent"), " "]
        else:
            parts += [(f" {label} ", "$text-muted"), " "]
    parts.append(("  ←h l→", "$text-muted"))
    return Content.assemble(*parts)


class ColumnTabs(Widget):
    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")

    def __init__(self, strings: Strings, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.strings = strings
        self.current = COLUMN_ORDER[0]
        self.counts: dict[Column, int] = {}

    def show(self, current: Column, counts: dict[Column, int]) -> None:
        if current is not self.current or counts != self.counts:
            self.current = current
            self.counts = dict(counts)
            self.refresh()

    def render(self) -> Content:
        return tabs_line(self.current, self.counts, self.strings)
