"""The command line under a reader that stops early (`socialtui classify < in | head -1`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    # 20,000 labels are far more than a pipe buffers, so the writer meets the closed pipe.
    texts = tmp_path / "texts.txt"
    texts.write_text("".join(f"кофе остыл {n}\n" for n in range(20_000)), encoding="utf-8")
    with texts.open("rb") as stdin:
        process = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", "classify"],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()  # like `head -1`
        stderr = process.stderr.read().decode()
        code = process.wait(timeout=120)
    assert first.strip() in (b"negative", b"neutral", b"positive")
    assert stderr == ""
    assert code == 1
