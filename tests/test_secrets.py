"""Secrets are never shown: not in the log, not on the screen, not in crash output.

Every token a shop configures (VK community and service tokens, the Telegram bot token, the X
bearer token and all four OAuth 1.0a keys, plus tokens the servers refuse) is held in an
environment variable, read by the real CLI, used against the fake servers on 127.0.0.1, and
then searched for, in every spelling a URL, a form body or an OAuth header gives it, in:

- the log of `socialtui --debug --log FILE` (DEBUG level, every library's loggers);
- every byte the board wrote to its pseudo-terminal while it read, showed and answered a
  message from each network (replies go out through all three APIs);
- crash output: a board that crashes (a tick made to raise, so Textual prints its traceback
  with local variables), a start-up failure under --debug (a Python traceback), and
  `socialtui check` / `socialtui poll --once` with feeds whose tokens are refused.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from .fakes.telegram_server import FakeTelegram
from .fakes.telegram_server import running_fake as telegram_fake
from .fakes.vk_server import COMMUNITY_TOKEN, GROUP_ID, SERVICE_TOKEN, FakeVk
from .fakes.vk_server import running_fake as vk_fake
from .fakes.x_server import Credentials, FakeX
from .test_hostile_pty import (
    START_TIMEOUT,
    PtyApp,
    base_env,
    pty_app,
    socialtui,
    tail,
    write_config,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")

X_SHOP = "1500000000000000001"
X_CUSTOMER = "2000000000000000002"
SECRETS: dict[str, str] = {
    "SOCIALTUI_TEST_TG_TOKEN": "7000000001:AAH-secrets-tg-token-Q1w2E3r4",
    "SOCIALTUI_TEST_TG_REFUSED": "7000000009:AAH-refused-tg-token-R4t5Y6u7",
    "SOCIALTUI_TEST_VK_TOKEN": COMMUNITY_TOKEN,
    "SOCIALTUI_TEST_VK_SERVICE": SERVICE_TOKEN,
    "SOCIALTUI_TEST_VK_REFUSED": "vk1.a.refused-community-token-U7i8O9p0",
    "SOCIALTUI_TEST_X_BEARER": "AAAA-secrets-bearer-P0a9S8d7F6",
    "SOCIALTUI_TEST_X_CONSUMER_KEY": "ck-secrets-consumer-key-D7f6G5h4",
    "SOCIALTUI_TEST_X_CONSUMER_SECRET": "cs-secrets-consumer-secret-H4j3K2l1",
    "SOCIALTUI_TEST_X_ACCESS_TOKEN": f"{X_SHOP}-at-secrets-access-token-L1z2X3c4",
    "SOCIALTUI_TEST_X_ACCESS_SECRET": "ats-secrets-access-secret-C4v5B6n7",
    "SOCIALTUI_TEST_X_REFUSED_BEARER": "AAAA-refused-bearer-N7m8Q9w0",
}
CREDENTIALS = Credentials(
    bearer=SECRETS["SOCIALTUI_TEST_X_BEARER"],
    consumer_key=SECRETS["SOCIALTUI_TEST_X_CONSUMER_KEY"],
    access_token=SECRETS["SOCIALTUI_TEST_X_ACCESS_TOKEN"],
)
MARK_VK, MARK_TG, MARK_X = "VK-ЖАЛОБА-7", "TG-ЖАЛОБА-7", "X-ЖАЛОБА-7"
REPLY_TIMEOUT = 90.0

CONFIG = """\
[shop]
name = "Кофейня Зерно"
operator = "Оля"

[storage]
url = "sqlite:///{db}"

[ui]
bell = false

[[feeds]]
type = "vk"
name = "vk"
token_env = "SOCIALTUI_TEST_VK_TOKEN"
service_token_env = "SOCIALTUI_TEST_VK_SERVICE"
group_id = {group_id}
api_base = "{vk}"
wait = 1
search = ["Зерно"]
search_interval = 2

[[feeds]]
type = "vk"
name = "vk-bad"
token_env = "SOCIALTUI_TEST_VK_REFUSED"
group_id = {group_id}
api_base = "{vk}"
wait = 1

[[feeds]]
type = "telegram"
name = "tg"
token_env = "SOCIALTUI_TEST_TG_TOKEN"
api_base = "{tg}"
poll_timeout = 2

[[feeds]]
type = "telegram"
name = "tg-bad"
token_env = "SOCIALTUI_TEST_TG_REFUSED"
api_base = "{tg}"

[[feeds]]
type = "x"
name = "x"
bearer_token_env = "SOCIALTUI_TEST_X_BEARER"
consumer_key_env = "SOCIALTUI_TEST_X_CONSUMER_KEY"
consumer_secret_env = "SOCIALTUI_TEST_X_CONSUMER_SECRET"
access_token_env = "SOCIALTUI_TEST_X_ACCESS_TOKEN"
access_token_secret_env = "SOCIALTUI_TEST_X_ACCESS_SECRET"
api_base = "{x}"
poll_interval = 1

[[feeds]]
type = "x"
name = "x-bad"
bearer_token_env = "SOCIALTUI_TEST_X_REFUSED_BEARER"
user_id = "{x_shop}"
api_base = "{x}"
poll_interval = 1

[[templates]]
key = "a"
title = "Приняли"
text = "Здравствуйте, {{name}}! Разбираемся."
"""


def spellings(secret: str) -> set[bytes]:
    """How a secret can appear: as is, URL-quoted (paths, forms, OAuth headers), as UTF-8."""
    return {
        text.encode("utf-8")
        for text in (secret, quote(secret, safe=""), quote(secret), quote_plus(secret))
    }


def leaked(*outputs: bytes) -> list[str]:
    found = []
    for name, secret in SECRETS.items():
        for spelling in spellings(secret):
            for index, output in enumerate(outputs):
                if spelling in output:
                    found.append(f"{name} ({spelling!r}) in output {index}")
    return found


class Fakes:
    def __init__(self, telegram: FakeTelegram, vk: FakeVk, x: FakeX) -> None:
        self.telegram, self.vk, self.x = telegram, vk, x


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    world = Path(__file__).parent / "data" / "x_world.json"
    with (
        telegram_fake(SECRETS["SOCIALTUI_TEST_TG_TOKEN"]) as telegram,
        vk_fake() as vk,
        FakeX.from_file(world, CREDENTIALS) as x,
    ):
        telegram.add_update(
            {
                "message": {
                    "message_id": 31,
                    "date": 1_795_420_000,
                    "chat": {"id": 601, "type": "private", "first_name": "Вера"},
                    "from": {"id": 601, "is_bot": False, "first_name": "Вера"},
                    "text": f"{MARK_TG} кофе холодный, плохо",
                }
            }
        )
        yield Fakes(telegram, vk, x)


def make_config(
    tmp_path: Path, fakes: Fakes, *, db: Path | None = None, name: str = "shop.toml"
) -> Path:
    return write_config(
        tmp_path / name,
        CONFIG.format(
            db=db or tmp_path / "board.db",
            group_id=GROUP_ID,
            vk=fakes.vk.base,
            tg=fakes.telegram.base_url,
            x=fakes.x.url,
            x_shop=X_SHOP,
        ),
    )


def env_with_secrets(tmp_path: Path) -> dict[str, str]:
    # No undo window, so the replies go out while the test watches.
    return base_env(tmp_path, SOCIALTUI_SEND_DELAY="0", **SECRETS)


def wait_for(app: PtyApp, condition: Callable[[], bool], timeout: float) -> bool:
    """Keep draining the terminal (the app blocks if nobody reads) until `condition`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        app.settle(quiet=0.2, limit=0.5)
    return condition()


def vk_dm(text: str) -> dict[str, object]:
    return {
        "group_id": GROUP_ID,
        "type": "message_new",
        "event_id": "e" * 40,
        "v": "5.199",
        "object": {
            "message": {
                "date": 1_795_423_200,
                "from_id": 990000101,
                "id": 5001,
                "out": 0,
                "attachments": [],
                "conversation_message_id": 401,
                "peer_id": 990000101,
                "text": text,
            },
            "client_info": {"button_actions": ["text"], "keyboard": True, "lang_id": 0},
        },
    }


def x_mention(text: str) -> dict[str, object]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "id": "1900000000000000777",
        "text": f"@zerno_coffee {text}",
        "author_id": X_CUSTOMER,
        "conversation_id": "1900000000000000777",
        "created_at": now,
    }


def test_tokens_stay_out_of_the_debug_log_and_the_screen(tmp_path: Path, fakes: Fakes) -> None:
    log = tmp_path / "socialtui.log"
    config = make_config(tmp_path, fakes)
    args = socialtui("--debug", "--log", str(log), "--config", str(config))
    with pty_app(args, env_with_secrets(tmp_path)) as app:
        assert app.read(lambda out: b"x-bad" in out, START_TIMEOUT), tail(app.output)
        # VK and X read "from now": their messages go in once the feeds are listening.
        assert wait_for(app, lambda: bool(fakes.vk.calls_to("a_check")), START_TIMEOUT)
        fakes.vk.push(vk_dm(f"{MARK_VK} где мой заказ? ужас"))
        assert wait_for(app, lambda: bool(fakes.x.requests_to("mentions")), START_TIMEOUT)
        fakes.x.add_mention(x_mention(f"{MARK_X} опять опоздали, плохо"))
        marks = [mark.encode() for mark in (MARK_VK, MARK_TG, MARK_X)]
        assert app.read(lambda out: all(m in out for m in marks), START_TIMEOUT), tail(app.output)

        # Acknowledge every card: each reply goes out through its network's API.
        for _column in range(4):
            app.press("g", "a", "a", "a", "a", "l")
        assert wait_for(
            app,
            lambda: bool(fakes.telegram.sent and fakes.vk.sent and fakes.x.posts),
            REPLY_TIMEOUT,
        ), (fakes.telegram.sent, fakes.vk.sent, fakes.x.posts, tail(app.output))
        app.press("q")
        code = app.wait_exit()
        screen = bytes(app.output)

    assert code == 0, tail(screen)
    written = log.read_bytes()
    # The log really is a debug log of this run.
    assert b" DEBUG " in written and b"feed tg: polling" in written, written[-3000:]
    assert leaked(written, screen) == []


CRASH_ON_THIRD_TICK = """\
import sys
import tui.app

ticks = []
original = tui.app.SocialtuiApp.tick


def tick(self):
    ticks.append(1)
    if len(ticks) == 3:
        raise RuntimeError("provoked crash on the third tick")
    original(self)


tui.app.SocialtuiApp.tick = tick
from tui.cli import main

sys.exit(main(sys.argv[1:]))
"""


def test_tokens_stay_out_of_crash_output(tmp_path: Path, fakes: Fakes) -> None:
    env = env_with_secrets(tmp_path)
    config = make_config(tmp_path, fakes)
    outputs: list[bytes] = []

    # 1. The board crashes while running: Textual prints its traceback, locals and all.
    log = tmp_path / "crash.log"
    crashing = [sys.executable, "-c", CRASH_ON_THIRD_TICK]
    with pty_app([*crashing, "--debug", "--log", str(log), "--config", str(config)], env) as app:
        app.wait_exit(START_TIMEOUT)
        assert not app.alive
        crash_screen = bytes(app.output)
    assert b"provoked crash on the third tick" in crash_screen, tail(crash_screen)
    outputs += [crash_screen, log.read_bytes()]

    # 2. A start-up failure under --debug: a plain Python traceback on stderr.
    folder = tmp_path / "not-a-database"
    folder.mkdir()
    broken = make_config(tmp_path, fakes, db=folder, name="broken.toml")
    started = run(["--debug", "--log", str(tmp_path / "startup.log"), "--config", str(broken)], env)
    assert started.returncode != 0 and b"Traceback" in started.stderr, started
    outputs += [started.stdout, started.stderr, (tmp_path / "startup.log").read_bytes()]

    # 3. Feeds whose tokens are refused, as `check` and a cron `poll` report them.
    checked = run(["--debug", "check", "--config", str(config)], env)
    assert checked.returncode == 1, checked
    assert checked.stdout.count(b"FAILED") >= 3, checked.stdout  # vk-bad, tg-bad, x-bad
    polled = run(["--debug", "--log", str(tmp_path / "poll.log"), "poll", "--once"], env, config)
    outputs += [checked.stdout, checked.stderr, polled.stdout, polled.stderr]
    outputs.append((tmp_path / "poll.log").read_bytes())

    assert leaked(*outputs) == []


def run(
    args: list[str], env: dict[str, str], config: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    extra = ["--config", str(config)] if config is not None else []
    return subprocess.run(
        [*socialtui(*args), *extra],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        timeout=START_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_log_filter_redacts_messages_tracebacks_and_quoted_spellings(tmp_path: Path) -> None:
    """`log.exception` writes the exception's text after the message; a library's exception
    can quote a URL or a request, and a token in a URL is percent-encoded."""
    import logging

    from tui.cli import _RedactFilter

    secret = SECRETS["SOCIALTUI_TEST_TG_TOKEN"]  # has a ":" that URLs encode as %3A
    redact = _RedactFilter()
    redact.add(secret)
    path = tmp_path / "unit.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.addFilter(redact)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("socialtui.test_secrets")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("token %s and %s", secret, quote(secret, safe=""))
        try:
            raise RuntimeError(f"POST https://api.telegram.org/bot{quote(secret)}/getMe failed")
        except RuntimeError:
            logger.exception("feed %s stopped", "tg")
        logger.info("stack", stack_info=True, extra={"token": secret})
    finally:
        logger.removeHandler(handler)
        handler.close()
    written = path.read_bytes()
    assert b"feed tg stopped" in written and b"RuntimeError: POST https://api" in written
    assert written.count(b"***") >= 3
    assert leaked(written) == []
