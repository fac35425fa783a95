"""[[feeds]] tables, checked against what each registered feed type says it accepts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from config._lines import KeyPath, render_path
from config._reader import Reader, describe, did_you_mean
from config.schema import FeedConfig
from triage.secret import Secret

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRET_WORDS = ("token", "secret", "password", "passwd", "api_key", "apikey", "credentials")


def _looks_secret(key: str) -> bool:
    lowered = key.lower()
    return lowered.endswith(_SECRET_WORDS)


def _type_name(expected: type | tuple[type, ...]) -> str:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    names = {str: "text", int: "a whole number", float: "a number", bool: "true/false"}
    names.update({list: "a list", dict: "a table"})
    return " or ".join(names.get(kind, kind.__name__) for kind in kinds)


def _matches(value: object, expected: type | tuple[type, ...]) -> bool:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool):
        return bool in kinds  # TOML true is not the number 1
    if isinstance(value, int) and float in kinds:
        return True
    return isinstance(value, kinds)


def read_feeds(
    reader: Reader, raw: object, environ: Mapping[str, str]
) -> tuple[tuple[FeedConfig, ...], bool]:
    """The validated feeds, and whether any of them names a secret (an `*_env` key)."""
    import feeds  # noqa: F401  (importing the package registers every feed type)
    from feeds.base import feed_options, feed_types

    example = 'Add one, e.g. [[feeds]] with type = "jsonl" and path = "inbox.jsonl".'
    if raw is None:
        raise reader.error(("feeds",), "no feeds configured.", example)
    if not isinstance(raw, list):
        raise reader.error(
            ("feeds",),
            f"expected [[feeds]] tables, got {describe(raw)}.",
            "Write each feed as [[feeds]].",
        )
    if not raw:
        raise reader.error(("feeds",), "no feeds configured.", example)

    parsed: list[tuple[int, str, str | None, dict[str, Any]]] = []
    names_env = False
    for index, table in enumerate(raw):
        path = ("feeds", index)
        if not isinstance(table, dict):
            raise reader.error(
                path, f"expected a table, got {describe(table)}.", "Write each feed as [[feeds]]."
            )
        known = feed_types()
        if "type" not in table:
            raise reader.error(path, 'missing "type".', f"Known types: {', '.join(known)}.")
        type_name = table["type"]
        if not isinstance(type_name, str):
            raise reader.error((*path, "type"), f"expected text, got {describe(type_name)}.")
        if type_name not in known:
            raise reader.error(
                (*path, "type"),
                f'unknown feed type "{type_name}".',
                f"{did_you_mean(type_name, known)}Known types: {', '.join(known)}.",
            )
        specs = feed_options(type_name)
        name = reader.text(table, "name", path, "") or None
        options: dict[str, Any] = {}
        for key, value in table.items():
            if key in ("type", "name"):
                continue
            here = (*path, key)
            if key in specs and key.endswith("_env"):
                names_env = True
                options[key] = value
                options[key.removesuffix("_env")] = _secret_from_env(reader, here, value, environ)
            elif key in specs:
                spec = specs[key]
                if not _matches(value, spec.type):
                    hint = spec.help
                    if isinstance(value, str):
                        hint = f"Write it without quotes. {hint}".strip()
                    raise reader.error(
                        here, f"expected {_type_name(spec.type)}, got {describe(value)}.", hint
                    )
                if isinstance(value, int) and not isinstance(value, bool) and spec.type is float:
                    value = float(value)
                if isinstance(value, str) and (key == "path" or key.endswith("_path")):
                    value = str(reader.resolve_path(value))
                options[key] = value
            elif _looks_secret(key) or f"{key}_env" in specs:
                # The value is never echoed: it may be a live token.
                raise reader.error(
                    here,
                    "secrets do not belong in the config file.",
                    f"Put the value in an environment variable and write "
                    f'{key}_env = "{type_name.upper()}_{key.upper()}" instead.',
                )
            else:
                accepted = [k for k in specs if k != "name"] or ["(no options)"]
                raise reader.error(
                    here,
                    f'unknown option "{key}" for a {type_name} feed.',
                    f"{did_you_mean(key, specs)}{type_name} feeds accept: "
                    f"type, name, {', '.join(accepted)}.",
                )
        for key, spec in specs.items():
            if spec.required and key not in table:
                help_text = f" ({spec.help})" if spec.help else ""
                raise reader.error(
                    path, f'a {type_name} feed needs "{key}"{help_text}.', f"Add {key} = ..."
                )
        parsed.append((index, type_name, name, options))
    return _name_feeds(reader, parsed), names_env


def _secret_from_env(
    reader: Reader, path: KeyPath, value: object, environ: Mapping[str, str]
) -> Secret:
    key = str(path[-1])
    if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
        # Someone pasted the token itself here; say so without repeating it.
        raise reader.error(
            path,
            f"{key} must name an environment variable, not hold the secret itself.",
            f'Write {key} = "VK_TOKEN" and export VK_TOKEN=... before starting socialtui.',
        )
    if not environ.get(value):
        raise reader.error(
            path,
            f"environment variable {value} ({render_path(path)}) is not set.",
            f"Export it before starting: export {value}=...",
        )
    return Secret(environ[value])


def _name_feeds(
    reader: Reader, parsed: list[tuple[int, str, str | None, dict[str, Any]]]
) -> tuple[FeedConfig, ...]:
    # Explicit names win; unnamed feeds take their type, then "type-2", "type-3", ...
    taken: dict[str, int] = {}
    for index, _, name, _ in parsed:
        if name is None:
            continue
        if name in taken:
            raise reader.error(
                ("feeds", index, "name"),
                f'the feed name "{name}" is already used by feeds[{taken[name] + 1}].',
                "Feed names must be unique; they key the stored read positions.",
            )
        taken[name] = index
    result: list[FeedConfig] = []
    for index, type_name, name, options in parsed:
        if name is None:
            name, counter = type_name, 1
            while name in taken:
                counter += 1
                name = f"{type_name}-{counter}"
            taken[name] = index
        line = reader.index.line_of(("feeds", index))
        result.append(FeedConfig(type=type_name, name=name, options=options, line=line))
    return tuple(result)
