"""What the root options set for every command, and the objects built from it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from stackknack_cli import config
from stackknack_cli.store import Store, open_store

db_option: str | None = None


@contextmanager
def opened_store() -> Iterator[Store]:
    """Open the database the root options point at, and close it afterwards."""
    store = open_store(config.db_path(db_option))
    try:
        yield store
    finally:
        store.close()
