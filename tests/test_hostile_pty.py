"""The board in a real pseudo-terminal, fed hostile records, read byte by byte.

`socialtui --config cfg` runs as a child process on a pty (stdlib `pty.openpty`, 120x40 set
with TIOCSWINSZ, TERM=xterm-256color). Hostile customer records arrive through the JSONL feed
and through the Telegram feed talking to tests/fakes/telegram_server.py over 127.0.0.1; a
second Telegram feed is refused with a hostile 401 description, so a feed error notification
carries the server's words too. The test reads every byte the app writes to the terminal while
it walks the board (every column, every card, the detail pane, the pickers, the composer),
then checks:

- nothing injected reaches the terminal: none of the payloads' distinctive parts (an OSC title
  "pwned", an OSC 8 link to "evil.example", an OSC 52 clipboard write, a DCS query, a CSI clear
  between marker letters), no C1 control, no bidi override or isolate, no zero-width character.
  Textual itself only writes CSI private modes, SGR, cursor moves and one OSC 22 (pointer
  shape), so the checks look for what was injected, not for ESC as such;
- markup shows literally: `[@click=app.quit]...` appears as text and the app is still running;
- a 1 MB message shows only its start, and the store holds all of it;
- `q` still quits, with exit code 0.

Reads are bounded (select with a deadline) and waits are generous; nothing is timed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import re
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .fakes.telegram_server import FakeTelegram, Scripted, running_fake

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")

REPO = Path(__file__).resolve().parent.parent
COLS, ROWS = 120, 40
START_TIMEOUT = 120.0  # first paint: a cold start on a loaded 2-core box loads the model too
STEP_QUIET = 0.25  # after a key, read until the terminal is this quiet (or STEP_LIMIT passed)
STEP_LIMIT = 5.0
EXIT_TIMEOUT = 60.0

TG_TOKEN = "7000000001:AAHtest-hostile-pty-token-Zq9"
TG_BAD_TOKEN = "7000000002:AAHrefused-token-Xw4"

# What must never reach the terminal: the distinctive parts of every injected sequence.
INJECTED: list[tuple[str, bytes]] = [
    ("OSC title", b"\x1b]0;"),
    ("OSC title", b"\x1b]2;"),
    ("OSC 8 link", b"\x1b]8;"),
    ("OSC 52 clipboard", b"\x1b]52;"),
    ("OSC payload", b"pwned"),
    ("OSC 8 target", b"evil.example"),
    ("OSC 52 payload", b"cHduZWQ"),
    ("DCS", b"\x1bP"),
    ("DCS payload", b"544e"),
    ("CSI clear", b"ZQX\x1b["),
    ("CSI clear", b"\x1b[2JXQZ"),
    ("CSI clear", b"\x1b[3JXQZ"),
    ("CSI report", b"\x1b[6n"),
    ("RIS", b"\x1bc"),
]
# Characters no paint may contain, as UTF-8: C1 controls (U+0080-U+009F; xterm obeys some),
# bidi embeddings, overrides and isolates, LRM/RLM/ALM, zero-width characters and the BOM.
FORBIDDEN_UTF8 = re.compile(
    rb"\xc2[\x80-\x9f]"
    rb"|\xe2\x80[\x8b-\x8f\xaa-\xae]"
    rb"|\xe2\x81[\xa0-\xa4\xa6-\xa9]"
    rb"|\xd8\x9c"
    rb"|\xef\xbb\xbf"
)

# Short words first: a card's text wraps at ~26 cells here, so the markers that say "this
# card was painted" are single words; the full markup shows on one line in the detail pane.
MARK_JSONL = "JSONL-1"
MARK_TG = "TG-1"
MARKUP_JSONL = f"[@click=app.quit]{MARK_JSONL}[/]"
MARKUP_TG = f"[@click=app.quit]{MARK_TG}[/]"
MEGABYTE = 1_000_000
MEGA_HEAD = "МЕГАБАЙТ-НАЧАЛО"
MEGA_TAIL = "МЕГАБАЙТ-КОНЕЦ"


def hostile_records() -> list[dict[str, object]]:
    """JSONL records, one attack each in the text and more in the author fields."""
    return [
        {
            "id": "h1",
            "network": "vk",
            "kind": "comment",
            "text": f"{MARK_JSONL} {MARKUP_JSONL} \x1b]0;pwned\x07 плохо, "
            "\x1b]8;;https://evil.example/a\x1b\\ссылка\x1b]8;;\x1b\\",
            "author": {
                "id": "a1",
                "name": "\x1b]2;pwned\x1b\\Иван",
                "handle": "ivan\u202e",
                "city": "Казань\x1b[2J",
                "followers": 12400,
            },
            "context": "Пост \x1b]0;pwned\x07 о доставке",
        },
        {
            "id": "h2",
            "text": "ZQX\x1b[2J\x1b[3JXQZ \x9b2J\x9d0;pwned\x9c экран стёрт? ужас",
            "author": {"id": "a2", "name": "[/b]Мария\u200b", "handle": "masha"},
        },
        {
            "id": "h3",
            "text": "оплата \u202eанеро\u202c \u2066x\u2069 \u200f и \u061c вопрос?",
            "author": {"id": "a3", "name": "\u202eПётр", "city": "\u2067Омск\u2069"},
        },
        {
            "id": "h4",
            "text": "\x1b]52;c;cHduZWQ=\x07 буфер \x1bP+q544e\x1b\\ \x1b[6n \x1bc спасибо",
            "author": {"id": "a4", "name": "Оля\x07\x08\x7f"},
        },
        {
            "id": "h5",
            "text": "Z" + "\u0301" * 5000 + " 👨\u200d👩\u200d👧\u200d👦 па\u200bро\u2060ль\ufeff",
            "author": {"id": "a5", "name": "Zalgo" + "\u0336" * 300},
        },
        {
            "id": "h6",
            "text": "[link=https://markup.example]ссылка[/link] [/b] [bold red]жирный",
            "author": {"id": "a6", "name": "[@click=app.bell]Звонок[/]"},
        },
        {
            "id": "h7",
            "text": MEGA_HEAD + " " + ("жалоба \x1b]0;pwned\x07 \u202e " * 60_000)[:MEGABYTE],
            "author": {"id": "a7", "name": "Огромный"},
        },
    ]


def inbox_lines() -> list[bytes]:
    lines = []
    for record in hostile_records():
        if record["id"] == "h7":
            text = str(record["text"])
            # Exactly a megabyte of text, whatever the pattern's length, ending in the marker.
            record = {**record, "text": text[: MEGABYTE - len(MEGA_TAIL)] + MEGA_TAIL}
        lines.append(json.dumps(record, ensure_ascii=False).encode("utf-8"))
    lines += [b"not json \x1b]0;pwned\x07", b'{"id": "no-text"}']  # skipped and counted
    return lines


def telegram_updates() -> list[dict[str, object]]:
    base = 1_795_420_000
    return [
        {
            "message": {
                "message_id": 11,
                "date": base,
                "chat": {"id": 501, "type": "private", "first_name": "Пётр"},
                "from": {
                    "id": 501,
                    "is_bot": False,
                    "first_name": "\x1b]8;;https://evil.example\x07Пётр",
                    "last_name": "\u202eВасечкин",
                    "username": "petr_v",
                },
                "text": f"{MARK_TG} {MARKUP_TG} \x1b]0;pwned\x07 где заказ? плохо",
            }
        },
        {
            "message": {
                "message_id": 12,
                "date": base + 60,
                "chat": {"id": 502, "type": "private", "first_name": "Анна"},
                "from": {"id": 502, "is_bot": False, "first_name": "Анна", "username": "anna"},
                "text": "ZQX\x1b[3JXQZ \u2066изоляция\u2069 \x9d0;pwned\x9c спасибо",
                "reply_to_message": {
                    "message_id": 5,
                    "date": base - 60,
                    "chat": {"id": 502, "type": "private"},
                    "text": "контекст \x1b]0;pwned\x07",
                },
            }
        },
    ]


# -- the pty ---------------------------------------------------------------------------------


@dataclass
class PtyApp:
    """A child process on a pseudo-terminal, and every byte it wrote there."""

    process: subprocess.Popen[bytes]
    master: int
    output: bytearray = field(default_factory=bytearray)

    @classmethod
    def start(cls, args: list[str], env: Mapping[str, str], cwd: Path = REPO) -> PtyApp:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        try:
            process = subprocess.Popen(
                args,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=dict(env),
                cwd=cwd,
                start_new_session=True,  # its own process group, so cleanup can end it all
                close_fds=True,
            )
        finally:
            os.close(slave)
        return cls(process, master)

    def read(self, until: Callable[[bytes], bool], timeout: float) -> bool:
        """Read (select-bounded) until `until(output)` holds, the child closes, or timeout."""
        deadline = time.monotonic() + timeout
        while not until(bytes(self.output)):
            remaining = deadline - time.monotonic()
            got = remaining > 0 and self._read_once(min(remaining, 0.1))
            if not got and (remaining <= 0 or self.process.poll() is not None):
                break
        return until(bytes(self.output))

    def settle(self, quiet: float = STEP_QUIET, limit: float = STEP_LIMIT) -> None:
        """Read until nothing arrived for `quiet` seconds (or `limit` passed)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if not self._read_once(quiet):
                return

    def _read_once(self, wait: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.output += data
        return bool(data)

    def press(self, *keys: str) -> None:
        """Type each string as the terminal would send it ("\\r" is enter, "\\x1b" escape)."""
        for key in keys:
            os.write(self.master, key.encode())
            self.settle()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_exit(self, timeout: float = EXIT_TIMEOUT) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.settle(quiet=0.1, limit=2)  # what it wrote on the way out
                return self.process.returncode
            self._read_once(0.1)
        return None

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        os.close(self.master)


@contextlib.contextmanager
def pty_app(args: list[str], env: Mapping[str, str]) -> Iterator[PtyApp]:
    app = PtyApp.start(args, env)
    try:
        yield app
    finally:
        app.close()


def socialtui(*args: str) -> list[str]:
    """The real CLI, from this checkout, with the test's interpreter."""
    return [sys.executable, "-m", "tui.cli", *args]


def base_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: no proxies, no NO_COLOR, nothing from the developer's shell."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "xterm-256color",
        "PYTHONDONTWRITEBYTECODE": "1",
        **extra,
    }


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def injected_in(output: bytes) -> list[str]:
    found = [f"{name}: {needle!r}" for name, needle in INJECTED if needle in output]
    found += [f"forbidden character {m.group()!r}" for m in FORBIDDEN_UTF8.finditer(output)]
    return found


def walk_the_board(app: PtyApp) -> None:
    """Every column, every card (with the detail pane open), then the pickers and composer."""
    app.press("\r")  # enter: the detail pane (full text, author, context, history)
    for _column in range(4):
        app.press("g")
        app.press(*"j" * 8)
        app.press("l")
    app.press("h", "h", "h", "g")
    app.press("t")  # tag picker: config tags and the mention's own
    app.press("\x1b")
    app.press("f")  # team picker: titles and contacts from the config
    app.press("\x1b")
    app.press("r")  # composer: the quote, the templates
    app.press("\x14", "a")  # ctrl+t, a: insert template a
    app.press("\x1b")  # escape: cancel (the draft is kept)


# -- the test --------------------------------------------------------------------------------

PTY_CONFIG = """\
tags = ["брак", "[@click=app.quit]", "\\u202eпеределка"]

[shop]
name = "Кофейня \\u202e[/b]"
operator = "Оля"

[storage]
url = "sqlite:///{db}"

[ui]
bell = false

[[feeds]]
type = "jsonl"
name = "выгрузка"
path = "{inbox}"

[[feeds]]
type = "telegram"
name = "tg"
token_env = "SOCIALTUI_TEST_TG_TOKEN"
api_base = "{tg}"
poll_timeout = 2

[[feeds]]
type = "telegram"
name = "tg-bad"
token_env = "SOCIALTUI_TEST_TG_BAD_TOKEN"
api_base = "{tg_bad}"
poll_timeout = 2

[teams.delivery]
title = "Доставка [@click=app.quit]"
contact = "+7 900\\u202e 000"
reply = "{{name}}, передали в {{team}}."

[[templates]]
key = "a"
title = "Принято [/b]"
text = "Здравствуйте, {{name}}! [link=https://markup.example]заказ[/link]"
"""


@pytest.fixture
def fakes() -> Iterator[tuple[FakeTelegram, FakeTelegram]]:
    with running_fake(TG_TOKEN) as good, running_fake("not-the-configured-token") as bad:
        for update in telegram_updates():
            good.add_update(update)
        # The refused bot's 401 carries words of the server's choosing.
        bad.script(
            "getMe",
            Scripted.error(
                401,
                "Unauthorized \x1b]0;pwned\x07[@click=app.quit]\x1b]8;;https://evil.example"
                "\x07ВХОД\x1b]8;;\x07\u202e",
            ),
        )
        yield good, bad


def test_hostile_records_never_reach_the_terminal(
    tmp_path: Path, fakes: tuple[FakeTelegram, FakeTelegram]
) -> None:
    good, bad = fakes
    inbox = tmp_path / "inbox.jsonl"
    inbox.write_bytes(b"\n".join(inbox_lines()) + b"\n")
    db = tmp_path / "board.db"
    config = write_config(
        tmp_path / "shop.toml",
        PTY_CONFIG.format(db=db, inbox=inbox, tg=good.base_url, tg_bad=bad.base_url),
    )
    env = base_env(
        tmp_path,
        SOCIALTUI_TEST_TG_TOKEN=TG_TOKEN,
        SOCIALTUI_TEST_TG_BAD_TOKEN=TG_BAD_TOKEN,
    )
    with pty_app(socialtui("--config", str(config)), env) as app:
        # Both feeds delivered: a JSONL card and a Telegram card are on screen.
        painted = app.read(
            lambda out: MARK_JSONL.encode() in out and MARK_TG.encode() in out, START_TIMEOUT
        )
        assert painted, f"the board never showed both feeds' cards:\n{tail(app.output)}"
        # The refused feed's notification (sanitised server words) shows up too.
        assert app.read(lambda out: "ВХОД".encode() in out, START_TIMEOUT), tail(app.output)
        walk_the_board(app)
        assert app.alive, f"the board died:\n{tail(app.output)}"
        app.press("q")
        code = app.wait_exit()
        output = bytes(app.output)

    assert code == 0, f"exit code {code}:\n{tail(output)}"
    assert b"Traceback" not in output
    assert injected_in(output) == []
    # Shown literally, not interpreted, and `[@click=app.quit]` did not quit the board.
    for literal in (
        MARKUP_JSONL,
        MARKUP_TG,
        "[link=https://markup.example]ссылка[/link]",
        "[@click=app.bell]Звонок[/]",
        "Unauthorized [@click=app.quit]ВХОД",  # the notification
        "Кофейня [/b]",  # the shop name in the status bar
        "#[@click=app.quit]",  # the tag picker
        "Доставка [@click=app.quit]",  # the team picker
    ):
        assert literal.encode() in output, f"{literal!r} not shown:\n{tail(output)}"
    # The megabyte: its start on a card, never its end, and nowhere near a megabyte written.
    assert MEGA_HEAD.encode() in output
    assert MEGA_TAIL.encode() not in output
    # The store holds every message whole, hostile bytes and all.
    with contextlib.closing(sqlite3.connect(db)) as connection:
        texts = [row[0] for row in connection.execute("SELECT text FROM mentions")]
    assert len(texts) == len(hostile_records()) + len(telegram_updates())
    (mega,) = [text for text in texts if text.startswith(MEGA_HEAD)]
    assert len(mega) == MEGABYTE and mega.endswith(MEGA_TAIL)
    assert any("\x1b]0;pwned\x07" in text for text in texts)


def tail(output: bytes | bytearray, size: int = 3000) -> str:
    """The end of what the terminal got, escapes made visible, for failure messages."""
    return repr(bytes(output[-size:]))
