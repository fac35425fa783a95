"""`socialtui check` and `socialtui poll --once` print only what a terminal displays.

Everything they print that came from outside goes through triage.sanitize first: a server's
error description and the bot name it signs in as (fake Telegram servers on 127.0.0.1), the
customers' messages and names (a JSONL file and a Telegram DM), and an exception's text. Each
carries OSC titles (BEL and ST), an OSC 8 link, an OSC 52 clipboard write, a CSI clear, a DCS
query, RIS, 8-bit C1 CSI and OSC, a bidi override, a zero-width space and bare controls. Every
byte on stdout and stderr (file descriptors 1 and 2) is read back: it is UTF-8, with no escape,
C1 or other control character but newline, no format character (bidi, zero-width), and none of
the payloads' words; the readable words around them are there. `poll --json` stays lossless:
its escapes are spelled as JSON `\\u` text and parse back to the original.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from feeds import base as feeds_base
from tui import cli

from .fakes.telegram_server import FakeTelegram, Scripted

TOKEN = "7000000001:AAH-cli-hostile-token-Kq8"
TOKEN_ENV = "SOCIALTUI_TEST_CLI_TG_TOKEN"

# One of each kind of sequence that acts on a terminal, between plain words.
ATTACKS = (
    "\x1b]0;pwned\x07"  # OSC 0 title, BEL-terminated
    "\x1b]2;pwned\x1b\\"  # OSC 2 title, ST-terminated
    "\x1b]8;;https://evil.example/x\x1b\\ссылка\x1b]8;;\x1b\\"  # OSC 8 hyperlink
    "\x1b]52;c;cHduZWQ=\x07"  # OSC 52 clipboard write
    "\x1b[2J\x1b[H"  # CSI clear screen, cursor home
    "\x1bP+q544e\x1b\\"  # DCS query
    "\x1bc"  # RIS: reset the terminal
    "\x9b2J"  # 8-bit CSI
    "\x9d0;pwned\x9c"  # 8-bit OSC ... ST
    "\u202e"  # bidi override
    "\u200b"  # zero-width space
    "\x07\x08\x7f"  # BEL, BS, DEL
)
PAYLOAD_WORDS = ("pwned", "evil.example", "cHduZWQ", "544e")


def hostile(start: str, end: str) -> str:
    return f"{start} {ATTACKS} {end}"


def assert_terminal_safe(raw: bytes, where: str) -> str:
    """The captured bytes as text, after checking nothing in them acts on a terminal."""
    text = raw.decode("utf-8")  # strict: a stray 8-bit byte is a failure too
    for position, character in enumerate(text):
        category = unicodedata.category(character)
        bad = (category == "Cc" and character != "\n") or category in ("Cf", "Zl", "Zp")
        assert not bad, f"{where}: U+{ord(character):04X} at {position}: {text!r}"
    return text


def assert_no_payloads(text: str, where: str) -> None:
    for word in PAYLOAD_WORDS:
        assert word not in text, f"{where}: {word!r} came through: {text!r}"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The fakes are local; a proxy from the environment must not get in between.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


class Fakes:
    """Three Telegram servers: one signs the bot in under a hostile name and delivers a
    hostile DM; one refuses the token with a hostile 401 description; one is down with a
    hostile 502 description."""

    def __init__(self) -> None:
        self.live = FakeTelegram(TOKEN)
        self.live.bot = {**self.live.bot, "username": hostile("zerno", "bot")}
        self.refused = FakeTelegram(TOKEN)
        self.down = FakeTelegram(TOKEN)
        self.all = (self.live, self.refused, self.down)

    def trouble(self) -> None:
        """Script the next getMe of the refused and the broken server."""
        self.refused.script("getMe", Scripted.error(401, hostile("Unauthorized", "token")))
        self.down.script("getMe", Scripted.error(502, hostile("Bad Gateway", "later")))


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    made = Fakes()
    for fake in made.all:
        fake.start()
    try:
        yield made
    finally:
        for fake in made.all:
            fake.stop()


def write_config(folder: Path, fakes: Fakes, jsonl: Path) -> Path:
    lines = [
        "[shop]",
        'name = "Кофейня Зерно"',
        'operator = "Оля"',
        "[storage]",
        f'url = "sqlite:///{folder / "store.db"}"',
    ]
    for name, fake in (("tg", fakes.live), ("refused", fakes.refused), ("down", fakes.down)):
        lines += [
            "[[feeds]]",
            'type = "telegram"',
            f'name = "{name}"',
            f'token_env = "{TOKEN_ENV}"',
            f'api_base = "{fake.base_url}"',
            "poll_timeout = 1",
        ]
    lines += ["[[feeds]]", 'type = "jsonl"', 'name = "file"', f'path = "{jsonl}"']
    path = folder / "shop.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


JSONL_RECORDS: list[dict[str, Any]] = [
    {
        "id": "j1",
        "network": "vk\x1b]0;pwned\x07",
        "text": hostile("ЖАЛОБА-1", "ужас, где заказ"),
        "author": {"id": "a1", "name": hostile("Иван", "Петров"), "city": "Казань\x1b[2J"},
    },
    {
        "id": "j2",
        "text": "СТРОКИ-2\nвторая\rстрока\u2028третья \x1b[6n спасибо",
        "author": {"id": "a2", "name": "\u202eМария\u200b"},
    },
]


def telegram_dm() -> dict[str, Any]:
    return {
        "message": {
            "message_id": 11,
            "date": 1_795_420_000,
            "chat": {"id": 501, "type": "private", "first_name": "Пётр"},
            "from": {
                "id": 501,
                "is_bot": False,
                "first_name": hostile("Пётр", "Васечкин"),
                "username": "petr_v",
            },
            "text": hostile("ТЕЛЕГРАМ-1", "где заказ?"),
        }
    }


@pytest.fixture
def config(tmp_path: Path, fakes: Fakes) -> Path:
    jsonl = tmp_path / "inbox.jsonl"
    lines = [json.dumps(record, ensure_ascii=False) for record in JSONL_RECORDS]
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fakes.live.add_update(telegram_dm())
    fakes.trouble()
    return write_config(tmp_path, fakes, jsonl)


def test_check_prints_server_words_without_their_escapes(
    config: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert cli.main(["check", "--config", str(config)]) == 1  # two feeds failed
    captured = capfdbinary.readouterr()
    out = assert_terminal_safe(captured.out, "stdout")
    assert_terminal_safe(captured.err, "stderr")
    assert_no_payloads(out + captured.err.decode(), "check")
    lines = out.splitlines()
    assert len(lines) == 5, out  # the config, then one line per feed
    tg, refused, down, jsonl = lines[1:]
    # The readable words of each server's answer are all there, on their feed's own line.
    # (The OSC 8 link's text, «ссылка», stays; its target does not.)
    assert tg.endswith("signed in as @zerno ссылка bot"), tg
    assert "refused (telegram): FAILED:" in refused, refused
    assert "Unauthorized ссылка token" in refused, refused
    assert "down (telegram): FAILED:" in down and "Bad Gateway ссылка later" in down, down
    assert jsonl.startswith("  file (jsonl): "), jsonl


def test_poll_prints_customer_text_and_server_errors_without_their_escapes(
    config: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    argv = ["poll", "--once", "--timeout", "10", "--config", str(config)]
    assert cli.main(argv) == 1  # the refused and the broken feed failed; the others stored
    captured = capfdbinary.readouterr()
    out = assert_terminal_safe(captured.out, "stdout")
    err = assert_terminal_safe(captured.err, "stderr")
    assert_no_payloads(out + err, "poll")
    lines = out.splitlines()
    assert len(lines) == 3, out  # one line per new item, nothing broken over several
    by_marker = {
        marker: [line for line in lines if marker in line]
        for marker in ("ТЕЛЕГРАМ-1", "ЖАЛОБА-1", "СТРОКИ-2")
    }
    assert all(len(found) == 1 for found in by_marker.values()), out
    assert "где заказ?" in by_marker["ТЕЛЕГРАМ-1"][0]
    assert "ужас, где заказ" in by_marker["ЖАЛОБА-1"][0]
    # Line breaks inside a message (LF, CR, U+2028) became spaces.
    assert "СТРОКИ-2 вторая строка третья спасибо" in by_marker["СТРОКИ-2"][0]
    errors = err.splitlines()
    assert len(errors) == 2, err
    assert errors[0].startswith("socialtui: refused: ") and "Unauthorized" in errors[0], err
    assert errors[1].startswith("socialtui: down: ") and "Bad Gateway" in errors[1], err


def test_poll_json_spells_escapes_out_and_keeps_them(
    config: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    argv = ["poll", "--once", "--json", "--timeout", "10", "--config", str(config)]
    assert cli.main(argv) == 1
    captured = capfdbinary.readouterr()
    out = assert_terminal_safe(captured.out, "stdout")
    err = assert_terminal_safe(captured.err, "stderr")
    assert_no_payloads(err, "poll --json stderr")
    records = {record["id"]: record for record in map(json.loads, out.splitlines())}
    assert len(records) == 3, out
    # Lossless for scripts: the escapes are JSON text on the terminal and themselves parsed.
    assert records["j1"]["text"] == JSONL_RECORDS[0]["text"]
    assert records["j1"]["author"]["name"] == JSONL_RECORDS[0]["author"]["name"]
    assert records["j2"]["author"]["name"] == JSONL_RECORDS[1]["author"]["name"]
    (dm,) = [r for r in records.values() if r["network"] == "telegram"]
    assert dm["text"] == telegram_dm()["message"]["text"]
    assert "\\u001b]0;pwned\\u0007" in out


def test_an_unexpected_error_quoting_a_server_is_one_clean_line(
    config: Path, capfdbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug's exception text can quote what a server said: it is cleaned like the rest."""

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("bad answer:\n" + hostile("начало", "конец"))

    monkeypatch.setattr(feeds_base, "create_feed", broken)
    for command in ("check", "poll"):
        argv = [command, *(["--once"] if command == "poll" else []), "--config", str(config)]
        assert cli.main(argv) == 1
        captured = capfdbinary.readouterr()
        assert_terminal_safe(captured.out, f"{command} stdout")
        err = assert_terminal_safe(captured.err, f"{command} stderr")
        assert_no_payloads(err, command)
        first = err.splitlines()[0]
        assert re.fullmatch(
            r"socialtui: unexpected error: RuntimeError: bad answer: начало .* конец", first
        ), err
