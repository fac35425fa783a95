"""kill -9 during ingest: `socialtui poll --once`, the real CLI in a subprocess, reads a JSONL
file another thread is still appending to (often mid-line) and a fake Telegram delivering
bursts, and is killed at a random moment, over and over.

After every kill the store is read as the next start will read it:
- `PRAGMA integrity_check` is ok;
- the JSONL cursor (a byte offset) sits on a line boundary and every line before it is stored;
- every update Telegram was told to forget (an `offset` confirmed it) is stored, and the stored
  offset is never past an update that is not.
At the end the feeds are drained without kills, and every item either source delivered is in
the store exactly once, with nothing else.

The kill moments come from a seeded RNG, scaled by how long one uninterrupted run takes on this
machine, so they spread over start-up, the fetch, the model load and the write however fast the
machine is. Nothing is timed. Two independent lanes (own fake, file and store) run side by side.
SOCIALTUI_CRASH_SEED and SOCIALTUI_CRASH_INGEST_KILLS change the seed and the number of kills
(34) for a longer soak.
"""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from .crash_helpers import (
    TOKEN,
    JsonlWriter,
    RecordingTelegram,
    app_env,
    check_exactly_once,
    check_jsonl_cursor,
    check_telegram_cursor,
    dm_native_id,
    dm_update,
    kill9,
    run_lanes,
    snapshot,
    spawn_poll,
    wait_until,
    write_config,
)

SEED = int(os.environ.get("SOCIALTUI_CRASH_SEED", "20261123"))
LANES = 2
KILLS_PER_LANE = int(os.environ.get("SOCIALTUI_CRASH_INGEST_KILLS", "34")) // LANES
JSONL_RECORDS = 800


def test_poll_once_killed_at_random_stores_every_item_exactly_once(tmp_path: Path) -> None:
    results: dict[int, tuple[int, int]] = {}

    def lane(index: int) -> None:
        folder = tmp_path / f"lane{index}"
        folder.mkdir()
        fake = RecordingTelegram(TOKEN)
        fake.start()
        try:
            results[index] = _lane(folder, random.Random(SEED + index), fake)
        finally:
            fake.stop()

    run_lanes(LANES, lane)
    kills = sum(k for k, _ in results.values())
    finished = sum(f for _, f in results.values())
    print(f"ingest crash test: {kills} kills survived, {finished} runs finished before theirs")
    assert kills >= KILLS_PER_LANE * LANES


def _lane(folder: Path, rng: random.Random, fake: RecordingTelegram) -> tuple[int, int]:
    jsonl = folder / "inbox.jsonl"
    db = folder / "store.db"
    log = folder / "poll.log"
    writer = JsonlWriter(jsonl, rng, total=JSONL_RECORDS)
    config = write_config(folder, telegram=fake.base_url, jsonl=jsonl, db=db)
    env = app_env()
    added: dict[int, str] = {}  # update_id -> the native id its item is stored under
    customers = 0

    def burst(count: int) -> None:
        nonlocal customers
        for _ in range(count):
            update = fake.add_update(dm_update(customers))
            added[update["update_id"]] = dm_native_id(customers)
            customers += 1

    def check() -> tuple[int, int]:
        snap = snapshot(db)
        assert snap.integrity == "ok", snap.integrity
        offset = check_jsonl_cursor(snap, "file", jsonl)
        check_telegram_cursor(snap, "tg", fake, added)
        return offset, int(snap.cursors.get("tg", "0"))

    def signed_in(
        before: int, process: subprocess.Popen[bytes] | None = None
    ) -> Callable[[], bool]:
        # Or exited: a run that fails before signing in is reported by its exit code below.
        return lambda: (
            len(fake.calls_to("getMe")) > before
            or (process is not None and process.poll() is not None)
        )

    # One uninterrupted run tells how long a poll takes here, before and after it has started
    # up (its getMe reaches the fake): kills are spread over both.
    burst(30)
    started = time.monotonic()
    process = spawn_poll(config, env, log)
    wait_until(signed_in(0), 120, "the first poll to sign in")
    startup = time.monotonic() - started
    assert process.wait(120) == 0, log.read_text()
    work = time.monotonic() - started - startup
    check()

    writer.start()
    kills = finished = 0
    while kills < KILLS_PER_LANE:
        assert kills + finished < KILLS_PER_LANE * 3, "the runs keep finishing before the kill"
        burst(rng.randrange(0, 25))
        before = len(fake.calls_to("getMe"))
        process = spawn_poll(config, env, log)
        if rng.random() < 0.2:  # somewhere in start-up
            delay = rng.uniform(0.0, 1.0) * startup
        else:  # somewhere in the fetches, the model load and the writes
            wait_until(signed_in(before, process), 120, "the poll to sign in")
            delay = rng.uniform(0.0, 1.0) * work
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(delay)
        if kill9(process):
            kills += 1
        else:
            assert process.returncode == 0, log.read_text()[-2000:]
            finished += 1
        check()

    # Drain: no more kills, until both cursors cover everything delivered.
    writer.finish()
    size = jsonl.stat().st_size
    for _ in range(60):
        offset, tg_offset = check()
        if offset == size and tg_offset > max(added):
            break
        assert spawn_poll(config, env, log).wait(120) == 0, log.read_text()[-2000:]
    else:
        raise AssertionError("the feeds never drained")

    snap = snapshot(db)
    check_exactly_once(snap, "jsonl", [f"j{n}" for n in range(JSONL_RECORDS)])
    check_exactly_once(snap, "telegram", added.values())
    return kills, finished
