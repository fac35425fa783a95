"""The `socialtui` command: the board, plus init, check, poll and classify for scripts and cron.

Exit codes: 0 ok, 2 usage or config error, 1 anything else. Errors are one sentence, never a
traceback, unless --debug asks for one.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from urllib.parse import quote, quote_plus

from config.errors import ConfigError
from config.schema import Config
from triage.errors import SocialtuiError
from triage.model import Mention

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

log = logging.getLogger("socialtui")


def package_version() -> str:
    try:
        return version("socialtui")
    except PackageNotFoundError:
        return "0+unknown"


CONFIG_HELP = (
    "config file (default: $SOCIALTUI_CONFIG, then $XDG_CONFIG_HOME/socialtui/config.toml)"
)


def _parser() -> argparse.ArgumentParser:
    # --config is taken before or after the command. The command's copy has no default, or
    # argparse would overwrite `socialtui --config X check`'s X with None.
    config_parent = argparse.ArgumentParser(add_help=False)
    config_parent.add_argument(
        "--config", metavar="PATH", default=argparse.SUPPRESS, help=CONFIG_HELP
    )
    parser = argparse.ArgumentParser(
        prog="socialtui",
        description="Watch and answer what customers write on VK, Telegram and X, in one board.",
    )
    parser.add_argument("--config", metavar="PATH", help=CONFIG_HELP)
    parser.add_argument("--version", action="version", version=f"socialtui {package_version()}")
    parser.add_argument(
        "--demo", action="store_true", help="open the board on the built-in demo feed"
    )
    parser.add_argument("--log", metavar="FILE", help="write a log file (tokens are redacted)")
    parser.add_argument("--debug", action="store_true", help="debug logging and tracebacks")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    init = commands.add_parser("init", help="write a commented starter config")
    init.add_argument("path", nargs="?", help="where to write it (default: the XDG config path)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")

    commands.add_parser(
        "check", parents=[config_parent], help="validate the config and test each feed"
    )

    poll = commands.add_parser(
        "poll",
        parents=[config_parent],
        help="fetch every feed once, classify, store, and print the new items",
    )
    poll.add_argument("--once", action="store_true", required=True, help="fetch once and exit")
    poll.add_argument("--json", action="store_true", help="one JSON object per new item")
    poll.add_argument(
        "--timeout", type=float, default=1.0, metavar="SECONDS", help="wait per feed (1.0)"
    )

    train = commands.add_parser(
        "train",
        parents=[config_parent],
        help="train the sentiment model; --with-corrections: a shop model from the board's "
        "corrections, and switch the config to it",
    )
    # The same options as `python -m triage.train` (triage.train.add_arguments), spelt out here
    # so that parsing any command does not import the model code.
    train.add_argument(
        "--with-corrections",
        action="store_true",
        help="learn from the cards moved to another column (the config's store), write "
        "$XDG_DATA_HOME/socialtui/models/<config>-<hash>.ftz and switch [sentiment] model to it",
    )
    train.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    train.add_argument(
        "--out", type=Path, metavar="PATH", help="model file to write instead (.ftz = quantised)"
    )
    train.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="the public corpora (default $SOCIALTUI_DATA or ../shared/data)",
    )

    report = commands.add_parser(
        "report",
        parents=[config_parent],
        help="shift analytics: response times, SLA kept, volume, complaints (cron, email, "
        "a spreadsheet)",
    )
    report.add_argument(
        "--since",
        default="30d",
        metavar="WHEN",
        help="start: a duration back from now (30d, 7d, 24h) or a date (2026-11-01, the shop's "
        "midnight) or date and time; default 30d",
    )
    report.add_argument(
        "--until",
        metavar="WHEN",
        help="end: a date (that day included), a date and time, or a duration back from now; "
        "default now",
    )
    report.add_argument(
        "--format", choices=("table", "csv", "json", "md"), default="table", help="(table)"
    )

    classify = commands.add_parser("classify", help="classify one text per line from stdin")
    classify.add_argument("--json", action="store_true", help="one JSON object per line")
    classify.add_argument("--model", help="bundled, dostoevsky, or a model path (default: bundled)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.log, args.debug)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"socialtui: {safe_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except SocialtuiError as exc:
        if args.debug:
            raise
        print(f"socialtui: {safe_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except BrokenPipeError:
        # The reader went away (`socialtui poll | head`): nothing is lost, since items are stored
        # before they are printed. Point stdout at /dev/null so the interpreter's final flush
        # does not raise again, and end quietly.
        _silence_stdout()
        return EXIT_FAILURE
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"socialtui: unexpected error: {type(exc).__name__}: {safe_line(exc)}", file=sys.stderr
        )
        print("socialtui: run again with --debug for details", file=sys.stderr)
        return EXIT_FAILURE


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a real file (a test's capture): nothing left to flush into a pipe


def safe_line(text: object) -> str:
    """Text from outside (a server's error, a customer's message or name, an exception that
    may quote either) as one line a terminal only displays: escape sequences, controls, bidi
    and invisible characters removed (triage.sanitize.one_line). Imported here, not at the
    top, so that `--version` and `init` do not pay for building its tables."""
    from triage.sanitize import one_line

    return one_line(str(text))


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "init":
        return _init(args.path, args.force)
    if args.command == "classify":
        return _classify(args.json, args.model)
    if args.command == "train":
        return _train(args)
    if args.command is None and args.demo:
        return _run_demo()
    config = _load(args.config)
    if args.command == "check":
        return _check(config)
    if args.command == "report":
        return _report(config, args.since, args.until, args.format)
    if args.command == "poll":
        return _poll(config, args.timeout, args.json)
    return _run_board(config)


def _load(explicit: str | None) -> Config:
    from config.loader import find_config, load_config

    path = find_config(explicit, os.environ)
    if path is None:
        raise ConfigError(
            None,
            None,
            None,
            "no config found",
            "try the demo with `socialtui --demo`, or write a starter config with "
            "`socialtui init` and open it with `socialtui --config PATH`",
        )
    config = load_config(path, os.environ)
    _redact_secrets(config)
    for warning in config.warnings:
        print(warning, file=sys.stderr)
    return config


def _init(path_text: str | None, force: bool) -> int:
    from config.loader import default_config_path
    from config.template import STARTER_CONFIG

    path = Path(path_text) if path_text else default_config_path(os.environ)
    if path.exists() and not force:
        print(f"socialtui: {path} exists; pass --force to overwrite it", file=sys.stderr)
        return EXIT_USAGE
    path.parent.mkdir(parents=True, exist_ok=True)
    # 0600 from the start: the file will name the environment variables holding tokens.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(STARTER_CONFIG)
    print(f"wrote {path}")
    print(f"edit it, then run: socialtui check --config {path}")
    return EXIT_OK


def _check(config: Config) -> int:
    from feeds.base import FeedError, FeedState, create_feed
    from triage.runtime import open_config_store

    print(f"config {config.path}: ok")
    store = open_config_store(config)
    failed = False
    try:
        for feed_config in config.feeds:
            label = safe_line(f"{feed_config.name} ({feed_config.type})")
            try:
                feed = create_feed(feed_config.type, feed_config.name, feed_config.options)
                try:
                    feed.start(store.get_cursor(feed_config.name))
                    status = feed.describe()
                finally:
                    feed.close()
            except FeedError as exc:
                print(f"  {label}: FAILED: {safe_line(exc)}")
                failed = True
                continue
            bad = status.state in (FeedState.AUTH_FAILED, FeedState.ERROR)
            failed = failed or bad
            # A feed's detail can quote its server (an error description, the bot's name).
            detail = f": {safe_line(status.detail)}" if status.detail else ""
            print(f"  {label}: {status.state.value}{detail}")
    finally:
        store.close()
    return EXIT_FAILURE if failed else EXIT_OK


def _poll(config: Config, timeout: float, as_json: bool) -> int:
    from feeds.base import FeedError, create_feed
    from triage.ingest import Ingestor
    from triage.runtime import build_classifier, open_config_store

    store = open_config_store(config)
    ingestor = Ingestor(store, build_classifier(config))
    failures = 0
    try:
        for feed_config in config.feeds:
            name = safe_line(feed_config.name)
            feed = create_feed(feed_config.type, feed_config.name, feed_config.options)
            try:
                feed.start(store.get_cursor(feed_config.name))
                result = feed.fetch(timeout)
            except FeedError as exc:
                print(f"socialtui: {name}: {safe_line(exc)}", file=sys.stderr)
                failures += 1
                continue
            finally:
                feed.close()
            if result.skipped:
                print(
                    f"socialtui: {name}: skipped {result.skipped} malformed record(s)",
                    file=sys.stderr,
                )
            for mention in ingestor.ingest(feed_config.name, result):
                if as_json:
                    # Lossless for scripts: every invisible or control character is a \u
                    # escape (json_line), so none reaches the terminal as itself.
                    print(json_line(_mention_json(mention)))
                else:
                    network = safe_line(mention.network)
                    print(f"{mention.column.value:<9} {network:<8} {safe_line(mention.text)}")
    finally:
        store.close()
    return EXIT_FAILURE if failures else EXIT_OK


def json_line(record: Mapping[str, object]) -> str:
    """One JSON object on one line: Cyrillic and emoji as they are, but every invisible or
    control character (a bidi override in a customer's name, a zero-width space) as a \\u escape,
    so the line reads in a terminal as it parses (triage.sanitize.printable_json)."""
    from triage.sanitize import printable_json

    return printable_json(json.dumps(record, ensure_ascii=False))


def _mention_json(mention: Mention) -> dict[str, object]:
    author = mention.author
    return {
        "id": mention.native_id,
        "store_id": mention.id,
        "network": mention.network,
        "kind": mention.kind.value,
        "author": {
            "id": author.id,
            "name": author.name,
            "handle": author.handle,
            "followers": author.followers,
            "city": author.city,
        },
        "text": mention.text,
        "created_at": mention.created_at.isoformat(),
        "sentiment": {
            "label": mention.sentiment.label.value,
            "scores": mention.sentiment.scores,
            "is_question": mention.sentiment.is_question,
        },
        "column": mention.column.value,
    }


def _report(config: Config, since_text: str, until_text: str | None, fmt: str) -> int:
    """Items that arrived in the range, as of now: see triage.stats and README "Reports"."""
    from triage import runtime
    from triage.sqlite_store import sqlite_path
    from triage.stats import StatsSettings, build_report, parse_moment
    from triage.stats_export import render

    settings = runtime.board_settings(config)
    now = runtime.utc_now()
    try:
        tz = settings.timezone
        since = parse_moment(since_text, now, tz, end=False)
        until = now if until_text is None else parse_moment(until_text, now, tz, end=True)
    except ValueError as exc:
        print(f"socialtui: report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if until <= since:
        print("socialtui: report: --until must come after --since", file=sys.stderr)
        return EXIT_USAGE
    path = sqlite_path(config.storage.url)
    if path != ":memory:" and not Path(path).exists():
        # Opening it would create an empty store: say so instead of reporting zeros.
        print(
            f"socialtui: report: no store at {path} yet; run the board or `socialtui poll "
            "--once` first",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    store = runtime.open_config_store(config)
    try:
        report = build_report(store, StatsSettings.from_board(settings), since, until, now)
    finally:
        store.close()
    sys.stdout.write(render(report, fmt, config.shop.language))
    return EXIT_OK


def _classify(as_json: bool, model: str | None) -> int:
    from triage.sentiment import SentimentEngine

    engine = SentimentEngine(model or "bundled")
    for batch in _batches((line.rstrip("\n") for line in sys.stdin), 1000):
        for text, sentiment in zip(batch, engine.classify(batch), strict=True):
            if as_json:
                record = {
                    "text": text,
                    "label": sentiment.label.value,
                    "scores": sentiment.scores,
                    "is_question": sentiment.is_question,
                    "column": sentiment.column.value,
                }
                print(json_line(record))
            else:
                print(sentiment.label.value)
    return EXIT_OK


def _train(args: argparse.Namespace) -> int:
    from triage.train import run

    # Only a shop model needs the config: its store holds the corrections.
    config = _load(args.config) if args.with_corrections else None
    return run(
        with_corrections=args.with_corrections,
        seed=args.seed,
        out=args.out,
        data_dir=args.data,
        config=config,
        progress=lambda message: print(message, flush=True),
        show_fasttext=sys.stderr.isatty(),
    )


def _batches(lines: Iterable[str], size: int) -> Iterable[list[str]]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _run_board(config: Config) -> int:
    from tui.app import SocialtuiApp

    app = SocialtuiApp(config)
    app.run()
    # Textual sets a non-zero return code when the app died of an error: a supervisor must see it.
    return EXIT_OK if not app.return_code else EXIT_FAILURE


def _run_demo() -> int:
    from config.loader import demo_config

    with tempfile.TemporaryDirectory(prefix="socialtui-demo-") as folder:
        config = demo_config(f"sqlite:///{Path(folder) / 'demo.db'}")
        return _run_board(config)


# -- logging ---------------------------------------------------------------------------------


class _RedactFilter(logging.Filter):
    """Replaces every configured secret in log records, whoever logs them: the message, the
    traceback of `log.exception` (an exception text can quote a URL or a request) and any
    stack info, in each spelling a secret takes in a URL or a form body."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: list[str] = []

    def add(self, secret: str) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        spellings = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
        self.secrets = sorted({*self.secrets, *spellings}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg, record.args = self.redact(record.getMessage()), None
            if record.exc_info and not record.exc_text:
                # Formatter.format uses exc_text when set, so the redacted text is what's written.
                record.exc_text = _TRACEBACKS.formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = self.redact(record.exc_text)
            if record.stack_info:
                record.stack_info = self.redact(record.stack_info)
        return True


_TRACEBACKS = logging.Formatter()


_REDACT = _RedactFilter()


def _setup_logging(path: str | None, debug: bool) -> None:
    # httpx logs full URLs (a Telegram URL holds the bot token); tweepy logs auth headers.
    for noisy in ("httpx", "httpcore", "tweepy", "urllib3", "requests_oauthlib", "oauthlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if path is None:
        logging.getLogger().addHandler(logging.NullHandler())
        return
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.addFilter(_REDACT)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)


def _redact_secrets(config: Config) -> None:
    from triage.secret import Secret

    for feed in config.feeds:
        for value in feed.options.values():
            if isinstance(value, Secret) and value.reveal():
                _REDACT.add(value.reveal())


if __name__ == "__main__":
    sys.exit(main())
