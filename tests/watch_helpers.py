"""A connected, linked sandbox world for watch tests, and small polling helpers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from stackknack_cli.channels import registry
from stackknack_cli.credentials import Credentials, FileStore
from stackknack_cli.engine.linking import link_channel
from stackknack_cli.sandbox import demo
from stackknack_cli.sandbox.runtime import Sandbox
from stackknack_cli.store import Store, inventory, open_store
from stackknack_cli.store.inventory import ItemRecord

ITEMS = [("DD1391-100-9", "Dunk Low / US 9", 3), ("B75806-8", "Samba / US 8", 1)]


@dataclass
class World:
    sandbox: Sandbox
    store: Store
    credentials: Credentials
    home: Path

    def holdings(self, sku: str) -> tuple[int, int, int]:
        """Return (central, shopify, clover) for ``sku``, read on a fresh connection."""
        own = open_store(self.home / "stackknack.db")
        try:
            central = own.scalar("SELECT available FROM items WHERE sku = ?", (sku,))
        finally:
            own.close()
        return (
            int(central),
            self.sandbox.shopify.available(sku),
            int(self.sandbox.clover.stock(sku) or 0),
        )


@contextmanager
def sandbox_world(home: Path) -> Iterator[World]:
    """Start both simulators, import, list, connect and link; stop them after."""
    sandbox = Sandbox().start()
    store = open_store(home / "stackknack.db")
    credentials = Credentials(store.install_id, FileStore(home / "credentials.json"))
    try:
        inventory.set_quantities(
            store, [ItemRecord(sku, qty, title) for sku, title, qty in ITEMS], cause="t"
        )
        sandbox.seed(ITEMS)
        demo._connect(store, sandbox, credentials)
        with registry.connected_channels(store, credentials=credentials) as channels:
            for channel in channels.values():
                link_channel(store, channel, create_missing=False)
        yield World(sandbox, store, credentials, home)
    finally:
        store.close()
        sandbox.stop()


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``check`` until it holds or ``timeout`` seconds pass; return its answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()
