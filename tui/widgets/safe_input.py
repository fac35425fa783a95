"""Text fields whose pasted text is sanitised before it is inserted.

Textual's Input and TextArea draw their value as it is (Content strips only BEL, BS, VT, FF and
CR), and a bracketed paste delivers the clipboard raw, escape sequences included: a customer's
message copied from a browser or another terminal could retitle the window or hide a bidi
override in a reply. Typed keys need nothing: Textual inserts only printable characters.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input, TextArea

from triage.sanitize import clean_text, one_line


class SafeInput(Input):
    """An Input whose pastes are one clean line."""

    def _on_paste(self, event: events.Paste) -> None:
        # Runs before Input._on_paste (Textual dispatches down the MRO), which inserts event.text.
        event.text = one_line(event.text)


class SafeTextArea(TextArea):
    """A TextArea whose pastes keep their lines but lose escapes, controls and bidi overrides."""

    async def _on_paste(self, event: events.Paste) -> None:
        # TextArea._on_paste is a coroutine; Textual awaits either kind of handler.
        event.text = clean_text(event.text)
