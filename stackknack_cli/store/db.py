"""Open the SQLite database, apply migrations and run write transactions.

The connection runs in autocommit mode so that every write transaction is explicit
and starts with ``BEGIN IMMEDIATE``: it takes the write lock before reading, which makes
each read-then-write inside it safe against a second process (``watch`` beside a cron
``sync``).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils

from stackknack_cli.errors import ConfigError

BUSY_TIMEOUT_MS = 10_000

MIGRATIONS: list[tuple[str, str]] = [
    (
        "initial schema",
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE channels (
            name TEXT PRIMARY KEY,
            base_url TEXT NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}',
            connected_at TEXT NOT NULL
        );
        CREATE TABLE items (
            sku TEXT PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            available INTEGER NOT NULL CHECK (available >= 0),
            updated_at TEXT NOT NULL
        );
        CREATE TABLE listings (
            id INTEGER PRIMARY KEY,
            sku TEXT NOT NULL REFERENCES items (sku),
            channel TEXT NOT NULL,
            channel_ref TEXT NOT NULL,
            details TEXT NOT NULL DEFAULT '{}',
            channel_quantity INTEGER,
            active INTEGER NOT NULL DEFAULT 1,
            updated_at TEXT NOT NULL,
            UNIQUE (channel, channel_ref),
            UNIQUE (channel, sku)
        );
        CREATE TABLE sales (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            order_id TEXT NOT NULL,
            line_id TEXT NOT NULL,
            sku TEXT,
            quantity INTEGER NOT NULL,
            applied INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL,
            occurred_at TEXT,
            recorded_at TEXT NOT NULL,
            UNIQUE (channel, order_id, line_id)
        );
        CREATE TABLE oversells (
            id INTEGER PRIMARY KEY,
            sale_id INTEGER NOT NULL UNIQUE REFERENCES sales (id),
            sku TEXT NOT NULL,
            channel TEXT NOT NULL,
            wanted INTEGER NOT NULL,
            missing INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            acknowledged_at TEXT
        );
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            listing_id INTEGER NOT NULL REFERENCES listings (id),
            target INTEGER NOT NULL CHECK (target >= 0),
            cause TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            lease_until TEXT,
            last_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX outbox_due ON outbox (channel, status, next_attempt_at, id);
        CREATE INDEX outbox_listing ON outbox (listing_id, status);
        CREATE TABLE cursors (
            channel TEXT NOT NULL,
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (channel, name)
        );
        CREATE TABLE journal (
            id INTEGER PRIMARY KEY,
            sku TEXT NOT NULL,
            delta INTEGER NOT NULL,
            available_after INTEGER NOT NULL,
            cause TEXT NOT NULL,
            channel TEXT,
            reference TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX journal_sku ON journal (sku, id);
        """,
    ),
    (
        "asynchronous pushes",
        """
        ALTER TABLE outbox ADD COLUMN operation TEXT;
        """,
    ),
    (
        "webhook events",
        """
        CREATE TABLE webhook_events (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            event_id TEXT,
            topic TEXT,
            received_at TEXT NOT NULL,
            body BLOB NOT NULL,
            status TEXT NOT NULL DEFAULT 'new',
            error TEXT,
            processed_at TEXT,
            UNIQUE (channel, event_id)
        );
        CREATE INDEX webhook_events_new ON webhook_events (status, id);
        """,
    ),
    (
        "drain locks",
        """
        CREATE TABLE drain_locks (
            channel TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            purpose TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
        """,
    ),
    (
        "listings by SKU",
        """
        CREATE INDEX listings_sku ON listings (sku);
        """,
    ),
    (
        "publishing rules",
        """
        CREATE TABLE rules (
            channel TEXT NOT NULL,
            sku TEXT NOT NULL DEFAULT '',
            buffer INTEGER CHECK (buffer >= 0),
            max_quantity INTEGER CHECK (max_quantity >= 0),
            zero_below INTEGER CHECK (zero_below >= 0),
            updated_at TEXT NOT NULL,
            PRIMARY KEY (channel, sku)
        );
        CREATE VIEW listing_targets AS
        SELECT l.id AS listing_id, l.channel, l.sku, l.channel_quantity,
            i.available,
            CASE
                WHEN coalesce(sr.zero_below, cr.zero_below) IS NOT NULL
                    AND i.available < coalesce(sr.zero_below, cr.zero_below) THEN 0
                ELSE min(
                    max(i.available - coalesce(sr.buffer, cr.buffer, 0), 0),
                    coalesce(sr.max_quantity, cr.max_quantity, i.available)
                )
            END AS target
        FROM listings l
        JOIN items i ON i.sku = l.sku
        LEFT JOIN rules cr ON cr.channel = l.channel AND cr.sku = ''
        LEFT JOIN rules sr ON sr.channel = l.channel AND sr.sku = l.sku;
        """,
    ),
    (
        "when a push started waiting for a sale",
        """
        ALTER TABLE outbox ADD COLUMN waiting_since TEXT;
        """,
    ),
    (
        "pushes interrupted while being sent",
        """
        ALTER TABLE outbox ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    (
        "outbox by cause",
        """
        CREATE INDEX outbox_cause ON outbox (cause);
        """,
    ),
    (
        "returns",
        """
        CREATE TABLE returns (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            return_key TEXT NOT NULL,
            sale_id INTEGER REFERENCES sales (id),
            order_id TEXT NOT NULL,
            line_id TEXT NOT NULL,
            sku TEXT,
            cause TEXT NOT NULL,
            quantity INTEGER NOT NULL,
            applied INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL,
            occurred_at TEXT,
            recorded_at TEXT NOT NULL,
            UNIQUE (channel, return_key)
        );
        CREATE INDEX returns_sale ON returns (sale_id);
        """,
    ),
    (
        "daily platform budgets",
        """
        CREATE TABLE daily_usage (
            channel TEXT NOT NULL,
            key TEXT NOT NULL DEFAULT '',
            day TEXT NOT NULL,
            count INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
            last_call_at REAL,
            PRIMARY KEY (channel, key, day)
        );
        """,
    ),
    (
        "why an oversell was acknowledged",
        """
        ALTER TABLE oversells ADD COLUMN resolution TEXT;
        """,
    ),
]


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Format a moment as ISO 8601 in UTC with milliseconds and a ``Z``."""
    return (
        moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


class Store:
    """One open stackknack database."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None = None) -> None:
        self.conn = conn
        self.path = path

    @cached_property
    def db(self) -> sqlite_utils.Database:
        """The sqlite-utils view of this connection (imported on first use only, to
        keep the command line's start-up quick)."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block as one write transaction holding the write lock throughout."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        """Return the rows of ``sql`` as dictionaries."""
        return list(self.db.query(sql, params))

    def scalar(self, sql: str, params: Any = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    @property
    def install_id(self) -> str:
        value = self.scalar("SELECT value FROM meta WHERE key = 'install_id'")
        return str(value)

    def schema_version(self) -> int:
        return int(self.scalar("SELECT coalesce(max(version), 0) FROM migrations") or 0)

    def close(self) -> None:
        self.conn.close()


def migrate(store: Store) -> int:
    """Apply the migrations this database has not recorded yet; return how many ran."""
    conn = store.conn
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    applied = 0
    for version, (name, sql) in enumerate(MIGRATIONS, start=1):
        with store.transaction():
            done = conn.execute(
                "SELECT 1 FROM migrations WHERE version = ?", (version,)
            ).fetchone()
            if done:
                continue
            for statement in sql.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, iso(utcnow())),
            )
            if version == 1:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('install_id', ?)",
                    (uuid.uuid4().hex,),
                )
            applied += 1

    newest = store.schema_version()
    if newest > len(MIGRATIONS):
        raise ConfigError(
            f"database {store.path} was written by a newer stackknack "
            f"(schema {newest}); upgrade stackknack"
        )
    return applied


def open_store(path: Path | str) -> Store:
    """Open (creating if needed) the database at ``path``, in WAL mode, migrated."""
    path = Path(path)
    if str(path) != ":memory:":
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create folder for database {path}: {exc}"
            ) from None
    try:
        conn = sqlite3.connect(
            str(path),
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if str(path) != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        # FULL: a committed sale survives a power cut, not only a crashed process.
        conn.execute("PRAGMA synchronous = FULL")
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"cannot open database {path}: {exc}") from None
    store = Store(conn, path)
    try:
        migrate(store)
    except sqlite3.DatabaseError as exc:
        hint = _damage(conn)
        conn.close()
        raise ConfigError(f"cannot use database {path}: {exc}{hint}") from None
    return store


def _damage(conn: sqlite3.Connection) -> str:
    """Say whether a database that failed to migrate is damaged, for the error."""
    try:
        verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        verdict = str(exc)
    if verdict == "ok":
        return (
            "; its tables do not match its recorded migrations "
            "(edited by hand?); restore a backup (docs/operations.md)"
        )
    return f"; the file is damaged ({verdict}); restore a backup (docs/operations.md)"
