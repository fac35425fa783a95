"""The Textual app: screens, widgets and the `socialtui` command."""

import os

# Textual paces repaints at 60 fps, so a keypress can wait up to 17 ms for its frame; at 120
# the wait halves, and an idle board still sends nothing. Set before Textual reads it.
os.environ.setdefault("TEXTUAL_FPS", "120")
