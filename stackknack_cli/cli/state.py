"""What the root options set for every command, and the objects built from it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from stackknack_cli import config

if TYPE_CHECKING:
    from stackknack_cli.store import Store

db_option: str | None = None


@contextmanager
def opened_store(*, create: bool = True) -> Iterator[Store]:
    """Open the database the root options point at, and close it afterwards.

    With ``create`` off (commands that only report), a missing database is an error:
    a mistyped ``--db`` must not look like an empty inventory.
    """
    from stackknack_cli.errors import ConfigError
    from stackknack_cli.store import open_store

    path = config.db_path(db_option)
    if not create and not path.exists():
        raise ConfigError(
            f"no database at {path}; check --db or STACKKNACK_DB, or start with "
            "stackknack import csv or stackknack connect"
        )
    problem = database_problem(path, create=create)
    if problem is not None:
        raise ConfigError(f"{path} {problem}")
    store = open_store(path)
    try:
        yield store
    finally:
        store.close()


def database_problem(path: Path, *, create: bool) -> str | None:
    """Say, reading only, why ``path`` cannot be used as stackknack's database
    (None: it can). Another program's SQLite file is never written to, even by a
    command that may create the database."""
    import sqlite3

    if path.is_dir():
        return "is a folder, not a database file; check --db or STACKKNACK_DB"
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            }
            if (
                "meta" in tables
                and conn.execute(
                    "SELECT 1 FROM meta WHERE key = 'install_id'"
                ).fetchone()
            ):
                return None
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            return "is not a database file; check --db or STACKKNACK_DB"
        return f"is damaged ({exc}); restore a backup (docs/operations.md)"
    if tables:
        return (
            "holds another program's tables, not stackknack's; "
            "check --db or STACKKNACK_DB"
        )
    if create:
        return None
    return "is not a stackknack database; check --db or STACKKNACK_DB"
