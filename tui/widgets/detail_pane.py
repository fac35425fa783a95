"""Everything about the selected mention: full text, what it answers, the author, its state,
the model's scores, and what else this author wrote. Plain Content only: no markup.

Three blocks, so that the post being answered is quoted with a bar down its whole height
however it wraps (a "│ " typed into the text marks only its first line)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
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

# The customer's text in full can be a pasted 100 KB log; nobody reads past this in a pane.
MAX_DETAIL_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class DetailContent:
    head: Content  # who, and the full text
    context: Content | None  # the post or message this one answers
    body: Content  # link, author, state, sentiment, the author's other messages

    @property
    def plain(self) -> str:
        blocks = [self.head, *([self.context] if self.context is not None else []), self.body]
        return "\n".join(block.plain for block in blocks)

    def is_same(self, other: DetailContent) -> bool:
        if self.context is None or other.context is None:
            same_context = self.context is other.context
        else:
            same_context = self.context.is_same(other.context)
        return same_context and self.head.is_same(other.head) and self.body.is_same(other.body)


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
) -> DetailContent:
    tz = board.settings.timezone
    author = mention.author
    head: Parts = [
        (network_badge(mention.network), "bold reverse"),
        " ",
        (kind_label(mention.kind, strings), "$text-muted"),
        " ",
        (one_line(author.name, 80), "bold"),
    ]
    if author.handle:
        head.append((" @" + one_line(author.handle, 60).lstrip("@"), "$text-muted"))
    head += ["\n\n", clean_text(mention.text, MAX_DETAIL_CHARS, keep_newlines=True)]

    context = None
    if mention.context:
        context = Content.assemble(
            (strings.get("detail.context") + ":\n", "$text-muted not italic"),
            clean_text(mention.context, max_chars=2000, keep_newlines=False),
        )

    parts: Parts = []
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
    decimal = "," if strings.language == "ru" else "."
    scores = " ".join(
        f"{_label_name(label, strings)} {score:.2f}".replace(".", decimal)
        for label, score in sorted(sentiment.scores.items(), key=lambda item: -item[1])
    )
    verdict = strings.get(f"label.{sentiment.label.value}")
    if sentiment.is_question:
        verdict += ", " + strings.get("detail.question")
    parts += _field(
        strings.get("detail.sentiment"), f"{verdict}  ({scores})" if scores else verdict
    )

    # The history is everything else this author wrote: what came before this message is
    # "earlier", what came after (a follow-up, often angrier) is listed on its own.
    others = [m for m in history if m.id != mention.id]
    before = _arrival(mention)
    # Earlier ones nearest first, as the store lists them; later ones in the order they came.
    earlier = [m for m in others if _arrival(m) < before]
    later = sorted((m for m in others if _arrival(m) > before), key=_arrival)
    if earlier or not later:
        parts += ["\n", (strings.get("detail.history") + ":\n", "bold")]
        if not earlier:
            parts += [(strings.get("detail.no_history"), "$text-muted"), "\n"]
        parts += _history_lines(earlier, tz, strings)
    if later:
        parts += ["\n", (strings.get("detail.later") + ":\n", "bold")]
        parts += _history_lines(later, tz, strings)
    return DetailContent(Content.assemble(*head), context, Content.assemble(*parts).rstrip())


def _arrival(mention: Mention) -> tuple[datetime, int]:
    return (mention.created_at, mention.id)


def _history_lines(mentions: Sequence[Mention], tz: tzinfo, strings: Strings) -> Parts:
    parts: Parts = []
    for old in mentions:
        when = old.created_at.astimezone(tz).strftime("%d.%m %H:%M")
        parts += [
            (f"{when} ", "$text-muted"),
            (f"[{old.column.title(strings.language)}] ", "$text-muted"),
            one_line(old.text, 300),
            "\n",
        ]
    return parts


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
        self.shown: DetailContent | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content(self.strings.get("detail.nothing")), id="detail-head")
        yield Static(Content(""), id="detail-context")
        yield Static(Content(""), id="detail-body")

    def show(self, content: DetailContent | None, mention_id: int | None) -> None:
        if mention_id != self.shown_id:
            self.scroll_home(animate=False)
        elif content is not None and self.shown is not None and self.shown.is_same(content):
            return  # the once-a-second tick usually changes nothing here
        self.shown_id = mention_id
        self.shown = content
        head = self.query_one("#detail-head", Static)
        context = self.query_one("#detail-context", Static)
        body = self.query_one("#detail-body", Static)
        if content is None:
            head.update(Content(self.strings.get("detail.nothing")))
            context.display = False
            body.update(Content(""))
            return
        head.update(content.head)
        context.display = content.context is not None
        context.update(content.context or Content(""))
        body.update(content.body)

    @property
    def text(self) -> str:
        """What the pane shows, as plain text (tests read this)."""
        if self.shown is None:
            return self.strings.get("detail.nothing")
        return self.shown.plain
