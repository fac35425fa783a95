"""The validated shape of a socialtui config. `config.loader` builds these from TOML."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from triage.clock import WorkingHours
from triage.model import Team, Template


@dataclass(frozen=True, slots=True)
class ShopConfig:
    name: str = "Моя кофейня"
    timezone: str = "Europe/Moscow"
    operator: str = "оператор"
    language: str = "ru"  # "ru" | "en"


@dataclass(frozen=True, slots=True)
class StorageConfig:
    # "sqlite:///abs/path.db"; the loader fills the per-config default under XDG_DATA_HOME.
    url: str


@dataclass(frozen=True, slots=True)
class SlaConfig:
    warn_after: timedelta = timedelta(minutes=15)
    breach_after: timedelta = timedelta(hours=1)
    hours: WorkingHours = field(default_factory=WorkingHours.always)


@dataclass(frozen=True, slots=True)
class FeedConfig:
    type: str
    name: str
    # The table's keys other than `type`/`name`; `*_env` keys are kept and their values are
    # added under the key without `_env` as triage.secret.Secret.
    options: Mapping[str, Any]
    line: int | None = None


# Teams and templates are domain objects already; the config holds them as they are.
TeamConfig = Team
TemplateConfig = Template


@dataclass(frozen=True, slots=True)
class SentimentConfig:
    model: str = "bundled"  # "bundled" | "dostoevsky" | a path to a fastText model
    # Negative wins when P(negative) >= this; operators want recall (docs/sentiment-notes).
    negative_threshold: float = 0.25


@dataclass(frozen=True, slots=True)
class UiConfig:
    bell: bool = True  # ring the terminal bell on a new negative item


@dataclass(frozen=True, slots=True)
class Config:
    path: Path | None
    shop: ShopConfig
    storage: StorageConfig
    sla: SlaConfig
    feeds: tuple[FeedConfig, ...]
    teams: Mapping[str, TeamConfig]
    templates: tuple[TemplateConfig, ...]
    tags: tuple[str, ...]
    sentiment: SentimentConfig = SentimentConfig()
    ui: UiConfig = UiConfig()
    # Non-fatal findings (e.g. a world-readable config naming secrets), printed by the CLI.
    warnings: tuple[str, ...] = ()
