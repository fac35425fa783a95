"""The reply composer: the customer's message, a text area, and the shop's templates.

ctrl+t then a template key inserts that template: a plain control key and then a plain letter
survive every terminal and SSH client, unlike alt+key. Nothing is sent until ctrl+s, and a
failed send keeps the window (and the text) open.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from triage.model import Mention, Template
from triage.sanitize import clean_text, one_line
from tui.strings import Strings
from tui.widgets.card import network_badge
from tui.widgets.safe_input import SafeTextArea

Send = Callable[[str], bool]


class TemplateKeys(Static, can_focus=True):
    """The templates with their keys. Focused after ctrl+t, it takes the next key press."""

    def __init__(self, templates: Sequence[Template], strings: Strings) -> None:
        super().__init__(self._listing(templates, strings), id="composer-templates")
        self.templates = {template.key: template for template in templates}
        self.strings = strings

    @staticmethod
    def _listing(templates: Sequence[Template], strings: Strings) -> Content:
        if not templates:
            return Content.styled(strings.get("composer.no_templates"), "$warning")
        parts: list[str | tuple[str, str]] = [(strings.get("composer.templates") + ": ", "bold")]
        for template in templates:
            parts += [
                (f"[{one_line(template.key, 3)}]", "bold $accent"),
                " " + one_line(template.title, 30) + "   ",
            ]
        return Content.assemble(*parts)

    def on_key(self, event: Key) -> None:
        screen = self.screen
        assert isinstance(screen, ComposerScreen)
        event.stop()
        event.prevent_default()
        if event.key == "escape":
            screen.leave_template_mode()
        elif event.character and event.character.isprintable():
            screen.insert_template(event.character)


class ComposerScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "Send", priority=True),
        Binding("ctrl+t", "template_mode", "Template", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(
        self,
        mention: Mention,
        templates: Sequence[Template],
        render_template: Callable[[str], str],
        send: Send,
        strings: Strings,
        *,
        draft: str = "",
        keep_draft: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.mention = mention
        self.templates = list(templates)
        self.render_template = render_template
        self.send = send
        self.strings = strings
        self.draft = draft
        self.keep_draft = keep_draft
        self._closed = False

    def compose(self) -> ComposeResult:
        author = self.mention.author
        who = one_line(author.name, 60)
        if author.handle:
            who += " @" + one_line(author.handle, 40).lstrip("@")
        title = f"{network_badge(self.mention.network)} · " + self.strings.get(
            "composer.title", author=who
        )
        with Vertical(id="composer-box"):
            yield Static(Content.styled(title, "bold"), id="composer-title")
            with VerticalScroll(id="composer-quote", can_focus=False):
                yield Static(Content(clean_text(self.mention.text, max_chars=4000)))
            # Pastes and templates are sanitised on the way in; the draft is what it held before.
            yield SafeTextArea(
                self.draft, id="composer-text", soft_wrap=True, show_line_numbers=False
            )
            yield TemplateKeys(self.templates, self.strings)
            yield Static(Content(self.strings.get("composer.hint")), id="composer-hint")

    def on_mount(self) -> None:
        text_area = self.query_one(TextArea)
        text_area.focus()
        text_area.move_cursor(text_area.document.end)

    @property
    def text(self) -> str:
        return self.query_one(TextArea).text

    def action_template_mode(self) -> None:
        if not self.templates:
            self.notify(self.strings.get("composer.no_templates"), severity="warning")
            return
        hint = self.query_one("#composer-hint", Static)
        hint.update(Content.styled(self.strings.get("composer.pick_template"), "bold $accent"))
        self.query_one(TemplateKeys).focus()

    def leave_template_mode(self) -> None:
        self.query_one("#composer-hint", Static).update(Content(self.strings.get("composer.hint")))
        self.query_one(TextArea).focus()

    def insert_template(self, key: str) -> None:
        if key not in {template.key for template in self.templates}:
            self.notify(self.strings.get("composer.unknown_template", key=key), severity="warning")
            return
        text_area = self.query_one(TextArea)
        row, column = text_area.cursor_location
        line = text_area.document.get_line(row)
        # Template text comes from the config, its {name} from the customer: text the field
        # draws as it is, so it is sanitised (keeping its lines) before it goes in.
        text = clean_text(self.render_template(key))
        # Typed text and a template must not run together: «минут.Ольга, простите…».
        if line[:column] and not line[column - 1].isspace():
            text = " " + text
        if line[column:] and not line[column].isspace():
            text += " "
        text_area.insert(text)
        self.leave_template_mode()

    def action_send(self) -> None:
        # ctrl+s is a priority binding: it runs before the text area has taken the keys that came
        # in the same read (a fast typist over a slow SSH link). Act once the text area's queue
        # has caught up, so that the last letters are sent too. Cancel waits its turn the same
        # way, so that ctrl+s then escape still sends, and the draft keeps every letter.
        # The screen acts on its own queue: dismissing it from the text area's would wait on
        # the very queue that is busy running the callback.
        self.query_one(TextArea).call_later(self.call_later, self._send)

    def action_cancel(self) -> None:
        self.query_one(TextArea).call_later(self.call_later, self._cancel)

    def _send(self) -> None:
        if self._closed:
            return  # a second ctrl+s, or escape, got there first
        text = self.text.strip()
        if not text:
            self.notify(self.strings.get("composer.empty"), severity="warning")
            return
        if self.send(text):
            if self.keep_draft is not None:
                self.keep_draft("")
            self._close()

    def _cancel(self) -> None:
        if self._closed:
            return
        if self.keep_draft is not None:
            self.keep_draft(self.text)
        self._close()

    def _close(self) -> None:
        self._closed = True
        self.dismiss(None)
