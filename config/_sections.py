"""The plain sections of a config: [shop], [storage], [sla], [sentiment], teams, templates, tags."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from config._lines import KeyPath
from config._reader import Reader, describe, did_you_mean, placeholder_problem
from config.schema import (
    SentimentConfig,
    ShopConfig,
    SlaConfig,
    StorageConfig,
    TeamConfig,
    TemplateConfig,
)
from triage.clock import WorkingHours, parse_duration

LANGUAGES = ("ru", "en")
SQLITE = "sqlite:///"
_TZ_ALIASES = {"msk": "Europe/Moscow", "мск": "Europe/Moscow", "moscow": "Europe/Moscow"}


def read_shop(reader: Reader, table: dict[str, Any]) -> ShopConfig:
    path: KeyPath = ("shop",)
    reader.check_keys(table, ("name", "timezone", "operator", "language"), path)
    default = ShopConfig()
    timezone = reader.text(table, "timezone", path, default.timezone)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zones = available_timezones()
        lowered = timezone.strip().lower()
        by_city = sorted(z for z in zones if z.lower().endswith("/" + lowered))
        guess = _TZ_ALIASES.get(lowered) or (by_city[0] if by_city else None)
        hint = f'Did you mean "{guess}"? ' if guess else did_you_mean(timezone, zones)
        raise reader.error(
            (*path, "timezone"),
            f'"{timezone}" is not a known time zone.',
            f'{hint}Use a name like "Europe/Moscow" or "Asia/Yekaterinburg".',
        ) from None
    language = reader.text(table, "language", path, default.language)
    if language not in LANGUAGES:
        raise reader.error(
            (*path, "language"),
            f'"{language}" is not a supported language.',
            f'{did_you_mean(language.lower(), LANGUAGES)}Use "ru" or "en".',
        )
    return ShopConfig(
        name=reader.text(table, "name", path, default.name),
        timezone=timezone,
        operator=reader.text(table, "operator", path, default.operator),
        language=language,
    )


def read_storage(
    reader: Reader, table: dict[str, Any], default_storage: Callable[[], str]
) -> StorageConfig:
    path: KeyPath = ("storage",)
    reader.check_keys(table, ("url",), path)
    if "url" not in table:
        return StorageConfig(default_storage())
    url = reader.text(table, "url", path)
    hint = 'Write url = "sqlite:///shop.db" (next to this file) or "sqlite:////abs/path.db".'
    if not url.startswith(SQLITE) or url == SQLITE:
        raise reader.error((*path, "url"), f'"{url}" is not a sqlite:/// URL.', hint)
    rest = url[len(SQLITE) :]
    if rest == ":memory:":
        return StorageConfig(url)
    return StorageConfig(f"{SQLITE}{reader.resolve_path(rest)}")


def _duration(
    reader: Reader, table: dict[str, Any], key: str, path: KeyPath, default: timedelta
) -> timedelta:
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise reader.error(
            (*path, key),
            f"{value} has no unit.",
            f'Write {key} = "{value}m" for minutes (in quotes), or "1h30m", "45s".',
        )
    if not isinstance(value, str):
        raise reader.error((*path, key), f'expected a duration like "15m", got {describe(value)}.')
    try:
        duration = parse_duration(value)
    except ValueError as exc:
        raise reader.error((*path, key), str(exc)) from None
    if duration <= timedelta(0):
        raise reader.error((*path, key), "must be longer than zero.", 'Use e.g. "15m".')
    return duration


def _short(duration: timedelta) -> str:
    """timedelta(hours=1, minutes=30) -> "1h30m", the form the config itself uses."""
    seconds = int(duration.total_seconds())
    parts = zip((86400, 3600, 60, 1), "dhms", strict=True)
    text = ""
    for size, unit in parts:
        if seconds >= size:
            text += f"{seconds // size}{unit}"
            seconds %= size
    return text or "0s"


def read_sla(reader: Reader, table: dict[str, Any]) -> SlaConfig:
    path: KeyPath = ("sla",)
    reader.check_keys(table, ("warn_after", "breach_after", "hours"), path)
    default = SlaConfig()
    warn = _duration(reader, table, "warn_after", path, default.warn_after)
    breach = _duration(reader, table, "breach_after", path, default.breach_after)
    if breach <= warn:
        blamed = "breach_after" if "breach_after" in table else "warn_after"
        raise reader.error(
            (*path, blamed),
            f"breach_after ({_short(breach)}) must be longer than warn_after ({_short(warn)}).",
            "A card turns amber at warn_after and red at breach_after"
            + ("." if "breach_after" in table else "; set breach_after too."),
        )
    hours = WorkingHours.always()
    if "hours" in table:
        spec = table["hours"]
        if not isinstance(spec, str):
            raise reader.error(
                (*path, "hours"),
                f"expected text, got {describe(spec)}.",
                'Write hours = "mon-fri 09:00-21:00" or hours = "24/7".',
            )
        try:
            hours = WorkingHours.parse(spec)
        except ValueError as exc:
            raise reader.error((*path, "hours"), str(exc)) from None
    return SlaConfig(warn_after=warn, breach_after=breach, hours=hours)


def read_sentiment(reader: Reader, table: dict[str, Any]) -> SentimentConfig:
    path: KeyPath = ("sentiment",)
    reader.check_keys(table, ("model", "negative_threshold"), path)
    default = SentimentConfig()
    model = reader.text(table, "model", path, default.model)
    if model not in ("bundled", "dostoevsky"):
        model_path = reader.resolve_path(model)
        if not model_path.is_file():
            raise reader.error(
                (*path, "model"),
                f'model file "{model}" not found.',
                f'{did_you_mean(model, ("bundled", "dostoevsky"))}Use "bundled", '
                '"dostoevsky" or the path of a fastText model (relative to this file).',
            )
        model = str(model_path)
    threshold = reader.number(table, "negative_threshold", path, default.negative_threshold)
    if not 0.0 <= threshold <= 1.0:
        raise reader.error(
            (*path, "negative_threshold"),
            f"{threshold:g} is outside 0..1.",
            "It is a probability; lower catches more complaints, e.g. 0.2.",
        )
    return SentimentConfig(model=model, negative_threshold=threshold)


def read_teams(reader: Reader, table: dict[str, Any]) -> dict[str, TeamConfig]:
    teams: dict[str, TeamConfig] = {}
    for key, team in table.items():
        path: KeyPath = ("teams", key)
        if not isinstance(team, dict):
            raise reader.error(
                path,
                f"expected a table, got {describe(team)}.",
                f'Write it as [teams.{key}] with title = "...".',
            )
        reader.check_keys(team, ("title", "contact", "reply"), path)
        reply = reader.optional_text(team, "reply", path)
        _check_placeholders(reader, reply, (*path, "reply"))
        teams[key] = TeamConfig(
            key=key,
            title=reader.text(team, "title", path),
            contact=reader.optional_text(team, "contact", path),
            reply=reply,
        )
    return teams


def _check_placeholders(reader: Reader, text: str, path: KeyPath) -> None:
    problem = placeholder_problem(text)
    if problem is not None:
        raise reader.error(path, *problem)


def read_templates(reader: Reader, raw: object) -> tuple[TemplateConfig, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise reader.error(("templates",), f"expected [[templates]] tables, got {describe(raw)}.")
    seen: dict[str, int] = {}
    templates: list[TemplateConfig] = []
    for index, table in enumerate(raw):
        path: KeyPath = ("templates", index)
        if not isinstance(table, dict):
            raise reader.error(path, f"expected a table, got {describe(table)}.")
        reader.check_keys(table, ("key", "title", "text"), path)
        key = reader.text(table, "key", path)
        if len(key) != 1:
            raise reader.error(
                (*path, "key"),
                f'"{key}" is not a single character.',
                'It is the key the operator presses in the composer, e.g. key = "a".',
            )
        if key in seen:
            raise reader.error(
                (*path, "key"),
                f'the key "{key}" is already used by templates[{seen[key] + 1}].',
                "Give each template its own key.",
            )
        seen[key] = index
        text = reader.text(table, "text", path)
        _check_placeholders(reader, text, (*path, "text"))
        first_line = text.strip().splitlines()[0]
        title = reader.text(table, "title", path, first_line[:40])
        templates.append(TemplateConfig(key=key, title=title, text=text))
    return tuple(templates)


def read_tags(reader: Reader, raw: object) -> tuple[str, ...]:
    if raw is None:
        return ()
    path: KeyPath = ("tags",)
    if not isinstance(raw, list):
        raise reader.error(
            path, f"expected a list, got {describe(raw)}.", 'Write tags = ["брак", "доставка"].'
        )
    seen: dict[str, str] = {}
    tags: list[str] = []
    for position, value in enumerate(raw, start=1):
        if not isinstance(value, str):
            raise reader.error(
                path, f"tag {position} is {describe(value)}, not text.", "Put each tag in quotes."
            )
        tag = value.strip()
        if not tag:
            raise reader.error(path, f"tag {position} is empty.")
        reader.check_controls(tag, path)
        folded = tag.casefold()
        if folded in seen:
            occurrence = 2 if seen[folded] == value else 1
            line = reader.index.value_line(path, f'"{value}"', occurrence)
            raise reader.error(
                path, f'"{tag}" is listed twice.', "Each tag once, please.", line=line
            )
        seen[folded] = value
        tags.append(tag)
    return tuple(tags)
