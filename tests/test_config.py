from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

import feeds  # noqa: F401  (registers the real feed types, if they exist yet)
from config._lines import LineIndex, render_path
from config.errors import ConfigError
from config.loader import (
    default_config_path,
    default_storage_url,
    demo_config,
    find_config,
    load_config,
)
from config.template import STARTER_CONFIG
from feeds import base
from feeds.base import Feed, OptionSpec, register
from triage.clock import WorkingHours
from triage.errors import SocialtuiError
from triage.secret import Secret

SECRET_VALUE = "s3cr3t-token-value"
EXAMPLES = Path(__file__).resolve().parent.parent / "config" / "examples"

# A feed type of our own, so these tests do not depend on the options of demo/jsonl/vk.
TESTNET_OPTIONS = {
    "token_env": OptionSpec(str, required=True, help="the variable holding the API token"),
    "group_id": OptionSpec(int),
    "path": OptionSpec(str),
    "rate": OptionSpec(float),
    "verbose": OptionSpec(bool),
}

FEED = '\n[[feeds]]\ntype = "testnet"\ntoken_env = "TESTNET_TOKEN"\n'
NAMED_MAIN = '[[feeds]]\ntype = "testnet"\nname = "main"\ntoken_env = "TESTNET_TOKEN"\n'


def _no_feed(name: str, options: Mapping[str, Any]) -> Feed:
    raise NotImplementedError("config tests never start a feed")


@pytest.fixture(autouse=True)
def registry() -> Iterator[None]:
    saved = dict(base._REGISTRY)
    register("testnet", TESTNET_OPTIONS)(_no_feed)
    # Stand-ins until feeds/demo.py and feeds/jsonl.py exist; the real ones win when present.
    if "demo" not in base._REGISTRY:
        register("demo", {})(_no_feed)
    if "jsonl" not in base._REGISTRY:
        register("jsonl", {"path": OptionSpec(str, required=True)})(_no_feed)
    yield
    base._REGISTRY.clear()
    base._REGISTRY.update(saved)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), "TESTNET_TOKEN": SECRET_VALUE}


def write(tmp_path: Path, text: str, name: str = "shop.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


# --- broken configs -------------------------------------------------------------------------

# (id, config text, key path, line, a fragment of the message). FEED is appended after the
# text unless the case is about feeds, so line numbers count from the case's first line.
BROKEN: list[tuple[str, str, str, int | None, str]] = [
    ("syntax-unquoted", "[shop]\nname = Зерно\n", "TOML syntax error", 2, "quotes"),
    ("syntax-unterminated", '[shop]\nname = "Зерно\n', "TOML syntax error", 2, "closing quote"),
    (
        "syntax-dup-table",
        '[shop]\nname = "a"\n\n[shop]\noperator = "b"\n',
        "TOML syntax error",
        4,
        "once",
    ),
    ("unknown-top-key", 'tag = ["брак"]\n', "tag", 1, 'Did you mean "tags"?'),
    ("unknown-table", '[shopp]\nname = "a"\n', "shopp", 1, 'Did you mean "shop"?'),
    (
        "unknown-shop-key",
        '[shop]\nname = "a"\ntimezon = "Europe/Moscow"\n',
        "shop.timezon",
        3,
        '"timezone"',
    ),
    ("shop-not-table", 'shop = "Зерно"\n', "shop", 1, "expected a table"),
    ("shop-name-number", "[shop]\nname = 42\n", "shop.name", 2, "got a number (42)"),
    ("shop-name-empty", '[shop]\nname = "  "\n', "shop.name", 2, "must not be empty"),
    (
        "timezone-unknown",
        '[shop]\ntimezone = "Europe/Moskow"\n',
        "shop.timezone",
        2,
        '"Europe/Moscow"',
    ),
    ("timezone-abbrev", '[shop]\ntimezone = "MSK"\n', "shop.timezone", 2, '"Europe/Moscow"'),
    ("language", '[shop]\nname = "a"\nlanguage = "de"\n', "shop.language", 3, '"ru" or "en"'),
    ("storage-scheme", '[storage]\nurl = "postgres://db/shop"\n', "storage.url", 2, "sqlite:///"),
    ("storage-empty-path", '[storage]\nurl = "sqlite:///"\n', "storage.url", 2, "sqlite:///"),
    ("storage-number", "[storage]\nurl = 5\n", "storage.url", 2, "expected text"),
    (
        "duration-bad",
        '[sla]\nwarn_after = "15x"\n',
        "sla.warn_after",
        2,
        '"15x" is not a duration. Use forms like "45s", "15m", "1h30m"',
    ),
    ("duration-bare-number", '[sla]\nwarn_after = "90"\n', "sla.warn_after", 2, "no unit"),
    ("duration-int", "[sla]\n\nbreach_after = 60\n", "sla.breach_after", 3, '"60m"'),
    ("duration-zero", '[sla]\nwarn_after = "0m"\n', "sla.warn_after", 2, "longer than zero"),
    (
        "breach-before-warn",
        '[sla]\nwarn_after = "1h"\nbreach_after = "30m"\n',
        "sla.breach_after",
        3,
        "must be longer than warn_after",
    ),
    (
        "warn-after-default-breach",
        '[sla]\nwarn_after = "2h"\n',
        "sla.warn_after",
        2,
        "must be longer",
    ),
    (
        "hours-bad-day",
        '[sla]\nhours = "mon-fry 09:00-21:00"\n',
        "sla.hours",
        2,
        'did you mean "fri"',
    ),
    ("hours-not-text", "[sla]\nhours = 24\n", "sla.hours", 2, "expected text"),
    ("sla-unknown-key", '[sla]\nwarn_after = "5m"\nwarn = "5m"\n', "sla.warn", 3, '"warn_after"'),
    (
        "threshold-range",
        "[sentiment]\nnegative_threshold = 1.5\n",
        "sentiment.negative_threshold",
        2,
        "outside 0..1",
    ),
    (
        "threshold-text",
        '[sentiment]\nnegative_threshold = "0.3"\n',
        "sentiment.negative_threshold",
        2,
        "expected a number",
    ),
    (
        "threshold-bool",
        "[sentiment]\nnegative_threshold = true\n",
        "sentiment.negative_threshold",
        2,
        "expected a number",
    ),
    (
        "model-missing",
        '[sentiment]\nmodel = "bundeld"\n',
        "sentiment.model",
        2,
        'Did you mean "bundled"?',
    ),
    ("bell-text", '[ui]\nbell = "yes"\n', "ui.bell", 2, "true or false"),
    ("tags-misplaced", '[ui]\nbell = true\ntags = ["a"]\n', "ui.tags", 3, "top level"),
    (
        "tags-duplicate",
        'tags = [\n  "брак",\n  "доставка",\n  "брак",\n]\n',
        "tags",
        4,
        '"брак" is listed twice',
    ),
    ("tags-case-duplicate", 'tags = [\n  "Брак",\n  "брак",\n]\n', "tags", 3, "listed twice"),
    ("tags-not-text", 'tags = ["брак", 5]\n', "tags", 1, "tag 2 is a number"),
    ("tags-not-list", 'tags = "брак"\n', "tags", 1, "expected a list"),
    (
        "team-no-title",
        '[teams.delivery]\ncontact = "+7 900"\n',
        "teams.delivery",
        1,
        'missing "title"',
    ),
    (
        "team-unknown-key",
        '[teams.delivery]\ntitle = "Доставка"\nphone = "+7"\n',
        "teams.delivery.phone",
        3,
        "unknown key",
    ),
    (
        "team-reply-placeholder",
        '[teams.delivery]\ntitle = "Д"\nreply = "{nam}, передали"\n',
        "teams.delivery.reply",
        3,
        'Did you mean "name"?',
    ),
    ("team-not-table", '[teams]\ndelivery = "Доставка"\n', "teams.delivery", 2, "expected a table"),
    (
        "team-quoted-key",
        '[teams."доставка"]\ncontact = "x"\n',
        'teams."доставка"',
        1,
        'missing "title"',
    ),
    (
        "template-key-long",
        '[[templates]]\nkey = "ab"\ntext = "hi"\n',
        "templates[1].key",
        2,
        "single character",
    ),
    (
        "template-key-dup",
        '[[templates]]\nkey = "a"\ntext = "hi"\n\n[[templates]]\nkey = "a"\ntext = "hello"\n',
        "templates[2].key",
        6,
        "already used by templates[1]",
    ),
    (
        "template-placeholder",
        '[[templates]]\nkey = "a"\ntext = "Здравствуйте, {customer}!"\n',
        "templates[1].text",
        3,
        "{customer}",
    ),
    (
        "template-brace",
        '[[templates]]\nkey = "a"\ntext = "Скидка {10%"\n',
        "templates[1].text",
        3,
        "unmatched",
    ),
    (
        "template-attribute",
        '[[templates]]\nkey = "a"\ntext = "{name.__class__}"\n',
        "templates[1].text",
        3,
        "unknown placeholder",
    ),
    (
        "template-format-spec",
        '[[templates]]\nkey = "a"\ntext = "{name:>10}"\n',
        "templates[1].text",
        3,
        "formatting",
    ),
    ("template-no-text", '[[templates]]\nkey = "a"\n', "templates[1]", 1, 'missing "text"'),
    (
        "template-multiline-then-typo",
        '[[templates]]\nkey = "a"\ntext = """\n[shop]\nname = x\n"""\ntitel = "x"\n',
        "templates[1].titel",
        7,
        '"title"',
    ),
    ("templates-not-array", 'templates = "a"\n', "templates", 1, "expected [[templates]]"),
    ("dotted-key", 'sla.warn_after = "15x"\n', "sla.warn_after", 1, "not a duration"),
    ("inline-table", 'sla = { warn_after = "15x" }\n', "sla.warn_after", 1, "not a duration"),
]

BROKEN_FEEDS: list[tuple[str, str, str, int | None, str]] = [
    ("feeds-missing", 'tags = ["a"]\n', "feeds", None, "no feeds configured"),
    ("feeds-empty", "feeds = []\n", "feeds", 1, "no feeds configured"),
    ("feeds-not-tables", 'feeds = "demo"\n', "feeds", 1, "expected [[feeds]]"),
    (
        "feed-type-unknown",
        '[[feeds]]\ntype = "testnt"\n',
        "feeds[1].type",
        2,
        'Did you mean "testnet"?',
    ),
    ("feed-type-missing", '[[feeds]]\nname = "x"\n', "feeds[1]", 1, 'missing "type"'),
    (
        "feed-inline-unknown",
        'feeds = [{ type = "testnt" }]\n',
        "feeds[1].type",
        1,
        "unknown feed type",
    ),
    (
        "feed-option-typo",
        '[[feeds]]\ntype = "testnet"\ntoken_env = "TESTNET_TOKEN"\ngrup_id = 5\n',
        "feeds[1].grup_id",
        4,
        'Did you mean "group_id"?',
    ),
    (
        "feed-option-type",
        '[[feeds]]\ntype = "testnet"\ntoken_env = "TESTNET_TOKEN"\ngroup_id = "123"\n',
        "feeds[1].group_id",
        4,
        "expected a whole number",
    ),
    (
        "feed-option-bool-not-int",
        '[[feeds]]\ntype = "testnet"\ntoken_env = "TESTNET_TOKEN"\ngroup_id = true\n',
        "feeds[1].group_id",
        4,
        "got true/false",
    ),
    ("feed-required", '[[feeds]]\ntype = "testnet"\n', "feeds[1]", 1, 'needs "token_env"'),
    (
        "feed-env-unset",
        '[[feeds]]\ntype = "testnet"\ntoken_env = "MISSING_VAR"\n',
        "feeds[1].token_env",
        3,
        "environment variable MISSING_VAR (feeds[1].token_env) is not set",
    ),
    (
        "feed-inline-secret",
        f'[[feeds]]\ntype = "testnet"\ntoken = "{SECRET_VALUE}"\n',
        "feeds[1].token",
        3,
        'token_env = "TESTNET_TOKEN"',
    ),
    (
        "feed-inline-password",
        f'[[feeds]]\ntype = "testnet"\ntoken_env = "TESTNET_TOKEN"\npassword = "{SECRET_VALUE}"\n',
        "feeds[1].password",
        4,
        "environment variable",
    ),
    (
        "feed-env-holds-token",
        f'[[feeds]]\ntype = "testnet"\ntoken_env = "vk1.a.{SECRET_VALUE}"\n',
        "feeds[1].token_env",
        3,
        "not hold the secret",
    ),
    (
        "feed-second",
        FEED + '\n[[feeds]]\ntype = "testnet"\ntoken_env = "TESTNET_TOKEN"\nrate = "fast"\n',
        "feeds[2].rate",
        9,
        "expected a number",
    ),
    (
        "feed-name-dup",
        NAMED_MAIN + "\n" + NAMED_MAIN,
        "feeds[2].name",
        8,
        "already used by feeds[1]",
    ),
    (
        "feed-name-empty",
        '[[feeds]]\ntype = "testnet"\nname = ""\ntoken_env = "TESTNET_TOKEN"\n',
        "feeds[1].name",
        3,
        "must not be empty",
    ),
]


def _cases() -> list[object]:
    cases: list[object] = []
    for case_id, text, key, line, fragment in BROKEN:
        cases.append(pytest.param(text + FEED, key, line, fragment, id=case_id))
    for case_id, text, key, line, fragment in BROKEN_FEEDS:
        cases.append(pytest.param(text, key, line, fragment, id=case_id))
    return cases


@pytest.mark.parametrize(("text", "key_path", "line", "fragment"), _cases())
def test_broken_config(
    tmp_path: Path, env: dict[str, str], text: str, key_path: str, line: int | None, fragment: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env)
    message = str(info.value)
    where = f"{path}:{line}" if line is not None else str(path)
    assert message.startswith(f"{where}: {key_path}: "), message
    assert "shop.toml" in message
    assert fragment in message
    assert SECRET_VALUE not in message
    assert info.value.line == line
    assert "\n" not in message


def test_there_are_at_least_thirty_broken_cases() -> None:
    assert len(BROKEN) + len(BROKEN_FEEDS) >= 30


def test_config_error_is_a_socialtui_error_and_formats_without_a_file() -> None:
    err = ConfigError(None, None, None, "no config found", "try `socialtui --demo`")
    assert isinstance(err, SocialtuiError)
    assert str(err) == "no config found; try `socialtui --demo`"
    pinned = ConfigError(Path("shop.toml"), "sla.hours", 7, "bad.", "Fix it.")
    assert str(pinned) == "shop.toml:7: sla.hours: bad. Fix it."


# --- files that cannot be read --------------------------------------------------------------


def test_missing_file(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"nope\.toml: no such file\. .*socialtui init"):
        load_config(tmp_path / "nope.toml", env)


def test_directory(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path, env)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_unreadable_file(tmp_path: Path, env: dict[str, str]) -> None:
    path = write(tmp_path, FEED)
    path.chmod(0)
    with pytest.raises(ConfigError, match="permission denied"):
        load_config(path, env)


def test_not_utf8(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "shop.toml"
    path.write_bytes(FEED.encode() + '[shop]\nname = "Зерно"\n'.encode("cp1251"))
    with pytest.raises(ConfigError, match=r"shop\.toml:6: is not UTF-8"):
        load_config(path, env)


def test_utf8_bom_is_accepted(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "shop.toml"
    path.write_bytes(b"\xef\xbb\xbf" + FEED.encode())
    assert load_config(path, env).feeds[0].type == "testnet"


# --- good configs ---------------------------------------------------------------------------


def test_minimal_config_gets_defaults(tmp_path: Path, env: dict[str, str]) -> None:
    config = load_config(write(tmp_path, FEED), env)
    assert config.shop.timezone == "Europe/Moscow"
    assert config.shop.language == "ru"
    assert config.sla.warn_after == timedelta(minutes=15)
    assert config.sla.breach_after == timedelta(hours=1)
    assert config.sla.hours.is_always
    assert config.sentiment.model == "bundled"
    assert config.ui.bell is True
    assert config.teams == {}
    assert config.templates == ()
    assert config.tags == ()
    assert config.warnings == ()
    assert config.path == tmp_path / "shop.toml"
    assert config.storage.url == default_storage_url(tmp_path / "shop.toml", env)


FULL = """\
tags = ["брак", "доставка", " оплата "]

[shop]
name = "Кофейня „Зерно“"
timezone = "Asia/Yekaterinburg"
operator = "Оля"
language = "en"

[storage]
url = "sqlite:///data/shop.db"

[sla]
warn_after = "10m"
breach_after = "1h30m"
hours = "mon-fri 09:00-21:00, sat 10:00-18:00"

[sentiment]
model = "dostoevsky"
negative_threshold = 0

[ui]
bell = false

[[feeds]]
type = "testnet"
token_env = "TESTNET_TOKEN"
path = "inbox.jsonl"
rate = 2
verbose = true

[[feeds]]
type = "testnet"
token_env = "TESTNET_TOKEN"
group_id = 42

[[feeds]]
type = "testnet"
name = "testnet-2"
token_env = "TESTNET_TOKEN"

[teams.delivery]
title = "Доставка"
contact = "+7 900 000-00-00"
reply = "{name}, передали в {team}: {contact}"

[teams.kitchen]
title = "Кухня"

[[templates]]
key = "a"
title = "Приняли"
text = "Здравствуйте, {name}! {shop} на связи. Скидка 10% {{промокод}}"

[[templates]]
key = "ж"
text = \"\"\"Первая строка шаблона
и вторая\"\"\"
"""


def test_full_config(tmp_path: Path, env: dict[str, str]) -> None:
    config = load_config(write(tmp_path, FULL), env)
    assert config.shop.name == "Кофейня „Зерно“"
    assert config.shop.timezone == "Asia/Yekaterinburg"
    assert config.shop.language == "en"
    assert config.storage.url == f"sqlite:///{tmp_path / 'data' / 'shop.db'}"
    assert config.sla.warn_after == timedelta(minutes=10)
    assert config.sla.breach_after == timedelta(hours=1, minutes=30)
    assert config.sla.hours == WorkingHours.parse("mon-fri 09:00-21:00, sat 10:00-18:00")
    assert config.sentiment.model == "dostoevsky"
    assert config.sentiment.negative_threshold == 0.0
    assert config.ui.bell is False
    assert config.tags == ("брак", "доставка", "оплата")

    first, second, third = config.feeds
    # The third feed claims "testnet-2" explicitly, so the unnamed second one skips to -3.
    assert [f.name for f in config.feeds] == ["testnet", "testnet-3", "testnet-2"]
    assert first.options["path"] == str(tmp_path / "inbox.jsonl")
    assert first.options["rate"] == 2.0 and isinstance(first.options["rate"], float)
    assert first.options["verbose"] is True
    assert second.options["group_id"] == 42
    assert "name" not in third.options and "type" not in third.options
    assert [f.line for f in config.feeds] == [24, 31, 36]

    assert list(config.teams) == ["delivery", "kitchen"]
    assert config.teams["delivery"].contact == "+7 900 000-00-00"
    assert config.teams["kitchen"].reply == ""
    assert [t.key for t in config.templates] == ["a", "ж"]
    assert config.templates[1].title == "Первая строка шаблона"


def test_env_secret_is_resolved_and_masked(tmp_path: Path, env: dict[str, str]) -> None:
    config = load_config(write(tmp_path, FEED), env)
    options = config.feeds[0].options
    assert options["token_env"] == "TESTNET_TOKEN"
    assert isinstance(options["token"], Secret)
    assert options["token"].reveal() == SECRET_VALUE
    assert SECRET_VALUE not in repr(options)
    assert SECRET_VALUE not in repr(config)
    assert SECRET_VALUE not in str(config)


def test_empty_env_var_counts_as_unset(tmp_path: Path, env: dict[str, str]) -> None:
    env["TESTNET_TOKEN"] = ""
    with pytest.raises(ConfigError, match="TESTNET_TOKEN"):
        load_config(write(tmp_path, FEED), env)


def test_secret_repr_is_masked() -> None:
    secret = Secret(SECRET_VALUE)
    assert repr(secret) == "Secret('***')"
    assert SECRET_VALUE not in f"{secret} {secret!r} {[secret]}"


def test_permission_warning_for_world_readable_config_naming_secrets(
    tmp_path: Path, env: dict[str, str]
) -> None:
    path = write(tmp_path, FEED)
    path.chmod(0o644)
    (warning,) = load_config(path, env).warnings
    assert warning.startswith("WARNING: UNPROTECTED CONFIG FILE! Permissions 0644 for '")
    assert "it names secrets" in warning
    assert warning.endswith(f"Run: chmod 600 {path}")
    assert SECRET_VALUE not in warning
    path.chmod(0o600)
    assert load_config(path, env).warnings == ()


def test_no_permission_warning_without_secrets(tmp_path: Path, env: dict[str, str]) -> None:
    plain = write(tmp_path, '[[feeds]]\ntype = "demo"\n')
    plain.chmod(0o644)
    assert load_config(plain, env).warnings == ()


def test_line_numbers_ignore_unicode_line_separators(tmp_path: Path, env: dict[str, str]) -> None:
    # U+2028 inside a string is one TOML line; str.splitlines() would count two.
    path = write(tmp_path, 'tags = ["a\u2028b"]\n[sla]\nwarn_after = "15x"\n' + FEED)
    with pytest.raises(ConfigError) as info:
        load_config(path, env)
    assert info.value.line == 3


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("sqlite:////var/lib/socialtui/shop.db", "sqlite:////var/lib/socialtui/shop.db"),
        ("sqlite:///shop.db", "sqlite:///{dir}/shop.db"),
    ],
)
def test_storage_url(tmp_path: Path, env: dict[str, str], url: str, expected: str) -> None:
    path = write(tmp_path, f'[storage]\nurl = "{url}"\n' + FEED)
    assert load_config(path, env).storage.url == expected.format(dir=tmp_path)


# --- where configs and databases live -------------------------------------------------------


def test_find_config_order(tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(xdg)}
    assert find_config(None, env) is None
    default = xdg / "socialtui" / "config.toml"
    default.parent.mkdir(parents=True)
    default.write_text(FEED)
    assert find_config(None, env) == default
    env["SOCIALTUI_CONFIG"] = str(tmp_path / "from-env.toml")
    assert find_config(None, env) == tmp_path / "from-env.toml"
    # Explicit wins even over an existing default, and is returned even if it does not exist.
    assert find_config(str(tmp_path / "cli.toml"), env) == tmp_path / "cli.toml"


def test_find_config_defaults_to_home_dot_config(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": "relative/is/ignored"}
    assert default_config_path(env) == tmp_path / ".config" / "socialtui" / "config.toml"
    default_config_path(env).parent.mkdir(parents=True)
    default_config_path(env).write_text(FEED)
    assert find_config(None, env) == default_config_path(env)
    assert find_config("", {**env, "SOCIALTUI_CONFIG": ""}) == default_config_path(env)


def test_default_storage_url_is_stable_per_config_path(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    one = tmp_path / "a" / "shop.toml"
    other = tmp_path / "b" / "shop.toml"
    url = default_storage_url(one, env)
    assert url == default_storage_url(one, env)
    assert url == default_storage_url(tmp_path / "a" / ".." / "a" / "shop.toml", env)
    assert url != default_storage_url(other, env)
    assert url.startswith(f"sqlite:///{tmp_path / 'data' / 'socialtui' / 'shop-'}")
    assert url.endswith(".db")
    home_default = default_storage_url(one, {"HOME": str(tmp_path)})
    assert home_default.startswith(f"sqlite:///{tmp_path}/.local/share/socialtui/shop-")


# --- shipped configs ------------------------------------------------------------------------


def test_starter_config_loads(tmp_path: Path, env: dict[str, str]) -> None:
    config = load_config(write(tmp_path, STARTER_CONFIG, name="config.toml"), env)
    assert [f.type for f in config.feeds] == ["jsonl"]
    assert config.feeds[0].options["path"] == str(tmp_path / "inbox.jsonl")
    first = config.templates[0]
    assert first.key == "a"
    assert first.text == (
        "Здравствуйте, {name}! Спасибо, что написали. Мы уже разбираемся и ответим в течение часа."
    )
    assert set(config.teams) == {"delivery", "kitchen", "billing"}
    assert "брак" in config.tags
    assert not config.sla.hours.is_always
    assert '# [[feeds]]\n# type = "vk"' in STARTER_CONFIG


def test_demo_config_loads() -> None:
    config = demo_config("sqlite:////tmp/socialtui-demo/demo.db")
    assert config.path is None
    assert config.storage.url == "sqlite:////tmp/socialtui-demo/demo.db"
    assert config.shop.name == "Кофейня „Зерно“"
    assert [f.type for f in config.feeds] == ["demo"]
    assert set(config.teams) == {"delivery", "kitchen", "billing"}
    assert config.templates[0].key == "a"
    assert config.tags
    assert config.warnings == ()


def test_shop_example_loads(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "shop.toml"
    shutil.copy(EXAMPLES / "shop.toml", path)
    config = load_config(path, env)
    assert config.shop.timezone == "Asia/Yekaterinburg"
    assert config.feeds[0].name == "выгрузка"
    assert config.sla.hours.days[5][0] == (0, 60)  # Friday's shift spills into Saturday


# --- line index -----------------------------------------------------------------------------


def test_line_index_ignores_brackets_in_strings_and_lists() -> None:
    source = dedent(
        """\
        tags = [
          "[not a table]",
          ["nested"],
        ]
        [shop]  # comment [x]
        name = 'a # b'
        [[feeds]]
        type = "demo"
        text = '''
        [fake]
        key = 1
        '''
        [[feeds]]
        "quoted key" = 1
        sub.key = 2
        """
    )
    index = LineIndex(source)
    assert index.line_of(("tags",)) == 1
    assert index.value_line(("tags",), '"[not a table]"') == 2
    assert index.line_of(("shop",)) == 5
    assert index.line_of(("shop", "name")) == 6
    assert index.line_of(("feeds", 0, "text")) == 9
    assert ("fake",) not in index.tables
    assert index.line_of(("feeds", 1)) == 13
    assert index.line_of(("feeds", 1, "quoted key")) == 14
    assert index.line_of(("feeds", 1, "sub", "key")) == 15
    assert index.line_of(("feeds", 1, "missing")) == 13
    assert index.line_of(("nowhere",)) is None


def test_render_path() -> None:
    assert render_path(("feeds", 0, "token_env")) == "feeds[1].token_env"
    assert render_path(("teams", "доставка", "title")) == 'teams."доставка".title'
