"""kill -9 of the real board while the operator answers and customers keep writing.

`socialtui --config …` (the real CLI, `python -m tui.cli`) runs under a pseudo-terminal
(TERM=xterm-256color, 120x40 set with TIOCSWINSZ) against a fake Telegram Bot API, which
delivers a burst of DMs before each start and a few more after each of the operator's steps.
(JSONL under kills is test_crash_ingest's; here every reply goes to Telegram, whose fake can
hold a reply "in flight".) The test types as an operator does: `r`, a reply, ctrl+s; `a` (the
one-key acknowledgement); sometimes `u`, and waits for the screen (the composer, the typed
text) and the store to answer each key, so nothing depends on how fast the machine is. At a
moment picked by a seeded RNG it kills the process with SIGKILL:
- "step": after a random number of the script's steps, plus a random pause (0-0.8 s, in which
  the outbox claims and sends what is due);
- "confirmed": just after an action was stored and shown, plus a random pause;
- "in flight": the instant the fake receives a sendMessage, whose answer it holds back, so the
  reply is at Telegram but not yet recorded as sent: `unknown`, and Telegram has it;
- "claimed": the instant a sendMessage request has left the board but is held back on its way
  (a TCP relay sits between the board and the fake): `unknown`, and Telegram never got it.
SOCIALTUI_SEND_DELAY=0.3 cuts the 5 s undo window, so replies leave during a session.

After every kill, reading the store as the next start will:
- integrity_check is ok; every action is all there or not at all: its action row, the mention's
  state and its outbox row agree (crash_helpers.check_actions_agree);
- every action stored and shown before the kill is still stored; a reply typed but killed
  before ctrl+s is not;
- no reply reached Telegram twice or without an outbox row; `sent` reached it exactly once,
  `queued`/`cancelled` never, `sending`/`unknown` at most once (crash_helpers.check_sends);
- the Telegram cursor never runs ahead of the stored items, nor does Telegram forget an
  update the store lacks.
At the end a last session runs without a kill until every queue is drained, and quits with `q`.
Then every DM Telegram delivered is stored exactly once, every reply ended `sent` (exactly once
at Telegram), `unknown` (at most once, and the card says so) or `cancelled` (never sent), and
one `unknown` card is opened in a Textual pilot run: it reads «результат неизвестен, проверьте».

Two lanes (own fake, store and board) run side by side. SOCIALTUI_CRASH_SEED and
SOCIALTUI_CRASH_BOARD_KILLS change the seed and the number of kills (18) for a longer soak.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest

from triage.errors import SocialtuiError
from triage.model import COLUMN_ORDER, Column
from triage.runtime import send_delay
from tui.widgets.column_view import ColumnView

from .conftest import FakeClock
from .crash_helpers import (
    TOKEN,
    BoardProcess,
    DropProxy,
    Killed,
    RecordingTelegram,
    SendCheck,
    app_env,
    check_actions_agree,
    check_exactly_once,
    check_sends,
    check_telegram_cursor,
    dm_native_id,
    dm_update,
    run_lanes,
    snapshot,
    stored_actions,
    write_config,
)
from .tui_fakes import make_app, make_config, wait_for

SEED = int(os.environ.get("SOCIALTUI_CRASH_SEED", "72026"))
LANES = 2
SESSIONS_PER_LANE = int(os.environ.get("SOCIALTUI_CRASH_BOARD_KILLS", "18")) // LANES
SCENARIOS = ("step", "confirmed", "in flight", "claimed")

COMPOSER = "Ответ:"
REPLY_QUEUED = "Ответ уйдёт через"
ACK_QUEUED = "Подтверждение уйдёт через"
ALREADY_ANSWERED = "Клиенту уже ответили"
UNDONE = "Отменено"
UNDO_TOO_LATE = "Ответ уже ушёл клиенту"
NOTHING_TO_UNDO = "Нечего отменять"
UNKNOWN_CARD = "результат неизвестен, проверьте"
CARD = "TG ЛС"  # the badge on a Telegram DM's card
NOTHING_SELECTED = "Ничего не выбрано"


@dataclass
class Ledger:
    """What the operator saw happen, to hold the store to after each kill."""

    confirmed: list[str] = field(default_factory=list)  # reply markers stored and shown
    unsent: list[str] = field(default_factory=list)  # typed, killed before ctrl+s
    acks: int = 0  # acknowledgements the board confirmed
    undone: int = 0  # undos the board confirmed
    kills: int = 0
    scenarios: dict[str, int] = field(default_factory=dict)
    outcome: SendCheck = field(default_factory=SendCheck)  # the replies' states at the end


async def test_board_killed_while_replying_sends_each_reply_once_or_says_unknown(
    tmp_path: Path,
) -> None:
    ledgers: dict[int, Ledger] = {}

    def lane(index: int) -> None:
        folder = tmp_path / f"lane{index}"
        folder.mkdir()
        fake = RecordingTelegram(TOKEN)
        fake.start()
        relay = DropProxy(fake.base_url)
        try:
            ledgers[index] = _lane(folder, index, random.Random(SEED + index), fake, relay)
        finally:
            relay.close()
            fake.stop()

    await asyncio.to_thread(run_lanes, LANES, lane)
    kills = sum(ledger.kills for ledger in ledgers.values())
    scenarios = {s: sum(lg.scenarios.get(s, 0) for lg in ledgers.values()) for s in SCENARIOS}
    states: Counter[str] = sum((lg.outcome.by_state for lg in ledgers.values()), Counter())
    print(
        f"board crash test: {kills} kills survived {scenarios}; "
        f"{sum(len(lg.confirmed) for lg in ledgers.values())} replies and "
        f"{sum(lg.acks for lg in ledgers.values())} acknowledgements confirmed on screen, "
        f"{sum(lg.undone for lg in ledgers.values())} undone; replies ended {dict(states)}, "
        f"unknown ones at Telegram: {sum(lg.outcome.unknown_sent for lg in ledgers.values())}, "
        f"not: {sum(lg.outcome.unknown_unsent for lg in ledgers.values())}"
    )
    assert kills >= SESSIONS_PER_LANE * LANES
    await _pilot_shows_unknown(tmp_path / "lane0" / "store.db")


def _lane(
    folder: Path, lane: int, rng: random.Random, fake: RecordingTelegram, relay: DropProxy
) -> Ledger:
    db = folder / "store.db"
    config = write_config(folder, telegram=relay.url, db=db)
    env = app_env(send_delay=0.3)
    log = folder / "board.log"
    ledger = Ledger()
    added: dict[int, str] = {}
    customers = 0

    def burst(dms: int) -> None:
        nonlocal customers
        for _ in range(dms):
            update = fake.add_update(dm_update(customers))
            added[update["update_id"]] = dm_native_id(customers)
            customers += 1

    def check(*, final: bool = False) -> None:
        snap = snapshot(db)
        check_actions_agree(snap)
        sends = check_sends(snap, fake.sends())
        check_telegram_cursor(snap, "tg", fake, added)
        texts = [json.loads(a["payload"]).get("text") or "" for a in snap.actions]
        for marker in ledger.confirmed:
            assert any(marker in t for t in texts), f"confirmed reply {marker} was lost"
        for marker in ledger.unsent:
            assert not any(marker in t for t in texts), f"reply {marker} stored without ctrl+s"
        acks = sum(1 for a in snap.actions if a["kind"] == "acknowledge")
        assert acks >= ledger.acks, f"{ledger.acks} acknowledgements confirmed, {acks} stored"
        if final:
            assert not sends.by_state["queued"] and not sends.by_state["sending"], sends
            assert sends.by_state["cancelled"] <= ledger.undone, sends
            for row in snap.outbox:
                assert row["state"] in ("sent", "unknown", "cancelled"), row
                mention = snap.mention(row["mention_id"])
                latest = [r for r in snap.outbox if r["mention_id"] == mention["id"]][-1]
                if row["state"] == "unknown" and latest is row:
                    assert mention["delivery"] == "unknown", (row, mention)
            ledger.outcome = sends

    burst(14)
    for session in range(SESSIONS_PER_LANE):
        scenario = SCENARIOS[2 + session] if session < 2 else rng.choice(SCENARIOS)
        ledger.scenarios[scenario] = ledger.scenarios.get(scenario, 0) + 1
        burst(rng.randrange(2, 7))
        before = len(fake.calls_to("getMe"))
        fake.send_arrived.clear()
        fake.answer_delay = 1.0 if scenario == "in flight" else 0.0
        if scenario == "claimed":
            relay.hold(b"/sendMessage")
        board = BoardProcess(config, env, log=log)
        try:
            # Started: the feeds signed in and the board shows cards (after a first start, the
            # cards come in with the first fetch).
            board.wait_until(partial(_signed_in, fake, before), timeout=60, what="the start")
            board.wait_for(CARD, timeout=60)
            _session(board, db, rng, scenario, f"m{lane}s{session}", ledger, fake, relay, burst)
        except Killed:
            pass
        finally:
            if board.kill():
                ledger.kills += 1
            if scenario == "claimed":
                # The held request dies with the board's connection; only then let go.
                assert relay.lost.wait(10), "the held sendMessage was not dropped"
                relay.release()
        check()

    # The last session: no kill; wait until every reply and every item is through, then `q`.
    board = BoardProcess(config, env, log=log)
    try:

        def drained() -> bool:
            snap = snapshot(db)
            busy = any(r["state"] in ("queued", "sending") for r in snap.outbox)
            return not busy and int(snap.cursors.get("tg", "0")) > max(added)

        board.wait_until(drained, timeout=90, what="the queues to drain")
        assert board.quit() == 0, board.tail()
    finally:
        board.kill()
    check(final=True)
    snap = snapshot(db)
    check_exactly_once(snap, "telegram", added.values())
    return ledger


def _session(
    board: BoardProcess,
    db: Path,
    rng: random.Random,
    scenario: str,
    prefix: str,
    ledger: Ledger,
    fake: RecordingTelegram,
    relay: DropProxy,
    burst: Callable[[int], None],
) -> None:
    """Type a few actions; raises Killed (via `interrupt`) when the scenario's moment comes.

    An action counts as confirmed once the store has it; the screen must say so too. (The
    notice alone cannot tell this action from the last one: a toast still on screen is drawn
    again with every repaint.)"""
    steps = [rng.choice(("reply", "reply", "ack", "undo")) for _ in range(rng.randrange(1, 4))]
    if scenario in ("in flight", "claimed"):  # something must be sent, not taken back first
        steps = ["reply", *(s for s in steps if s != "undo")]
    kill_after_step = rng.randrange(0, 2 * len(steps) + 1)
    pause = rng.uniform(0.0, 1.2)
    done = 0
    in_flight: Callable[[], bool] = lambda: False  # noqa: E731
    if scenario == "in flight":
        in_flight = fake.send_arrived.is_set
    elif scenario == "claimed":
        in_flight = relay.holding.is_set

    def step_done(confirmed: bool) -> None:
        nonlocal done
        done += 1
        burst(rng.randrange(0, 3))  # customers keep writing while the operator works
        if scenario == "step" and done >= kill_after_step:
            board.idle(pause)
            raise Killed
        if scenario == "confirmed" and confirmed:
            board.idle(pause)
            raise Killed

    if scenario == "step" and kill_after_step == 0:
        board.idle(pause)
        raise Killed
    for number, step in enumerate(steps):
        if step == "reply":
            marker = f"{prefix}n{number}"
            since = board.press("r")
            seen = board.wait_for((COMPOSER, NOTHING_SELECTED), since=since, interrupt=in_flight)
            if seen == NOTHING_SELECTED:
                step_done(False)
                continue
            since = board.press(f"Здравствуйте! {marker} уже везём")
            ledger.unsent.append(marker)
            board.wait_for(marker, since=since, interrupt=in_flight)
            step_done(False)
            ledger.unsent.remove(marker)
            since = board.press(b"\x13")  # ctrl+s
            board.wait_until(
                partial(_stored, db, marker), what=f"reply {marker} stored", interrupt=in_flight
            )
            ledger.confirmed.append(marker)
            board.wait_for(REPLY_QUEUED, since=since, interrupt=in_flight)
            step_done(True)
        elif step == "ack":
            confirmed = _counted(board, db, "acknowledge", "a", ALREADY_ANSWERED, in_flight)
            ledger.acks += confirmed
            step_done(confirmed)
        else:
            confirmed = _counted(board, db, "undo", "u", NOTHING_TO_UNDO, in_flight)
            ledger.undone += confirmed
            step_done(confirmed)
    # Whatever is left: let the outbox work (or wait for a send to catch on its way).
    if scenario in ("in flight", "claimed"):
        board.wait_until(in_flight, timeout=30, what=f"a reply {scenario}")
    else:
        board.idle(rng.uniform(0.2, 1.5))
    raise Killed


def _signed_in(fake: RecordingTelegram, before: int) -> bool:
    return len(fake.calls_to("getMe")) > before


def _stored(db: Path, marker: str) -> bool:
    return any(marker in text for _, text in stored_actions(db))


def _count(db: Path, kind: str) -> int:
    return sum(1 for k, _ in stored_actions(db) if k == kind)


def _counted(
    board: BoardProcess,
    db: Path,
    kind: str,
    key: str,
    refusals: tuple[str, ...] | str,
    interrupt: Callable[[], bool],
) -> bool:
    """Press `key`; True once the store has one more `kind` action, False if the board
    refused (a notice from `refusals`, or nothing selected)."""
    refusals = (refusals,) if isinstance(refusals, str) else refusals
    before = _count(db, kind)
    since = board.press(key)
    notices = (*refusals, NOTHING_SELECTED, UNDO_TOO_LATE)

    def settled() -> bool:
        return _count(db, kind) > before or any(n in board.text(since) for n in notices)

    board.wait_until(settled, what=f"the {kind}", interrupt=interrupt)
    if _count(db, kind) <= before:
        return False
    notice = ACK_QUEUED if kind == "acknowledge" else UNDONE
    board.wait_for(notice, since=since, interrupt=interrupt)
    return True


async def _pilot_shows_unknown(db: Path) -> None:
    """The operator's view of a reply whose outcome is unknown, through the real app."""
    snap = snapshot(db)
    unknown = [m for m in snap.mentions if m["delivery"] == "unknown" and m["status"] != "done"]
    assert unknown, "no reply ended `unknown`: the in-flight kill never hit"
    mention = unknown[0]
    config = make_config(db)
    app = make_app(config, FakeClock())
    # 80 columns: one board column at a time, wide enough for the whole delivery note.
    async with app.run_test(size=(80, 40)) as pilot:
        # Narrow the board to this customer, go to the card's column as the operator would,
        # select the card, and read it.
        app.apply_filter(mention["author_name"])
        target = COLUMN_ORDER.index(Column(mention["col"]))
        while app.current != target:
            await pilot.press("l" if app.current < target else "h")
        view = app.query_one(f"#{Column(mention['col']).value}", ColumnView)
        assert view.select_id(mention["id"])

        def shown() -> bool:
            return UNKNOWN_CARD in "\n".join(view.visible_text())

        assert await wait_for(pilot, shown), view.visible_text()


def test_send_delay_comes_from_the_environment() -> None:
    """SOCIALTUI_SEND_DELAY shortens the undo window for these tests; the default is 5 s."""
    assert send_delay({}) == timedelta(seconds=5)
    assert send_delay({"SOCIALTUI_SEND_DELAY": " 0.3 "}) == timedelta(seconds=0.3)
    assert send_delay({"SOCIALTUI_SEND_DELAY": "0"}) == timedelta(0)
    for bad in ("-1", "soon", "nan", "inf", "1e9"):
        with pytest.raises(SocialtuiError, match="SOCIALTUI_SEND_DELAY"):
            send_delay({"SOCIALTUI_SEND_DELAY": bad})
