"""The local SQLite store: schema and migrations, inventory ledger, outbox."""

from stackknack_cli.store.db import Store, open_store

__all__ = ["Store", "open_store"]
