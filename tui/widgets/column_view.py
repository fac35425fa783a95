"""One board column as a single Line API widget, so 10,000 cards cost what the visible ones cost.

The column only draws: the app hands it the board's list and tells it where the selection is.
Rendered cards are cached per (mention state, width, age text), and ages are computed only for
the cards on screen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from rich.segment import Segment
from textual.content import Content
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from triage.board import AgeLevel, Board
from triage.model import Column, Mention
from tui.strings import Strings
from tui.widgets.card import CARD_HEIGHT, CardFrame, CardStyles, render_card

_CACHE_LIMIT = 256


def _fingerprint(mention: Mention) -> tuple[object, ...]:
    # Everything an action can change on a card; text and author never change.
    return (
        mention.status,
        mention.tags,
        mention.team,
        mention.delivery,
        mention.unknown_replies,
        mention.column,
    )


class ColumnView(ScrollView, can_focus=False):
    """The cards of one column; keys are handled by the app, which calls `move`/`select`."""

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "column--selected",
        "column--badge",
        "column--author",
        "column--meta",
        "column--text",
        "column--tag",
        "column--state",
        "column--warning",
        "column--marker",
        "column--empty",
        "age--ok",
        "age--warn",
        "age--breach",
        "age--answered",
    }

    def __init__(
        self,
        column: Column,
        board: Board,
        strings: Strings,
        team_titles: Mapping[str, str],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.column = column
        self.board = board
        self.strings = strings
        self.team_titles = team_titles
        self.items: Sequence[Mention] = ()
        self.index = 0
        self.active = False
        self.filtered = False
        self._count = 0
        self._cache: dict[tuple[object, ...], list[Strip]] = {}
        self._ages: dict[int, tuple[str, AgeLevel]] = {}
        self._styles: CardStyles | None = None

    # -- state the app drives -----------------------------------------------------------

    @property
    def selected(self) -> Mention | None:
        return self.items[self.index] if self.items else None

    def set_items(self, items: Sequence[Mention], *, keep_id: bool = True) -> None:
        """Show a new list. keep_id: follow the selected mention if it is still here;
        otherwise (or when it is gone) stay at the same index, clamped."""
        if items is self.items:
            return  # the board hands out the same list until something changed
        previous = self.selected
        self.items = items
        self._ages.clear()
        if keep_id and previous is not None:
            for position, mention in enumerate(items):
                if mention.id == previous.id:
                    self.index = position
                    break
        self.index = min(self.index, max(0, len(items) - 1))
        self._update_virtual_size()
        self.ensure_selection_visible()
        self.refresh()

    def select(self, index: int) -> None:
        if not self.items:
            self.index = 0
            return
        index = max(0, min(index, len(self.items) - 1))
        if index != self.index:
            previous, self.index = self.index, index
            if not self.ensure_selection_visible():
                # Only the two cards whose highlight changed: a full repaint of the column
                # is what made a keypress cost a frame at 200x50.
                self.refresh_lines(previous * CARD_HEIGHT, CARD_HEIGHT)
                self.refresh_lines(index * CARD_HEIGHT, CARD_HEIGHT)
            return
        self.ensure_selection_visible()

    def move(self, delta: int) -> None:
        self.select(self.index + delta)

    def select_id(self, mention_id: int) -> bool:
        for position, mention in enumerate(self.items):
            if mention.id == mention_id:
                self.select(position)
                return True
        return False

    @property
    def cards_per_page(self) -> int:
        return max(1, self.scrollable_content_region.height // CARD_HEIGHT)

    def set_active(self, active: bool) -> None:
        # The title, not a CSS class, marks the active column: a class change restyles and
        # repaints every column, a title change repaints this one.
        if active != self.active:
            self.active = active
            self._update_title()
            self.refresh()

    def tick(self) -> None:
        """Time moved on: repaint only if an age on screen now reads differently."""
        first = int(self.scroll_y) // CARD_HEIGHT
        last = (int(self.scroll_y) + self.scrollable_content_region.height) // CARD_HEIGHT
        # Only the visible cards keep a memo: any other is recomputed when it scrolls in.
        ages = {
            mention.id: (self.board.format_age(mention), self.board.age_level(mention))
            for mention in self.items[first : last + 1]
        }
        changed = any(self._ages.get(key) != age for key, age in ages.items())
        self._ages = ages
        if changed:
            self.refresh()

    def update_title(self, count: int) -> None:
        if count != self._count:
            self._count = count
            self._update_title()

    def _update_title(self) -> None:
        title = f"{self.column.title(self.strings.language)} {self._count}"
        if self.active:
            self.border_title = Content.styled(f"▶ {title} ◀", "bold reverse $accent")
        else:
            self.border_title = Content(title)

    def ensure_selection_visible(self) -> bool:
        """Scroll the selected card into view; True if that scrolled."""
        height = self.scrollable_content_region.height
        if height <= 0 or not self.items:
            return False
        top = self.index * CARD_HEIGHT
        bottom = top + CARD_HEIGHT - 1  # the separator line may stay off screen
        if top < self.scroll_y:
            self.scroll_to(y=top, animate=False, immediate=True)
            return True
        if bottom > self.scroll_y + height:
            self.scroll_to(y=bottom - height, animate=False, immediate=True)
            return True
        return False

    # -- rendering -----------------------------------------------------------------------

    def _update_virtual_size(self) -> None:
        size = Size(self.scrollable_content_region.width, len(self.items) * CARD_HEIGHT)
        if size != self.virtual_size:
            self.virtual_size = size

    def on_resize(self) -> None:
        self._update_virtual_size()
        self.ensure_selection_visible()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._cache.clear()

    def _card_styles(self) -> CardStyles:
        if self._styles is None:
            style = self.get_component_rich_style
            self._styles = CardStyles(
                base=self.rich_style,
                # Not partial: "$accent 20%" only becomes a colour blended over the background.
                selected=style("column--selected"),
                badge=style("column--badge", partial=True),
                author=style("column--author", partial=True),
                meta=style("column--meta", partial=True),
                text=style("column--text", partial=True),
                tag=style("column--tag", partial=True),
                state=style("column--state", partial=True),
                warning=style("column--warning", partial=True),
                marker=style("column--marker", partial=True),
                ages={level: style(f"age--{level.value}", partial=True) for level in AgeLevel},
            )
        return self._styles

    def _age(self, mention: Mention) -> tuple[str, AgeLevel]:
        age = self._ages.get(mention.id)
        if age is None:
            age = (self.board.format_age(mention), self.board.age_level(mention))
            self._ages[mention.id] = age
        return age

    def card_lines(self, position: int, width: int) -> list[Strip]:
        mention = self.items[position]
        age, level = self._age(mention)
        selected = position == self.index
        key = (mention.id, _fingerprint(mention), width, age, level, selected, self.active)
        strips = self._cache.get(key)
        if strips is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            frame = CardFrame(width, age, level, selected, self.active)
            strips = render_card(
                mention, frame, self._card_styles(), self.strings, self.team_titles
            )
            self._cache[key] = strips
        return strips

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = y + self.scroll_offset.y
        if not self.items:
            return self._empty_line(y, width)
        position, row = divmod(line, CARD_HEIGHT)
        if position >= len(self.items):
            return Strip.blank(width, self.rich_style)
        return self.card_lines(position, width)[row]

    def _empty_line(self, y: int, width: int) -> Strip:
        if y != 1:
            return Strip.blank(width, self.rich_style)
        text = self.strings.get("card.empty_filtered" if self.filtered else "card.empty")
        style = self.rich_style + self.get_component_rich_style("column--empty", partial=True)
        return Strip([Segment("  " + text, style)]).adjust_cell_length(width, self.rich_style)

    def visible_text(self) -> list[str]:
        """The column as the operator sees it now, one string per line (tests read this)."""
        height = self.scrollable_content_region.height
        return [self.render_line(y).text for y in range(height)]
