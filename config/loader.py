"""TOML -> a validated `Config`, or one ConfigError that says file:line, key, problem and fix.

Everything is checked at load so that a typo surfaces before the board opens, not the first
time a feed or a template is used in front of a customer.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path

from config._feeds import read_feeds
from config._lines import LineIndex
from config._reader import TOP_LEVEL_KEYS, Reader
from config._sections import (
    SQLITE,
    read_sentiment,
    read_shop,
    read_sla,
    read_storage,
    read_tags,
    read_teams,
    read_templates,
)
from config.errors import ConfigError
from config.schema import Config, StorageConfig, UiConfig

if sys.version_info >= (3, 11):  # noqa: UP036  (kept for tomli users on older Pythons)
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "default_config_path",
    "default_storage_url",
    "demo_config",
    "find_config",
    "load_config",
]


# -- where things live -----------------------------------------------------------------------


def _xdg_dir(environ: Mapping[str, str], variable: str, fallback: str) -> Path:
    value = environ.get(variable, "")
    # The XDG spec says relative values are invalid and must be ignored.
    if value and Path(value).is_absolute():
        return Path(value)
    home = environ.get("HOME")
    return (Path(home) if home else Path.home()) / fallback


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """$XDG_CONFIG_HOME/socialtui/config.toml (default ~/.config), where `init` writes."""
    env = os.environ if environ is None else environ
    return _xdg_dir(env, "XDG_CONFIG_HOME", ".config") / "socialtui" / "config.toml"


def find_config(explicit: str | None, environ: Mapping[str, str] | None = None) -> Path | None:
    """--config, then $SOCIALTUI_CONFIG, then the XDG default if it exists."""
    env = os.environ if environ is None else environ
    # An explicit choice is returned even if missing, so the error names what was asked for.
    for chosen in (explicit, env.get("SOCIALTUI_CONFIG")):
        if chosen:
            return Path(chosen).expanduser()
    default = default_config_path(env)
    return default if default.is_file() else None


def default_storage_url(config_path: Path, environ: Mapping[str, str] | None = None) -> str:
    """One database per config file, so two shops on one machine never share a board."""
    env = os.environ if environ is None else environ
    digest = hashlib.sha256(str(Path(config_path).resolve()).encode("utf-8")).hexdigest()[:10]
    data = _xdg_dir(env, "XDG_DATA_HOME", ".local/share") / "socialtui"
    return f"{SQLITE}{data / f'{Path(config_path).stem}-{digest}.db'}"


# -- loading ---------------------------------------------------------------------------------


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    path = Path(path)
    if path.is_dir():
        raise ConfigError(
            path,
            None,
            None,
            "is a folder, not a config file.",
            f"Pass the file: {path / 'config.toml'}",
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            path,
            None,
            None,
            "no such file.",
            f"Write a starter config with `socialtui init {path}`, or try `socialtui --demo`.",
        ) from None
    except PermissionError:
        raise ConfigError(
            path, None, None, "cannot be read (permission denied).", f"Check: ls -l {path}"
        ) from None
    except OSError as exc:
        raise ConfigError(path, None, None, f"cannot be read ({exc.strerror}).") from None
    try:
        text = data.decode("utf-8-sig")  # Notepad's BOM is harmless; accept it
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            path, None, line, "is not UTF-8 text.", "Save the file in UTF-8 encoding."
        ) from None
    config, names_secrets = _build(
        text,
        path,
        env,
        base_dir=path.resolve().parent,
        default_storage=lambda: default_storage_url(path, env),
    )
    warning = _permission_warning(path) if names_secrets else None
    return replace(config, path=path.absolute(), warnings=(warning,) if warning else ())


def demo_config(storage_url: str) -> Config:
    """The built-in coffee shop behind `socialtui --demo`; its text is examples/demo.toml."""
    source = resources.files("config").joinpath("examples", "demo.toml")
    config, _ = _build(
        source.read_text(encoding="utf-8"),
        Path("demo.toml"),
        {},
        base_dir=Path(__file__).parent / "examples",
        default_storage=lambda: storage_url,
    )
    return replace(config, path=None, storage=StorageConfig(storage_url))


def _permission_warning(path: Path) -> str | None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if not mode & 0o044:
        return None
    return (
        f"WARNING: UNPROTECTED CONFIG FILE! Permissions {mode:04o} for '{path}' are too open; "
        f"it names secrets. Run: chmod 600 {shlex.quote(str(path))}"
    )


def _syntax_error(file: Path, exc: tomllib.TOMLDecodeError, text: str) -> ConfigError:
    message = str(exc)
    line: int | None = None
    match = re.search(r"\s*\(at line (\d+), column \d+\)", message)
    if match:
        line = int(match.group(1))
        message = message[: match.start()] + message[match.end() :]
    elif "(at end of document)" in message:
        line = text.rstrip("\n").count("\n") + 1
        message = message.replace(" (at end of document)", "") + " at the end of the file"
    # tomllib names tables as Python tuples, "('shop',)"; show them as TOML does, "[shop]".
    message = re.sub(
        r"\(((?:'[^']*',?\s*)+)\)",
        lambda m: "[" + ".".join(re.findall(r"'([^']*)'", m.group(1))) + "]",
        message,
    )
    if "Invalid value" in message:
        hint = 'Text needs quotes (name = "Зерно"); numbers and true/false do not.'
    elif "twice" in message or "overwrite" in message:
        hint = "Each key and [table] may appear once; repeated tables use [[double brackets]]."
    elif "Illegal character" in message or "Unterminated" in message:
        hint = 'A string may be missing its closing quote; use """...""" for text over lines.'
    else:
        hint = "Check the quotes, brackets and `key = value` form on that line."
    return ConfigError(file, "TOML syntax error", line, f"{message}.", hint)


def _build(
    text: str,
    file: Path,
    environ: Mapping[str, str],
    *,
    base_dir: Path,
    default_storage: Callable[[], str],
) -> tuple[Config, bool]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(file, exc, text) from None
    reader = Reader(file, LineIndex(text), base_dir)
    reader.check_keys(raw, TOP_LEVEL_KEYS, ())
    shop = read_shop(reader, reader.table(raw, "shop", ("shop",)))
    storage = read_storage(reader, reader.table(raw, "storage", ("storage",)), default_storage)
    sla = read_sla(reader, reader.table(raw, "sla", ("sla",)))
    sentiment = read_sentiment(reader, reader.table(raw, "sentiment", ("sentiment",)))
    ui_table = reader.table(raw, "ui", ("ui",))
    reader.check_keys(ui_table, ("bell",), ("ui",))
    ui = UiConfig(bell=reader.boolean(ui_table, "bell", ("ui",), UiConfig().bell))
    feeds, names_secrets = read_feeds(reader, raw.get("feeds"), environ)
    config = Config(
        path=None,
        shop=shop,
        storage=storage,
        sla=sla,
        feeds=feeds,
        teams=read_teams(reader, reader.table(raw, "teams", ("teams",))),
        templates=read_templates(reader, raw.get("templates")),
        tags=read_tags(reader, raw.get("tags")),
        sentiment=sentiment,
        ui=ui,
    )
    return config, names_secrets
