"""The switcher line shown instead of four columns on narrow terminals:
`[Негатив 12]  Вопросы 4  Нейтрально 30  Позитив 9`. Brackets mark the current column, so it
reads the same without colour."""

from __future__ import annotations

from pathlib import Path

from textual.content import Content
from textual.widget import Widget

from triage.model import COLUMN_ORDER, Column
from tui.strings import Strings


def tabs_line(
    current: Column, counts: dict[Column, int], strings: Strings, width: int | None = None
) -> Content:
    """The switcher; on a phone-narrow terminal it drops the h/l hint, then shortens the
    titles («Нег. 10»), so the fourth column and its count never fall off the edge."""
    line = Content("")
    for short, hint in ((False, True), (False, False), (True, False)):
        line = _tabs(current, counts, strings, short=short, hint=hint)
        if width is None or line.cell_length <= width:
            break
    return line


def _tabs(
    current: Column, counts: dict[Column, int], strings: Strings, *, short: bool, hint: bool
) -> Content:
    parts: list[str | tuple[str, str]] = [" "]
    for column in COLUMN_ORDER:
        title = strings.get(f"tab.{column.value}") if short else column.title(strings.language)
        label = f"{title} {counts.get(column, 0)}"
        if column is current:
            parts += [(f"[{label}]", "bold reverse $accent"), " "]
        elif short:
            parts += [(label, "$text-muted"), " "]
        else:
            parts += [(f" {label} ", "$text-muted"), " "]
    if hint:
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
        return tabs_line(self.current, self.counts, self.strings, self.size.width)
