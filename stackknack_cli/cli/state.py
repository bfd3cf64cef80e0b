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
    if not create and not is_stackknack_database(path):
        raise ConfigError(
            f"{path} is not a stackknack database; check --db or STACKKNACK_DB"
        )
    store = open_store(path)
    try:
        yield store
    finally:
        store.close()


def is_stackknack_database(path: Path) -> bool:
    """Tell, reading only, whether ``path`` holds a stackknack database."""
    import sqlite3

    if path.is_dir():
        return False
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
            ).fetchone()
            return bool(
                row
                and conn.execute(
                    "SELECT 1 FROM meta WHERE key = 'install_id'"
                ).fetchone()
            )
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False
