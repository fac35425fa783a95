"""SQLite (WAL) implementation of triage.store.Store.

One connection per thread: the UI thread holds one, each feed worker and the outbox worker
open their own. Times are stored as UTC epoch seconds so reports over a million rows stay fast.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triage.errors import StoreError
from triage.model import (
    Action,
    ActionKind,
    Author,
    Column,
    IncomingItem,
    Kind,
    Label,
    Mention,
    OutboxEntry,
    OutboxState,
    Sentiment,
    Status,
)
from triage.sqlite_schema import SCHEMA, SCHEMA_VERSION
from triage.store import Correction, StoredAction, mention_state

if TYPE_CHECKING:
    from triage.stats import StatsRows

_MENTION_COLUMNS = (
    "id, network, native_id, feed, kind, author_id, author_name, author_handle, "
    "author_followers, author_city, text, created_at, received_at, url, context, route, "
    "label, score_negative, score_neutral, score_positive, is_question, col, status, tags, "
    "team, snoozed_until, "
    "first_response_at, done_at, delivery"
)
_OUTBOX_COLUMNS = (
    "id, mention_id, text, state, created_at, operator, attempts, error, sent_at, "
    "native_reply_id, action_id"
)


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _dt_req(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


_KINDS = {kind.value: kind for kind in Kind}
_LABELS = {label.value: label for label in Label}
_COLUMNS = {column.value: column for column in Column}
_STATUSES = {status.value: status for status in Status}


def sqlite_path(url: str) -> str:
    """`sqlite:///abs/path.db` or `sqlite:///:memory:` -> a path sqlite3 accepts."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise StoreError(f"unsupported storage url {url!r}: use sqlite:///path/to/file.db")
    return url[len(prefix) :] or ":memory:"


def open_store(url: str) -> SqliteStore:
    return SqliteStore(sqlite_path(url))


class SqliteStore:
    def __init__(self, path: str, *, busy_timeout_ms: int = 3000) -> None:
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store at {path}: {exc}") from exc

    # -- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE so a writer fails fast on a lock instead of mid-transaction.

        Any SQLite error inside becomes a StoreError carrying SQLite's own words ("database or
        disk is full"), so the operator reads what went wrong and the caller catches one type.
        """
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"the store is busy or unwritable: {exc}") from exc
        try:
            yield self._db
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"could not save to the store: {exc}") from exc
            raise
        else:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreError(f"could not save to the store: {exc}") from exc

    def _rollback(self) -> None:
        # After SQLITE_FULL or an I/O error SQLite has already rolled the transaction back; a
        # second ROLLBACK would fail ("no transaction is active") and hide the real error.
        if self._db.in_transaction:
            with suppress(sqlite3.Error):  # the original error is the one worth reporting
                self._db.execute("ROLLBACK")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"store error: {exc}") from exc

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the store {self.path} was written by a newer socialtui (schema {version})"
            )
        with self._tx() as db:
            for statement in SCHEMA:
                db.execute(statement)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    # -- rows -----------------------------------------------------------------------------

    @staticmethod
    def _mention(row: Sequence[Any]) -> Mention:
        # Start-up loads every open mention through here (40,000 in the benchmark), so enum
        # values come from dicts and empty JSON fields skip the parser.
        return Mention(
            id=row[0],
            network=row[1],
            native_id=row[2],
            feed=row[3],
            kind=_KINDS[row[4]],
            author=Author(id=row[5], name=row[6], handle=row[7], followers=row[8], city=row[9]),
            text=row[10],
            created_at=_dt_req(row[11]),
            received_at=_dt_req(row[12]),
            url=row[13],
            context=row[14],
            route=json.loads(row[15]) if row[15] else {},
            sentiment=Sentiment(
                label=_LABELS[row[16]],
                scores={"negative": row[17], "neutral": row[18], "positive": row[19]},
                is_question=bool(row[20]),
            ),
            column=_COLUMNS[row[21]],
            status=_STATUSES[row[22]],
            tags=() if row[23] == "[]" else tuple(json.loads(row[23])),
            team=row[24],
            snoozed_until=None if row[25] is None else _dt_req(row[25]),
            first_response_at=None if row[26] is None else _dt_req(row[26]),
            done_at=None if row[27] is None else _dt_req(row[27]),
            delivery=row[28],
        )

    @staticmethod
    def _outbox(row: Sequence[Any]) -> OutboxEntry:
        return OutboxEntry(
            id=row[0],
            mention_id=row[1],
            text=row[2],
            state=OutboxState(row[3]),
            created_at=_dt_req(row[4]),
            operator=row[5],
            attempts=row[6],
            error=row[7],
            sent_at=_dt(row[8]),
            native_reply_id=row[9],
            action_id=row[10],
        )

    # -- ingest ---------------------------------------------------------------------------

    def ingest(
        self,
        feed: str,
        items: Sequence[tuple[IncomingItem, Sentiment]],
        cursor: str | None,
        received_at: datetime,
    ) -> list[Mention]:
        new_ids: list[int] = []
        with self._tx() as db:
            for item, sentiment in items:
                author = item.author
                row = db.execute(
                    "INSERT INTO mentions (network, native_id, feed, kind, author_id, author_name,"
                    " author_handle, author_followers, author_city, text, created_at, received_at,"
                    " url, context, route, label, score_negative, score_neutral, score_positive,"
                    " is_question, model_col, col, status, tags)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT(network, native_id) DO NOTHING RETURNING id",
                    (
                        item.network,
                        item.native_id,
                        item.feed or feed,
                        item.kind.value,
                        author.id,
                        author.name,
                        author.handle,
                        author.followers,
                        author.city,
                        item.text,
                        item.created_at.timestamp(),
                        received_at.timestamp(),
                        item.url,
                        item.context,
                        json.dumps(item.route, ensure_ascii=False) if item.route else None,
                        sentiment.label.value,
                        sentiment.scores.get("negative", 0.0),
                        sentiment.scores.get("neutral", 0.0),
                        sentiment.scores.get("positive", 0.0),
                        int(sentiment.is_question),
                        sentiment.column.value,
                        sentiment.column.value,
                        Status.NEW.value,
                        "[]",
                    ),
                ).fetchone()
                if row is not None:
                    new_ids.append(row[0])
            if cursor is not None:
                db.execute(
                    "INSERT INTO cursors (feed, cursor, updated_at) VALUES (?,?,?)"
                    " ON CONFLICT(feed) DO UPDATE SET cursor=excluded.cursor,"
                    " updated_at=excluded.updated_at",
                    (feed, cursor, received_at.timestamp()),
                )
        return self.get_mentions(new_ids)

    def get_cursor(self, feed: str) -> str | None:
        with self._errors():
            row = self._db.execute("SELECT cursor FROM cursors WHERE feed=?", (feed,)).fetchone()
        return None if row is None else str(row[0])

    # -- reading --------------------------------------------------------------------------

    def open_mentions(self) -> list[Mention]:
        with self._errors():
            rows = self._db.execute(
                f"SELECT {_MENTION_COLUMNS} FROM mentions WHERE status != 'done'"
            ).fetchall()
            unknown = self._unknown_replies()
        mentions = [self._mention(r) for r in rows]
        for mention in mentions:
            mention.unknown_replies = unknown.get(mention.id, 0)
        return mentions

    def get_mentions(self, ids: Sequence[int]) -> list[Mention]:
        if not ids:
            return []
        found: dict[int, Mention] = {}
        with self._errors():
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                for row in self._db.execute(
                    f"SELECT {_MENTION_COLUMNS} FROM mentions WHERE id IN ({marks})", chunk
                ):
                    found[row[0]] = self._mention(row)
                unknown = self._unknown_replies(f" AND mention_id IN ({marks})", chunk)
                for mention_id, count in unknown.items():
                    if mention_id in found:
                        found[mention_id].unknown_replies = count
        return [found[i] for i in ids if i in found]

    def _unknown_replies(self, where: str = "", args: Sequence[int] = ()) -> dict[int, int]:
        """Replies whose outcome is unknown, counted per mention. Few rows, found through the
        outbox's (state, not_before) index, so loading 40,000 open mentions stays one scan."""
        rows = self._db.execute(
            f"SELECT mention_id, COUNT(*) FROM outbox WHERE state=?{where} GROUP BY mention_id",
            (OutboxState.UNKNOWN.value, *args),
        ).fetchall()
        return {mention_id: count for mention_id, count in rows}

    def author_history(self, mention: Mention, limit: int) -> list[Mention]:
        with self._errors():
            rows = self._db.execute(
                f"SELECT {_MENTION_COLUMNS} FROM mentions WHERE network=? AND author_id=?"
                " AND id != ? ORDER BY created_at DESC LIMIT ?",
                (mention.network, mention.author.id, mention.id, limit),
            ).fetchall()
        return [self._mention(r) for r in rows]

    # -- actions --------------------------------------------------------------------------

    def record_action(
        self,
        mention: Mention,
        action: Action,
        before: dict[str, Any],
        reply_text: str | None = None,
        send_after: datetime | None = None,
        correction: Correction | None = None,
    ) -> tuple[Action, OutboxEntry | None]:
        state = mention_state(mention)
        entry: OutboxEntry | None = None
        with self._tx() as db:
            action_id = self._insert_action(db, action, before)
            self._write_state(db, mention.id, state, mention.delivery)
            if reply_text is not None:
                at = action.at.timestamp()
                row = db.execute(
                    "INSERT INTO outbox (mention_id, action_id, text, state, operator, created_at,"
                    " not_before, attempts) VALUES (?,?,?,?,?,?,?,0) RETURNING " + _OUTBOX_COLUMNS,
                    (
                        mention.id,
                        action_id,
                        reply_text,
                        OutboxState.QUEUED.value,
                        action.operator,
                        at,
                        _ts(send_after) if send_after else at,
                    ),
                ).fetchone()
                entry = self._outbox(row)
            if correction is not None:
                db.execute(
                    "INSERT INTO corrections (mention_id, text, label, col, operator, at)"
                    " VALUES (?,?,?,?,?,?)",
                    (
                        correction.mention_id,
                        correction.text,
                        correction.label.value,
                        correction.column.value,
                        correction.operator,
                        correction.at.timestamp(),
                    ),
                )
        stored = Action(
            mention_id=action.mention_id,
            kind=action.kind,
            operator=action.operator,
            at=action.at,
            payload=action.payload,
            id=action_id,
        )
        return stored, entry

    @staticmethod
    def _insert_action(db: sqlite3.Connection, action: Action, before: dict[str, Any]) -> int:
        row = db.execute(
            "INSERT INTO actions (mention_id, kind, operator, at, payload, before)"
            " VALUES (?,?,?,?,?,?) RETURNING id",
            (
                action.mention_id,
                action.kind.value,
                action.operator,
                action.at.timestamp(),
                json.dumps(action.payload, ensure_ascii=False),
                json.dumps(before),
            ),
        ).fetchone()
        return int(row[0])

    @staticmethod
    def _write_state(
        db: sqlite3.Connection, mention_id: int, state: dict[str, Any], delivery: str | None
    ) -> None:
        db.execute(
            "UPDATE mentions SET status=?, col=?, tags=?, team=?, snoozed_until=?,"
            " first_response_at=?, done_at=?, delivery=? WHERE id=?",
            (
                state["status"],
                state["col"],
                json.dumps(state["tags"], ensure_ascii=False),
                state["team"],
                state["snoozed_until"],
                state["first_response_at"],
                state["done_at"],
                delivery,
                mention_id,
            ),
        )

    def last_undoable(self, operator: str) -> StoredAction | None:
        with self._errors():
            row = self._db.execute(
                "SELECT id, mention_id, kind, operator, at, payload, before FROM actions"
                " WHERE operator=? AND undone=0 AND kind != ? ORDER BY id DESC LIMIT 1",
                (operator, ActionKind.UNDO.value),
            ).fetchone()
        if row is None:
            return None
        action = Action(
            id=row[0],
            mention_id=row[1],
            kind=ActionKind(row[2]),
            operator=row[3],
            at=_dt_req(row[4]),
            payload=json.loads(row[5]),
        )
        return StoredAction(action=action, before=json.loads(row[6]))

    def undo(self, stored: StoredAction, restored: Mention, undo_action: Action) -> bool:
        assert stored.action.id is not None
        with self._tx() as db:
            # Checked inside the transaction: the outbox thread may have claimed the reply since
            # the board looked, and a reply on its way cannot be taken back.
            gone = db.execute(
                "SELECT 1 FROM outbox WHERE action_id=? AND state NOT IN (?,?) LIMIT 1",
                (stored.action.id, OutboxState.QUEUED.value, OutboxState.CANCELLED.value),
            ).fetchone()
            if gone is not None:
                return False
            db.execute("UPDATE actions SET undone=1 WHERE id=?", (stored.action.id,))
            db.execute(
                "UPDATE outbox SET state=? WHERE action_id=? AND state=?",
                (OutboxState.CANCELLED.value, stored.action.id, OutboxState.QUEUED.value),
            )
            if stored.action.kind is ActionKind.MOVE:
                db.execute(
                    "DELETE FROM corrections WHERE id = (SELECT MAX(id) FROM corrections"
                    " WHERE mention_id=?)",
                    (stored.action.mention_id,),
                )
            self._insert_action(db, undo_action, {})
            self._write_state(db, restored.id, mention_state(restored), restored.delivery)
        return True

    # -- outbox ---------------------------------------------------------------------------

    def outbox_for_action(self, action_id: int) -> list[OutboxEntry]:
        with self._errors():
            rows = self._db.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE action_id=? ORDER BY id", (action_id,)
            ).fetchall()
        return [self._outbox(r) for r in rows]

    def outbox(self, mention_id: int) -> list[OutboxEntry]:
        with self._errors():
            rows = self._db.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE mention_id=? ORDER BY id",
                (mention_id,),
            ).fetchall()
        return [self._outbox(r) for r in rows]

    def claim_reply(self, now: datetime) -> tuple[OutboxEntry, Mention] | None:
        with self._tx() as db:
            row = db.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE state=? AND not_before <= ?"
                " ORDER BY not_before, id LIMIT 1",
                (OutboxState.QUEUED.value, now.timestamp()),
            ).fetchone()
            if row is None:
                return None
            entry = self._outbox(row)
            db.execute(
                "UPDATE outbox SET state=?, attempts=attempts+1 WHERE id=?",
                (OutboxState.SENDING.value, entry.id),
            )
            db.execute(
                "UPDATE mentions SET delivery=? WHERE id=?",
                (OutboxState.SENDING.value, entry.mention_id),
            )
            # Read in the same transaction: a failure after COMMIT would leave the reply
            # `sending` without ever sending it.
            found = db.execute(
                f"SELECT {_MENTION_COLUMNS} FROM mentions WHERE id=?", (entry.mention_id,)
            ).fetchone()
        mention = self._mention(found)
        claimed = OutboxEntry(
            **{
                **{f: getattr(entry, f) for f in entry.__dataclass_fields__},
                "state": OutboxState.SENDING,
                "attempts": entry.attempts + 1,
            }
        )
        return claimed, mention

    def finish_reply(
        self,
        entry_id: int,
        *,
        sent_at: datetime | None,
        native_reply_id: str | None,
        error: str | None,
        retry_at: datetime | None,
    ) -> OutboxEntry:
        if sent_at is not None:
            state, delivery = OutboxState.SENT, OutboxState.SENT.value
        elif retry_at is not None:
            state, delivery = OutboxState.QUEUED, f"retry: {error}"
        else:
            state, delivery = OutboxState.FAILED, f"failed: {error}"
        with self._tx() as db:
            row = db.execute(
                "UPDATE outbox SET state=?, sent_at=?, native_reply_id=?, error=?,"
                " not_before=COALESCE(?, not_before) WHERE id=? RETURNING " + _OUTBOX_COLUMNS,
                (state.value, _ts(sent_at), native_reply_id, error, _ts(retry_at), entry_id),
            ).fetchone()
            if row is None:
                raise StoreError(f"outbox entry {entry_id} vanished")
            db.execute("UPDATE mentions SET delivery=? WHERE id=?", (delivery, row[1]))
        return self._outbox(row)

    def recover_sending(self) -> list[OutboxEntry]:
        with self._tx() as db:
            rows = db.execute(
                "UPDATE outbox SET state=?, error=? WHERE state=? RETURNING " + _OUTBOX_COLUMNS,
                (
                    OutboxState.UNKNOWN.value,
                    "the app stopped while sending",
                    OutboxState.SENDING.value,
                ),
            ).fetchall()
            for row in rows:
                db.execute(
                    "UPDATE mentions SET delivery=? WHERE id=?",
                    (OutboxState.UNKNOWN.value, row[1]),
                )
        return [self._outbox(r) for r in rows]

    # -- learning and reporting -----------------------------------------------------------

    def corrections(self) -> list[Correction]:
        with self._errors():
            rows = self._db.execute(
                "SELECT mention_id, text, label, col, operator, at FROM corrections ORDER BY id"
            ).fetchall()
        return [
            Correction(
                mention_id=r[0],
                text=r[1],
                label=Label(r[2]),
                column=Column(r[3]),
                operator=r[4],
                at=_dt_req(r[5]),
            )
            for r in rows
        ]

    def actions(self, since: datetime, until: datetime) -> list[Action]:
        with self._errors():
            rows = self._db.execute(
                "SELECT id, mention_id, kind, operator, at, payload FROM actions"
                " WHERE at >= ? AND at < ? AND undone=0 ORDER BY at, id",
                (since.timestamp(), until.timestamp()),
            ).fetchall()
        return [
            Action(
                id=r[0],
                mention_id=r[1],
                kind=ActionKind(r[2]),
                operator=r[3],
                at=_dt_req(r[4]),
                payload=json.loads(r[5]),
            )
            for r in rows
        ]

    def stats_rows(
        self, since: datetime, until: datetime, *, history_since: datetime, text_limit: int
    ) -> StatsRows:
        """Everything a shift report needs for the items that arrived in [since, until), read
        through the stats indexes (schema 2) without sorting or visiting table rows.

        The per-item columns travel as one group_concat string each and are parsed by numpy:
        a million rows cost about a third of fetching them as Python tuples."""
        import numpy as np

        from triage.stats import StatsRows, int_array

        low, high = since.timestamp(), until.timestamp()
        window = (low, high)
        with self._errors():
            db = self._db
            # One consistent snapshot for every query below.
            db.execute("BEGIN")
            try:
                # Per column, so the column needs no expression: ids, then the arrival time as
                # milliseconds after `since` (shorter numbers to write and parse) with the kind
                # in its low 2 bits, then the done time (-1: not done).
                items = [
                    db.execute(
                        "SELECT group_concat(id),"
                        " group_concat(CAST(round((created_at - ?) * 1000) AS INTEGER) * 4"
                        f" + {_KIND_CODE}),"
                        # max(NULL, 0) is NULL
                        " group_concat(IFNULL(max(CAST(round((done_at - ?) * 1000) AS INTEGER),"
                        " 0), -1))"
                        " FROM mentions INDEXED BY mentions_col"
                        " WHERE col = ? AND created_at >= ? AND created_at < ?",
                        (low, low, column.value, *window),
                    ).fetchone()
                    for column in Column
                ]
                operators = self._distinct("operator", "actions WHERE undone = 0")
                ids = [int_array(found[0]) for found in items]
                known = [part for part in ids if len(part)]
                first_id = min(int(part.min()) for part in known) if known else 0
                last_id = max(int(part.max()) for part in known) if known else -1
                responses: tuple[Any, ...] = (None, None, None)
                if known and operators:
                    # Every response not undone, in (mention, time) order: numpy keeps the first
                    # of each mention, cheaper than SQLite's GROUP BY.
                    cases = " ".join(f"WHEN ? THEN {i}" for i in range(len(operators)))
                    responses = db.execute(
                        "SELECT group_concat(mention_id),"
                        " group_concat(CAST(round((at - ?) * 1000) AS INTEGER)),"
                        f" group_concat(CASE operator {cases} ELSE -1 END)"
                        " FROM actions INDEXED BY actions_response"
                        " WHERE undone = 0 AND kind IN ('reply', 'acknowledge', 'redirect')"
                        " AND mention_id BETWEEN ? AND ?",
                        (low, *operators, first_id, last_id),
                    ).fetchone()
                networks = {
                    network: db.execute(
                        "SELECT count(*) FROM mentions INDEXED BY mentions_network"
                        " WHERE network = ? AND created_at >= ? AND created_at < ?",
                        (network, *window),
                    ).fetchone()[0]
                    for network in self._distinct("network", "mentions WHERE 1")
                }
                teams = dict(
                    db.execute(
                        "SELECT team, count(*) FROM mentions INDEXED BY mentions_team"
                        " WHERE team IS NOT NULL AND created_at >= ? AND created_at < ?"
                        " GROUP BY team",
                        window,
                    ).fetchall()
                )
                tags: dict[str, int] = {}
                for tag_list, count in db.execute(
                    "SELECT tags, count(*) FROM mentions INDEXED BY mentions_tagged"
                    " WHERE tags != '[]' AND created_at >= ? AND created_at < ? GROUP BY tags",
                    window,
                ):
                    for tag in set(json.loads(tag_list)):
                        tags[tag] = tags.get(tag, 0) + count
                operator_actions: dict[str, dict[str, int]] = {}
                for operator in operators:
                    for kind in ActionKind:
                        count = db.execute(
                            "SELECT count(*) FROM actions INDEXED BY actions_operator"
                            " WHERE operator = ? AND kind = ? AND undone = 0"
                            " AND at >= ? AND at < ?",
                            (operator, kind.value, *window),
                        ).fetchone()[0]
                        if count:
                            operator_actions.setdefault(operator, {})[kind.value] = count
                origin = history_since.timestamp() // 900 * 900
                negative_quarters = dict(
                    db.execute(
                        "SELECT CAST((created_at - ?) / 900 AS INTEGER) AS q, count(*)"
                        " FROM mentions INDEXED BY mentions_col"
                        " WHERE col = 'negative' AND created_at >= ? AND created_at < ?"
                        " GROUP BY q",
                        (origin, origin, high),
                    ).fetchall()
                )
                earliest = db.execute("SELECT min(created_at) FROM mentions").fetchone()[0]
                negative_total = db.execute(
                    "SELECT count(*) FROM mentions INDEXED BY mentions_col"
                    " WHERE col = 'negative' AND created_at >= ? AND created_at < ?",
                    window,
                ).fetchone()[0]
                texts: list[str] = []
                if text_limit > 0 and negative_total:
                    # An even sample: a multiplicative hash of the id, so no feed's ids and no
                    # stretch of time is favoured.
                    step = -(-negative_total // text_limit)
                    texts = [
                        row[0]
                        for row in db.execute(
                            "SELECT text FROM mentions INDEXED BY mentions_col"
                            " WHERE col = 'negative' AND created_at >= ? AND created_at < ?"
                            " AND (id * 2654435761) % 4294967296 % ? = 0",
                            (*window, step),
                        )
                    ]
            finally:
                db.execute("COMMIT")
        base = round(low * 1000)
        packed = np.concatenate([int_array(found[1]) for found in items])
        done = np.concatenate([int_array(found[2]) for found in items])
        columns = np.concatenate(
            [np.full(len(part), index, dtype=np.int64) for index, part in enumerate(ids)]
        )
        return StatsRows(
            item_ids=np.concatenate(ids),
            created_ms=(packed >> 2) + base,
            done_ms=np.where(done >= 0, done + base, -1),
            codes=columns + 4 * (packed & 3),
            response_ids=int_array(responses[0]),
            response_ms=int_array(responses[1]) + base,
            response_operator=int_array(responses[2]),
            operators=tuple(operators),
            networks={name: count for name, count in networks.items() if count},
            teams=teams,
            tags=tags,
            operator_actions=operator_actions,
            negative_quarters=negative_quarters,
            spike_origin_ms=round(origin * 1000),
            earliest_ms=None if earliest is None else round(earliest * 1000),
            negative_total=negative_total,
            complaint_texts=texts,
        )

    def _distinct(self, column: str, source: str) -> list[str]:
        """The distinct values of an indexed column, by hopping from one to the next in the
        index (a loose index scan): as many lookups as values, however many rows."""
        first = f"SELECT min({column}) FROM {source}"
        values: list[str] = []
        value = self._db.execute(first).fetchone()[0]
        while value is not None:
            values.append(value)
            value = self._db.execute(f"{first} AND {column} > ?", (value,)).fetchone()[0]
        return values


# The kind's index, as triage.stats.KIND_CODES orders them (columns are scanned one by one).
_KIND_CODE = (
    "(CASE kind "
    + " ".join(f"WHEN '{kind.value}' THEN {i}" for i, kind in enumerate(Kind))
    + " ELSE 0 END)"
)
