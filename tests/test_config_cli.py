"""Broken configs through the real command line: `socialtui check --config <broken>`.

tests/test_config.py proves each broken config raises the right ConfigError in-process; this
runs every one of them (and the unreadable files) as the operator would, in a subprocess, and
checks what the operator sees: exit code 2, exactly one line on stderr that names the file, the
key and the line, nothing on stdout, no traceback, no secret.

The in-process table registers a `testnet` feed type the subprocess does not have, so its
cases are rewritten onto real feed types: the non-feed cases get a valid jsonl feed (their
lines are unchanged, the feed comes after), and the feed cases use `vk`. For the rewritten feed
cases the expected message is what load_config says for the same text, which test_config.py
pins down.

The subprocesses run a few at a time from one fixture, so the whole table costs seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.loader import load_config

from .test_config import BROKEN, BROKEN_FEEDS, SECRET_VALUE

REPO = Path(__file__).resolve().parent.parent
JSONL_FEED = '\n[[feeds]]\ntype = "jsonl"\npath = "inbox.jsonl"\n'
ENV = {"TESTNET_TOKEN": SECRET_VALUE}


@dataclass(frozen=True)
class Case:
    id: str
    text: str | bytes | None  # None: the case makes its own path
    key_path: str | None  # from the in-process table; None: ask load_config
    line: int | None
    fragment: str


def _cases() -> list[Case]:
    cases = [
        Case(case_id, text + JSONL_FEED, key, line, fragment)
        for case_id, text, key, line, fragment in BROKEN
    ]
    for case_id, text, _key, _line, _fragment in BROKEN_FEEDS:
        text = text.replace('"testnet"', '"vk"').replace("testnt", "vkk")
        cases.append(Case(case_id, text, None, None, ""))
    cases += [
        Case("not-utf8", '[shop]\nname = "Зерно"\n'.encode("cp1251"), None, 2, "not UTF-8"),
        Case(
            "escape-in-value",
            '[shop]\nname = "Зерно\\u001b]0;pwned\\u0007"\n' + JSONL_FEED,
            "shop.name",
            2,
            "control character U+001B",
        ),
        Case(
            "escape-in-key",
            '"tags\\u001b[2J" = ["a"]\n' + JSONL_FEED,
            '"tags\\u001b[2J"',  # the key as the operator can read it: ESC spelled out
            1,
            "\\u001b[2J",
        ),
        Case(
            "newline-in-value",
            '[shop]\ntimezone = "Europe/Mos\\ncow"\n' + JSONL_FEED,
            "shop.timezone",
            2,
            "Europe/Mos\\u000acow",
        ),
        Case("missing-file", None, None, None, "no such file"),
        Case("directory", None, None, None, "is a folder"),
        Case("symlink-loop", None, None, None, "cannot be read"),
    ]
    if os.geteuid() != 0:  # root reads everything
        cases.append(Case("unreadable", None, None, None, "permission denied"))
    return cases


CASES = _cases()


def _prepare(case: Case, folder: Path) -> Path:
    folder.mkdir()
    path = folder / "shop.toml"
    if case.id == "missing-file":
        return path
    if case.id == "directory":
        path.mkdir()
        return path
    if case.id == "symlink-loop":
        path.symlink_to(path)
        return path
    if case.id == "unreadable":
        path.write_text(JSONL_FEED, encoding="utf-8")
        path.chmod(0)
        return path
    assert case.text is not None
    data = case.text if isinstance(case.text, bytes) else case.text.encode("utf-8")
    path.write_bytes(data)
    path.chmod(0o600)  # no "world-readable config" warning on stderr
    return path


def _check(path: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "LANG": "C.UTF-8",
        **ENV,
    }
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "check", "--config", str(path)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@dataclass(frozen=True)
class Result:
    path: Path
    run: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Result]]:
    root = tmp_path_factory.mktemp("broken-configs")
    home = root / "home"
    home.mkdir()
    paths = {case.id: _prepare(case, root / case.id) for case in CASES}
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = dict(zip(paths, pool.map(lambda p: _check(p, home), paths.values()), strict=True))
    yield {case_id: Result(paths[case_id], runs[case_id]) for case_id in paths}
    for path in paths.values():
        if path.is_file() and not path.is_symlink():
            path.chmod(0o600)


def _expected(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, {"HOME": str(path.parent), **ENV})
    return info.value


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_broken_config_is_one_clear_line_and_exit_2(case: Case, results: dict[str, Result]) -> None:
    result = results[case.id]
    run = result.run
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert run.stderr.endswith("\n") and run.stderr.count("\n") == 1, run.stderr
    message = run.stderr.removesuffix("\n")
    assert message.isprintable(), message  # nothing invisible, no escape reaches the terminal
    assert message.startswith(f"socialtui: {result.path}"), message  # the file, as given
    assert SECRET_VALUE not in message
    if case.id in ("missing-file", "directory", "symlink-loop", "unreadable"):
        assert case.fragment in message
        return
    error = _expected(result.path)
    assert message == f"socialtui: {error}"
    key_path = case.key_path if case.key_path is not None else error.key_path
    line = case.line if case.line is not None else error.line
    where = f"{result.path}:{line}" if line is not None else str(result.path)
    if key_path:
        assert message.startswith(f"socialtui: {where}: {key_path}: "), message
    else:
        assert message.startswith(f"socialtui: {where}: "), message
    assert case.fragment in message


def test_at_least_thirty_broken_configs_go_through_the_cli() -> None:
    assert len(CASES) >= 30
