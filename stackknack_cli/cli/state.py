"""What the root options set for every command, and the objects built from it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from stackknack_cli import config

if TYPE_CHECKING:
    from stackknack_cli.store import Store

db_option: str | None = None


@contextmanager
def opened_store() -> Iterator[Store]:
    """Open the database the root options point at, and close it afterwards."""
    from stackknack_cli.store import open_store

    store = open_store(config.db_path(db_option))
    try:
        yield store
    finally:
        store.close()
