"""Config: TOML -> validated, frozen dataclasses. See config.loader and config.schema."""

from __future__ import annotations

from config.errors import ConfigError
from config.loader import (
    default_config_path,
    default_storage_url,
    demo_config,
    find_config,
    load_config,
)
from config.schema import Config

__all__ = [
    "Config",
    "ConfigError",
    "default_config_path",
    "default_storage_url",
    "demo_config",
    "find_config",
    "load_config",
]
