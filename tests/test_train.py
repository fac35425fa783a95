"""Training: a shop's corrections change what its model says; the config is switched in place.

Models here are small (the customer-care corpus only, few dimensions), so each trains in about a
second. They run through the same code as `socialtui train --with-corrections`.
"""

from __future__ import annotations

import json
import stat
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from config.errors import ConfigError
from config.loader import load_config
from config.schema import Config
from tests.conftest import FakeClock, make_item
from triage import train
from triage.model import Column, Label
from triage.runtime import build_board
from triage.sentiment import SentimentEngine
from triage.store import Correction
from triage.train import (
    TrainingSet,
    TrainSettings,
    correction_examples,
    set_config_model,
    shop_model_path,
    train_model,
    train_with_corrections,
    tune_negative_threshold,
)
from triage.training_data import Example, customer_care
from tui import cli

SMALL = TrainSettings(epoch=5, dim=16, bucket=20_000, minn=2, maxn=4, in_domain_weight=1)

# A café that sells cold brew: its customers order «холодный брю», and a model that learnt
# «холодный» from complaints («кофе холодный») files the orders under complaints.
CORRECTED = [
    "Холодный брю с собой",
    "два холодных брю, пожалуйста",
    "холодный брю остался?",
    "Большой холодный брю без сахара",
    "а холодный брю на овсяном можно?",
]
VARIANT = "большой холодный брю на вынос"
COMPLAINT = "кофе холодный, верните деньги"

CONFIG = """\
# Кофейня «Зерно» — конфиг смены
[shop]
name = "Зерно"            # как в вывеске
timezone = "Europe/Moscow"

[storage]
url = "sqlite:///shop.db"

[sentiment]
# bundled, dostoevsky или путь
model = "bundled"   # пока общая модель
negative_threshold = 0.2

[[feeds]]
type = "demo"
"""


@pytest.fixture(scope="module")
def base() -> TrainingSet:
    return TrainingSet([], customer_care().train)


@pytest.fixture(scope="module")
def base_engine(base: TrainingSet, tmp_path_factory: pytest.TempPathFactory) -> SentimentEngine:
    path = train_model(base, tmp_path_factory.mktemp("base") / "base.bin", 1, SMALL)
    return SentimentEngine(str(path))


def _config(folder: Path, text: str = CONFIG) -> Config:
    path = folder / "shop.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return load_config(path, {})


def _correct(config: Config, engine: SentimentEngine, texts: list[str], column: Column) -> None:
    """Customers write `texts`; the operator moves each card to `column` on a real board."""
    board = build_board(config, FakeClock())
    try:
        items = [make_item(f"m{i}", text) for i, text in enumerate(texts)]
        mentions = board.store.ingest(
            "demo", list(zip(items, engine.classify(texts), strict=True)), None, FakeClock()()
        )
        for mention in mentions:
            board.move(mention.id, column)
    finally:
        board.store.close()


def test_corrections_teach_the_model_a_shop_phrasing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    base: TrainingSet,
    base_engine: SentimentEngine,
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    config = _config(tmp_path)
    before = [s.label for s in base_engine.classify([CORRECTED[0], VARIANT, COMPLAINT])]
    # The premise: the base model files the orders under complaints.
    assert before == [Label.NEGATIVE, Label.NEGATIVE, Label.NEGATIVE]

    _correct(config, base_engine, CORRECTED, Column.NEUTRAL)
    result = train_with_corrections(config, base=base, settings=SMALL)

    assert result.path == shop_model_path(tmp_path / "shop.toml")
    assert result.path.parent == tmp_path / "data" / "socialtui" / "models"
    assert result.path.name.startswith("shop-") and result.path.suffix == ".ftz"
    assert (result.corrections, result.learnt) == (5, 5)
    switched = load_config(tmp_path / "shop.toml", {})
    assert switched.sentiment.model == str(result.path)
    shop = SentimentEngine(switched.sentiment.model, switched.sentiment.negative_threshold)
    after = [s.label for s in shop.classify([CORRECTED[0], VARIANT, COMPLAINT])]
    assert after == [Label.NEUTRAL, Label.NEUTRAL, Label.NEGATIVE]


def test_switching_the_model_changes_only_that_line(tmp_path: Path) -> None:
    config = _config(tmp_path)
    path = tmp_path / "shop.toml"
    model = tmp_path / "модели" / "shop 1.ftz"
    model.parent.mkdir()
    model.touch()
    set_config_model(path, str(model))
    expected = CONFIG.replace(
        'model = "bundled"   # пока общая модель', f'model = "{model}"   # пока общая модель'
    )
    assert path.read_text(encoding="utf-8") == expected
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_config(path, {}).sentiment.model == str(model)
    assert config.sentiment.model == "bundled"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # no key in the table: it goes right under the header
        (
            '[shop]\nname = "a"\n\n[sentiment] # мой\nnegative_threshold = 0.3\n',
            '[shop]\nname = "a"\n\n[sentiment] # мой\nmodel = "M"\nnegative_threshold = 0.3\n',
        ),
        # no table: appended, after a blank line
        ('[shop]\nname = "a"', '[shop]\nname = "a"\n\n[sentiment]\nmodel = "M"\n'),
        # Windows line endings and a single-quoted old value
        (
            "[sentiment]\r\nmodel = 'old.ftz'\r\n[ui]\r\nbell = true\r\n",
            '[sentiment]\r\nmodel = "M"\r\n[ui]\r\nbell = true\r\n',
        ),
        # a «[sentiment]» line inside a multi-line string is text, not a table
        (
            '[[templates]]\nkey = "a"\ntext = """\n[sentiment]\nmodel = 1\n"""\n',
            '[[templates]]\nkey = "a"\ntext = """\n[sentiment]\nmodel = 1\n"""\n\n[sentiment]\n'
            'model = "M"\n',
        ),
    ],
)
def test_model_line_is_added_where_it_belongs(tmp_path: Path, before: str, after: str) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(before.encode("utf-8"))
    set_config_model(path, "M")
    assert path.read_bytes() == after.encode("utf-8")


def test_odd_paths_are_quoted_and_a_bom_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(b'\xef\xbb\xbf[sentiment]\nmodel = "bundled"\n')
    set_config_model(path, 'C:\\Модели\\"shop".ftz')
    assert path.read_bytes().startswith(b"\xef\xbb\xbf[sentiment]\nmodel = ")
    import tomllib

    data = tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    assert data["sentiment"]["model"] == 'C:\\Модели\\"shop".ftz'


@pytest.mark.parametrize(
    "text",
    ['sentiment.model = "bundled"\n', 'sentiment = { model = "bundled" }\n', "[shop\n"],
)
def test_configs_it_cannot_edit_safely_are_left_alone(tmp_path: Path, text: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sentiment\.model"):
        set_config_model(path, "M")
    assert path.read_text(encoding="utf-8") == text


def test_the_last_move_of_a_card_wins() -> None:
    def move(text: str, label: Label) -> Correction:
        return Correction(1, text, label, Column.NEGATIVE, "Оля", FakeClock()())

    examples = correction_examples(
        [
            move("Опять  без крышки", Label.NEUTRAL),
            move("сыр", Label.POSITIVE),
            move("опять без крышки", Label.NEGATIVE),
            move("  ", Label.NEGATIVE),
        ]
    )
    assert [(e.label, e.text) for e in examples] == [
        ("positive", "сыр"),
        ("negative", "опять без крышки"),
    ]


def test_training_is_deterministic(tmp_path: Path) -> None:
    examples = TrainingSet(
        [], [Example("negative", "плохо", "t"), Example("positive", "спасибо", "t")] * 20
    )
    tiny = replace(SMALL, dim=4)
    first = train_model(examples, tmp_path / "a.bin", 7, tiny).read_bytes()
    assert train_model(examples, tmp_path / "b.bin", 7, tiny).read_bytes() == first


def test_nan_is_retried_with_the_next_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_run = subprocess.run
    seeds: list[int] = []

    def flaky_run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seeds.append(json.loads(command[-1])["train"]["seed"])
        if len(seeds) == 1:
            return subprocess.CompletedProcess(command, 3, "", "")
        return real_run(command, **kwargs)

    monkeypatch.setattr(train.subprocess, "run", flaky_run)
    messages: list[str] = []
    examples = TrainingSet(
        [], [Example("negative", "плохо", "t"), Example("positive", "ок", "t")] * 5
    )
    train_model(examples, tmp_path / "m.bin", 5, replace(SMALL, dim=4), messages.append)
    assert seeds == [5, 6]
    assert any("NaN" in message for message in messages)
    assert (tmp_path / "m.bin").is_file()


def test_nan_every_time_is_a_clear_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        train.subprocess,
        "run",
        lambda command, **_: subprocess.CompletedProcess(command, 3, "", ""),
    )
    examples = TrainingSet([], [Example("negative", "плохо", "t")])
    with pytest.raises(train.TrainingFailed, match="--seed"):
        train_model(examples, tmp_path / "m.bin", 1, SMALL)
    assert list(tmp_path.iterdir()) == []


# --- the command line ----------------------------------------------------------------------


@pytest.fixture
def small_training(monkeypatch: pytest.MonkeyPatch, base: TrainingSet) -> None:
    """`socialtui train` as shipped, but on the small data and settings."""
    monkeypatch.setattr(train, "TrainSettings", lambda: SMALL)
    monkeypatch.setattr(train, "base_training_set", lambda *_, **__: base)


@pytest.mark.usefixtures("small_training")
def test_cli_trains_with_corrections_and_switches_the_config(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    base_engine: SentimentEngine,
) -> None:
    monkeypatch.chdir(tmp_path)
    config = _config(tmp_path)
    _correct(config, base_engine, CORRECTED[:3], Column.QUESTIONS)
    out = tmp_path / "my.ftz"
    code = cli.main(["train", "--config", str(tmp_path / "shop.toml"), "--with-corrections",
                     "--seed", "3", "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == cli.EXIT_OK
    assert "3 correction(s)" in printed and "training fastText" in printed
    assert load_config(tmp_path / "shop.toml", {}).sentiment.model == str(out)


def test_cli_without_corrections_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _config(tmp_path)
    code = cli.main(["train", "--config", str(tmp_path / "shop.toml"), "--with-corrections"])
    assert code == cli.EXIT_FAILURE
    assert "no corrections" in capsys.readouterr().err
    assert (tmp_path / "shop.toml").read_text(encoding="utf-8") == CONFIG


def test_cli_with_a_broken_config_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["train", "--config", str(tmp_path / "missing.toml"), "--with-corrections"])
    assert code == cli.EXIT_USAGE
    assert "missing.toml" in capsys.readouterr().err


def test_module_entry_point_reports_config_errors_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = train.main(["--config", str(tmp_path / "missing.toml"), "--with-corrections"])
    assert code == 2
    assert "missing.toml" in capsys.readouterr().err


def test_shop_model_path_is_one_per_config(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path)}
    first = shop_model_path(tmp_path / "a" / "shop.toml", env)
    assert first == shop_model_path(tmp_path / "a" / "shop.toml", env)
    assert first != shop_model_path(tmp_path / "b" / "shop.toml", env)
    assert first.parent == tmp_path / "socialtui" / "models"
    assert shop_model_path(Path("x.toml"), {"HOME": "/home/o"}).parts[:5] == (
        "/", "home", "o", ".local", "share"
    )  # fmt: skip


def test_threshold_tuning_takes_the_highest_threshold_within_noise_of_the_best() -> None:
    # Five complaints and five others: a complaint scores 0.3 (three of them) or 0.12 (two);
    # the others score 0.1 (one) or 0.0.
    examples = [Example("negative", f"n{i}", "t") for i in range(5)] + [
        Example("neutral", f"o{i}", "t") for i in range(5)
    ]
    negatives = [0.3, 0.3, 0.3, 0.12, 0.12, 0.1, 0.0, 0.0, 0.0, 0.0]
    scores = [{"negative": n, "neutral": 1 - n, "positive": 0.0} for n in negatives]
    # At 0.10 every complaint is caught (recall 1, precision 5/6: F2 0.962); at 0.15..0.30
    # three of five (precision 1: F2 0.652); above 0.30 none.
    threshold, f2 = tune_negative_threshold([(scores, examples)], tolerance=0.01)
    assert (threshold, round(f2, 3)) == (0.1, 0.962)
    # With a tolerance wider than the gap the highest threshold near the best wins.
    threshold, f2 = tune_negative_threshold([(scores, examples)], tolerance=0.4)
    assert (threshold, round(f2, 3)) == (0.3, 0.652)
