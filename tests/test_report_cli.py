"""`socialtui report`: formats, ranges and exit codes (0 ok, 2 usage, 1 anything else)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.schema import Config
from triage import runtime
from triage.board import Board
from triage.runtime import board_settings, open_config_store
from tui import cli

from .conftest import FakeClock, KeywordClassifier, make_item

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # 17:00 in Moscow, a Monday

CONFIG = """
[shop]
name = "Кофейня"
timezone = "Europe/Moscow"
operator = "Оля"
language = "{language}"

[storage]
url = "sqlite:///{db}"

[sla]
warn_after = "15m"
breach_after = "1h"
hours = "24/7"

[[feeds]]
type = "demo"
"""


def write_config(tmp_path: Path, language: str = "ru") -> Path:
    path = tmp_path / "shop.toml"
    path.write_text(CONFIG.format(db=tmp_path / "shop.db", language=language), encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture
def config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A shop whose store holds two items from today: one answered in 10 minutes, one not."""
    monkeypatch.setattr(runtime, "utc_now", lambda: NOW)
    path = write_config(tmp_path)
    from config.loader import load_config

    config = load_config(path, {})
    clock = FakeClock(NOW - timedelta(hours=3))
    store = open_config_store(config)
    try:
        items = [
            make_item("n1", "Кофе холодный, ужас", created_at=NOW - timedelta(hours=3)),
            make_item("n2", "Спасибо, вкусно", created_at=NOW - timedelta(hours=2)),
        ]
        sentiments = KeywordClassifier().classify([i.text for i in items])
        first, _ = store.ingest("demo", list(zip(items, sentiments, strict=True)), None, clock())
        board = Board(store, board_settings(config), clock)
        board.load()
        clock.advance(minutes=10)
        board.reply(first.id, "Простите, переделаем")
    finally:
        store.close()
    return path


def test_json_report(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        cli.main(["report", "--config", str(config_path), "--since", "1d", "--format", "json"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["incoming"] == 2
    assert data["first_response"]["median_s"] == 600.0
    # The thank-you has waited 2 h unanswered: a breach; the complaint was answered in time.
    assert data["sla"]["breaches"] == 1 and data["sla"]["kept_breach"] == 0.5
    assert data["range"]["timezone"] == "Europe/Moscow"
    assert data["range"]["until"].startswith("2026-11-23T17:00:00")
    assert data["operators"][0]["operator"] == "Оля"


def test_table_markdown_and_csv(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", "--config", str(config_path)]) == 0  # table, 30 days
    table = capsys.readouterr().out
    assert table.startswith("Отчёт смены") and "Поступило" in table
    assert cli.main(["report", "--config", str(config_path), "--format", "md"]) == 0
    assert capsys.readouterr().out.startswith("# Отчёт смены")
    assert cli.main(["report", "--config", str(config_path), "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["section", "key", "metric", "value"]
    assert ["totals", "", "incoming", "2"] in rows


def test_dates_bound_the_range(config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["report", "--config", str(config_path), "--format", "json"]
    assert cli.main([*args, "--since", "2026-11-22", "--until", "2026-11-22"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["incoming"] == 0  # Sunday: nothing
    assert cli.main([*args, "--since", "2026-11-23", "--until", "2026-11-23"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["incoming"] == 2
    assert data["range"]["until"] == "2026-11-24T00:00:00+03:00"  # the day is included


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--since", "soon"], "neither a duration"),
        (["--since", "1d", "--until", "2d"], "--until must come after --since"),
        (["--format", "xml"], "invalid choice"),
    ],
)
def test_bad_ranges_are_usage_errors(
    config_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    try:
        code = cli.main(["report", "--config", str(config_path), *extra])
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    assert code == 2
    assert message in capsys.readouterr().err


def test_no_store_yet_is_a_failure_not_zeros(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(runtime, "utc_now", lambda: NOW)
    path = write_config(tmp_path)
    assert cli.main(["report", "--config", str(path)]) == 1
    assert "no store at" in capsys.readouterr().err
    assert not (tmp_path / "shop.db").exists()


def test_missing_config_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["report", "--config", str(tmp_path / "nope.toml")]) == 2


def test_english_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(runtime, "utc_now", lambda: NOW)
    path = write_config(tmp_path, language="en")
    open_config_store(_load(path)).close()
    assert cli.main(["report", "--config", str(path), "--since", "7d"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Shift report") and "Incoming" in out


def _load(path: Path) -> Config:
    from config.loader import load_config

    return load_config(path, {})
