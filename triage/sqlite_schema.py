"""The SQLite schema. Bump SCHEMA_VERSION and add statements when it changes."""

from __future__ import annotations

SCHEMA_VERSION = 2

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS mentions (
        id INTEGER PRIMARY KEY,
        network TEXT NOT NULL,
        native_id TEXT NOT NULL,
        feed TEXT NOT NULL,
        kind TEXT NOT NULL,
        author_id TEXT NOT NULL,
        author_name TEXT NOT NULL,
        author_handle TEXT,
        author_followers INTEGER,
        author_city TEXT,
        text TEXT NOT NULL,
        created_at REAL NOT NULL,
        received_at REAL NOT NULL,
        url TEXT,
        context TEXT,
        route TEXT,
        label TEXT NOT NULL,
        score_negative REAL NOT NULL,
        score_neutral REAL NOT NULL,
        score_positive REAL NOT NULL,
        is_question INTEGER NOT NULL,
        model_col TEXT NOT NULL,
        col TEXT NOT NULL,
        status TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        team TEXT,
        snoozed_until REAL,
        first_response_at REAL,
        done_at REAL,
        delivery TEXT,
        UNIQUE (network, native_id)
    )""",
    "CREATE INDEX IF NOT EXISTS mentions_open ON mentions (status) WHERE status != 'done'",
    "CREATE INDEX IF NOT EXISTS mentions_author ON mentions (network, author_id, created_at)",
    "CREATE INDEX IF NOT EXISTS mentions_created ON mentions (created_at)",
    """CREATE TABLE IF NOT EXISTS actions (
        id INTEGER PRIMARY KEY,
        mention_id INTEGER NOT NULL REFERENCES mentions (id),
        kind TEXT NOT NULL,
        operator TEXT NOT NULL,
        at REAL NOT NULL,
        payload TEXT NOT NULL,
        before TEXT NOT NULL,
        undone INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS actions_at ON actions (at)",
    "CREATE INDEX IF NOT EXISTS actions_mention ON actions (mention_id)",
    # Version 2: read-only indexes for shift reports (triage.stats). Each serves one query of
    # SqliteStore.stats_rows, so a 30-day report over a million items reads index entries, in
    # order, and never sorts or visits the table rows.
    "CREATE INDEX IF NOT EXISTS mentions_col ON mentions (col, created_at, kind, done_at)",
    "CREATE INDEX IF NOT EXISTS mentions_network ON mentions (network, created_at)",
    "CREATE INDEX IF NOT EXISTS mentions_team ON mentions (team, created_at)"
    " WHERE team IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS mentions_tagged ON mentions (created_at, tags) WHERE tags != '[]'",
    # The first response: replies, acknowledgements and redirects that were not undone. The
    # condition's columns are in the index too, or SQLite would visit every row to check them.
    "CREATE INDEX IF NOT EXISTS actions_response ON actions (mention_id, at, operator, kind,"
    " undone) WHERE undone = 0 AND kind IN ('reply', 'acknowledge', 'redirect')",
    "CREATE INDEX IF NOT EXISTS actions_operator ON actions (operator, kind, undone, at)",
    """CREATE TABLE IF NOT EXISTS outbox (
        id INTEGER PRIMARY KEY,
        mention_id INTEGER NOT NULL REFERENCES mentions (id),
        action_id INTEGER REFERENCES actions (id),
        text TEXT NOT NULL,
        state TEXT NOT NULL,
        operator TEXT NOT NULL,
        created_at REAL NOT NULL,
        not_before REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        sent_at REAL,
        native_reply_id TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, not_before)",
    """CREATE TABLE IF NOT EXISTS cursors (
        feed TEXT PRIMARY KEY,
        cursor TEXT NOT NULL,
        updated_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS corrections (
        id INTEGER PRIMARY KEY,
        mention_id INTEGER NOT NULL REFERENCES mentions (id),
        text TEXT NOT NULL,
        label TEXT NOT NULL,
        col TEXT NOT NULL,
        operator TEXT NOT NULL,
        at REAL NOT NULL
    )""",
)
