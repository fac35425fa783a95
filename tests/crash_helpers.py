"""Helpers for the crash tests: the real `socialtui` in a subprocess (the board under a
pseudo-terminal, `poll --once` on pipes), kill -9, and checks that read the store straight
from SQLite, the way the next start will find it.

Nothing here measures time. Waits are bounded and generous; the only clock-driven choice is
*when* to kill, drawn from a seeded RNG, and every check holds whatever the moment was.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import select
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import termios
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .fakes.telegram_server import FakeTelegram, Scripted

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "7000000001:AAH-crash-test-token-0123456789abcdef"
TOKEN_ENV = "SOCIALTUI_CRASH_TG_TOKEN"
# The same interpreter and the same code as the tests: `python -m tui.cli` is `socialtui`.
SOCIALTUI = (sys.executable, "-m", "tui.cli")

TEXTS = (
    "Где мой заказ №{n}? Жду уже час",
    "Кофе опять холодный, ужас ({n})",
    "Спасибо, раф был очень вкусный! ({n})",
    "Зашёл за капучино, всё нормально ({n})",
)

# Terminal output -> plain text: CSI and OSC/DCS sequences, then any other ESC pair.
_ANSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[\]P_^].*?(?:\x07|\x1b\\)|\x1b[@-Z\\-_]", re.S)


class Killed(Exception):
    """Raised inside a scripted session when its moment to be killed has come."""


# -- the world the app talks to -----------------------------------------------------------


class RecordingTelegram(FakeTelegram):
    """The fake Bot API, holding each sendMessage answer back for `answer_delay` seconds
    after the message counts as sent. That is the window a crash turns into `unknown`:
    Telegram has the reply, the app has not recorded it."""

    answer_delay: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self.send_arrived = threading.Event()

    def _send_message(self, params: dict[str, Any]) -> Scripted:
        answer = super()._send_message(params)
        self.send_arrived.set()
        if self.answer_delay:
            self._closing.wait(self.answer_delay)
        return answer

    def scripted(self) -> int:
        """Scripted answers not given yet."""
        with self._lock:
            return sum(len(answers) for answers in self._scripts.values())

    def clear_scripts(self) -> None:
        """Forget scripted answers not yet given: the trouble is over."""
        with self._lock:
            self._scripts.clear()

    def sends(self) -> list[tuple[int, int, str]]:
        """(chat_id, replied-to message_id, text) of every message the shop sent."""
        with self._lock:
            sent = list(self.sent)
        return [
            (int(s["chat_id"]), int(s["reply_parameters"]["message_id"]), s["text"]) for s in sent
        ]


def dm_update(n: int, text: str | None = None) -> dict[str, Any]:
    """A private message from customer n (each customer has a chat of their own)."""
    chat = 610_000_000 + n
    person = {"id": chat, "is_bot": False, "first_name": f"Клиент{n}"}
    return {
        "message": {
            "message_id": 20 + n,
            "from": person,
            "chat": {**{k: v for k, v in person.items() if k != "is_bot"}, "type": "private"},
            "date": 1_795_422_600 + n,
            "text": text or TEXTS[n % len(TEXTS)].format(n=n),
        }
    }


def dm_native_id(n: int) -> str:
    return f"{610_000_000 + n}:{20 + n}"


def jsonl_line(n: int) -> bytes:
    record = {
        "id": f"j{n}",
        "text": TEXTS[(n + 1) % len(TEXTS)].format(n=f"j{n}"),
        "author": {"id": f"a{n}", "name": f"Покупатель{n}"},
    }
    return json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"


def write_config(
    folder: Path,
    *,
    telegram: str | None = None,
    jsonl: Path | None = None,
    db: Path | None = None,
) -> Path:
    """A config with the given feeds, one acknowledgement template, and a store in `folder`."""
    db = db or folder / "store.db"
    lines = [
        "[shop]",
        'name = "Кофейня Зерно"',
        'operator = "Оля"',
        'timezone = "Europe/Moscow"',
        "[storage]",
        f'url = "sqlite:///{db}"',
        "[[templates]]",
        'key = "a"',
        'title = "Приняли"',
        'text = "Здравствуйте, {name}! Приняли, разбираемся."',
    ]
    # Telegram first: its getMe reaching the fake tells a test that start-up is over.
    if telegram is not None:
        lines += [
            "[[feeds]]",
            'type = "telegram"',
            'name = "tg"',
            f'token_env = "{TOKEN_ENV}"',
            f'api_base = "{telegram}"',
            "poll_timeout = 1",
        ]
    if jsonl is not None:
        lines += ["[[feeds]]", 'type = "jsonl"', 'name = "file"', f'path = "{jsonl}"']
    path = folder / "socialtui.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)  # it names the variable holding the token
    return path


def app_env(send_delay: float = 0.3) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k.upper() not in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
        and not k.startswith("PYTEST")
    }
    env.update(
        {
            TOKEN_ENV: TOKEN,
            "SOCIALTUI_SEND_DELAY": str(send_delay),
            "TERM": "xterm-256color",
            "COLUMNS": "120",
            "LINES": "40",
            "PYTHONPATH": str(ROOT),
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    env.pop("TEXTUAL", None)  # no devtools
    return env


class JsonlWriter:
    """Appends numbered records to a JSONL file from a thread, in chunks that often end
    mid-line, as an exporter that is still writing does."""

    def __init__(self, path: Path, rng: Any, total: int) -> None:
        self.path = path
        self.rng = rng
        self.total = total
        self.written = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._data = b"".join(jsonl_line(n) for n in range(total))
        # Split points drawn up front, so the file's contents depend on the seed only.
        cuts = sorted({rng.randrange(1, len(self._data)) for _ in range(total // 3)})
        self._chunks = [
            self._data[a:b] for a, b in zip([0, *cuts], [*cuts, len(self._data)], strict=True)
        ]
        path.touch()

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        with self.path.open("ab") as out:
            for chunk in self._chunks:
                if self._stop.wait(0.01):
                    break
                out.write(chunk)
                out.flush()
        self.written = self.total

    def finish(self) -> None:
        """Write whatever is left at once."""
        self._stop.set()
        self._thread.join(30)
        assert not self._thread.is_alive()
        size = self.path.stat().st_size
        with self.path.open("ab") as out:
            out.write(self._data[size:])
        self.written = self.total


# -- reading the store as a restart would ---------------------------------------------------


@dataclass
class Snapshot:
    mentions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    outbox: list[dict[str, Any]]
    cursors: dict[str, str]
    integrity: str

    def native_ids(self, network: str) -> Counter[str]:
        return Counter(m["native_id"] for m in self.mentions if m["network"] == network)

    def mention(self, mention_id: int) -> dict[str, Any]:
        return next(m for m in self.mentions if m["id"] == mention_id)


def snapshot(db: Path) -> Snapshot:
    """Everything the checks need, read in one transaction. Opening the file after a kill -9
    is exactly what the next start does: SQLite replays the WAL's committed transactions."""
    connection = sqlite3.connect(str(db), timeout=30, isolation_level=None)
    connection.row_factory = sqlite3.Row
    try:
        connection.execute("BEGIN")
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
        read = connection.execute
        result = Snapshot(
            mentions=[dict(r) for r in read("SELECT * FROM mentions ORDER BY id")],
            actions=[dict(r) for r in read("SELECT * FROM actions ORDER BY id")],
            outbox=[dict(r) for r in read("SELECT * FROM outbox ORDER BY id")],
            cursors={r["feed"]: r["cursor"] for r in read("SELECT feed, cursor FROM cursors")},
            integrity=integrity,
        )
        connection.execute("COMMIT")
        return result
    finally:
        connection.close()


# -- the checks ------------------------------------------------------------------------------

RESPONSE_KINDS = ("reply", "acknowledge", "redirect")
DELIVERY_OF_STATE = {"queued": "queued", "sending": "sending", "sent": "sent", "unknown": "unknown"}


def check_exactly_once(snap: Snapshot, network: str, expected: Iterable[str]) -> None:
    """Every expected item stored once, and nothing else from that network."""
    counts = snap.native_ids(network)
    expected = list(expected)
    twice = {k: v for k, v in counts.items() if v != 1}
    assert not twice, f"{network}: stored more than once: {twice}"
    missing = sorted(set(expected) - set(counts))
    assert not missing, f"{network}: {len(missing)} delivered item(s) lost: {missing[:10]}"
    extra = sorted(set(counts) - set(expected))
    assert not extra, f"{network}: items nobody delivered: {extra[:10]}"


def check_jsonl_cursor(snap: Snapshot, feed: str, path: Path) -> int:
    """The stored byte offset never runs ahead of the stored items: every complete line before
    it is in the store. Returns the offset."""
    cursor = snap.cursors.get(feed)
    offset = int(cursor) if cursor is not None else 0
    data = path.read_bytes()
    assert offset <= len(data), f"cursor {offset} past the end of the file ({len(data)})"
    assert offset == 0 or data[offset - 1 : offset] == b"\n", f"cursor {offset} is mid-line"
    covered = [json.loads(line)["id"] for line in data[:offset].splitlines() if line.strip()]
    stored = snap.native_ids("jsonl")
    missing = [i for i in covered if i not in stored]
    assert not missing, f"cursor {offset} covers lines that are not stored: {missing[:10]}"
    return offset


def check_telegram_cursor(snap: Snapshot, feed: str, fake: FakeTelegram, added: Mapping[int, str]):
    """Updates Telegram has forgotten (confirmed by an offset) are all in the store, and the
    stored offset is never past an update that is not."""
    stored = snap.native_ids("telegram")
    pending = set(fake.pending())
    forgotten = [uid for uid in added if uid not in pending]
    lost = [added[uid] for uid in forgotten if added[uid] not in stored]
    assert not lost, f"Telegram confirmed updates the store does not have: {lost[:10]}"
    cursor = snap.cursors.get(feed)
    if cursor is not None:
        covered = [added[uid] for uid in added if uid < int(cursor)]
        lost = [native for native in covered if native not in stored]
        assert not lost, f"cursor {cursor} covers updates that are not stored: {lost[:10]}"


def check_actions_agree(snap: Snapshot) -> None:
    """Each operator action is all there or not at all: the action row, the mention's state
    and its outbox row agree."""
    assert snap.integrity == "ok", snap.integrity
    actions = {a["id"]: a for a in snap.actions}
    rows_by_action: dict[int, list[dict[str, Any]]] = {}
    for row in snap.outbox:
        assert row["action_id"] in actions, f"outbox row {row['id']} without its action"
        rows_by_action.setdefault(row["action_id"], []).append(row)
        action = actions[row["action_id"]]
        assert action["mention_id"] == row["mention_id"], row
        assert json.loads(action["payload"]).get("text") == row["text"], (action, row)
        cancelled = row["state"] == "cancelled"
        assert cancelled == bool(action["undone"]), f"undone={action['undone']} but {row}"
    responded: set[int] = set()
    for action in snap.actions:
        if action["kind"] not in RESPONSE_KINDS:
            continue
        text = json.loads(action["payload"]).get("text")
        rows = rows_by_action.get(action["id"], [])
        assert len(rows) == (1 if text else 0), f"action {action['id']}: outbox rows {rows}"
        if not action["undone"]:
            responded.add(action["mention_id"])
    acted = {a["mention_id"] for a in snap.actions if not a["undone"] and a["kind"] != "undo"}
    undone = {json.loads(a["payload"])["undid"] for a in snap.actions if a["kind"] == "undo"}
    assert undone == {a["id"] for a in snap.actions if a["undone"]}, "undo rows disagree"
    for mention in snap.mentions:
        mine = [r for r in snap.outbox if r["mention_id"] == mention["id"]]
        if mention["id"] in responded:
            assert mention["first_response_at"] is not None, mention
            assert mention["status"] in ("acknowledged", "replied", "redirected", "done"), mention
        elif mention["id"] not in acted:  # never touched, or every action undone
            assert mention["status"] == "new" and mention["first_response_at"] is None, mention
            assert mention["delivery"] is None, mention
        live = [r for r in mine if r["state"] != "cancelled"]
        if mention["delivery"] is not None:
            states = {_delivery(r) for r in live}
            assert mention["delivery"] in states, (mention["delivery"], live)


def _delivery(row: dict[str, Any]) -> str:
    state = row["state"]
    if state == "queued" and row["error"]:
        return f"retry: {row['error']}"
    if state == "failed":
        return f"failed: {row['error']}"
    return DELIVERY_OF_STATE.get(state, state)


# How many times the server may have received a row's reply, by the row's state.
ALLOWED_SENDS = {
    "queued": (0,),
    "cancelled": (0,),
    "sending": (0, 1),  # only right after a kill, before the restart recovers it
    "unknown": (0, 1),
    "sent": (1,),
    "failed": (0, 1),
}


@dataclass
class SendCheck:
    by_state: Counter[str] = field(default_factory=Counter)
    unknown_sent: int = 0  # unknown rows the server did receive
    unknown_unsent: int = 0


def check_sends(
    snap: Snapshot,
    telegram: list[tuple[int, int, str]],
    jsonl_replies: Path | None = None,
) -> SendCheck:
    """No reply sent twice, none sent without a row, and each row's state fits what the
    servers received: `sent` exactly once, `unknown` at most once, queued never.

    A reply is known to the server by where it went and what it said. The same words to the
    same message can belong to several rows (an acknowledgement, undone, then given again):
    then what the server got must fit all of those rows' states together."""
    received: Counter[tuple[str, ...]] = Counter((str(c), str(m), t) for c, m, t in telegram)
    if jsonl_replies is not None and jsonl_replies.exists():
        for line in jsonl_replies.read_bytes().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line torn by a kill; the feed ignores it too
            received[("jsonl", record["reply_key"])] += 1
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in snap.outbox:
        mention = snap.mention(row["mention_id"])
        if mention["network"] == "telegram":
            route = json.loads(mention["route"])
            key: tuple[str, ...] = (str(route["chat_id"]), str(route["message_id"]), row["text"])
        else:
            key = ("jsonl", f"socialtui-{row['id']}")
        groups.setdefault(key, []).append(row)
    result = SendCheck()
    for key, rows in groups.items():
        count = received.get(key, 0)
        least = sum(min(ALLOWED_SENDS[r["state"]]) for r in rows)
        most = sum(max(ALLOWED_SENDS[r["state"]]) for r in rows)
        states = [r["state"] for r in rows]
        assert least <= count <= most, f"{key}: rows {states} but the server got it {count}x"
        for row in rows:
            result.by_state[row["state"]] += 1
        unknown = states.count("unknown")
        if unknown:
            sent_unknown = min(unknown, count - states.count("sent"))
            result.unknown_sent += sent_unknown
            result.unknown_unsent += unknown - sent_unknown
    strays = set(received) - set(groups)
    assert not strays, f"the server got replies that have no outbox row: {strays}"
    return result


# -- processes -------------------------------------------------------------------------------


def spawn_poll(config: Path, env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as err:
        return subprocess.Popen(
            [*SOCIALTUI, "poll", "--once", "--timeout", "0.3", "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=dict(env),
            cwd=ROOT,
            start_new_session=True,
        )


def kill9(process: subprocess.Popen[bytes]) -> bool:
    """kill -9 the process (and anything it started); True if it was still running."""
    alive = process.poll() is None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    return alive


class BoardProcess:
    """The real board under a pseudo-terminal: keys go in as a terminal sends them, and the
    screen comes back as escape sequences, which `text` strips to what a person reads."""

    def __init__(
        self,
        config: Path,
        env: Mapping[str, str],
        *,
        log: Path,
        size: tuple[int, int] = (120, 40),
    ) -> None:
        columns, rows = size
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.process = subprocess.Popen(
            [*SOCIALTUI, "--log", str(log), "--config", str(config)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=dict(env),
            cwd=ROOT,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.log = log
        self.master = master
        self.raw = bytearray()
        self.closed = False

    # -- output ------------------------------------------------------------------------------

    def pump(self, timeout: float) -> None:
        if self.closed:
            time.sleep(timeout)
            return
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return
        try:
            chunk = os.read(self.master, 1 << 16)
        except OSError:  # EIO: the process is gone
            chunk = b""
        if not chunk:
            self.closed = True
        self.raw += chunk

    @property
    def mark(self) -> int:
        return len(self.raw)

    def text(self, since: int = 0) -> str:
        return _ANSI.sub(b"", bytes(self.raw[since:])).decode("utf-8", "replace")

    def wait_for(
        self,
        needles: str | tuple[str, ...],
        *,
        since: int = 0,
        timeout: float = 30.0,
        interrupt: Callable[[], bool] = lambda: False,
    ) -> str:
        """Pump output until one of `needles` shows up after `since`; returns it. Raises
        Killed when `interrupt` says so, AssertionError after `timeout` (a hang, not a race)."""
        if isinstance(needles, str):
            needles = (needles,)
        deadline = time.monotonic() + timeout
        while True:
            if interrupt():
                raise Killed
            text = self.text(since)
            for needle in needles:
                if needle in text:
                    return needle
            if self.process.poll() is not None and self.closed:
                raise AssertionError(
                    f"the board exited ({self.process.returncode}): {self.story()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"{needles} never showed up; the screen: {self.story()}")
            self.pump(0.02)

    def wait_until(
        self,
        condition: Callable[[], bool],
        *,
        timeout: float = 30.0,
        what: str = "a condition",
        interrupt: Callable[[], bool] = lambda: False,
    ) -> None:
        """Like `wait_for`, on anything; keeps reading the terminal meanwhile (an unread pty
        fills up and blocks the app's writes)."""
        deadline = time.monotonic() + timeout
        while not condition():
            if interrupt():
                raise Killed
            if self.process.poll() is not None and self.closed:
                raise AssertionError(
                    f"the board exited ({self.process.returncode}): {self.story()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen: {self.story()}")
            self.pump(0.02)

    def idle(self, seconds: float, interrupt: Callable[[], bool] = lambda: False) -> None:
        """Let the app run for a while (reading its output), unless interrupted."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if interrupt():
                raise Killed
            self.pump(min(0.02, max(0.0, deadline - time.monotonic())))

    def story(self) -> str:
        """The screen's last words and the log's, for a failure message."""
        log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
        return f"{self.tail()}\n--- log ---\n{log}"

    def tail(self, chars: int = 3000) -> str:
        return self.text(max(0, len(self.raw) - 40_000))[-chars:]

    # -- input -------------------------------------------------------------------------------

    def press(self, data: str | bytes) -> int:
        """Type keys; returns the output mark from just before, for `wait_for(since=...)`."""
        mark = self.mark
        os.write(self.master, data.encode("utf-8") if isinstance(data, str) else data)
        return mark

    def kill(self) -> bool:
        alive = self.process.poll() is None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self.close()
        return alive

    def close(self) -> None:
        if self.master >= 0:
            os.close(self.master)
            self.master = -1
            self.closed = True

    def quit(self, timeout: float = 20.0) -> int:
        """`q`, and wait for a clean exit while draining the terminal."""
        self.press("q")
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self.pump(0.05)
        if self.process.poll() is None:
            self.kill()
            raise AssertionError(f"the board did not quit: {self.story()}")
        self.close()
        return self.process.returncode


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def run_lanes(lanes: int, lane: Callable[[int], None]) -> None:
    """Run `lane(0) … lane(n-1)` side by side in threads (each with its own fake, files and
    store) and re-raise the first failure. Two lanes keep both cores busy: most of a crash
    cycle is a Python process starting up."""
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            lane(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), name=f"lane-{i}") for i in range(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def stored_actions(db: Path) -> list[tuple[str, str]]:
    """(kind, text) of every action, read without holding any lock the app could wait on."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = connection.execute("SELECT kind, payload FROM actions ORDER BY id").fetchall()
    finally:
        connection.close()
    return [(kind, json.loads(payload).get("text") or "") for kind, payload in rows]


# -- networks: a fake server, a feed on it, and a way to drop its connections -----------------


class DropProxy:
    """A TCP relay in front of a fake server. `drop()` resets every connection, open or new,
    until `heal()`: the network going away under a feed, whatever the protocol.

    `hold(marker)` keeps back a request whose bytes contain `marker` (and the rest of its
    connection's traffic) until `release()`: the request has left the app but not reached
    the server. If the app dies meanwhile, the held bytes are dropped with its connection."""

    def __init__(self, target: str) -> None:
        host, port = target.removeprefix("http://").split(":")
        self._target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._dropping = threading.Event()
        self._hold: bytes | None = None
        self.holding = threading.Event()  # set while a request is held back
        self.lost = threading.Event()  # set when the app died with its request held
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def drop(self) -> None:
        self._dropping.set()
        with self._lock:
            connections, self._open = list(self._open), set()
        for connection in connections:
            _reset(connection)

    def heal(self) -> None:
        self._dropping.clear()

    def hold(self, marker: bytes) -> None:
        self.holding.clear()
        self.lost.clear()
        self._hold = marker

    def release(self) -> None:
        self._hold = None

    def close(self) -> None:
        self._closed = True
        self.drop()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._dropping.is_set():
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink, outbound in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pipe, args=(source, sink, outbound), daemon=True
                ).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, outbound: bool) -> None:
        try:
            while chunk := source.recv(1 << 16):
                marker = self._hold
                if outbound and marker is not None and marker in chunk:
                    chunk = self._held(source, chunk)
                    if chunk is None:
                        break  # the app died with its request held: it never arrives
                sink.sendall(chunk)
        except OSError:
            pass
        for end in (source, sink):
            with self._lock:
                self._open.discard(end)
            _reset(end)

    def _held(self, source: socket.socket, chunk: bytes) -> bytes | None:
        """Keep `chunk` and what follows it back until release; None if `source` closes."""
        held = [chunk]
        self.holding.set()
        while self._hold is not None and not self._closed:
            ready, _, _ = select.select([source], [], [], 0.02)
            if ready:
                try:
                    more = source.recv(1 << 16)
                except OSError:
                    more = b""
                if not more:
                    self.lost.set()
                    return None
                held.append(more)
        return b"".join(held)


def _reset(connection: socket.socket) -> None:
    """Close with RST, as a dropped connection looks to the client."""
    with contextlib.suppress(OSError):
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        connection.close()


class Network:
    """One kind of feed with its fake server behind a DropProxy. `deliver(n)` makes customer n
    write once and returns the native id the store will keep; `feed()` builds a new feed
    (a restart builds another) with test-sized timeouts and a seeded jitter."""

    kind = ""
    feed_name = ""
    network = ""

    def __init__(self, folder: Path, seed: int = 1) -> None:
        self.folder = folder
        self.seed = seed
        self.proxy: DropProxy | None = None
        self.feeds: list[Any] = []

    def __enter__(self) -> Network:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for feed in self.feeds:
            feed.close()
        if self.proxy is not None:
            self.proxy.close()
        self.stop()

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def feed(self) -> Any:
        raise NotImplementedError

    def deliver(self, n: int) -> str:
        raise NotImplementedError

    def _keep(self, feed: Any) -> Any:
        self.feeds.append(feed)
        return feed


class JsonlNetwork(Network):
    kind = feed_name = network = "jsonl"

    def start(self) -> None:
        self.path = self.folder / "inbox.jsonl"
        self.path.touch()

    def feed(self) -> Any:
        from feeds.jsonl import JsonlFeed

        return self._keep(JsonlFeed(self.feed_name, self.path, poll_interval=0.02))

    def deliver(self, n: int) -> str:
        with self.path.open("ab") as out:
            out.write(jsonl_line(n))
        return f"j{n}"


class TelegramNetwork(Network):
    kind = feed_name = network = "telegram"

    def start(self) -> None:
        self.fake = RecordingTelegram(TOKEN)
        self.fake.start()
        self.proxy = DropProxy(self.fake.base_url)

    def stop(self) -> None:
        self.fake.release_polls()
        self.fake.stop()

    def feed(self) -> Any:
        import random

        from feeds.telegram import TelegramFeed

        assert self.proxy is not None
        return self._keep(
            TelegramFeed(
                self.feed_name,
                TOKEN,
                api_base=self.proxy.url,
                poll_timeout=1,
                send_timeout=2.0,
                read_slack=1.0,
                backoff_first=0.05,
                backoff_max=0.3,
                conflict_delay=0.3,
                rng=random.Random(self.seed),
            )
        )

    def deliver(self, n: int) -> str:
        self.fake.add_update(dm_update(n))
        return dm_native_id(n)


VK_FROM = 990_000_000


def vk_dm(n: int) -> dict[str, Any]:
    """A message_new event from VK user VK_FROM + n (as the fake VK's tests shape them)."""
    from .fakes.vk_server import message_new

    return message_new(n, TEXTS[n % len(TEXTS)].format(n=f"vk{n}"), VK_FROM + n)


class VkNetwork(Network):
    kind = feed_name = network = "vk"

    def start(self) -> None:
        from .fakes.vk_server import FakeVk

        self.fake = FakeVk()
        self.fake.start()
        self.proxy = DropProxy(self.fake.base)

    def stop(self) -> None:
        self.fake.stop()

    def feed(self) -> Any:
        import random

        from feeds.vk import Pacing, VkFeed

        from .fakes.vk_server import COMMUNITY_TOKEN, GROUP_ID

        fast = Pacing(
            connect_timeout=1.0,
            read_slack=0.5,
            api_timeout=2.0,
            retry_first=0.05,
            retry_limit=0.3,
            too_many_rps=0.05,
            flood=0.05,
            rate_limit=0.05,
            captcha=0.05,
            api_interval=0.0,
            service_interval=0.0,
        )
        assert self.proxy is not None
        return self._keep(
            VkFeed(
                self.feed_name,
                token=COMMUNITY_TOKEN,
                group_id=GROUP_ID,
                api_base=self.proxy.url,
                wait=1,
                pacing=fast,
                rng=random.Random(self.seed),
            )
        )

    def deliver(self, n: int) -> str:
        self.fake.push(vk_dm(n))
        return f"message_new:{VK_FROM + n}_{400 + n}"


X_SECRETS = {
    "bearer_token": "AAAA-bearer-crash-s3cr3t",
    "consumer_key": "ck-crash-s3cr3t",
    "consumer_secret": "cs-crash-s3cr3t",
    "access_token": "1500000000000000001-at-crash-s3cr3t",
    "access_token_secret": "ats-crash-s3cr3t",
}
X_CUSTOMER = "2000000000000000002"  # a user of tests/data/x_world.json


class XNetwork(Network):
    kind = feed_name = network = "x"

    def start(self) -> None:
        from .fakes.x_server import Credentials, FakeX

        credentials = Credentials(
            bearer=X_SECRETS["bearer_token"],
            consumer_key=X_SECRETS["consumer_key"],
            access_token=X_SECRETS["access_token"],
        )
        self.fake = FakeX.from_file(ROOT / "tests" / "data" / "x_world.json", credentials)
        self.fake.stall_seconds = 2.0
        self.fake.start()
        self.proxy = DropProxy(self.fake.url)

    def stop(self) -> None:
        self.fake.close()

    def feed(self) -> Any:
        import random

        from feeds.x import XFeed
        from triage.secret import Secret

        assert self.proxy is not None
        return self._keep(
            XFeed(
                self.feed_name,
                **{key: Secret(value) for key, value in X_SECRETS.items()},
                api_base=self.proxy.url,
                poll_interval=0.05,
                connect_timeout=0.5,
                read_timeout=0.5,
                backoff_first=0.05,
                backoff_limit=0.3,
                rng=random.Random(self.seed),
            )
        )

    def deliver(self, n: int) -> str:
        from datetime import UTC, datetime

        tweet_id = str(1_900_000_000_000_000_000 + n)
        created = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self.fake.add_mention(
            {
                "id": tweet_id,
                "text": "@zerno_coffee " + TEXTS[n % len(TEXTS)].format(n=f"x{n}"),
                "author_id": X_CUSTOMER,
                "conversation_id": tweet_id,
                "created_at": created,
            }
        )
        return tweet_id


NETWORKS: dict[str, type[Network]] = {
    net.kind: net for net in (JsonlNetwork, TelegramNetwork, VkNetwork, XNetwork)
}
