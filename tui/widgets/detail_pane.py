"""Everything about the selected mention: full text, what it answers, the author, its state,
the model's scores, and what this author wrote before. Plain Content only: no markup."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from triage.board import Board
from triage.model import Mention
from triage.sanitize import clean_text, one_line
from tui.strings import Strings
from tui.widgets.card import format_followers, kind_label, network_badge, state_labels

Parts = list[str | Content | tuple[str, str]]


def _field(label: str, value: str | Content, style: str = "") -> Parts:
    return [
        (f"{label}: ", "$text-muted"),
        (value, style) if isinstance(value, str) else value,
        "\n",
    ]


def detail_content(
    mention: Mention,
    board: Board,
    strings: Strings,
    team_titles: Mapping[str, str],
    history: Sequence[Mention],
) -> Content:
    tz = board.settings.timezone
    author = mention.author
    parts: Parts = [
        (network_badge(mention.network), "bold reverse"),
        " ",
        (kind_label(mention.kind, strings), "$text-muted"),
        " ",
        (one_line(author.name, 80), "bold"),
    ]
    if author.handle:
        parts.append((" @" + one_line(author.handle, 60).lstrip("@"), "$text-muted"))
    parts += ["\n\n", clean_text(mention.text, keep_newlines=True), "\n\n"]
    if mention.context:
        parts += [
            (strings.get("detail.context") + ":\n", "$text-muted"),
            ("│ " + clean_text(mention.context, max_chars=2000, keep_newlines=False), "italic"),
            "\n\n",
        ]
    if mention.url:
        parts += [(one_line(mention.url, 300), "underline"), "\n\n"]

    about = [one_line(author.name, 80)]
    if author.handle:
        about.append("@" + one_line(author.handle, 60).lstrip("@"))
    if author.followers is not None:
        about.append(
            strings.get("detail.followers", value=format_followers(author.followers, strings))
        )
    if author.city:
        about.append(one_line(author.city, 60))
    parts += _field(strings.get("detail.author"), ", ".join(about))

    received = mention.created_at.astimezone(tz).strftime("%d.%m %H:%M")
    parts += _field(strings.get("detail.received"), f"{received} ({board.format_age(mention)})")
    state = strings.get(f"status.{mention.status.value}")
    extras = [label for label, _ in state_labels(mention, team_titles, strings)]
    parts += _field(strings.get("detail.status"), ", ".join([state, *extras]))
    if mention.tags:
        tags = " ".join("#" + one_line(tag, 30).lstrip("#") for tag in mention.tags)
        parts += _field(strings.get("detail.tags"), tags, "$secondary")
    if mention.team:
        parts += _field(
            strings.get("detail.team"), one_line(team_titles.get(mention.team, mention.team), 60)
        )
    if mention.snoozed_until is not None:
        until = mention.snoozed_until.astimezone(tz).strftime("%d.%m %H:%M")
        parts += _field(strings.get("detail.snoozed"), until)

    sentiment = mention.sentiment
    scores = " ".join(
        f"{_label_name(label, strings)} {score:.2f}"
        for label, score in sorted(sentiment.scores.items(), key=lambda item: -item[1])
    )
    verdict = strings.get(f"label.{sentiment.label.value}")
    if sentiment.is_question:
        verdict += ", " + strings.get("detail.question")
    parts += _field(
        strings.get("detail.sentiment"), f"{verdict}  ({scores})" if scores else verdict
    )

    parts += ["\n", (strings.get("detail.history") + ":\n", "bold")]
    earlier = [m for m in history if m.id != mention.id]
    if not earlier:
        parts.append((strings.get("detail.no_history"), "$text-muted"))
    for old in earlier:
        when = old.created_at.astimezone(tz).strftime("%d.%m %H:%M")
        parts += [
            (f"{when} ", "$text-muted"),
            (f"[{old.column.title(strings.language)}] ", "$text-muted"),
            one_line(old.text, 300),
            "\n",
        ]
    return Content.assemble(*parts)


def _label_name(label: str, strings: Strings) -> str:
    if label in ("negative", "neutral", "positive"):
        return strings.get(f"label.{label}")
    return one_line(label, 20)


class DetailPane(VerticalScroll, can_focus=False):
    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")

    def __init__(self, strings: Strings, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.strings = strings
        self.border_title = strings.get("detail.title")
        self.shown_id: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content(self.strings.get("detail.nothing")), id="detail-body")

    def show(self, content: Content | None, mention_id: int | None) -> None:
        body = self.query_one("#detail-body", Static)
        if content is None:
            content = Content(self.strings.get("detail.nothing"))
        if mention_id != self.shown_id:
            self.scroll_home(animate=False)
        elif isinstance(body.content, Content) and body.content.is_same(content):
            return  # the once-a-second tick usually changes nothing here
        self.shown_id = mention_id
        body.update(content)

    @property
    def text(self) -> str:
        """What the pane shows, as plain text (tests read this)."""
        content = self.query_one("#detail-body", Static).content
        return content.plain if isinstance(content, Content) else str(content)
